"""The custom-order flow against localstripe with the real Stripe gateway.

The first test lets localstripe deliver to our live server (every event twice, in order).
The out-of-order tests capture localstripe's signed deliveries on a loopback endpoint of
their own and replay those exact bytes later, twice, after a refund, so the real
signature check and the real event ids meet the order-of-arrival rules.

localstripe delivers each signed event to two registered endpoints that both point at our
live server's /webhooks/stripe/, so every event arrives twice: the order must be paid
once, credited once, refunded once. localstripe sends no refund webhook, so the test
delivers the ``charge.refunded`` event Stripe would send (localstripe's real Charge in
Stripe's event envelope, signed with Stripe's scheme) twice to the same endpoint.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from commerce import services
from commerce.models import (
    LedgerEntry,
    LedgerEntryKind,
    Order,
    OrderStatus,
    Payment,
    PaymentStatus,
    ProcessedWebhookEvent,
)
from commerce.payments.registry import clear_gateway_cache
from commerce.services import payments as payment_services
from commerce.services.ledger import ledger_balance
from tests.commerce.conftest import LYON, send
from tests.standins.localstripe_server import LocalStripe, run_localstripe

pytestmark = [pytest.mark.integration, pytest.mark.slow]
WEBHOOK_SECRET = "whsec_atelier_commerce_flow"


@pytest.fixture(scope="module")
def localstripe_api() -> Iterator[LocalStripe]:
    with run_localstripe() as running:
        yield running


@pytest.fixture
def stripe_settings(settings, localstripe_api, live_server):
    settings.PAYMENT_GATEWAY = "stripe"
    settings.STRIPE_SECRET_KEY = localstripe_api.secret_key
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_atelier"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = localstripe_api.base_url
    settings.STRIPE_JS_URL = f"{localstripe_api.base_url}/js.stripe.com/v3/"
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    settings.STRIPE_TIMEOUT_SECONDS = 5
    clear_gateway_cache()
    for webhook_id in ("atelier-a", "atelier-b"):  # two endpoints → every event twice
        localstripe_api.register_webhook(
            webhook_id=webhook_id, url=f"{live_server.url}/webhooks/stripe/", secret=WEBHOOK_SECRET
        )
    yield localstripe_api
    clear_gateway_cache()


@pytest.fixture
def outcomes(monkeypatch) -> list[str]:
    """Record what each webhook delivery did (the live server runs in this process)."""
    seen: list[str] = []
    original = payment_services.handle_payment_event

    def recording(*, event):
        outcome = original(event=event)
        seen.append(f"{event.raw_type}:{outcome.outcome}")
        return outcome

    monkeypatch.setattr(payment_services, "handle_payment_event", recording)
    return seen


def wait_until(condition, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


@pytest.mark.django_db(transaction=True)
def test_custom_order_paid_and_refunded_through_localstripe(
    client, buyer, artisan, conversation, stripe_settings, outcomes, live_server
):
    localstripe = stripe_settings
    # Given an accepted custom offer
    offer = send(artisan, conversation, lines=[services.OfferLineInput("Fish platter", "140.00")])
    client.force_login(buyer)
    response = client.post(f"/offers/{offer.pk}/accept/")
    order = Order.objects.get()
    assert response["Location"] == f"/pay/{order.reference}/"
    # and the buyer says where to ship it (the pay page asks before any payment starts)
    assert "Where should the piece go?" in client.get(response["Location"]).content.decode()
    client.post(response["Location"], {"address": "new", **LYON})
    # When the buyer opens the pay page, a PaymentIntent is created for Stripe.js
    page = client.get(f"/pay/{order.reference}/").content.decode()
    payment = Payment.objects.get(order=order)
    assert payment.provider == "stripe" and payment.provider_payment_id.startswith("pi_")
    assert f'data-client-secret="{payment.client_secret}"' in page
    assert f"{localstripe.base_url}/js.stripe.com/v3/" in page
    # Reloading the page reuses the same attempt
    client.get(f"/pay/{order.reference}/")
    assert Payment.objects.filter(order=order).count() == 1
    intent = localstripe.api("GET", f"/v1/payment_intents/{payment.provider_payment_id}")
    assert intent["amount"] == 14000 and intent["metadata"]["order_reference"] == order.reference
    # And pays with a card, as Stripe.js does (attach, then confirm)
    localstripe.api(
        "POST", f"/v1/payment_intents/{payment.provider_payment_id}", payment_method="pm_card_visa"
    )
    confirmed = localstripe.api(
        "POST", f"/v1/payment_intents/{payment.provider_payment_id}/confirm"
    )
    assert confirmed["status"] == "succeeded"
    # Then both deliveries of payment_intent.succeeded arrive; one pays, one is a duplicate
    wait_until(
        lambda: (
            sorted(o for o in outcomes if o.startswith("payment_intent.succeeded"))
            == [
                "payment_intent.succeeded:duplicate",
                "payment_intent.succeeded:paid",
            ]
        )
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID and order.amount_paid == Decimal("140.00")
    assert LedgerEntry.objects.filter(kind=LedgerEntryKind.SALE_CREDIT).count() == 1
    assert ledger_balance(artisan=artisan, currency="EUR") == Decimal("126.00")
    assert (
        ProcessedWebhookEvent.objects.filter(
            provider="stripe", event_type="payment.succeeded"
        ).count()
        == 1
    )
    # When the artisan refunds through localstripe
    services.refund_order(actor=artisan, order=order, reason="Kiln accident")
    # localstripe emits no refund webhook: deliver the charge.refunded event Stripe would
    # send (its real Charge, Stripe's envelope and signature scheme), twice
    charge = localstripe.api("GET", f"/v1/charges/{confirmed['latest_charge']['id']}")
    charge.pop("status_code")
    now = int(time.time())
    body = json.dumps(
        {
            "id": "evt_refund_flow",
            "object": "event",
            "type": "charge.refunded",
            "created": now,
            "livemode": False,
            "data": {"object": charge},
        }
    ).encode()
    mac = hmac.new(WEBHOOK_SECRET.encode(), f"{now}.".encode() + body, hashlib.sha256)
    for _delivery in range(2):
        delivered = httpx.post(
            f"{live_server.url}/webhooks/stripe/",
            content=body,
            timeout=10,
            headers={
                "Content-Type": "application/json",
                "Stripe-Signature": f"t={now},v1={mac.hexdigest()}",
            },
        )
        assert delivered.status_code == 200
    assert sorted(o for o in outcomes if o.startswith("charge.refunded")) == [
        "charge.refunded:duplicate",
        "charge.refunded:refunded",
    ]
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert ledger_balance(artisan=artisan, currency="EUR") == 0
    statuses = list(
        order.events.filter(type="status")
        .exclude(old_status="")
        .values_list("new_status", flat=True)
    )
    assert statuses == ["paid", "refunded"]


# --- replayed and out-of-order deliveries ----------------------------------------------------


class CapturedDeliveries:
    """A loopback webhook endpoint that records localstripe's signed deliveries as sent."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[bytes, str]] = []
        self.lock = threading.Lock()
        captured = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with captured.lock:
                    captured.deliveries.append((body, self.headers.get("Stripe-Signature", "")))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def of_type(self, event_type: str) -> list[tuple[bytes, str]]:
        with self.lock:
            return [d for d in self.deliveries if json.loads(d[0])["type"] == event_type]


