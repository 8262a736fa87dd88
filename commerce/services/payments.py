"""Checkout, payment webhooks (exactly once, any order), refunds.

A payment becomes real only through ``handle_payment_event``: real providers reach it from
their webhook endpoints, the dev gateway's confirm page reaches it with a signed body it
builds itself, so both take the same path. Exactly-once: the ``ProcessedWebhookEvent``
row is inserted in the same transaction as the effects, so a redelivery either sees the
row (and does nothing) or blocks on it until the first delivery commits.

``transition_payment`` is the only code that changes ``Payment.status``: it checks
``PAYMENT_TRANSITIONS`` and writes a ``PaymentEvent`` in the same transaction. The map
admits every order the provider's events can arrive in (a refund can overtake its success;
a failed attempt can still succeed), so an out-of-order delivery never needs a refusal.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from commerce.errors import (
    CommerceError,
    InvalidInput,
    NotAllowed,
    NothingToPay,
    require_transition,
)
from commerce.models import (
    Order,
    OrderEventType,
    OrderStatus,
    Payment,
    PaymentEvent,
    PaymentPurpose,
    PaymentStatus,
    ProcessedWebhookEvent,
    Refund,
    RefundStatus,
)
from commerce.payments.registry import get_gateway
from commerce.payments.types import (
    GatewayNotConfigured,
    GatewayUnavailable,
    PaymentDeclined,
    PaymentError,
    PaymentRequest,
    WebhookEvent,
)
from commerce.serializers import absolute_url
from commerce.services.cards import post_milestone, publish_order_card
from commerce.services.ledger import credit_sale, debit_refund
from commerce.services.orders import payable_now, record_order_event, transition_order
from core.models import User

logger = logging.getLogger(__name__)


class PaymentUnavailable(CommerceError):
    code = "payment_unavailable"
    status = 502


P = PaymentStatus
PAYMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    # A refund notification can overtake the success it refunds (pending → refunded).
    P.PENDING: frozenset({P.SUCCEEDED, P.FAILED, P.REFUNDED}),
    P.SUCCEEDED: frozenset({P.REFUNDED}),
    # A failed attempt on the same provider payment can still succeed (or be refunded).
    P.FAILED: frozenset({P.SUCCEEDED, P.REFUNDED}),
    P.REFUNDED: frozenset(),
}


class PaymentEventCode:
    """Why a payment moved (``PaymentEvent.code``): machine codes, rendered at the edge."""

    SUCCEEDED = "provider_succeeded"
    AMOUNT_MISMATCH = "amount_mismatch"
    NOT_EXPECTED = "not_expected"  # paid twice or for a settled stage: owed back
    FAILED = "provider_failed"
    REFUNDED = "refunded"


@transaction.atomic
def transition_payment(
    *,
    payment: Payment,
    to: str,
    code: str,
    actor: User | None = None,
    data: dict[str, Any] | None = None,
) -> Payment:
    """Move ``payment`` to status ``to`` or raise ``IllegalTransition``.

    Locks the payment row, checks ``PAYMENT_TRANSITIONS`` and writes a ``PaymentEvent``
    (``code`` + ``data``: facts such as the provider event id) in the same transaction.
    Only the status is saved here; the caller saves the other fields it changed.
    """
    locked = Payment.objects.select_for_update(of=("self",)).get(pk=payment.pk)
    current = locked.status
    require_transition(
        transitions=PAYMENT_TRANSITIONS,
        statuses=P,
        current=current,
        to=to,
        unknown=_("Unknown payment status “%(status)s”."),
        illegal=_("A payment in status “%(current)s” cannot move to “%(requested)s”."),
    )
    locked.status = to
    locked.save(update_fields=["status"])
    PaymentEvent.objects.create(
        payment=locked, from_status=current, to_status=to, actor=actor, code=code, data=data or {}
    )
    payment.status = to  # keep the caller's instance current
    return payment


def _event_facts(event: WebhookEvent) -> dict[str, Any]:
    return {"provider": event.provider, "event_id": event.event_id}


class PaymentNotCaptured(CommerceError):
    """PayPal did not take the money the buyer approved; nothing was charged."""

    code = "payment_not_captured"
    status = 402


class PaymentCaptureDeclined(PaymentNotCaptured):
    """PayPal declined the buyer's card or account; this attempt is over."""

    code = "payment_declined"


