"""The custom-order flow against localstripe with the real Stripe gateway.

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
import time
from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest

from commerce import services
from commerce.models import (
    LedgerEntry,
    LedgerEntryKind,
    Order,
    OrderStatus,
    Payment,
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