@pytest.fixture
def captured_stripe(settings, localstripe_api) -> Iterator[tuple[LocalStripe, CapturedDeliveries]]:
    settings.PAYMENT_GATEWAY = "stripe"
    settings.STRIPE_SECRET_KEY = localstripe_api.secret_key
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_atelier"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = localstripe_api.base_url
    settings.STRIPE_JS_URL = f"{localstripe_api.base_url}/js.stripe.com/v3/"
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    settings.STRIPE_TIMEOUT_SECONDS = 5
    clear_gateway_cache()
    capture = CapturedDeliveries()
    capture.thread.start()
    # Both endpoints of the module's localstripe now point at the capture (same ids: the
    # earlier registrations towards the live server are replaced).
    for webhook_id in ("atelier-a", "atelier-b"):
        localstripe_api.register_webhook(
            webhook_id=webhook_id, url=capture.url, secret=WEBHOOK_SECRET
        )
    try:
        yield localstripe_api, capture
    finally:
        capture.server.shutdown()
        capture.server.server_close()
        clear_gateway_cache()


def _paid_through_localstripe(client, buyer, artisan, conversation, localstripe, capture):
    """An accepted offer paid by card; returns (order, payment, confirmed intent, the one
    signed payment_intent.succeeded delivery localstripe sent)."""
    offer = send(artisan, conversation, lines=[services.OfferLineInput("Fish platter", "140.00")])
    client.force_login(buyer)
    pay_url = client.post(f"/offers/{offer.pk}/accept/")["Location"]
    client.post(pay_url, {"address": "new", **LYON})
    client.get(pay_url)
    order = Order.objects.get()
    payment = Payment.objects.get(order=order)
    localstripe.api(
        "POST", f"/v1/payment_intents/{payment.provider_payment_id}", payment_method="pm_card_visa"
    )
    confirmed = localstripe.api(
        "POST", f"/v1/payment_intents/{payment.provider_payment_id}/confirm"
    )
    assert confirmed["status"] == "succeeded"
    wait_until(lambda: len(capture.of_type("payment_intent.succeeded")) == 2)
    first, second = capture.of_type("payment_intent.succeeded")
    assert json.loads(first[0])["id"] == json.loads(second[0])["id"]  # one event, twice
    return order, payment, confirmed, first


