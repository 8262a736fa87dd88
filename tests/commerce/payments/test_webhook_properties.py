"""Property tests for the webhook endpoints: any body and headers get a clear answer.

Stripe, PayPal, the dev gateway and the carriers' tracking webhooks take bytes from the
internet. Whatever arrives — garbage, unsigned, signed with a wrong secret, or correctly
signed but malformed (a provider bug or a leaked secret) — the answer is a JSON rejection
with a ``code`` (400, or 404 for an unknown carrier or tracking number), or the event is
processed (200); never a 500.
"""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from commerce.models import LogisticsProvider
from commerce.payments.dev_gateway import SIGNATURE_HEADER as DEV_SIGNATURE_HEADER
from commerce.payments.registry import clear_gateway_cache, get_gateway
from commerce.services.logistics import SIGNATURE_HEADER as TRACKING_SIGNATURE_HEADER
from core.signing import sign_payload

pytestmark = pytest.mark.django_db

STRIPE_SECRET = "whsec_property_tests"
DEV_SECRET = "dev-gateway-property-tests"
CARRIER_SECRET = "whsec-carrier-property-tests"

FUZZ = settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(autouse=True)
def _providers(settings, monkeypatch):
    settings.STRIPE_SECRET_KEY = "sk_test_property_tests"
    settings.STRIPE_WEBHOOK_SECRET = STRIPE_SECRET
    settings.DEV_GATEWAY_SECRET = DEV_SECRET
    settings.PAYPAL_CLIENT_ID = "paypal-client"
    settings.PAYPAL_CLIENT_SECRET = "paypal-secret"
    settings.PAYPAL_WEBHOOK_ID = "WH-PROPERTY-TESTS"
    settings.PAYPAL_API_BASE = "http://127.0.0.1:9"  # never reached: see below
    clear_gateway_cache()
    # PayPal verifies signatures through its own API; the stand-in answers SUCCESS so that
    # what follows (the body's normalisation) is what the properties exercise.
    monkeypatch.setattr(
        get_gateway("paypal"), "_request", lambda *a, **k: {"verification_status": "SUCCESS"}
    )
    yield
    clear_gateway_cache()


@pytest.fixture
def carrier(db):
    return LogisticsProvider.objects.create(
        name="Swift Parcel", slug="swift", webhook_secret=CARRIER_SECRET
    )


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**25), max_value=10**25)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
odd_numbers = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False),
    st.sampled_from(["1e30", "Infinity", "NaN", "-0", "12.345", "", "x"]),
    json_values,
)
currencies = st.sampled_from(["eur", "EUR", "jpy", "xxx", ""]) | json_values


def _signed(secret: str, body: bytes) -> str:
    return sign_payload(secret=secret, body=body, timestamp=int(time.time()))


def _assert_clear_answer(response, allowed=(200, 400)) -> None:
    assert response.status_code in allowed, (response.status_code, response.content[:300])
    body = response.json()
    if response.status_code >= 400:
        assert isinstance(body["code"], str) and body["code"]
        assert isinstance(body["message"], str) and body["message"]


def _post(client, url: str, body: bytes, **headers):
    return client.post(url, body, content_type="application/json", **headers)


# --- anything, unsigned or badly signed --------------------------------------------------

bodies = st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode())
header_values = st.text(max_size=80).filter(lambda v: "\n" not in v and "\r" not in v)


@FUZZ
@given(body=bodies, signature=header_values)
@example(body=b"{}", signature="t=abc,v1=00")
@example(body=b"\xff\xfe", signature="t=1,v1=")
def test_stripe_rejects_what_it_cannot_verify(client, body, signature):
    response = _post(client, "/webhooks/stripe/", body, HTTP_STRIPE_SIGNATURE=signature)
    _assert_clear_answer(response, allowed=(400,))
    assert response.json()["code"] == "invalid_webhook"


@FUZZ
@given(body=bodies, signature=header_values)
def test_dev_gateway_rejects_what_it_cannot_verify(client, body, signature):
    response = _post(
        client,
        "/webhooks/dev/",
        body,
        **{"HTTP_" + DEV_SIGNATURE_HEADER.upper().replace("-", "_"): signature},
    )
    _assert_clear_answer(response, allowed=(400,))
    assert response.json()["code"] == "invalid_webhook"


