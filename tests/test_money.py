import pytest
from babel.numbers import format_currency
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.i18n import LOCALES
from portal.money import MAX_MINOR, MoneyError, format_major_plain, format_money, parse_major, to_decimal
from tests.fuzzing import examples


@pytest.mark.parametrize(
    "text,currency,minor",
    [
        ("1234.56", "CNY", 123456),
        ("1,234.56", "CNY", 123456),
        (" 50 ", "CNY", 5000),
        ("0.1", "CNY", 10),
        ("１２３．４５", "CNY", 12345),
        ("0", "CNY", 0),
        ("1000", "JPY", 1000),
        ("12.345", "KWD", 12345),
    ],
)
def test_parse_major_units(text, currency, minor):
    assert parse_major(text, currency) == minor


@pytest.mark.parametrize(
    "text,code",
    [
        ("", "missing"),
        ("-1", "negative"),
        ("1.234", "too_many_decimals"),
        ("1.5", None),
        ("abc", "malformed"),
        ("1e3", "malformed"),
        ("1,23", "malformed"),
        ("NaN", "malformed"),
        ("Infinity", "malformed"),
        ("١٢٣", "malformed"),
        (str(MAX_MINOR), "too_large"),
    ],
)
def test_parse_refuses_anything_ambiguous(text, code):
    if code is None:
        assert parse_major(text, "CNY") == 150
        return
    with pytest.raises(MoneyError) as error:
        parse_major(text, "CNY")
    assert error.value.code == code


def test_jpy_has_no_decimals():
    with pytest.raises(MoneyError):
        parse_major("1.5", "JPY")


def test_unknown_currency():
    with pytest.raises(MoneyError) as error:
        parse_major("1", "XXQ")
    assert error.value.code == "unknown_currency"


def test_plain_major_round_trips():
    assert format_major_plain(123456, "CNY") == "1234.56"
    assert parse_major(format_major_plain(5, "CNY"), "CNY") == 5


# Currencies a lender may use, with 0, 2 and 3 decimal places, symbols before the digits and
# symbols that differ between the three locales.
SHOWN_CURRENCIES = ["CNY", "HKD", "MOP", "TWD", "USD", "EUR", "JPY", "KWD"]


@settings(max_examples=examples(300), deadline=None)
@given(
    minor=st.integers(min_value=-MAX_MINOR, max_value=MAX_MINOR),
    currency=st.sampled_from(SHOWN_CURRENCIES),
    locale=st.sampled_from(LOCALES),
)
def test_amounts_read_exactly_as_babel_writes_them(minor, currency, locale):
    # format_money takes a fast path learnt from Babel; a borrower must never see a figure
    # that differs from Babel's own formatting by a single sign or digit.
    expected = format_currency(to_decimal(minor, currency), currency, locale=locale)
    assert format_money(minor, currency, locale) == expected


@pytest.mark.parametrize(
    ("locale", "shown"), [("zh_Hans", "¥1,234,567.89"), ("zh_Hant", "CN¥1,234,567.89"), ("en", "CN¥1,234,567.89")]
)
def test_yuan_in_each_language(locale, shown):
    assert format_money(123456789, "CNY", locale) == shown
