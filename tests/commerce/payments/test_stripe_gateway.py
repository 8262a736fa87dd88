"""StripeGateway with the real stripe library against a real localstripe process.

What localstripe itself sends (payment_intent.succeeded / payment_failed, customer.created
webhooks, signed ``t=..,v1=..``) is received over HTTP by a local receiver and parsed.
localstripe emits no refund webhook, so the ``charge.refunded`` test wraps the real Charge
that localstripe returns after a refund in an event envelope and signs it with Stripe's
scheme in this file (see docs/payments.md).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from decimal import Decimal

import pytest

from commerce.payments.gateway import PaymentGateway
from commerce.payments.stripe_gateway import STRIPE_API_VERSION, StripeGateway
from commerce.payments.types import (
    GatewayNotConfigured,
    GatewayUnavailable,
    InvalidWebhook,
    PaymentDeclined,
    PaymentError,
    PaymentRequest,
    PaymentSession,
)

pytestmark = pytest.mark.integration

# Must match the secret the conftest registers with localstripe.
STRIPE_WEBHOOK_SECRET = "whsec_atelier_test_secret"


def _request(reference: str, amount: str = "12.34", currency: str = "EUR") -> PaymentRequest:
    return PaymentRequest(
        order_reference=reference,
        amount=Decimal(amount),
        currency=currency,
        idempotency_key=f"{reference}:attempt-1",
        description=f"Order {reference}: hand-thrown mug",
        metadata={"artisan": "ana"},
    )


def _stripe_signature(body: bytes, secret: str, timestamp: int) -> str:
    """Stripe's documented scheme: HMAC-SHA256 over "<t>.<body>", header t=..,v1=.."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def _buyer_pays_with_card(localstripe, payment_id: str, payment_method: str) -> dict:
    """What Stripe.js does on our pay page: attach the card and confirm.

    localstripe answers 500 "Not implemented" to ``confirm`` with a ``payment_method``
    parameter, so the card is attached with an update first (real Stripe accepts both).
    """
    localstripe.api("POST", f"/v1/payment_intents/{payment_id}", payment_method=payment_method)
    return localstripe.api("POST", f"/v1/payment_intents/{payment_id}/confirm")


def _event_for(payment_id: str, event_type: str):
    def matches(delivery) -> bool:
        payload = delivery.payload
        return payload["type"] == event_type and payload["data"]["object"]["id"] == payment_id

    return matches


@pytest.fixture(scope="module")
def paid_payment(stripe_gateway, localstripe, webhook_receiver):
    """A payment created by the gateway, paid with pm_card_visa, and its real webhook."""
    session = stripe_gateway.create_payment(_request("ORD-PAID"))
    confirmed = _buyer_pays_with_card(localstripe, session.provider_payment_id, "pm_card_visa")
    assert confirmed["status"] == "succeeded"
    delivery = webhook_receiver.wait_for(
        _event_for(session.provider_payment_id, "payment_intent.succeeded")
    )
    return session, delivery


def test_gateway_satisfies_the_protocol(stripe_gateway):
    assert isinstance(stripe_gateway, PaymentGateway)


def test_create_payment_opens_an_intent_in_minor_units_with_the_order_reference(
    stripe_gateway, localstripe
):
    # Given an order of 12.34 EUR / When the gateway opens a payment
    session = stripe_gateway.create_payment(_request("ORD-CREATE"))

    # Then the buyer gets a client secret for Stripe.js and nothing is paid yet
    assert isinstance(session, PaymentSession)
    assert session.provider == "stripe"
    assert session.provider_payment_id.startswith("pi_")
    assert session.client_secret.startswith(f"{session.provider_payment_id}_secret_")
    assert session.status == "pending"
    assert (session.amount, session.currency) == (Decimal("12.34"), "EUR")
    # And Stripe holds cents, card-only, with our order reference in the metadata
    intent = localstripe.api("GET", f"/v1/payment_intents/{session.provider_payment_id}")
    assert intent["amount"] == 1234
    assert intent["currency"] == "eur"
    assert intent["metadata"]["order_reference"] == "ORD-CREATE"
    assert intent["metadata"]["artisan"] == "ana"
    assert intent["metadata"]["description"] == "Order ORD-CREATE: hand-thrown mug"