@FUZZ
@given(body=bodies, signature=header_values, slug=st.sampled_from(["swift", "nobody"]))
def test_tracking_rejects_what_it_cannot_verify(client, carrier, body, signature, slug):
    response = _post(
        client,
        f"/webhooks/logistics/{slug}/",
        body,
        **{"HTTP_" + TRACKING_SIGNATURE_HEADER.upper().replace("-", "_"): signature},
    )
    _assert_clear_answer(response, allowed=(400, 404))


paypal_headers = st.fixed_dictionaries(
    {
        "HTTP_PAYPAL_TRANSMISSION_ID": header_values,
        "HTTP_PAYPAL_TRANSMISSION_TIME": header_values
        | st.sampled_from(["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"]),
        "HTTP_PAYPAL_TRANSMISSION_SIG": header_values,
        "HTTP_PAYPAL_CERT_URL": header_values,
        "HTTP_PAYPAL_AUTH_ALGO": header_values,
    }
)


@FUZZ
@given(body=bodies, headers=paypal_headers)
def test_paypal_rejects_bad_transmission_headers(client, body, headers):
    response = _post(client, "/webhooks/paypal/", body, **headers)
    _assert_clear_answer(response, allowed=(400,))


# --- correctly signed, malformed inside --------------------------------------------------

stripe_events = st.fixed_dictionaries(
    {
        "id": json_values,
        "object": st.just("event"),
        "type": st.sampled_from(
            ["payment_intent.succeeded", "payment_intent.payment_failed", "charge.refunded"]
        )
        | json_values,
        "created": odd_numbers,
        "data": json_values
        | st.fixed_dictionaries(
            {
                "object": json_values
                | st.fixed_dictionaries(
                    {
                        "id": json_values,
                        "object": st.sampled_from(["payment_intent", "charge"]),
                        "currency": currencies,
                        "amount": odd_numbers,
                        "amount_received": odd_numbers,
                        "amount_refunded": odd_numbers,
                        "payment_intent": json_values,
                        "metadata": json_values,
                    }
                )
            }
        ),
    }
)


@FUZZ
@given(event=stripe_events)
@example(
    event={
        "id": "evt_1",
        "object": "event",
        "type": "payment_intent.succeeded",
        "created": 10**300,
        "data": {"object": {}},
    }
)
@example(
    event={
        "id": "evt_2",
        "object": "event",
        "type": "payment_intent.succeeded",
        "created": 1,
        "data": {"object": {"id": "pi_1", "currency": "eur", "amount": 1, "metadata": ["x"]}},
    }
)
def test_stripe_signed_but_malformed_events_are_rejected(client, event):
    body = json.dumps(event).encode()
    response = _post(
        client, "/webhooks/stripe/", body, HTTP_STRIPE_SIGNATURE=_signed(STRIPE_SECRET, body)
    )
    _assert_clear_answer(response)


dev_events = st.fixed_dictionaries(
    {
        "id": json_values,
        "type": st.sampled_from(["payment.succeeded", "payment.failed", "refund.succeeded"])
        | json_values,
        "data": json_values
        | st.fixed_dictionaries(
            {
                "payment_id": json_values,
                "order_reference": json_values,
                "amount": odd_numbers,
                "currency": currencies,
            }
        ),
    }
)


@FUZZ
@given(event=dev_events)
@example(
    event={
        "id": "e",
        "type": "payment.succeeded",
        "data": {"payment_id": "p", "order_reference": "r", "amount": "1e30", "currency": "EUR"},
    }
)
@example(event={"id": "e", "type": ["payment.succeeded"], "data": {}})
def test_dev_signed_but_malformed_events_are_rejected(client, event):
    body = json.dumps(event).encode()
    response = _post(
        client,
        "/webhooks/dev/",
        body,
        **{"HTTP_" + DEV_SIGNATURE_HEADER.upper().replace("-", "_"): _signed(DEV_SECRET, body)},
    )
    _assert_clear_answer(response)