# --- Checkout --------------------------------------------------------------------------------


def start_checkout(*, buyer: User, order: Order) -> Payment:
    """Open (or reuse) the provider payment for what is due now on ``order``.

    Reloading the pay page reuses the pending attempt instead of creating a new one.
    The provider call happens outside any database transaction (no lock held over HTTP);
    it carries an idempotency key per attempt so a retried call cannot charge twice.
    """
    if order.buyer_id != buyer.pk:
        raise NotAllowed(_("This is not your order."))
    gateway = get_gateway()
    payment = _reserve_payment(order=order, provider=gateway.provider)
    if payment.provider_payment_id:
        return payment
    try:
        session = gateway.create_payment(
            PaymentRequest(
                order_reference=order.reference,
                amount=payment.amount,
                currency=payment.currency,
                idempotency_key=payment.idempotency_key,
                description=order.title[:200],
                metadata={"order_reference": order.reference, "purpose": payment.purpose},
                customer_email=None,
                return_url=absolute_url(reverse("commerce:pay_return", args=[order.reference])),
                cancel_url=absolute_url(reverse("commerce:pay", args=[order.reference])),
            )
        )
    except PaymentError as error:
        logger.warning("Payment creation failed for %s: %s", order.reference, error)
        raise PaymentUnavailable(
            _("The payment provider could not be reached. Please try again in a moment.")
        ) from error
    with transaction.atomic():
        Payment.objects.filter(pk=payment.pk, provider_payment_id="").update(
            provider_payment_id=session.provider_payment_id,
            client_secret=session.client_secret or "",
            redirect_url=session.redirect_url or "",
        )
    payment.refresh_from_db()
    return payment


@transaction.atomic
def _reserve_payment(*, order: Order, provider: str) -> Payment:
    order = Order.objects.select_for_update(of=("self",)).get(pk=order.pk)
    payable = payable_now(order)
    if payable is None:
        raise NothingToPay(_("Nothing is due on this order right now."))
    existing = (
        Payment.objects.filter(
            order=order,
            provider=provider,
            purpose=payable.purpose,
            amount=payable.amount,
            status=PaymentStatus.PENDING,
        )
        .order_by("-created_at")
        .first()
    )
    if existing is not None:
        return existing
    attempt = Payment.objects.filter(order=order).aggregate(n=Count("id"))["n"] + 1
    return Payment.objects.create(
        order=order,
        provider=provider,
        amount=payable.amount,
        currency=order.currency,
        purpose=payable.purpose,
        idempotency_key=f"{order.reference}:{payable.purpose}:{attempt}",
    )


# --- PayPal: capture on the buyer's return ------------------------------------------------