def test_each_call_sends_the_idempotency_key_and_pinned_api_version(stripe_gateway, localstripe):
    # Given the same attempt sent twice (a retry after a timeout)
    first = stripe_gateway.create_payment(_request("ORD-IDEMPOTENT"))
    second = stripe_gateway.create_payment(_request("ORD-IDEMPOTENT"))

    # Then both requests carried the attempt's Idempotency-Key and our pinned Stripe-Version
    creates = [
        request
        for request in localstripe.recorded_requests()
        if request["path"] == "/v1/payment_intents" and request["method"] == "POST"
    ]
    keyed = [r for r in creates if r["idempotency_key"] == "ORD-IDEMPOTENT:attempt-1"]
    assert len(keyed) == 2
    assert {r["stripe_version"] for r in keyed} == {STRIPE_API_VERSION}
    # And localstripe, which ignores idempotency keys, made two intents (real Stripe: one)
    assert first.provider_payment_id != second.provider_payment_id


@pytest.mark.parametrize(
    ("amount", "currency", "minor_units"),
    [("1500", "JPY", 1500), ("12.345", "KWD", 12345), ("0.50", "USD", 50)],
)
def test_minor_units_follow_the_currency(
    stripe_gateway, localstripe, amount, currency, minor_units
):
    session = stripe_gateway.create_payment(_request(f"ORD-{currency}", amount, currency))
    intent = localstripe.api("GET", f"/v1/payment_intents/{session.provider_payment_id}")
    assert intent["amount"] == minor_units
    assert intent["currency"] == currency.lower()
    assert session.amount == Decimal(amount)


def test_paid_intent_sends_a_signed_webhook_that_parses_to_payment_succeeded(
    stripe_gateway, paid_payment
):
    session, delivery = paid_payment
    # Given the webhook localstripe really POSTed, signed t=..,v1=..
    assert delivery.headers["Stripe-Signature"].startswith("t=")

    # When our webhook endpoint parses it
    event = stripe_gateway.parse_webhook(body=delivery.body, headers=delivery.headers)

    # Then it is a verified payment.succeeded for our order and amount
    assert event.provider == "stripe"
    assert event.event_type == "payment.succeeded"
    assert event.raw_type == "payment_intent.succeeded"
    assert event.event_id.startswith("evt_")
    assert event.provider_payment_id == session.provider_payment_id
    assert event.order_reference == "ORD-PAID"
    assert (event.amount, event.currency) == (Decimal("12.34"), "EUR")
    assert event.created.tzinfo is not None
    assert abs(event.created.timestamp() - time.time()) < 60


def test_retrieve_payment_reports_the_paid_intent(stripe_gateway, paid_payment):
    session, _ = paid_payment
    current = stripe_gateway.retrieve_payment(session.provider_payment_id)
    assert current.status == "succeeded"
    assert (current.amount, current.currency) == (Decimal("12.34"), "EUR")


def test_headers_are_matched_case_insensitively(stripe_gateway, paid_payment):
    _, delivery = paid_payment
    lowered = {key.lower(): value for key, value in delivery.headers.items()}
    event = stripe_gateway.parse_webhook(body=delivery.body, headers=lowered)
    assert event.event_type == "payment.succeeded"


def test_tampered_body_is_rejected(stripe_gateway, paid_payment):
    _, delivery = paid_payment
    tampered = delivery.body.replace(b'"amount": 1234', b'"amount": 1')
    assert tampered != delivery.body
    with pytest.raises(InvalidWebhook):
        stripe_gateway.parse_webhook(body=tampered, headers=delivery.headers)


