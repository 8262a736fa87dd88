"""PayPalGateway over httpx against the loopback PayPal stand-in (tests/standins/paypal_server)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from commerce.payments.gateway import PaymentGateway
from commerce.payments.paypal_gateway import PAYPAL_SANDBOX_API_BASE, PayPalGateway
from commerce.payments.types import (
    GatewayNotConfigured,
    GatewayUnavailable,
    InvalidWebhook,
    PaymentDeclined,
    PaymentError,
    PaymentRequest,
)
from tests.standins import paypal_server


def _request(reference: str = "ORD-PP", amount: str = "12.34", currency: str = "EUR"):
    return PaymentRequest(
        order_reference=reference,
        amount=Decimal(amount),
        currency=currency,
        idempotency_key=f"{reference}:attempt-1",
        description="Hand-woven scarf",
        return_url="https://atelier.example/pay/paypal/return/",
        cancel_url="https://atelier.example/pay/paypal/cancel/",
    )


def _paid_order(gateway: PayPalGateway, api, reference: str = "ORD-PP", amount: str = "12.34"):
    session = gateway.create_payment(_request(reference, amount))
    api.approve_order(session.provider_payment_id)
    gateway.capture_order(
        provider_payment_id=session.provider_payment_id, idempotency_key=f"{reference}:capture"
    )
    return session


def test_gateway_satisfies_the_protocol(paypal_gateway):
    assert isinstance(paypal_gateway, PaymentGateway)


def test_create_payment_creates_a_capture_order_and_returns_the_approval_link(
    paypal_gateway, paypal_api
):
    # When a PayPal payment is opened
    session = paypal_gateway.create_payment(_request())

    # Then the buyer is sent to PayPal's approval page; nothing is paid
    assert session.provider == "paypal"
    assert session.status == "requires_action"
    assert session.redirect_url == (
        f"{paypal_api.base_url}/checkoutnow?token={session.provider_payment_id}"
    )
    assert (session.amount, session.currency) == (Decimal("12.34"), "EUR")
    # And the order carries our reference, a decimal-string amount and the request id
    create = next(r for r in paypal_api.requests if r["path"] == "/v2/checkout/orders")
    assert create["paypal_request_id"] == "ORD-PP:attempt-1"
    sent = json.loads(create["body"])
    assert sent["intent"] == "CAPTURE"
    unit = sent["purchase_units"][0]
    assert unit["reference_id"] == unit["custom_id"] == "ORD-PP"
    assert unit["amount"] == {"currency_code": "EUR", "value": "12.34"}
    experience = sent["payment_source"]["paypal"]["experience_context"]
    assert experience["return_url"] == "https://atelier.example/pay/paypal/return/"


def test_zero_decimal_currency_is_sent_without_decimals(paypal_gateway, paypal_api):
    paypal_gateway.create_payment(_request("ORD-JPY", "1500", "JPY"))
    sent = json.loads(paypal_api.requests[-1]["body"])
    assert sent["purchase_units"][0]["amount"] == {"currency_code": "JPY", "value": "1500"}


def test_retried_attempt_returns_the_same_order(paypal_gateway):
    first = paypal_gateway.create_payment(_request("ORD-SAME"))
    retried = paypal_gateway.create_payment(_request("ORD-SAME"))
    assert first.provider_payment_id == retried.provider_payment_id


def test_oauth_token_is_cached_until_it_expires(paypal_gateway, paypal_api):
    for number in range(3):
        paypal_gateway.create_payment(_request(f"ORD-TOKEN-{number}"))
    assert paypal_api.tokens_issued == 1


def test_short_lived_token_is_refreshed(paypal_api):
    # Given PayPal hands out tokens that expire within our 60 s safety margin
    paypal_api.token_lifetime_seconds = 30
    gateway = PayPalGateway(
        client_id=paypal_server.CLIENT_ID,
        client_secret=paypal_server.CLIENT_SECRET,
        webhook_id=paypal_server.WEBHOOK_ID,
        api_base=paypal_api.base_url,
    )
    gateway.create_payment(_request("ORD-SHORT-1"))
    gateway.create_payment(_request("ORD-SHORT-2"))
    assert paypal_api.tokens_issued == 2


def test_revoked_token_is_replaced_once(paypal_gateway, paypal_api):
    paypal_gateway.create_payment(_request("ORD-REVOKE-1"))
    paypal_api._tokens.clear()  # PayPal revoked it server-side
    session = paypal_gateway.create_payment(_request("ORD-REVOKE-2"))
    assert session.status == "requires_action"
    assert paypal_api.tokens_issued == 2


def test_capture_after_approval_succeeds(paypal_gateway, paypal_api):
    session = paypal_gateway.create_payment(_request())
    paypal_api.approve_order(session.provider_payment_id)
    assert paypal_gateway.retrieve_payment(session.provider_payment_id).status == "authorized"

    captured = paypal_gateway.capture_order(
        provider_payment_id=session.provider_payment_id, idempotency_key="ORD-PP:capture"
    )

    assert captured.status == "succeeded"
    assert (captured.amount, captured.currency) == (Decimal("12.34"), "EUR")
    capture_request = paypal_api.requests[-1]
    assert capture_request["paypal_request_id"] == "ORD-PP:capture"


def test_capture_before_approval_is_refused(paypal_gateway):
    session = paypal_gateway.create_payment(_request())
    with pytest.raises(PaymentError, match="422"):
        paypal_gateway.capture_order(
            provider_payment_id=session.provider_payment_id, idempotency_key="k"
        )


def test_declined_instrument_on_capture_is_payment_declined(paypal_gateway, paypal_api):
    session = paypal_gateway.create_payment(_request())
    paypal_api.approve_order(session.provider_payment_id, decline_on_capture=True)
    with pytest.raises(PaymentDeclined, match="INSTRUMENT_DECLINED"):
        paypal_gateway.capture_order(
            provider_payment_id=session.provider_payment_id, idempotency_key="k"
        )


def test_capture_completed_webhook_parses_to_payment_succeeded(paypal_gateway, paypal_api):
    # Given a captured order and PayPal's PAYMENT.CAPTURE.COMPLETED delivery
    session = _paid_order(paypal_gateway, paypal_api)
    body, headers = paypal_api.sign_webhook(
        paypal_api.capture_completed_event(session.provider_payment_id)
    )

    # When our webhook endpoint parses it
    event = paypal_gateway.parse_webhook(body=body, headers=headers)

    # Then PayPal verified it and it is payment.succeeded for our order
    assert event.provider == "paypal"
    assert event.event_type == "payment.succeeded"
    assert event.raw_type == "PAYMENT.CAPTURE.COMPLETED"
    assert event.provider_payment_id == session.provider_payment_id
    assert event.order_reference == "ORD-PP"
    assert (event.amount, event.currency) == (Decimal("12.34"), "EUR")
    assert event.created.tzinfo is UTC
    verify = paypal_api.requests[-1]
    assert verify["path"] == "/v1/notifications/verify-webhook-signature"
    # The raw body is spliced in verbatim, not re-serialised.
    assert body.decode() in verify["body"]


def test_refunds_and_refund_webhook(paypal_gateway, paypal_api):
    session = _paid_order(paypal_gateway, paypal_api, "ORD-PP-REFUND", "20.00")

    partial = paypal_gateway.refund(
        provider_payment_id=session.provider_payment_id,
        amount=Decimal("5.50"),
        idempotency_key="ORD-PP-REFUND:refund-1",
    )
    rest = paypal_gateway.refund(
        provider_payment_id=session.provider_payment_id,
        amount=None,
        idempotency_key="ORD-PP-REFUND:refund-2",
    )

    assert (partial.status, partial.amount, partial.currency) == (
        "succeeded",
        Decimal("5.50"),
        "EUR",
    )
    assert rest.amount == Decimal("14.50")
    body, headers = paypal_api.sign_webhook(
        paypal_api.capture_refunded_event(session.provider_payment_id)
    )
    event = paypal_gateway.parse_webhook(body=body, headers=headers)
    assert event.event_type == "refund.succeeded"
    assert event.order_reference == "ORD-PP-REFUND"
    # The running total, as documented on WebhookEvent.
    assert event.amount == Decimal("20.00")


def test_tampered_webhook_is_rejected(paypal_gateway, paypal_api):
    session = _paid_order(paypal_gateway, paypal_api)
    body, headers = paypal_api.sign_webhook(
        paypal_api.capture_completed_event(session.provider_payment_id)
    )
    tampered = body.replace(b'"12.34"', b'"0.01"')
    assert tampered != body
    with pytest.raises(InvalidWebhook, match="did not verify"):
        paypal_gateway.parse_webhook(body=tampered, headers=headers)


def test_webhook_for_another_webhook_id_is_rejected(paypal_gateway, paypal_api):
    session = _paid_order(paypal_gateway, paypal_api)
    body, headers = paypal_api.sign_webhook(
        paypal_api.capture_completed_event(session.provider_payment_id),
        webhook_id="WH-SOMEONE-ELSE",
    )
    with pytest.raises(InvalidWebhook):
        paypal_gateway.parse_webhook(body=body, headers=headers)


def test_stale_transmission_is_rejected_without_asking_paypal(paypal_gateway, paypal_api):
    session = _paid_order(paypal_gateway, paypal_api)
    body, headers = paypal_api.sign_webhook(
        paypal_api.capture_completed_event(session.provider_payment_id),
        transmission_time=datetime.now(tz=UTC) - timedelta(minutes=10),
    )
    requests_before = len(paypal_api.requests)
    with pytest.raises(InvalidWebhook, match="tolerance"):
        paypal_gateway.parse_webhook(body=body, headers=headers)
    assert len(paypal_api.requests) == requests_before


@pytest.mark.parametrize(
    "drop", ["PAYPAL-TRANSMISSION-SIG", "PAYPAL-TRANSMISSION-ID", "PAYPAL-CERT-URL"]
)
def test_missing_paypal_header_is_rejected(paypal_gateway, paypal_api, drop):
    session = _paid_order(paypal_gateway, paypal_api)
    body, headers = paypal_api.sign_webhook(
        paypal_api.capture_completed_event(session.provider_payment_id)
    )
    headers.pop(drop)
    with pytest.raises(InvalidWebhook, match=drop):
        paypal_gateway.parse_webhook(body=body, headers=headers)


def test_non_json_body_is_rejected(paypal_gateway, paypal_api):
    _, headers = paypal_api.sign_webhook({"id": "WH-1"})
    with pytest.raises(InvalidWebhook):
        paypal_gateway.parse_webhook(body=b"\xff not json", headers=headers)


def test_other_event_types_parse_as_other(paypal_gateway, paypal_api):
    event_body = {
        "id": "WH-APPROVED",
        "event_type": "CHECKOUT.ORDER.APPROVED",
        "create_time": "2025-01-01T10:00:00Z",
        "resource": {"id": "ORDER1"},
    }
    body, headers = paypal_api.sign_webhook(event_body)
    event = paypal_gateway.parse_webhook(body=body, headers=headers)
    assert (event.event_type, event.raw_type) == ("other", "CHECKOUT.ORDER.APPROVED")


def test_server_errors_are_retried_with_the_same_request_id(paypal_gateway, paypal_api):
    paypal_api.fail_next_requests = 1
    session = paypal_gateway.create_payment(_request("ORD-RETRY"))
    creates = [r for r in paypal_api.requests if r["path"] == "/v2/checkout/orders"]
    assert len(creates) == 2
    assert {r["paypal_request_id"] for r in creates} == {"ORD-RETRY:attempt-1"}
    assert session.status == "requires_action"


def test_persistent_outage_is_gateway_unavailable(paypal_api):
    gateway = PayPalGateway(
        client_id=paypal_server.CLIENT_ID,
        client_secret=paypal_server.CLIENT_SECRET,
        webhook_id=paypal_server.WEBHOOK_ID,
        api_base=paypal_api.base_url,
        max_retries=1,
    )
    paypal_api.fail_next_requests = 10
    with pytest.raises(GatewayUnavailable, match="503"):
        gateway.create_payment(_request("ORD-DOWN"))


def test_wrong_credentials_mean_not_configured(paypal_api):
    gateway = PayPalGateway(
        client_id="wrong",
        client_secret="wrong",
        webhook_id=paypal_server.WEBHOOK_ID,
        api_base=paypal_api.base_url,
    )
    with pytest.raises(GatewayNotConfigured, match="PAYPAL_CLIENT_ID"):
        gateway.create_payment(_request())


def test_defaults_point_at_the_sandbox_without_calling_it(settings):
    settings.PAYPAL_API_BASE = ""
    gateway = PayPalGateway(client_id="id", client_secret="secret", webhook_id="WH")
    assert gateway.api_base == PAYPAL_SANDBOX_API_BASE
    gateway.close()


@pytest.mark.parametrize(
    "missing", ["PAYPAL_CLIENT_ID", "PAYPAL_CLIENT_SECRET", "PAYPAL_WEBHOOK_ID"]
)
def test_missing_credentials_name_the_setting(settings, missing):
    settings.PAYPAL_CLIENT_ID = "id"
    settings.PAYPAL_CLIENT_SECRET = "secret"
    settings.PAYPAL_WEBHOOK_ID = "WH"
    setattr(settings, missing, "")
    with pytest.raises(GatewayNotConfigured, match=missing):
        PayPalGateway()
