"""Money rules for commerce: a ``Decimal`` amount plus an ISO 4217 code from a fixed list.

The list is a module constant on purpose (not a setting): adding a currency means checking
its minor unit with every gateway, which is a code change, not a deployment knob.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from commerce.errors import InvalidMoney

SUPPORTED_CURRENCIES: tuple[str, ...] = (
    "EUR",
    "USD",
    "GBP",
    "CAD",
    "JPY",
    "MXN",
    "CHF",
    "SEK",
    "PLN",
    "AUD",
)
CURRENCY_CHOICES = [(code, code) for code in SUPPORTED_CURRENCIES]
# Minor-unit digits; every supported currency has 2 except the yen.
CURRENCY_DECIMALS: dict[str, int] = {code: 2 for code in SUPPORTED_CURRENCIES} | {"JPY": 0}
CURRENCY_SYMBOLS = {
    "EUR": "€",
    "USD": "US$",
    "GBP": "£",
    "CAD": "CA$",
    "JPY": "¥",
    "MXN": "MX$",
    "CHF": "CHF ",
    "SEK": "SEK ",
    "PLN": "PLN ",
    "AUD": "A$",
}
MAX_AMOUNT = Decimal("1000000")


def normalise_currency(currency: str) -> str:
    """Upper-case ISO code from the allow-list, or ``InvalidMoney``."""
    code = (currency or "").strip().upper() if isinstance(currency, str) else ""
    if code not in SUPPORTED_CURRENCIES:
        raise InvalidMoney(
            f"Unknown currency {currency!r}. Use one of: {', '.join(SUPPORTED_CURRENCIES)}.",
            field="currency",
        )
    return code


def quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-CURRENCY_DECIMALS[normalise_currency(currency)])


def to_decimal(value: object, *, field: str = "amount") -> Decimal:
    """Parse user input into a Decimal; floats are refused (0.1 + 0.2 is not a price)."""
    if isinstance(value, bool) or isinstance(value, float):
        raise InvalidMoney("Amounts must be given as decimal strings, not floats.", field=field)
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as error:
        raise InvalidMoney(f"{value!r} is not an amount.", field=field) from error
    if not amount.is_finite():
        raise InvalidMoney("Amount must be a finite number.", field=field)
    return amount


def validate_price(amount: object, currency: str, *, field: str = "price") -> Decimal:
    """A strictly positive amount with no more decimals than the currency has."""
    code = normalise_currency(currency)
    value = to_decimal(amount, field=field)
    if value <= 0:
        raise InvalidMoney("The price must be greater than zero.", field=field)
    return _check_scale(value, code, field)


def validate_delta(amount: object, currency: str, *, field: str = "price_delta") -> Decimal:
    """A signed amount (price delta, change order) with the currency's precision."""
    code = normalise_currency(currency)
    return _check_scale(to_decimal(amount, field=field), code, field)


def _check_scale(value: Decimal, currency: str, field: str) -> Decimal:
    if abs(value) > MAX_AMOUNT:
        raise InvalidMoney(f"Amounts above {MAX_AMOUNT} are not accepted.", field=field)
    step = quantum(currency)
    if value != value.quantize(step):
        places = CURRENCY_DECIMALS[currency]
        raise InvalidMoney(
            f"{currency} amounts have {places} decimal place{'s' if places != 1 else ''} at most.",
            field=field,
        )
    return value.quantize(step)


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Round a computed amount (fee, deposit) half-up to the currency's minor unit."""
    return amount.quantize(quantum(currency), rounding=ROUND_HALF_UP)


def percent_of(amount: Decimal, percent: Decimal | int, currency: str) -> Decimal:
    """``percent`` % of ``amount`` (a deposit, the platform fee), rounded like ``round_money``."""
    return round_money(amount * Decimal(percent) / Decimal(100), currency)


def format_money(amount: Decimal | None, currency: str) -> str:
    """Money for the current reader: Babel's CLDR rules for the active language."""
    from core.l10n import format_money as localised

    return localised(amount, currency)
