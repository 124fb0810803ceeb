"""Amounts: decimal strings in, integers in base units inside, decimal strings out."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

DECIMALS = 6  # 1 TRX = 1,000,000 SUN; USDT TRC20 has 6 decimals too
UNIT = 10**DECIMALS
MAX_AMOUNT = 10**18  # base units; far above any supply, bounds what we store as int64-safe

_DECIMAL = re.compile(r"^(\d+)(?:\.(\d{1,6}))?$", re.ASCII)


class AmountError(ValueError):
    pass


def parse_amount(value: Any, *, allow_zero: bool = False) -> int:
    """Parse a request amount into base units, or raise AmountError saying what is wrong."""
    if isinstance(value, bool) or value is None:
        raise AmountError('must be a decimal string such as "12.5" with at most 6 decimal places')
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise AmountError("must be a finite number")
        try:
            text = format(Decimal(repr(value)), "f")
        except InvalidOperation:
            raise AmountError("must be a finite number") from None
    elif isinstance(value, str):
        text = value.strip()
    else:
        raise AmountError('must be a decimal string such as "12.5" with at most 6 decimal places')
    if text.startswith("-"):
        raise AmountError("must not be negative")
    match = _DECIMAL.match(text)
    if not match:
        if re.match(r"^\d+\.\d{7,}$", text):
            raise AmountError("has more than 6 decimal places")
        raise AmountError('must be a decimal string such as "12.5" with at most 6 decimal places')
    whole, fraction = match.group(1), (match.group(2) or "")
    units = int(whole) * UNIT + int(fraction.ljust(DECIMALS, "0"))
    if units == 0 and not allow_zero:
        raise AmountError("must be greater than zero")
    if units > MAX_AMOUNT:
        raise AmountError("is too large")
    return units


def format_amount(units: int) -> str:
    """Base units to the API's decimal string, always 6 places: 12500000 -> "12.500000"."""
    sign = "-" if units < 0 else ""
    whole, fraction = divmod(abs(units), UNIT)
    return f"{sign}{whole}.{fraction:06d}"
