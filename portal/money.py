"""Money: integer minor units plus an ISO 4217 code. The only place that rounds or formats.

Amounts never pass through float. Parsing accepts what people and CSV files write
("1234.56", "1,234.56", " 50 ") and refuses anything ambiguous rather than guessing.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal
from functools import cache

from babel import Locale
from babel.numbers import format_currency, get_currency_precision, list_currencies

# Largest amount the portal accepts anywhere: 10^13 minor units (100 billion yuan). Beyond
# that an input is a typo, and it must never overflow a BIGINT.
MAX_MINOR = 10**13

_AMOUNT = re.compile(r"^\d{1,3}(,\d{3})*(\.\d+)?$|^\d+(\.\d+)?$", re.ASCII)


class MoneyError(ValueError):
    """An amount that cannot be accepted. ``code`` says why, for a translated message."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


@cache
def _known_currencies() -> frozenset[str]:
    return frozenset(list_currencies())


def is_currency(code: str) -> bool:
    return code in _known_currencies()


@cache
def precision(currency: str) -> int:
    """Number of decimal places of the currency (CNY 2, JPY 0)."""
    return get_currency_precision(currency)


def parse_major(text: str, currency: str) -> int:
    """Turn "1,234.56" into 123456 minor units; raise MoneyError with a reason code."""
    if not is_currency(currency):
        raise MoneyError("unknown_currency")
    # Chinese input methods often type full-width digits and punctuation (１２３．４５).
    # (NFKC leaves ASCII as it is: imports parse millions of amounts.)
    cleaned = (text if text.isascii() else unicodedata.normalize("NFKC", text)).strip() if text else ""
    if not cleaned:
        raise MoneyError("missing")
    if cleaned.startswith("-"):
        raise MoneyError("negative")
    found = _AMOUNT.match(cleaned)
    if not found:
        raise MoneyError("malformed")
    # Integer arithmetic (no Decimal): imports parse millions of amounts. The digits after the
    # point count as written ("1.500" has three places even though the last is a zero).
    whole, _, fraction = cleaned.partition(".")
    places = precision(currency)
    if len(fraction) > places:
        raise MoneyError("too_many_decimals")
    digits = whole.replace(",", "").lstrip("0")
    if len(digits) > len(str(MAX_MINOR)):
        raise MoneyError("too_large")  # (and never an int() of thousands of digits)
    minor = int(digits or "0") * 10**places + (int(fraction) * 10 ** (places - len(fraction)) if fraction else 0)
    if minor > MAX_MINOR:
        raise MoneyError("too_large")
    return minor


def to_decimal(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-precision(currency))


def format_money(minor: int, currency: str, locale: str | Locale) -> str:
    """Format in the viewer's locale: zh_Hans ¥1,234.56; zh_Hant and en CN¥1,234.56."""
    layout = _layout(currency, str(locale)) if minor >= 0 else None
    if layout is None:
        return format_currency(to_decimal(minor, currency), currency, locale=locale)
    prefix, group, decimal, suffix, places = layout
    whole, fraction = divmod(minor, 10**places)
    digits = f"{whole:,}".replace(",", group)
    if places:
        digits = f"{digits}{decimal}{fraction:0{places}d}"
    return f"{prefix}{digits}{suffix}"


_PROBE = re.compile(
    r"^(?P<prefix>\D*)1(?P<group>\D)234(?P=group)567(?:(?P<decimal>\D)(?P<fraction>\d+))?"
    r"(?P<suffix>\D*)$"
)


@cache
def _layout(currency: str, locale: str) -> tuple[str, str, str, str, int] | None:
    """How Babel writes this currency in this locale, learnt once from probe amounts.

    Babel's format_currency costs about 40 µs a call and a borrower page shows a dozen amounts;
    with the layout (symbol before or after, group and decimal signs) an amount is formatted
    with integer arithmetic. Layouts this cannot describe (other digit groupings, no grouping
    of four-digit amounts) return None and Babel formats every amount itself. A test compares
    both ways over many amounts.
    """
    places = precision(currency)
    probe = format_currency(to_decimal(int("1234567" + "1234567890"[:places]), currency), currency, locale=locale)
    found = _PROBE.match(probe)
    if not found or (found["fraction"] or "") != "1234567890"[:places]:
        return None
    prefix, group, suffix = found["prefix"], found["group"], found["suffix"]
    if format_currency(to_decimal(1234 * 10**places, currency), currency, locale=locale) != (
        f"{prefix}1{group}234{found['decimal'] or ''}{'0' * places}{suffix}"
    ):
        return None
    return prefix, group, found["decimal"] or "", suffix, places


def format_major_plain(minor: int, currency: str) -> str:
    """ "1234.56": for form fields and CSV output, never for display."""
    return f"{to_decimal(minor, currency):f}"
