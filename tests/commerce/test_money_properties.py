"""Property tests for money and offer inputs: any input is a clean value or a domain error.

``commerce.money`` parses what artisans type (and what forms and the bot pass on); the offer
service validates lines with it. Whatever arrives — odd strings, huge or tiny decimals,
floats, booleans, wrong types — the answer is a Decimal with the currency's precision or
``InvalidMoney``/``InvalidInput`` with a field, never another exception.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from commerce import services
from commerce.errors import CommerceError, InvalidInput, InvalidMoney
from commerce.money import (
    CURRENCY_DECIMALS,
    MAX_AMOUNT,
    SUPPORTED_CURRENCIES,
    normalise_currency,
    to_decimal,
    validate_delta,
    validate_price,
)
from commerce.services.offers import _validated_lines
from conversations.services import start_conversation


def _attempt(call, errors):
    """(value, None) or (None, the domain error): assertions stay outside ``except``."""
    try:
        return call(), None
    except errors as error:
        return None, error


BOUNDED = settings(max_examples=200, derandomize=True, deadline=None, database=None)

currencies = st.sampled_from(SUPPORTED_CURRENCIES) | st.text(max_size=5)
decimal_text = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.from_regex(r"\A\s*[-+]?\d{0,12}([.,]\d{0,6})?([eE][-+]?\d{1,4})?\s*\Z"),
    st.sampled_from(["", " ", "NaN", "sNaN", "-Infinity", "1e999999", "1e-999999", "1_000", "١٢"]),
)
amounts = st.one_of(
    decimal_text,
    st.text(max_size=30),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=2),
)


@BOUNDED
@given(amount=amounts, currency=currencies)
def test_price_is_a_clean_decimal_or_invalid_money(amount, currency):
    price, error = _attempt(lambda: validate_price(amount, currency), InvalidMoney)
    if error is not None:
        assert error.code == "invalid_money"
        assert error.field in ("price", "currency")
        return
    code = normalise_currency(currency)
    assert isinstance(price, Decimal)
    assert price.is_finite()
    assert Decimal(0) < price <= MAX_AMOUNT
    assert -price.as_tuple().exponent == CURRENCY_DECIMALS[code]
    assert not isinstance(amount, float | bool)


@BOUNDED
@given(amount=amounts, currency=currencies)
def test_delta_is_signed_but_bounded(amount, currency):
    delta, error = _attempt(lambda: validate_delta(amount, currency), InvalidMoney)
    if error is not None:
        assert error.code == "invalid_money"
        assert error.field in ("price_delta", "currency")
        return
    assert delta.is_finite()
    assert abs(delta) <= MAX_AMOUNT


@BOUNDED
@given(amount=st.floats(allow_nan=True) | st.booleans(), currency=st.sampled_from(["EUR", "JPY"]))
def test_floats_and_booleans_are_refused(amount, currency):
    with pytest.raises(InvalidMoney):
        to_decimal(amount) if isinstance(amount, bool) else validate_price(amount, currency)


@BOUNDED
@given(
    whole=st.integers(min_value=1, max_value=999_999),
    cents=st.integers(min_value=1, max_value=99),
)
def test_jpy_has_no_decimals(whole, cents):
    assert validate_price(str(whole), "JPY") == Decimal(whole)
    with pytest.raises(InvalidMoney, match="JPY"):
        validate_price(f"{whole}.{cents:02d}", "JPY")
    assert validate_price(f"{whole}.{cents:02d}", "EUR") == Decimal(f"{whole}.{cents:02d}")


line_inputs = st.builds(
    services.OfferLineInput,
    description=st.text(max_size=250) | st.none(),
    unit_price=amounts,
    quantity=st.integers(min_value=-5, max_value=2000)
    | st.booleans()
    | st.floats(allow_nan=True)
    | st.text(max_size=3)
    | st.none(),
)


@BOUNDED
@given(lines=st.lists(line_inputs, max_size=32), currency=st.sampled_from(SUPPORTED_CURRENCIES))
# A boolean is an int to Python, not a quantity.
@example(
    lines=[services.OfferLineInput(description="Bowl", unit_price="10", quantity=True)],
    currency="EUR",
)
def test_offer_lines_are_clean_or_a_domain_error(lines, currency):
    cleaned, error = _attempt(
        lambda: _validated_lines(lines, currency, signed=False), (InvalidInput, InvalidMoney)
    )
    if error is not None:
        assert error.field == "lines"
        return
    assert 1 <= len(cleaned) <= 30
    for description, quantity, price in cleaned:
        assert description.strip() and len(description) <= 200
        assert type(quantity) is int and 1 <= quantity <= 1000
        assert price > 0 and -price.as_tuple().exponent == CURRENCY_DECIMALS[currency]


@pytest.mark.django_db
@settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    lines=st.lists(line_inputs, min_size=1, max_size=3),
    currency=currencies,
    shipping=amounts,
)
def test_send_offer_answers_a_domain_error_or_an_offer(buyer, artisan, lines, currency, shipping):
    services.save_artisan_profile(
        user=artisan, shop_name="Casa Barro", story="Clay.", region="Oaxaca", country="MX"
    )
    conversation = start_conversation(buyer=buyer, artisan=artisan, subject="A bowl")
    offer, error = _attempt(
        lambda: services.send_offer(
            artisan=artisan,
            conversation=conversation,
            lines=lines,
            currency=currency,
            lead_time_days=14,
            shipping_amount=shipping,
        ),
        CommerceError,
    )
    if error is not None:
        assert error.code in ("invalid", "invalid_money")
        return
    assert offer.total > 0
    assert offer.currency == normalise_currency(currency)
