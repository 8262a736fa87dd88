"""Artisan withdrawals. Balance comes from the ledger; requests reserve part of it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from commerce.errors import IllegalTransition, InsufficientBalance, NotAllowed
from commerce.models import LedgerEntry, LedgerEntryKind, PayoutRequest, PayoutStatus
from commerce.money import format_money, normalise_currency, validate_price
from commerce.services.ledger import ledger_balance, lock_ledger_account
from core.audit import record_audit_event
from core.models import AuditEvent, User

PAYOUT_TRANSITIONS = {
    PayoutStatus.REQUESTED: {PayoutStatus.APPROVED, PayoutStatus.REJECTED},
    PayoutStatus.APPROVED: {PayoutStatus.PAID},
    PayoutStatus.REJECTED: set(),
    PayoutStatus.PAID: set(),
}


def available_balance(*, artisan: User, currency: str) -> Decimal:
    """Ledger balance minus withdrawals requested but not yet decided."""
    reserved = PayoutRequest.objects.filter(
        artisan=artisan, currency=currency, status=PayoutStatus.REQUESTED
    ).aggregate(s=Sum("amount"))["s"] or Decimal("0")
    return ledger_balance(artisan=artisan, currency=currency) - reserved


@transaction.atomic
def request_payout(*, artisan: User, amount: Any, currency: str) -> PayoutRequest:
    """Ask for a withdrawal. The per-artisan ledger lock makes two requests queue, so
    together they can never exceed the balance."""
    if not artisan.can_sell:
        raise NotAllowed(_("Only artisans with two-factor authentication can withdraw."))
    currency = normalise_currency(currency)
    value = validate_price(amount, currency, field="amount")
    lock_ledger_account(artisan)
    available = available_balance(artisan=artisan, currency=currency)
    if value > available:
        raise InsufficientBalance(
            _("You can withdraw at most %(amount)s.")
            % {"amount": format_money(max(available, Decimal("0")), currency)},
            field="amount",
        )
    payout = PayoutRequest.objects.create(artisan=artisan, amount=value, currency=currency)
    record_audit_event(
        kind=AuditEvent.Kind.SENSITIVE_ACTION,
        actor=artisan,
        action="payout_requested",
        payout=payout.pk,
        amount=str(value),
        currency=currency,
    )
    return payout


def _transition_payout(payout: PayoutRequest, to: str) -> PayoutRequest:
    if to not in PAYOUT_TRANSITIONS[payout.status]:
        raise IllegalTransition(
            _("A payout in status “%(current)s” cannot become “%(requested)s”.")
            % {"current": payout.get_status_display(), "requested": PayoutStatus(to).label},
            current=payout.status,
            requested=to,
        )
    payout.status = to
    return payout


@transaction.atomic
def approve_payout(*, admin: User, payout: PayoutRequest, note: str = "") -> PayoutRequest:
    """Approve and debit the ledger (the money leaves the artisan's balance now)."""
    if not admin.is_platform_admin:
        raise NotAllowed(_("Only admins approve payouts."))
    lock_ledger_account(payout.artisan)
    payout = PayoutRequest.objects.select_for_update(of=("self",)).get(pk=payout.pk)
    _transition_payout(payout, PayoutStatus.APPROVED)
    payout.admin, payout.admin_note, payout.decided_at = admin, note[:300], timezone.now()
    payout.save()
    LedgerEntry.objects.create(
        artisan=payout.artisan,
        kind=LedgerEntryKind.PAYOUT,
        amount=-payout.amount,
        currency=payout.currency,
        payout=payout,
        note=f"Payout #{payout.pk}",
    )
    return payout


@transaction.atomic
def reject_payout(*, admin: User, payout: PayoutRequest, note: str = "") -> PayoutRequest:
    if not admin.is_platform_admin:
        raise NotAllowed(_("Only admins decide payouts."))
    payout = PayoutRequest.objects.select_for_update(of=("self",)).get(pk=payout.pk)
    _transition_payout(payout, PayoutStatus.REJECTED)
    payout.admin, payout.admin_note, payout.decided_at = admin, note[:300], timezone.now()
    payout.save()
    return payout


@transaction.atomic
def mark_payout_paid(*, admin: User, payout: PayoutRequest) -> PayoutRequest:
    if not admin.is_platform_admin:
        raise NotAllowed(_("Only admins decide payouts."))
    payout = PayoutRequest.objects.select_for_update(of=("self",)).get(pk=payout.pk)
    _transition_payout(payout, PayoutStatus.PAID)
    payout.paid_at = timezone.now()
    payout.save()
    return payout