paypal_events = st.fixed_dictionaries(
    {
        "id": json_values,
        "event_type": st.sampled_from(
            ["PAYMENT.CAPTURE.COMPLETED", "PAYMENT.CAPTURE.DENIED", "PAYMENT.CAPTURE.REFUNDED"]
        )
        | json_values,
        "create_time": st.sampled_from(["2026-01-01T00:00:00Z", "0001-01-01T00:00:00+01:00"])
        | json_values,
        "resource": json_values
        | st.fixed_dictionaries(
            {
                "amount": json_values
                | st.fixed_dictionaries({"currency_code": currencies, "value": odd_numbers}),
                "custom_id": json_values,
                "supplementary_data": json_values,
                "seller_payable_breakdown": json_values,
            }
        ),
    }
)


@FUZZ
@given(event=paypal_events)
@example(
    event={
        "id": "WH-1",
        "event_type": "PAYMENT.CAPTURE.COMPLETED",
        "create_time": "2026-01-01T00:00:00Z",
        "resource": ["not", "an", "object"],
    }
)
def test_paypal_verified_but_malformed_events_are_rejected(client, event):
    body = json.dumps(event).encode()
    headers = {
        "HTTP_PAYPAL_TRANSMISSION_ID": "t-1",
        "HTTP_PAYPAL_TRANSMISSION_TIME": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "HTTP_PAYPAL_TRANSMISSION_SIG": "sig",
        "HTTP_PAYPAL_CERT_URL": "https://api.paypal.com/cert.pem",
        "HTTP_PAYPAL_AUTH_ALGO": "SHA256withRSA",
    }
    response = _post(client, "/webhooks/paypal/", body, **headers)
    _assert_clear_answer(response)


tracking_events = json_values | st.fixed_dictionaries(
    {
        "event_id": json_values,
        "tracking_number": json_values,
        "status": st.sampled_from(["in_transit", "delivered", "created"]) | json_values,
        "occurred_at": st.sampled_from(["2026-01-01T10:00:00", "0001-01-01T00:00:00+01:00"])
        | json_values,
        "note": json_values,
    }
)


@FUZZ
@given(event=tracking_events)
def test_tracking_signed_but_malformed_events_are_rejected(client, carrier, event):
    body = json.dumps(event).encode()
    response = _post(
        client,
        "/webhooks/logistics/swift/",
        body,
        **{
            "HTTP_" + TRACKING_SIGNATURE_HEADER.upper().replace("-", "_"): _signed(
                CARRIER_SECRET, body
            )
        },
    )
    _assert_clear_answer(response, allowed=(200, 400, 404))


# --- the signing above is right: a well-formed event of a type we ignore is accepted -------


def test_well_formed_signed_events_are_accepted(client, carrier):
    now = int(time.time())
    stripe_body = json.dumps(
        {
            "id": "evt_ok",
            "object": "event",
            "type": "customer.created",
            "created": now,
            "data": {"object": {}},
        }
    ).encode()
    stripe = _post(
        client,
        "/webhooks/stripe/",
        stripe_body,
        HTTP_STRIPE_SIGNATURE=_signed(STRIPE_SECRET, stripe_body),
    )
    paypal_body = json.dumps(
        {"id": "WH-ok", "event_type": "CUSTOMER.CREATED", "create_time": "2026-01-01T00:00:00Z"}
    ).encode()
    paypal = _post(
        client,
        "/webhooks/paypal/",
        paypal_body,
        HTTP_PAYPAL_TRANSMISSION_ID="t-1",
        HTTP_PAYPAL_TRANSMISSION_TIME=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        HTTP_PAYPAL_TRANSMISSION_SIG="sig",
        HTTP_PAYPAL_CERT_URL="https://api.paypal.com/cert.pem",
        HTTP_PAYPAL_AUTH_ALGO="SHA256withRSA",
    )
    tracking_body = json.dumps(
        {"event_id": "e-1", "tracking_number": "NOPE-1", "status": "in_transit"}
    ).encode()
    tracking = _post(
        client,
        "/webhooks/logistics/swift/",
        tracking_body,
        **{
            "HTTP_" + TRACKING_SIGNATURE_HEADER.upper().replace("-", "_"): _signed(
                CARRIER_SECRET, tracking_body
            )
        },
    )
    assert (stripe.status_code, stripe.json()) == (200, {"outcome": "ignored"})
    assert (paypal.status_code, paypal.json()) == (200, {"outcome": "ignored"})
    assert (tracking.status_code, tracking.json()["code"]) == (404, "unknown_tracking_number")
