"""Energy: what a TRC20 call costs its caller, paid from staked energy first, the rest burned in TRX.

As java-tron does it (Stake 2.0, fixed ratio): before the TVM runs, the call's energy limit is what
the caller can pay, `min(staked energy left + balance // energy fee, fee_limit // energy fee)`
(VMActuator.getAccountEnergyLimitWithFixRatio); a call that needs more stops OUT_OF_ENERGY having
used the whole limit. ReceiptCapsule.payEnergyBill then takes the energy used from what the caller's
staked ENERGY has left, and burns `energy fee` SUN per unit beyond it from the balance. Used staked
energy recovers linearly over a 24-hour window (ResourceProcessor.recovery). There is no free energy:
with getEnergyFee 0 java-tron charges SUN_PER_ENERGY (100) per unit.
"""

from __future__ import annotations

from dataclasses import dataclass

from stack.devnet.ledger import Account, Ledger

SUN_PER_TRX = 1_000_000
# Network totals as on mainnet lately: 1 staked TRX buys about 10 energy a day.
TOTAL_ENERGY_LIMIT = 180_000_000_000
TOTAL_ENERGY_WEIGHT = 18_000_000_000
WINDOW_MS = 24 * 3600 * 1000  # the energy window: 28,800 slots of 3 s


def staked_limit(account: Account) -> int:
    """The energy a day the account's staked ENERGY gives (getaccountresource's EnergyLimit)."""
    return account.frozen.get("ENERGY", 0) // SUN_PER_TRX * TOTAL_ENERGY_LIMIT // TOTAL_ENERGY_WEIGHT


def used(account: Account, now_ms: int) -> int:
    """Staked energy used and not yet recovered at `now_ms` (getaccountresource's EnergyUsed)."""
    elapsed = now_ms - account.energy_used_at
    if account.energy_used == 0 or elapsed >= WINDOW_MS:
        return 0
    return account.energy_used * (WINDOW_MS - max(elapsed, 0)) // WINDOW_MS


def staked_left(account: Account, now_ms: int) -> int:
    return max(staked_limit(account) - used(account, now_ms), 0)


def call_limit(account: Account, fee_limit: int, energy_fee: int, now_ms: int) -> int:
    """The most energy a call from `account` may use: what it can pay, within its fee limit."""
    return min(staked_left(account, now_ms) + account.balance // energy_fee, fee_limit // energy_fee)


@dataclass(frozen=True)
class Bill:
    from_stake: int  # energy taken from staked ENERGY (the receipt's energy_usage)
    burned: int  # SUN burned for the rest (the receipt's energy_fee)


def pay(ledger: Ledger, account: Account, energy: int, energy_fee: int, now_ms: int) -> Bill:
    """Charge `energy` units to `account`: staked energy first, then its TRX, burned."""
    from_stake = min(energy, staked_left(account, now_ms))
    if from_stake:
        account.energy_used = used(account, now_ms) + from_stake
        account.energy_used_at = now_ms
    burned = (energy - from_stake) * energy_fee
    account.balance -= burned  # never below 0: the call's limit kept the energy within what it can pay
    ledger.burned += burned
    return Bill(from_stake, burned)