def capture_paypal_return(*, buyer: User, order: Order, token: str) -> str:
    """The buyer is back from approving on PayPal (``token`` = the PayPal order id): capture it.

    Returns what happened: ``nothing_to_capture`` (no pending PayPal payment of this order has
    that id: a reload, or the webhook was first), or the capture's status (``succeeded``,
    ``processing``…), which is informational: the order is marked paid from the verified
    ``PAYMENT.CAPTURE.COMPLETED`` webhook, as every payment is. Raises
    ``PaymentCaptureDeclined`` when PayPal declines the buyer's card or account (the attempt
    is recorded as failed through ``handle_payment_event``, so the pay page opens a fresh
    one), ``PaymentNotCaptured`` when PayPal refuses the request otherwise (e.g. not approved:
    the attempt stays open), and ``PaymentUnavailable`` when PayPal cannot be reached (the
    attempt stays pending: the webhook, or the buyer returning again, settles it). Every
    failure is logged.
    """
    if order.buyer_id != buyer.pk:
        raise NotAllowed(_("This is not your order."))
    payment = Payment.objects.filter(
        order=order, provider="paypal", provider_payment_id=token
    ).first()
    if payment is None or payment.status != PaymentStatus.PENDING:
        return "nothing_to_capture"
    try:
        session = get_gateway("paypal").capture_order(
            provider_payment_id=token, idempotency_key=f"capture:{payment.idempotency_key}"
        )
    except PaymentDeclined as error:
        logger.warning("PayPal declined the capture for %s: %s", order.reference, error)
        _record_capture_declined(payment)
        raise PaymentCaptureDeclined(_declined_message()) from error
    except (GatewayUnavailable, GatewayNotConfigured) as error:
        log = logger.error if isinstance(error, GatewayNotConfigured) else logger.warning
        log("PayPal capture failed for %s: %s", order.reference, error)
        raise PaymentUnavailable(
            _(
                "We could not reach PayPal to complete your payment. If you approved it, we "
                "will confirm it as soon as PayPal does; otherwise please try again in a moment."
            )
        ) from error
    except PaymentError as error:
        # PayPal refused the request (e.g. the order was not approved): the attempt stays
        # open, so the pay page sends the buyer back to the same approval.
        logger.warning("PayPal refused the capture for %s: %s", order.reference, error)
        raise PaymentNotCaptured(
            _("PayPal did not complete the payment, so nothing was charged. Please try again.")
        ) from error
    if session.status in ("failed", "canceled"):
        logger.warning("PayPal capture for %s ended %s", order.reference, session.status)
        _record_capture_declined(payment)
        raise PaymentCaptureDeclined(_declined_message())
    return session.status


def _declined_message() -> str:
    return _(
        "PayPal declined the payment, so nothing was charged. Please pay again, with another "
        "card or PayPal account if you can."
    )


def _record_capture_declined(payment: Payment) -> None:
    """Mark the attempt failed through the one payment-event path (exactly once)."""
    handle_payment_event(
        event=WebhookEvent(
            provider="paypal",
            event_id=f"capture-declined:{payment.pk}",
            event_type="payment.failed",
            provider_payment_id=payment.provider_payment_id,
            order_reference=payment.order.reference,
            amount=None,
            currency=None,
            created=timezone.now(),
            raw_type="capture_declined",
        )
    )


# --- Webhooks -------------------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookOutcome:
    """What one delivery did: ``duplicate`` means an earlier delivery already processed it."""

    outcome: str
    order_reference: str | None = None
    payment_id: int | None = None


def handle_payment_webhook(
    *, provider: str, body: bytes, headers: Mapping[str, str]
) -> WebhookOutcome:
    """Verify a raw provider webhook and process it. Raises InvalidWebhook (→ 400)."""
    event = get_gateway(provider).parse_webhook(body=body, headers=headers)
    return handle_payment_event(event=event)


@transaction.atomic
def handle_payment_event(*, event: WebhookEvent) -> WebhookOutcome:
    """Apply one verified payment event exactly once, whatever order events arrive in."""
    try:
        with transaction.atomic():
            marker = ProcessedWebhookEvent.objects.create(
                provider=event.provider, event_id=event.event_id, event_type=event.event_type
            )
    except IntegrityError:
        return WebhookOutcome("duplicate")
    outcome = _apply_event(event)
    marker.outcome = outcome.outcome[:60]
    marker.save(update_fields=["outcome"])
    return outcome


def _find_payment(event: WebhookEvent) -> Payment | None:
    if event.provider_payment_id:
        payment = (
            Payment.objects.select_for_update(of=("self",))
            .filter(provider=event.provider, provider_payment_id=event.provider_payment_id)
            .first()
        )
        if payment is not None:
            return payment
    if event.event_type != "payment.succeeded" or not event.order_reference:
        return None
    # A payment we did not open (e.g. created in the provider's dashboard) still counts:
    # record it so the money is never lost, then apply it like any other.
    order = Order.objects.filter(reference=event.order_reference).first()
    if order is None or event.amount is None or event.currency is None:
        return None
    payable = payable_now(order)
    payment = Payment.objects.create(
        order=order,
        provider=event.provider,
        provider_payment_id=event.provider_payment_id or "",
        amount=event.amount,
        currency=event.currency,
        purpose=payable.purpose if payable else PaymentPurpose.FULL,
        idempotency_key=f"webhook:{event.provider}:{event.event_id}"[:80],
    )
    return Payment.objects.select_for_update(of=("self",)).get(pk=payment.pk)