def test_wrong_secret_is_rejected(localstripe, paid_payment):
    _, delivery = paid_payment
    gateway = StripeGateway(
        secret_key=localstripe.secret_key,
        webhook_secret="whsec_someone_else",
        api_base=localstripe.base_url,
    )
    with pytest.raises(InvalidWebhook):
        gateway.parse_webhook(body=delivery.body, headers=delivery.headers)


def test_stale_timestamp_is_rejected_even_with_a_valid_signature(stripe_gateway, paid_payment):
    # Given the real body re-signed with the right secret but 301 s ago (a replay)
    _, delivery = paid_payment
    stale = _stripe_signature(delivery.body, STRIPE_WEBHOOK_SECRET, int(time.time()) - 301)
    with pytest.raises(InvalidWebhook, match="tolerance"):
        stripe_gateway.parse_webhook(body=delivery.body, headers={"Stripe-Signature": stale})


@pytest.mark.parametrize(
    "headers", [{}, {"Stripe-Signature": "garbage"}, {"Stripe-Signature": "t=abc,v1=00"}]
)
def test_missing_or_malformed_signature_header_is_rejected(stripe_gateway, paid_payment, headers):
    _, delivery = paid_payment
    with pytest.raises(InvalidWebhook):
        stripe_gateway.parse_webhook(body=delivery.body, headers=headers)


def test_signed_but_non_json_body_is_rejected(stripe_gateway):
    body = b"not json"
    header = _stripe_signature(body, STRIPE_WEBHOOK_SECRET, int(time.time()))
    with pytest.raises(InvalidWebhook):
        stripe_gateway.parse_webhook(body=body, headers={"Stripe-Signature": header})


def test_declined_card_sends_payment_failed(stripe_gateway, localstripe, webhook_receiver):
    # Given a payment the buyer tries to pay with a card that is declined on charge
    session = stripe_gateway.create_payment(_request("ORD-DECLINED", "30.00"))
    answer = _buyer_pays_with_card(
        localstripe, session.provider_payment_id, "pm_card_chargeCustomerFail"
    )
    assert answer["status_code"] == 402

    # When localstripe's payment_intent.payment_failed webhook is parsed
    delivery = webhook_receiver.wait_for(
        _event_for(session.provider_payment_id, "payment_intent.payment_failed")
    )
    event = stripe_gateway.parse_webhook(body=delivery.body, headers=delivery.headers)

    # Then it is a payment.failed for the order, and the intent reads as failed
    assert event.event_type == "payment.failed"
    assert event.order_reference == "ORD-DECLINED"
    assert event.amount == Decimal("30.00")
    assert stripe_gateway.retrieve_payment(session.provider_payment_id).status == "failed"


def test_events_we_do_not_handle_parse_as_other(stripe_gateway, localstripe, webhook_receiver):
    customer = localstripe.api("POST", "/v1/customers", email="buyer@example.test")
    delivery = webhook_receiver.wait_for(
        lambda d: (
            d.payload["type"] == "customer.created"
            and d.payload["data"]["object"]["id"] == customer["id"]
        )
    )
    event = stripe_gateway.parse_webhook(body=delivery.body, headers=delivery.headers)
    assert event.event_type == "other"
    assert event.raw_type == "customer.created"
    assert event.provider_payment_id is None


def test_partial_then_full_refund(stripe_gateway, localstripe, webhook_receiver):
    # Given a paid 20.00 EUR payment
    session = stripe_gateway.create_payment(_request("ORD-REFUND", "20.00"))
    _buyer_pays_with_card(localstripe, session.provider_payment_id, "pm_card_visa")

    # When 5.50 and then the rest are refunded
    partial = stripe_gateway.refund(
        provider_payment_id=session.provider_payment_id,
        amount=Decimal("5.50"),
        idempotency_key="ORD-REFUND:refund-1",
    )
    rest = stripe_gateway.refund(
        provider_payment_id=session.provider_payment_id,
        amount=None,
        idempotency_key="ORD-REFUND:refund-2",
    )

    # Then each result is in major units of the payment's currency
    assert partial.refund_id.startswith("re_")
    assert (partial.status, partial.amount, partial.currency) == (
        "succeeded",
        Decimal("5.50"),
        "EUR",
    )
    assert partial.provider_payment_id == session.provider_payment_id
    # localstripe's "full" refund is the whole charge again, not the remainder (real
    # Stripe refunds the remaining 14.50): a localstripe simplification.
    assert rest.amount == Decimal("20.00")
    refund_keys = {
        r["idempotency_key"] for r in localstripe.recorded_requests() if r["path"] == "/v1/refunds"
    }
    assert {"ORD-REFUND:refund-1", "ORD-REFUND:refund-2"} <= refund_keys


