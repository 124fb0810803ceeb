"""Chain state: TRX accounts (with Stake 2.0 frozen / unfreezing amounts) and USDT balances.

Addresses are lowercase hex with the 41 prefix throughout.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Unfreezing:
    resource: str
    amount: int
    expire_time: int  # ms


@dataclass
class Account:
    address: str
    create_time: int  # ms
    balance: int = 0
    frozen: dict[str, int] = field(default_factory=dict)  # resource -> SUN
    unfreezing: list[Unfreezing] = field(default_factory=list)
    energy_used: int = 0  # staked energy used, as of energy_used_at (stack/devnet/energy.py)
    energy_used_at: int = 0  # ms

    def clone(self) -> Account:
        return Account(
            self.address,
            self.create_time,
            self.balance,
            dict(self.frozen),
            list(self.unfreezing),
            self.energy_used,
            self.energy_used_at,
        )

    @property
    def trx_total(self) -> int:
        """Every SUN the account owns: spendable, frozen and waiting to unfreeze."""
        return self.balance + sum(self.frozen.values()) + sum(u.amount for u in self.unfreezing)

    def expired_unfreezing(self, now_ms: int) -> int:
        return sum(u.amount for u in self.unfreezing if u.expire_time <= now_ms)


@dataclass
class Ledger:
    accounts: dict[str, Account] = field(default_factory=dict)
    usdt: dict[str, int] = field(default_factory=dict)
    allowances: dict[tuple[str, str], int] = field(default_factory=dict)  # (owner, spender) -> units
    burned: int = 0  # SUN paid as fees: gone from every account, still counted by the conservation check

    def clone(self) -> Ledger:
        return Ledger(
            {addr: acct.clone() for addr, acct in self.accounts.items()},
            dict(self.usdt),
            dict(self.allowances),
            self.burned,
        )

    def trx_total(self) -> int:
        return sum(acct.trx_total for acct in self.accounts.values())

    def usdt_total(self) -> int:
        return sum(self.usdt.values())