def _apply_event(event: WebhookEvent) -> WebhookOutcome:
    if event.event_type == "other":
        return WebhookOutcome("ignored")
    payment = _find_payment(event)
    if payment is None:
        logger.warning(
            "Webhook %s/%s names an unknown payment %s",
            event.provider,
            event.event_id,
            event.provider_payment_id,
        )
        return WebhookOutcome("unknown_payment", order_reference=event.order_reference)
    if event.event_type == "payment.succeeded":
        return _payment_succeeded(payment, event)
    if event.event_type == "refund.succeeded":
        return _refund_succeeded(payment, event)
    if event.event_type == "payment.failed":
        if payment.status == PaymentStatus.PENDING:
            transition_payment(
                payment=payment, to=P.FAILED, code=PaymentEventCode.FAILED, data=_event_facts(event)
            )
        return WebhookOutcome("failed", payment.order.reference, payment.pk)
    return WebhookOutcome("ignored")


def _payment_succeeded(payment: Payment, event: WebhookEvent) -> WebhookOutcome:
    order = Order.objects.select_for_update(of=("self",)).get(pk=payment.order_id)
    if payment.succeeded_at is not None:
        return WebhookOutcome("already_succeeded", order.reference, payment.pk)
    payment.succeeded_at = event.created or timezone.now()
    if event.amount is not None and (
        event.amount != payment.amount or event.currency != payment.currency
    ):
        # The provider charged something other than we asked: keep the record, refund it
        # (unless a refund that overtook this notification already gave it all back).
        payment.needs_refund = payment.status != P.REFUNDED
        payment.save(update_fields=["succeeded_at", "needs_refund"])
        if payment.status != P.REFUNDED:
            transition_payment(
                payment=payment,
                to=P.SUCCEEDED,
                code=PaymentEventCode.AMOUNT_MISMATCH,
                data={
                    **_event_facts(event),
                    "amount": str(event.amount),
                    "currency": event.currency,
                },
            )
        record_order_event(
            order=order,
            type=OrderEventType.PAYMENT,
            code="payment_mismatch",
            data={
                "payment_id": payment.pk,
                "amount": str(event.amount),
                "currency": event.currency,
            },
        )
        return WebhookOutcome("amount_mismatch", order.reference, payment.pk)
    if payment.amount_refunded >= payment.amount:
        # The refund notification overtook this one: the money came and went.
        payment.save(update_fields=["succeeded_at"])
        return WebhookOutcome("refunded_before_success", order.reference, payment.pk)
    payable = payable_now(order)
    expected = (
        payable is not None
        and payable.purpose == payment.purpose
        and payable.amount == payment.amount
        and payment.currency == order.currency
    )
    if not expected:
        # Paid twice (or for a stage already settled): never credit twice, owe it back.
        payment.needs_refund = True
        payment.save(update_fields=["succeeded_at", "needs_refund"])
        transition_payment(
            payment=payment,
            to=P.SUCCEEDED,
            code=PaymentEventCode.NOT_EXPECTED,
            data=_event_facts(event),
        )
        record_order_event(
            order=order,
            type=OrderEventType.PAYMENT,
            code="payment_extra",
            data={
                "payment_id": payment.pk,
                "needs_refund": True,
                "amount": str(payment.amount),
                "currency": payment.currency,
            },
        )
        return WebhookOutcome("needs_refund", order.reference, payment.pk)
    payment.applied_to_order = True
    payment.save(update_fields=["succeeded_at", "applied_to_order"])
    transition_payment(
        payment=payment, to=P.SUCCEEDED, code=PaymentEventCode.SUCCEEDED, data=_event_facts(event)
    )
    order.amount_paid += payment.amount
    order.save(update_fields=["amount_paid", "updated_at"])
    credit_sale(order=order, payment=payment, amount=payment.amount)
    if payment.amount_refunded > 0:
        # A partial refund arrived before this success: it is now the artisan's debit.
        debit_refund(order=order, payment=payment, amount=payment.amount_refunded)
        order.amount_refunded += payment.amount_refunded
        order.save(update_fields=["amount_refunded", "updated_at"])
    record_order_event(
        order=order,
        type=OrderEventType.PAYMENT,
        code="payment_received",
        data={
            "payment_id": payment.pk,
            "provider": payment.provider,
            "purpose": payment.purpose,
            "amount": str(payment.amount),
            "currency": payment.currency,
        },
    )
    paid = {"purpose": payment.purpose}
    if payment.purpose == PaymentPurpose.DEPOSIT:
        transition_order(
            order=order, to=OrderStatus.DEPOSIT_PAID, code="payment_received", data=paid
        )
    elif payment.purpose in (PaymentPurpose.FULL, PaymentPurpose.BALANCE):
        transition_order(order=order, to=OrderStatus.PAID, code="payment_received", data=paid)
    else:
        post_milestone(
            conversation=order.conversation,
            event="order.payment",
            type="payment",
            order=order.reference,
            purpose=payment.purpose,
            amount=str(payment.amount),
            currency=payment.currency,
        )
        publish_order_card(order=order)
    return WebhookOutcome("paid", order.reference, payment.pk)