def _deliver(client, delivery: tuple[bytes, str]) -> None:
    body, signature = delivery
    response = client.post(
        "/webhooks/stripe/",
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature,
    )
    assert response.status_code == 200, response.content


def _signed_charge_refunded(localstripe, charge_id: str, event_id: str) -> tuple[bytes, str]:
    """The charge.refunded event Stripe would send (localstripe sends none): its real
    Charge in Stripe's envelope, signed with Stripe's scheme."""
    charge = localstripe.api("GET", f"/v1/charges/{charge_id}")
    charge.pop("status_code")
    now = int(time.time())
    body = json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": "charge.refunded",
            "created": now,
            "livemode": False,
            "data": {"object": charge},
        }
    ).encode()
    mac = hmac.new(WEBHOOK_SECRET.encode(), f"{now}.".encode() + body, hashlib.sha256)
    return body, f"t={now},v1={mac.hexdigest()}"


def _ledger(order) -> list[tuple[str, Decimal]]:
    return sorted(LedgerEntry.objects.filter(order=order).values_list("kind", "amount"), key=str)


@pytest.mark.django_db
def test_success_replayed_twice_and_again_after_the_refund_is_applied_once(
    client, buyer, artisan, conversation, captured_stripe, outcomes
):
    localstripe, capture = captured_stripe
    order, payment, confirmed, succeeded = _paid_through_localstripe(
        client, buyer, artisan, conversation, localstripe, capture
    )
    assert outcomes == []  # nothing reached us yet: the deliveries are held back
    # Given the signed success delivered twice
    _deliver(client, succeeded)
    _deliver(client, succeeded)
    # and the artisan's refund through localstripe, its notification delivered
    services.refund_order(actor=artisan, order=order, reason="Kiln accident")
    _deliver(
        client, _signed_charge_refunded(localstripe, confirmed["latest_charge"]["id"], "evt_rf")
    )
    # When the same signed success is replayed once more, after the refund
    _deliver(client, succeeded)
    # Then one success was applied, everything else recognised as already seen
    print("outcomes:", outcomes)
    assert outcomes == [
        "payment_intent.succeeded:paid",
        "payment_intent.succeeded:duplicate",
        "charge.refunded:refunded",
        "payment_intent.succeeded:duplicate",
    ]
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert order.amount_paid == order.amount_refunded == Decimal("140.00")
    assert payment.status == PaymentStatus.REFUNDED
    statuses = list(
        order.events.filter(type="status")
        .exclude(old_status="")
        .values_list("new_status", flat=True)
    )
    assert statuses == ["paid", "refunded"]  # paid once
    assert (
        ProcessedWebhookEvent.objects.filter(
            provider="stripe", event_type="payment.succeeded"
        ).count()
        == 1
    )
    # one sale (gross, 10 % fee) and one full refund (fee returned), nothing else
    print("ledger:", _ledger(order))
    assert _ledger(order) == [
        ("platform_fee", Decimal("-14.00")),
        ("platform_fee", Decimal("14.00")),
        ("refund_debit", Decimal("-140.00")),
        ("sale_credit", Decimal("140.00")),
    ]
    assert ledger_balance(artisan=artisan, currency="EUR") == 0


@pytest.mark.django_db
def test_a_success_arriving_after_its_refund_is_never_credited(
    client, buyer, artisan, conversation, captured_stripe, outcomes
):
    localstripe, capture = captured_stripe
    order, payment, confirmed, succeeded = _paid_through_localstripe(
        client, buyer, artisan, conversation, localstripe, capture
    )
    # Given the charge refunded at Stripe (from the dashboard) before we heard of the
    # success, and the refund's notification overtaking the success's
    refund = localstripe.api("POST", "/v1/refunds", charge=confirmed["latest_charge"]["id"])
    assert refund["status"] == "succeeded"
    _deliver(
        client, _signed_charge_refunded(localstripe, confirmed["latest_charge"]["id"], "evt_rf")
    )
    # When the signed success arrives late, twice
    _deliver(client, succeeded)
    _deliver(client, succeeded)
    # Then the order was never paid, the artisan never credited, the payment is refunded
    print("outcomes:", outcomes)
    assert outcomes == [
        "charge.refunded:refund_recorded",
        "payment_intent.succeeded:refunded_before_success",
        "payment_intent.succeeded:duplicate",
    ]
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT and order.amount_paid == 0
    assert payment.status == PaymentStatus.REFUNDED
    assert LedgerEntry.objects.filter(order=order).count() == 0
    assert ledger_balance(artisan=artisan, currency="EUR") == 0
