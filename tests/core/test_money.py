"""Prices: one formatter, the currency's digits, grouping per language, never exponent notation."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adloom.core.errors import InputError
from adloom.core.money import format_price, price_numbers
from adloom.core.text import numbers_in
from adloom.core.types import Language, Product

#: Minor-unit digits per ISO 4217, written here independently of Babel so the test can fail.
DIGITS = {"CNY": 2, "USD": 2, "EUR": 2, "GBP": 2, "CHF": 2, "JPY": 0, "KRW": 0, "KWD": 3, "BHD": 3}
#: Group and decimal marks expected in each copy language.
MARKS = {"zh": (",", "."), "en": (",", ".")}

amounts = st.one_of(
    st.sampled_from([0.0, 0.004, 0.005, 0.01, 0.1, 0.125, 1.0, 19.9, 999.995, 1234567.0, 123456.78, 1e15, 1e20]),
    st.floats(min_value=0, max_value=1e18, allow_nan=False, allow_infinity=False),
    st.decimals(min_value=0, max_value=Decimal("1e12"), places=6, allow_nan=False, allow_infinity=False),
)


def _number_part(text: str) -> str:
    """The one number in a formatted price, marks kept."""
    found = re.findall(r"\d[\d,.]*\d|\d", text)
    assert len(found) == 1, f"expected one number in {text!r}"
    return found[0]


@settings(max_examples=400, deadline=None, derandomize=True)
@given(amount=amounts, currency=st.sampled_from(sorted(DIGITS)), language=st.sampled_from(["zh", "en"]))
def test_price_is_exact_grouped_and_never_exponent(amount: float | Decimal, currency: str, language: str) -> None:
    text = format_price(amount, currency, language)
    assert not re.search(r"\d[eE][+-]?\d", text), text
    group, point = MARKS[language]
    number = _number_part(text)
    whole, _, frac = number.partition(point)
    # Grouping: groups of three digits from the right, the first of one to three.
    groups = whole.split(group)
    assert 1 <= len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:]), text
    # Round trip: the digits read back as the amount rounded half-up to the currency's minor unit.
    expected = Decimal(str(amount)).quantize(Decimal(1).scaleb(-DIGITS[currency]), rounding=ROUND_HALF_UP)
    assert Decimal(whole.replace(group, "") + ("." + frac if frac else "")) == expected, text
    # Decimals: none for a whole amount, else exactly the currency's minor digits.
    assert len(frac) == (0 if expected == expected.to_integral_value() else DIGITS[currency]), text
    # The grounding check reads the same number back out of the copy.
    assert numbers_in(text) & price_numbers(amount, currency), text


@pytest.mark.parametrize(
    ("price", "currency", "language", "text"),
    [
        (1234567, "CNY", Language.zh, "到手价1,234,567元"),
        (123456.78, "CNY", Language.zh, "到手价123,456.78元"),
        (129, "CNY", Language.zh, "到手价129元"),
        (19.9, "USD", Language.zh, "到手价19.90 USD"),
        (19, "USD", Language.en, "$19"),
        (19.9, "USD", Language.en, "$19.90"),
        (1234567, "USD", Language.en, "$1,234,567"),
        (1200.5, "EUR", Language.en, "€1,200.50"),
        (1299.6, "JPY", Language.en, "¥1,300"),
        (129, "CNY", Language.en, "CN¥129"),
        (1.2345, "KWD", Language.en, "1.235 KWD"),
        (1200, "CHF", Language.en, "1,200 CHF"),
    ],
)
def test_product_price_text(price: float, currency: str, language: Language, text: str) -> None:
    product = Product(name="x", selling_points=["y"], price=price, currency=currency)
    assert product.price_text(language) == text


def test_price_numbers_accept_both_written_forms() -> None:
    assert price_numbers(19.9, "USD") == {"19.90", "19.9"}
    assert price_numbers(1234567, "CNY") == {"1234567"}
    assert Product(name="x", selling_points=["y"]).price_numbers() == set()


def test_bad_amount_and_language_are_named() -> None:
    with pytest.raises(InputError, match="not a finite number"):
        format_price(float("inf"), "USD", "en")
    with pytest.raises(InputError, match="'fr' has no price format"):
        format_price(1, "USD", "fr")