def _refund_succeeded(payment: Payment, event: WebhookEvent) -> WebhookOutcome:
    order = Order.objects.select_for_update(of=("self",)).get(pk=payment.order_id)
    # Providers report the running total refunded on the payment.
    cumulative = event.amount if event.amount is not None else payment.amount
    delta = min(cumulative, payment.amount) - payment.amount_refunded
    if delta <= 0:
        return WebhookOutcome("stale_refund", order.reference, payment.pk)
    payment.amount_refunded += delta
    if payment.amount_refunded >= payment.amount:
        payment.needs_refund = False
    payment.save(update_fields=["amount_refunded", "needs_refund"])
    if payment.amount_refunded >= payment.amount:
        transition_payment(
            payment=payment,
            to=P.REFUNDED,
            code=PaymentEventCode.REFUNDED,
            data={**_event_facts(event), "amount_refunded": str(payment.amount_refunded)},
        )
    pending = payment.refunds.filter(status=RefundStatus.REQUESTED).order_by("created_at").first()
    if pending is not None:
        pending.status = RefundStatus.SUCCEEDED
        pending.succeeded_at = timezone.now()
        pending.save(update_fields=["status", "succeeded_at"])
    else:
        Refund.objects.create(
            payment=payment,
            order=order,
            amount=delta,
            currency=payment.currency,
            status=RefundStatus.SUCCEEDED,
            reason="Refunded at the provider",
            succeeded_at=timezone.now(),
        )
    if not payment.applied_to_order:
        # Never credited (duplicate payment, or refund ahead of its success): no ledger debit.
        return WebhookOutcome("refund_recorded", order.reference, payment.pk)
    order.amount_refunded += delta
    order.save(update_fields=["amount_refunded", "updated_at"])
    debit_refund(order=order, payment=payment, amount=delta)
    record_order_event(
        order=order,
        type=OrderEventType.REFUND,
        code="refund",
        data={"payment_id": payment.pk, "amount": str(delta), "currency": payment.currency},
    )
    if order.amount_refunded >= order.amount_paid and order.status != OrderStatus.REFUNDED:
        transition_order(order=order, to=OrderStatus.REFUNDED, code="fully_refunded")
    else:
        post_milestone(
            conversation=order.conversation,
            event="order.refund",
            type="refund",
            order=order.reference,
            amount=str(delta),
            currency=payment.currency,
        )
        publish_order_card(order=order)
    return WebhookOutcome("refunded", order.reference, payment.pk)


