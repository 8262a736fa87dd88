"""Money rules of the payment contracts: Decimal + ISO 4217, minor units only at the edge."""

from __future__ import annotations

from decimal import Decimal

import pytest

from commerce.payments.types import (
    InvalidPaymentRequest,
    PaymentRequest,
    format_major_units,
    from_minor_units,
    to_minor_units,
)


@pytest.mark.parametrize(
    ("amount", "currency", "minor_units"),
    [
        (Decimal("12.34"), "EUR", 1234),
        (Decimal("12.3"), "eur", 1230),
        (Decimal("1500"), "JPY", 1500),
        (Decimal("12.345"), "KWD", 12345),
        (Decimal("0.001"), "BHD", 1),
        (Decimal("1E+2"), "JPY", 100),
    ],
)
def test_to_minor_units_uses_the_currency_exponent(amount, currency, minor_units):
    # Given an amount in major units / When converted at the SDK edge
    converted = to_minor_units(amount, currency)
    # Then the exponent of that currency applies (JPY 0, EUR 2, KWD/BHD 3)
    assert converted == minor_units


@pytest.mark.parametrize(
    ("minor_units", "currency", "amount"),
    [(1234, "EUR", "12.34"), (1500, "JPY", "1500"), (12345, "KWD", "12.345"), (5, "usd", "0.05")],
)
def test_from_minor_units_round_trips(minor_units, currency, amount):
    converted = from_minor_units(minor_units, currency)
    assert converted == Decimal(amount)
    assert str(converted) == amount
    assert to_minor_units(converted, currency) == minor_units


@pytest.mark.parametrize(
    ("amount", "currency", "message"),
    [
        (Decimal("10"), "XXX", "Unsupported currency"),
        (Decimal("10"), "", "Unsupported currency"),
        (Decimal("0"), "EUR", "positive"),
        (Decimal("-5.00"), "EUR", "positive"),
        (Decimal("NaN"), "EUR", "positive"),
        (Decimal("10.5"), "JPY", "more decimals than JPY"),
        (Decimal("10.005"), "EUR", "more decimals than EUR"),
        (10.5, "EUR", "must be a Decimal"),
        (10, "EUR", "must be a Decimal"),
    ],
)
def test_unusable_amounts_and_currencies_are_rejected(amount, currency, message):
    with pytest.raises(InvalidPaymentRequest, match=message):
        to_minor_units(amount, currency)


def test_payment_request_validates_and_normalises_on_construction():
    # Given a request in lower-case currency / When built
    request = PaymentRequest(
        order_reference="ORD-1", amount=Decimal("9.90"), currency="gbp", idempotency_key="ORD-1:1"
    )
    # Then the currency is the ISO code and defaults are empty
    assert request.currency == "GBP"
    assert request.metadata == {}
    assert request.customer_email is None


@pytest.mark.parametrize(
    "overrides",
    [
        {"amount": Decimal("0")},
        {"amount": Decimal("-1")},
        {"currency": "ABC"},
        {"order_reference": " "},
        {"idempotency_key": ""},
    ],
)
def test_payment_request_rejects_bad_input(overrides):
    fields = {
        "order_reference": "ORD-1",
        "amount": Decimal("5"),
        "currency": "EUR",
        "idempotency_key": "ORD-1:1",
    }
    with pytest.raises(InvalidPaymentRequest):
        PaymentRequest(**{**fields, **overrides})


def test_format_major_units_pads_to_the_exponent():
    assert format_major_units(Decimal("12.3"), "EUR") == "12.30"
    assert format_major_units(Decimal("1500"), "JPY") == "1500"
    assert format_major_units(Decimal("1.5"), "KWD") == "1.500"
