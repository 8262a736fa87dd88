"""DevGateway: local confirm page URL, signed local webhooks through parse_webhook."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from decimal import Decimal

import pytest

from commerce.payments.dev_gateway import SIGNATURE_HEADER, DevGateway
from commerce.payments.gateway import PaymentGateway
from commerce.payments.types import (
    GatewayNotConfigured,
    InvalidPaymentRequest,
    InvalidWebhook,
    PaymentRequest,
)
from core.signing import sign_payload

SECRET = "dev-gateway-test-secret"


@pytest.fixture
def gateway() -> DevGateway:
    return DevGateway(secret=SECRET)


def _request(idempotency_key: str = "ORD-7:attempt-1") -> PaymentRequest:
    return PaymentRequest(
        order_reference="ORD-7",
        amount=Decimal("42.00"),
        currency="EUR",
        idempotency_key=idempotency_key,
    )


def test_gateway_satisfies_the_protocol(gateway):
    assert isinstance(gateway, PaymentGateway)


def test_create_payment_sends_the_buyer_to_the_local_confirm_page(gateway):
    # When a dev payment is opened
    session = gateway.create_payment(_request())

    # Then the buyer is redirected to our own confirm page and nothing is paid
    assert session.provider == "dev"
    assert session.provider_payment_id.startswith("devpay_")
    assert session.redirect_url == f"/pay/dev/{session.provider_payment_id}/confirm/"
    assert session.status == "requires_action"
    assert session.client_secret is None
    assert (session.amount, session.currency) == (Decimal("42.00"), "EUR")


def test_payment_ids_are_idempotent_per_attempt(gateway):
    first = gateway.create_payment(_request("ORD-7:attempt-1"))
    retried = gateway.create_payment(_request("ORD-7:attempt-1"))
    next_attempt = gateway.create_payment(_request("ORD-7:attempt-2"))
    assert first.provider_payment_id == retried.provider_payment_id
    assert next_attempt.provider_payment_id != first.provider_payment_id


def test_confirm_roundtrip_goes_through_parse_webhook(gateway):
    # Given an open dev payment
    session = gateway.create_payment(_request())

    # When the buyer confirms on the local page
    webhook = gateway.confirm_payment(
        provider_payment_id=session.provider_payment_id,
        order_reference="ORD-7",
        amount=Decimal("42.00"),
        currency="EUR",
    )
    # Then the result is only a signed webhook; parsing it yields payment.succeeded
    assert SIGNATURE_HEADER in webhook.headers
    event = gateway.parse_webhook(body=webhook.body, headers=webhook.headers)
    assert event.provider == "dev"
    assert event.event_type == "payment.succeeded"
    assert event.raw_type == "payment.succeeded"
    assert event.provider_payment_id == session.provider_payment_id
    assert event.order_reference == "ORD-7"
    assert (event.amount, event.currency) == (Decimal("42.00"), "EUR")
    assert event.event_id.startswith("devevt_")
    assert abs(event.created.timestamp() - time.time()) < 5


def test_declined_outcome_yields_payment_failed(gateway):
    webhook = gateway.confirm_payment(
        provider_payment_id="devpay_x",
        order_reference="ORD-7",
        amount=Decimal("42"),
        currency="EUR",
        outcome="failed",
    )
    event = gateway.parse_webhook(body=webhook.body, headers=webhook.headers)
    assert event.event_type == "payment.failed"


def test_refund_and_its_webhook(gateway):
    result = gateway.refund(
        provider_payment_id="devpay_x", amount=Decimal("10.00"), idempotency_key="ORD-7:refund-1"
    )
    assert (result.status, result.amount, result.provider_payment_id) == (
        "succeeded",
        Decimal("10.00"),
        "devpay_x",
    )
    webhook = gateway.build_webhook(
        event_type="refund.succeeded",
        provider_payment_id="devpay_x",
        order_reference="ORD-7",
        amount=Decimal("10.00"),
        currency="EUR",
    )
    event = gateway.parse_webhook(body=webhook.body, headers=webhook.headers)
    assert (event.event_type, event.amount) == ("refund.succeeded", Decimal("10.00"))


def test_jpy_amounts_keep_zero_decimals(gateway):
    webhook = gateway.confirm_payment(
        provider_payment_id="devpay_y",
        order_reference="ORD-8",
        amount=Decimal("1500"),
        currency="jpy",
    )
    assert json.loads(webhook.body)["data"]["amount"] == "1500"
    event = gateway.parse_webhook(body=webhook.body, headers=webhook.headers)
    assert (event.amount, event.currency) == (Decimal("1500"), "JPY")


def test_tampered_body_is_rejected(gateway):
    webhook = gateway.confirm_payment(
        provider_payment_id="devpay_x",
        order_reference="ORD-7",
        amount=Decimal("42"),
        currency="EUR",
    )
    tampered = webhook.body.replace(b'"42.00"', b'"0.01"')
    assert tampered != webhook.body
    with pytest.raises(InvalidWebhook, match="signature"):
        gateway.parse_webhook(body=tampered, headers=webhook.headers)


def test_other_secret_is_rejected(gateway):
    forged = DevGateway(secret="not-our-secret").confirm_payment(
        provider_payment_id="devpay_x",
        order_reference="ORD-7",
        amount=Decimal("42"),
        currency="EUR",
    )
    with pytest.raises(InvalidWebhook, match="signature"):
        gateway.parse_webhook(body=forged.body, headers=forged.headers)


def test_stale_webhook_is_rejected(gateway):
    stale = gateway.build_webhook(
        event_type="payment.succeeded",
        provider_payment_id="devpay_x",
        order_reference="ORD-7",
        amount=Decimal("42"),
        currency="EUR",
        timestamp=int(time.time()) - 301,
    )
    with pytest.raises(InvalidWebhook, match="tolerance"):
        gateway.parse_webhook(body=stale.body, headers=stale.headers)


@pytest.mark.parametrize("header", [None, "garbage", "t=1,v2=abc"])
def test_missing_or_malformed_header_is_rejected(gateway, header):
    webhook = gateway.confirm_payment(
        provider_payment_id="devpay_x",
        order_reference="ORD-7",
        amount=Decimal("42"),
        currency="EUR",
    )
    headers = {} if header is None else {SIGNATURE_HEADER: header}
    with pytest.raises(InvalidWebhook):
        gateway.parse_webhook(body=webhook.body, headers=headers)


def test_correctly_signed_but_malformed_body_is_rejected(gateway):
    now = int(time.time())
    for body in (b"[]", b"{}", json.dumps({"type": "payment.refunded", "data": {}}).encode()):
        header = sign_payload(secret=SECRET, body=body, timestamp=now)
        with pytest.raises(InvalidWebhook):
            gateway.parse_webhook(body=body, headers={SIGNATURE_HEADER: header})


def test_unknown_outcome_is_refused(gateway):
    with pytest.raises(InvalidPaymentRequest):
        gateway.confirm_payment(
            provider_payment_id="devpay_x",
            order_reference="ORD-7",
            amount=Decimal("42"),
            currency="EUR",
            outcome="paid",  # type: ignore[arg-type]
        )


def test_secret_comes_from_settings_or_is_derived_from_secret_key(settings):
    # Given DEV_GATEWAY_SECRET is set, it signs
    settings.DEV_GATEWAY_SECRET = "from-settings"
    signed = DevGateway().confirm_payment(
        provider_payment_id="devpay_x", order_reference="R", amount=Decimal("1"), currency="EUR"
    )
    DevGateway(secret="from-settings").parse_webhook(body=signed.body, headers=signed.headers)

    # Given it is unset, a key derived from SECRET_KEY (never SECRET_KEY itself) signs
    settings.DEV_GATEWAY_SECRET = ""
    settings.SECRET_KEY = "a-secret-key"
    derived = DevGateway().confirm_payment(
        provider_payment_id="devpay_x", order_reference="R", amount=Decimal("1"), currency="EUR"
    )
    with pytest.raises(InvalidWebhook):
        DevGateway(secret="a-secret-key").parse_webhook(body=derived.body, headers=derived.headers)
    expected_secret = hmac.new(
        b"a-secret-key", b"atelier.commerce.payments.dev-gateway.v1", hashlib.sha256
    ).hexdigest()
    DevGateway(secret=expected_secret).parse_webhook(body=derived.body, headers=derived.headers)


def test_no_secret_at_all_is_not_configured(settings):
    settings.DEV_GATEWAY_SECRET = ""
    settings.SECRET_KEY = ""
    with pytest.raises(GatewayNotConfigured, match="DEV_GATEWAY_SECRET"):
        DevGateway()
