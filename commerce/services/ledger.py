"""The artisan ledger: append-only entries; balances are sums, never stored."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db.models import Sum

from commerce.models import LedgerAccount, LedgerEntry, LedgerEntryKind, Order, Payment
from commerce.money import percent_of
from core.models import User


def lock_ledger_account(artisan: User) -> LedgerAccount:
    """Take the per-artisan lock row (created on first use) for the current transaction."""
    LedgerAccount.objects.get_or_create(artisan=artisan)
    return LedgerAccount.objects.select_for_update(of=("self",)).get(artisan=artisan)


def ledger_balance(*, artisan: User, currency: str) -> Decimal:
    total = LedgerEntry.objects.filter(artisan=artisan, currency=currency).aggregate(
        s=Sum("amount")
    )["s"]
    return total or Decimal("0")


def ledger_balances(*, artisan: User) -> dict[str, Decimal]:
    rows = (
        LedgerEntry.objects.filter(artisan=artisan)
        .values("currency")
        .annotate(total=Sum("amount"))
        .order_by("currency")
    )
    return {row["currency"]: row["total"] for row in rows}


def platform_fee_for(amount: Decimal, currency: str) -> Decimal:
    percent = Decimal(str(settings.PLATFORM_FEE_PERCENT))
    return percent_of(amount, percent, currency)


def credit_sale(*, order: Order, payment: Payment, amount: Decimal) -> None:
    """A buyer's payment reached the artisan: credit it and take the platform fee."""
    lock_ledger_account(order.artisan)
    LedgerEntry.objects.create(
        artisan=order.artisan,
        kind=LedgerEntryKind.SALE_CREDIT,
        amount=amount,
        currency=payment.currency,
        order=order,
        payment=payment,
        note=f"{payment.get_purpose_display()} for {order.reference}",
    )
    fee = platform_fee_for(amount, payment.currency)
    if fee:
        LedgerEntry.objects.create(
            artisan=order.artisan,
            kind=LedgerEntryKind.PLATFORM_FEE,
            amount=-fee,
            currency=payment.currency,
            order=order,
            payment=payment,
            note=f"Platform fee {settings.PLATFORM_FEE_PERCENT}%",
        )


def debit_refund(*, order: Order, payment: Payment, amount: Decimal) -> None:
    """Money went back to the buyer: debit it and give back the fee taken on it."""
    lock_ledger_account(order.artisan)
    LedgerEntry.objects.create(
        artisan=order.artisan,
        kind=LedgerEntryKind.REFUND_DEBIT,
        amount=-amount,
        currency=payment.currency,
        order=order,
        payment=payment,
        note=f"Refund on {order.reference}",
    )
    fee = platform_fee_for(amount, payment.currency)
    if fee:
        LedgerEntry.objects.create(
            artisan=order.artisan,
            kind=LedgerEntryKind.PLATFORM_FEE,
            amount=fee,
            currency=payment.currency,
            order=order,
            payment=payment,
            note="Platform fee returned with the refund",
        )