# --- Dev gateway -------------------------------------------------------------------------------


def confirm_dev_payment(*, buyer: User, payment: Payment, succeed: bool = True) -> WebhookOutcome:
    """The dev confirm page's button: sign a webhook and feed the real webhook path."""
    if payment.order.buyer_id != buyer.pk:
        raise NotAllowed(_("This is not your payment."))
    if payment.provider != "dev":
        raise InvalidInput(_("Only dev-gateway payments are confirmed here."))
    gateway = get_gateway("dev")
    signed = gateway.confirm_payment(
        provider_payment_id=payment.provider_payment_id,
        order_reference=payment.order.reference,
        amount=payment.amount,
        currency=payment.currency,
        outcome="succeeded" if succeed else "failed",
    )
    return handle_payment_webhook(provider="dev", body=signed.body, headers=signed.headers)


# --- Refunds --------------------------------------------------------------------------------


def refund_payment(
    *, actor: User | None, payment: Payment, amount: Decimal | None = None, reason: str = ""
) -> Refund:
    """Ask the provider to refund ``amount`` (default: what remains) of a payment.

    Effects on order and ledger come from the provider's refund webhook; the dev gateway
    has none, so its signed refund event is fed to the same handler right away.
    """
    remaining = payment.amount - payment.amount_refunded
    amount = remaining if amount is None else amount
    if payment.status not in (PaymentStatus.SUCCEEDED,) or amount <= 0 or amount > remaining:
        raise InvalidInput(_("Nothing refundable on this payment."))
    with transaction.atomic():
        count = Refund.objects.filter(payment=payment).count() + 1
        refund = Refund.objects.create(
            payment=payment,
            order=payment.order,
            amount=amount,
            currency=payment.currency,
            reason=reason[:300],
            requested_by=actor,
        )
    gateway = get_gateway(payment.provider)
    try:
        result = gateway.refund(
            provider_payment_id=payment.provider_payment_id,
            amount=None if amount == remaining and payment.amount_refunded == 0 else amount,
            idempotency_key=f"refund:{payment.pk}:{count}",
        )
    except PaymentError as error:
        Refund.objects.filter(pk=refund.pk).update(status=RefundStatus.FAILED)
        raise PaymentUnavailable(_("The refund failed: %(reason)s") % {"reason": error}) from error
    Refund.objects.filter(pk=refund.pk).update(provider_refund_id=result.refund_id)
    if payment.provider == "dev":
        signed = gateway.build_webhook(
            event_type="refund.succeeded",
            provider_payment_id=payment.provider_payment_id,
            order_reference=payment.order.reference,
            amount=payment.amount_refunded + amount,
            currency=payment.currency,
        )
        handle_payment_webhook(provider="dev", body=signed.body, headers=signed.headers)
    refund.refresh_from_db()
    return refund


def refund_order(
    *,
    actor: User,
    order: Order,
    amount: Decimal | None = None,
    reason: str = "",
    system: bool = False,
) -> list[Refund]:
    """Refund an order (fully, or ``amount``) across its applied payments, newest first."""
    if not system and actor.pk != order.artisan_id and not actor.is_platform_admin:
        raise NotAllowed(_("Only the artisan or an admin can refund an order."))
    payments = list(
        order.payments.filter(applied_to_order=True, status=PaymentStatus.SUCCEEDED).order_by(
            "-created_at"
        )
    )
    refundable = sum((p.amount - p.amount_refunded for p in payments), Decimal("0"))
    wanted = refundable if amount is None else amount
    if wanted <= 0 or wanted > refundable:
        raise InvalidInput(_("Nothing (or less than that) is refundable on this order."))
    refunds = []
    for payment in payments:
        if wanted <= 0:
            break
        share = min(wanted, payment.amount - payment.amount_refunded)
        if share > 0:
            refunds.append(
                refund_payment(actor=actor, payment=payment, amount=share, reason=reason)
            )
            wanted -= share
    return refunds