def test_charge_refunded_event_parses_to_refund_succeeded(stripe_gateway, localstripe):
    # Given a refunded payment and the real Charge object localstripe holds for it
    session = stripe_gateway.create_payment(_request("ORD-REFUND-EVENT", "8.00"))
    paid = _buyer_pays_with_card(localstripe, session.provider_payment_id, "pm_card_visa")
    stripe_gateway.refund(
        provider_payment_id=session.provider_payment_id,
        amount=Decimal("3.00"),
        idempotency_key="ORD-REFUND-EVENT:refund-1",
    )
    charge = localstripe.api("GET", f"/v1/charges/{paid['latest_charge']['id']}")
    charge.pop("status_code")
    # When it arrives as the charge.refunded event Stripe would send (signed here, since
    # localstripe never emits one)
    now = int(time.time())
    body = json.dumps(
        {
            "id": "evt_refund_test",
            "object": "event",
            "type": "charge.refunded",
            "created": now,
            "livemode": False,
            "api_version": STRIPE_API_VERSION,
            "data": {"object": charge},
        }
    ).encode()
    headers = {"Stripe-Signature": _stripe_signature(body, STRIPE_WEBHOOK_SECRET, now)}
    event = stripe_gateway.parse_webhook(body=body, headers=headers)

    # Then it is refund.succeeded on the PaymentIntent with the running refunded total
    assert event.event_type == "refund.succeeded"
    assert event.provider_payment_id == session.provider_payment_id
    assert (event.amount, event.currency) == (Decimal("3.00"), "EUR")
    # Charges do not carry the intent's metadata: consumers match on the payment id.
    assert event.order_reference is None


def test_unknown_payment_is_a_payment_error(stripe_gateway):
    with pytest.raises(PaymentError) as raised:
        stripe_gateway.retrieve_payment("pi_doesnotexist")
    assert not isinstance(raised.value, (GatewayUnavailable, PaymentDeclined))


def test_rejected_api_key_means_not_configured(localstripe):
    gateway = StripeGateway(
        secret_key="rk_not_a_secret_key",
        webhook_secret=STRIPE_WEBHOOK_SECRET,
        api_base=localstripe.base_url,
    )
    with pytest.raises(GatewayNotConfigured, match="STRIPE_SECRET_KEY"):
        gateway.create_payment(_request("ORD-BADKEY"))


def test_unreachable_stripe_is_gateway_unavailable():
    gateway = StripeGateway(
        secret_key="sk_test_x",
        webhook_secret=STRIPE_WEBHOOK_SECRET,
        api_base="http://127.0.0.1:9",  # discard port: nothing listens
        timeout_seconds=1,
        max_network_retries=0,
    )
    with pytest.raises(GatewayUnavailable):
        gateway.create_payment(_request("ORD-DOWN"))


@pytest.mark.parametrize(
    ("kwargs", "missing"),
    [
        ({"webhook_secret": "whsec_x"}, "STRIPE_SECRET_KEY"),
        ({"secret_key": "sk_test_x"}, "STRIPE_WEBHOOK_SECRET"),
    ],
)
def test_missing_credentials_name_the_setting(settings, kwargs, missing):
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_WEBHOOK_SECRET = ""
    with pytest.raises(GatewayNotConfigured, match=missing):
        StripeGateway(**kwargs)
