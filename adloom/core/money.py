"""Prices: the one place an amount of money becomes text.

A wrong price in an ad is a legal problem, so every writer (ad scripts, live scripts, live answers,
product cards, purchase replies) goes through :func:`format_price`, and every grounding check that
asks "may this line state this number?" goes through :func:`price_numbers`.

The currency's minor-unit digits (JPY/KRW 0, CNY/USD/EUR 2, KWD 3), its English symbol and each
language's grouping and decimal marks come from Babel's CLDR data (offline, no hand tables). Amounts
are rounded half-up to the currency's digits with :mod:`decimal` (never through ``float`` formatting,
which gives ``1.23457e+06`` for 1234567 with ``:g``). A whole amount is written without its zero
decimals (``$19``, ``到手价129元``) as the copy has always read; any other amount shows every minor
digit (``$19.90``, ``0.125 KWD``).
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal, localcontext

from babel.numbers import format_decimal, get_currency_precision, get_currency_symbol

from adloom.core.errors import InputError

#: The CLDR locale whose number marks each copy language (:class:`adloom.core.types.Language`) uses.
LOCALES: dict[str, str] = {"zh": "zh_CN", "en": "en_US"}


def price_decimals(currency: str) -> int:
    """The currency's minor-unit digits from CLDR (JPY 0, USD 2, KWD 3; unknown codes 2)."""
    return int(get_currency_precision(currency))


def round_price(amount: float | Decimal, currency: str) -> Decimal:
    """``amount`` rounded half-up to ``currency``'s minor unit, as an exact :class:`~decimal.Decimal`."""
    if isinstance(amount, float) and not math.isfinite(amount):
        raise InputError(f"price {amount!r} is not a finite number; give the amount in {currency}", field="price")
    exact = Decimal(str(amount))  # str(): the shortest decimal that reads back as the float (0.1, not 0.1000…055)
    digits = price_decimals(currency)
    with localcontext() as ctx:
        ctx.prec = max(28, exact.adjusted() + digits + 2)  # room for every integer digit of a huge amount
        return exact.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)


def _locale(language: str) -> str:
    try:
        return LOCALES[str(language)]
    except KeyError:
        raise InputError(
            f"language {language!r} has no price format; use one of {sorted(LOCALES)}", field="language"
        ) from None


def _number(amount: float | Decimal, currency: str, language: str, *, grouped: bool) -> str:
    rounded = round_price(amount, currency)
    digits = price_decimals(currency) if rounded != rounded.to_integral_value() else 0
    pattern = ("#,##0" if grouped else "0") + ("." + "0" * digits if digits else "")
    return format_decimal(rounded, format=pattern, locale=_locale(language), decimal_quantization=True)


def format_price(amount: float | Decimal, currency: str, language: str) -> str:
    """The price as written in copy of ``language``: ``到手价1,234,567元``, ``$19.90``, ``1,200 CHF``.

    zh: 到手价 + amount + 元 for CNY, else the ISO code after the amount. en: the currency's English
    symbol before the amount where CLDR has one ($, €, £, ¥ for JPY, CN¥, ₩), else the code after it."""
    number = _number(amount, currency, language, grouped=True)
    if str(language) == "zh":
        return f"到手价{number}元" if currency == "CNY" else f"到手价{number} {currency}"
    symbol = get_currency_symbol(currency, _locale(language))
    return f"{symbol}{number}" if symbol != currency else f"{number} {currency}"


def price_numbers(amount: float | Decimal, currency: str) -> set[str]:
    """The ways a line may write this price's number, without grouping marks (as
    :func:`adloom.core.text.numbers_in` reads them): ``{"19.90", "19.9"}`` for 19.9 USD, ``{"129"}``."""
    canonical = _number(amount, currency, "en", grouped=False)
    forms = {canonical}
    if "." in canonical:
        forms.add(canonical.rstrip("0").rstrip("."))
    return forms
