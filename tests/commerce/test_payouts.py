"""Payouts: balance from the ledger, withdrawals capped, re-auth required, admin approval."""

from __future__ import annotations

from decimal import Decimal

import pytest

from commerce import services
from commerce.errors import IllegalTransition, InsufficientBalance
from commerce.models import (
    AppendOnlyError,
    LedgerEntry,
    LedgerEntryKind,
    PayoutRequest,
    PayoutStatus,
)
from commerce.services.ledger import ledger_balance
from core.security import mark_reauthenticated
from tests.commerce.conftest import pay_through_dev_gateway

pytestmark = pytest.mark.django_db


@pytest.fixture
def earned(buyer, artisan, order):
    pay_through_dev_gateway(buyer, order)  # 120 EUR paid, 10 % fee → 108 EUR balance
    return artisan


def test_withdrawal_over_balance_is_rejected(earned):
    with pytest.raises(InsufficientBalance, match="at most €108.00"):
        services.request_payout(artisan=earned, amount="108.01", currency="EUR")
    with pytest.raises(InsufficientBalance):
        services.request_payout(artisan=earned, amount="5", currency="GBP")


def test_pending_requests_reserve_balance(earned):
    services.request_payout(artisan=earned, amount="100", currency="EUR")
    with pytest.raises(InsufficientBalance, match="€8.00"):
        services.request_payout(artisan=earned, amount="10", currency="EUR")


def test_admin_approval_debits_ledger(earned, admin_user):
    payout = services.request_payout(artisan=earned, amount="50", currency="EUR")
    services.approve_payout(admin=admin_user, payout=payout)
    assert ledger_balance(artisan=earned, currency="EUR") == Decimal("58.00")
    assert LedgerEntry.objects.filter(
        kind=LedgerEntryKind.PAYOUT, payout=payout
    ).get().amount == Decimal("-50.00")
    with pytest.raises(IllegalTransition):
        services.reject_payout(admin=admin_user, payout=payout)
    services.mark_payout_paid(admin=admin_user, payout=payout)
    payout.refresh_from_db()
    assert payout.status == PayoutStatus.PAID


def test_ledger_rows_are_append_only(earned):
    entry = LedgerEntry.objects.first()
    entry.amount = Decimal("9999")
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()


def test_withdrawal_view_requires_reauthentication(client, earned):
    client.force_login(earned)
    # Without a recent re-auth the request is sent to the re-auth page and nothing is created
    response = client.post("/studio/balance/withdraw/", {"amount": "10", "currency": "EUR"})
    assert response.status_code == 302 and "/reauth" in response["Location"]
    assert not PayoutRequest.objects.exists()
    # After re-authenticating (password + 2FA) it goes through
    session = client.session
    mark_reauthenticated(session)
    session.save()
    response = client.post("/studio/balance/withdraw/", {"amount": "10", "currency": "EUR"})
    assert response.status_code == 302 and response["Location"] == "/studio/balance/"
    assert PayoutRequest.objects.get().amount == Decimal("10.00")


def test_buyers_cannot_withdraw(client, buyer):
    client.force_login(buyer)
    assert (
        client.post("/studio/balance/withdraw/", {"amount": "10", "currency": "EUR"}).status_code
        == 403
    )
