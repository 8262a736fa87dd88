"""Payment events: exactly once, out of order, paid twice, ledger consistent; webhook views."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from commerce import services
from commerce.models import (
    LedgerEntry,
    LedgerEntryKind,
    OrderStatus,
    Payment,
    PaymentStatus,
    ProcessedWebhookEvent,
)
from commerce.payments.registry import get_gateway
from commerce.payments.types import WebhookEvent
from commerce.services.ledger import ledger_balance

pytestmark = pytest.mark.django_db


def event(
    payment: Payment, event_type: str, event_id: str, amount: str | None = None
) -> WebhookEvent:
    return WebhookEvent(
        provider=payment.provider,
        event_id=event_id,
        event_type=event_type,
        provider_payment_id=payment.provider_payment_id,
        order_reference=payment.order.reference,
        amount=Decimal(amount) if amount else payment.amount,
        currency=payment.currency,
        created=datetime.now(tz=UTC),
        raw_type=event_type,
    )


def test_same_event_twice_is_applied_once(buyer, order):
    payment = services.start_checkout(buyer=buyer, order=order)
    succeeded = event(payment, "payment.succeeded", "evt_1")
    assert services.handle_payment_event(event=succeeded).outcome == "paid"
    assert services.handle_payment_event(event=succeeded).outcome == "duplicate"
    order.refresh_from_db()
    assert order.amount_paid == Decimal("120.00") and order.status == OrderStatus.PAID
    assert LedgerEntry.objects.filter(kind=LedgerEntryKind.SALE_CREDIT).count() == 1
    assert ledger_balance(artisan=order.artisan, currency="EUR") == Decimal("108.00")
    assert ProcessedWebhookEvent.objects.filter(event_id="evt_1").count() == 1


def test_redelivery_with_new_event_id_does_not_credit_twice(buyer, order):
    payment = services.start_checkout(buyer=buyer, order=order)
    services.handle_payment_event(event=event(payment, "payment.succeeded", "evt_a"))
    outcome = services.handle_payment_event(event=event(payment, "payment.succeeded", "evt_b"))
    assert outcome.outcome == "already_succeeded"
    assert LedgerEntry.objects.filter(kind=LedgerEntryKind.SALE_CREDIT).count() == 1


def test_refund_arriving_before_success(buyer, order):
    # Given a refund notification that overtook the success notification
    payment = services.start_checkout(buyer=buyer, order=order)
    assert (
        services.handle_payment_event(event=event(payment, "refund.succeeded", "evt_r")).outcome
        == "refund_recorded"
    )
    # When the success arrives afterwards
    outcome = services.handle_payment_event(event=event(payment, "payment.succeeded", "evt_s"))
    # Then the order is not marked paid and the artisan's balance is untouched
    assert outcome.outcome == "refunded_before_success"
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT and order.amount_paid == 0
    assert payment.status == PaymentStatus.REFUNDED
    assert ledger_balance(artisan=order.artisan, currency="EUR") == 0


def test_paying_twice_records_the_second_payment_for_refund(buyer, order):
    # Given two payment attempts that both succeed (two tabs, two cards)
    first = services.start_checkout(buyer=buyer, order=order)
    second = Payment.objects.create(
        order=order,
        provider="dev",
        provider_payment_id="devpay_second",
        amount=first.amount,
        currency="EUR",
        purpose=first.purpose,
        idempotency_key="second-attempt",
    )
    services.handle_payment_event(event=event(first, "payment.succeeded", "evt_1"))
    outcome = services.handle_payment_event(event=event(second, "payment.succeeded", "evt_2"))
    # Then the second is kept, flagged for refund, and never credited
    assert outcome.outcome == "needs_refund"
    second.refresh_from_db()
    assert second.needs_refund and not second.applied_to_order
    assert ledger_balance(artisan=order.artisan, currency="EUR") == Decimal("108.00")
    # When it is refunded, no ledger debit happens either
    services.refund_payment(actor=None, payment=second, reason="Paid twice")
    second.refresh_from_db()
    assert second.status == PaymentStatus.REFUNDED and not second.needs_refund
    assert ledger_balance(artisan=order.artisan, currency="EUR") == Decimal("108.00")
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID


def test_full_refund_debits_ledger_and_refunds_order(buyer, artisan, order):
    payment = services.start_checkout(buyer=buyer, order=order)
    services.confirm_dev_payment(buyer=buyer, payment=payment)
    services.refund_order(actor=artisan, order=order, reason="Cracked in the kiln")
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED and order.amount_refunded == Decimal("120.00")
    assert ledger_balance(artisan=artisan, currency="EUR") == 0
    kinds = list(LedgerEntry.objects.order_by("id").values_list("kind", "amount"))
    assert kinds == [
        ("sale_credit", Decimal("120.00")),
        ("platform_fee", Decimal("-12.00")),
        ("refund_debit", Decimal("-120.00")),
        ("platform_fee", Decimal("12.00")),
    ]


def test_stale_cumulative_refund_is_ignored(buyer, order):
    payment = services.start_checkout(buyer=buyer, order=order)
    services.handle_payment_event(event=event(payment, "payment.succeeded", "e1"))
    services.handle_payment_event(event=event(payment, "refund.succeeded", "e2", "50.00"))
    # An older notification (cumulative 20) arriving late changes nothing
    assert (
        services.handle_payment_event(
            event=event(payment, "refund.succeeded", "e3", "20.00")
        ).outcome
        == "stale_refund"
    )
    payment.refresh_from_db()
    assert payment.amount_refunded == Decimal("50.00")
    assert ledger_balance(artisan=order.artisan, currency="EUR") == Decimal("108.00") - Decimal(
        "45.00"
    )


def test_webhook_view_verifies_and_deduplicates(client, buyer, order):
    payment = services.start_checkout(buyer=buyer, order=order)
    signed = get_gateway("dev").confirm_payment(
        provider_payment_id=payment.provider_payment_id,
        order_reference=order.reference,
        amount=payment.amount,
        currency="EUR",
    )
    headers = {
        f"HTTP_{k.upper().replace('-', '_')}": v
        for k, v in signed.headers.items()
        if k != "Content-Type"
    }
    first = client.post("/webhooks/dev/", signed.body, content_type="application/json", **headers)
    again = client.post("/webhooks/dev/", signed.body, content_type="application/json", **headers)
    assert first.json() == {"outcome": "paid"}
    assert again.json() == {"outcome": "duplicate"}
    tampered = json.loads(signed.body)
    tampered["data"]["amount"] = "1.00"
    bad = client.post(
        "/webhooks/dev/", json.dumps(tampered), content_type="application/json", **headers
    )
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_webhook"
    assert LedgerEntry.objects.filter(kind=LedgerEntryKind.SALE_CREDIT).count() == 1


def test_stale_dev_webhook_is_rejected(client, buyer, order):
    payment = services.start_checkout(buyer=buyer, order=order)
    signed = get_gateway("dev").build_webhook(
        event_type="payment.succeeded",
        provider_payment_id=payment.provider_payment_id,
        order_reference=order.reference,
        amount=payment.amount,
        currency="EUR",
        timestamp=int(time.time()) - 3600,
    )
    response = client.post(
        "/webhooks/dev/",
        signed.body,
        content_type="application/json",
        HTTP_X_ATELIER_DEV_SIGNATURE=signed.headers["X-Atelier-Dev-Signature"],
    )
    assert response.status_code == 400
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT
