"""Offer and payment status machines: the maps, the transition functions, the history rows
each service path writes, the admin inlines and the GDPR export of offer history."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from itertools import product

import pytest
from django.contrib import admin
from django.utils import timezone

from commerce import services
from commerce.admin import OfferEventInline, PaymentEventInline
from commerce.errors import IllegalTransition
from commerce.models import (
    Offer,
    OfferEvent,
    OfferStatus,
    Payment,
    PaymentEvent,
    PaymentStatus,
)
from commerce.services.offers import OFFER_TRANSITIONS, transition_offer
from commerce.services.payments import PAYMENT_TRANSITIONS, transition_payment
from core.gdpr import export_personal_data
from tests.commerce.conftest import line, send
from tests.commerce.test_payment_webhooks import event

pytestmark = pytest.mark.django_db

OFFER_ALLOWED = [(a, b) for a, targets in OFFER_TRANSITIONS.items() for b in sorted(targets)]
OFFER_REFUSED = [
    (a, b) for a, b in product(OfferStatus.values, repeat=2) if b not in OFFER_TRANSITIONS[a]
]
PAYMENT_ALLOWED = [(a, b) for a, targets in PAYMENT_TRANSITIONS.items() for b in sorted(targets)]
PAYMENT_REFUSED = [
    (a, b) for a, b in product(PaymentStatus.values, repeat=2) if b not in PAYMENT_TRANSITIONS[a]
]


def offer_in(status: str, offer: Offer) -> Offer:
    # Test set-up only: put the row in the state under test without going through the map.
    Offer.objects.filter(pk=offer.pk).update(status=status)
    offer.refresh_from_db()
    return offer


def payment_in(status: str, payment: Payment) -> Payment:
    Payment.objects.filter(pk=payment.pk).update(status=status)
    payment.refresh_from_db()
    return payment


def codes(offer: Offer) -> list[tuple[str, str, str]]:
    return list(offer.events.values_list("from_status", "to_status", "code"))


# --- The maps ------------------------------------------------------------------------------


def test_the_maps_cover_every_status_and_name_only_real_ones():
    assert set(OFFER_TRANSITIONS) == set(OfferStatus.values)
    assert all(targets <= set(OfferStatus.values) for targets in OFFER_TRANSITIONS.values())
    assert set(PAYMENT_TRANSITIONS) == set(PaymentStatus.values)
    assert all(targets <= set(PaymentStatus.values) for targets in PAYMENT_TRANSITIONS.values())
    # Terminal states stay terminal.
    for status in ("accepted", "declined", "superseded", "expired"):
        assert OFFER_TRANSITIONS[status] == frozenset()
    assert PAYMENT_TRANSITIONS[PaymentStatus.REFUNDED] == frozenset()


# --- transition_offer ----------------------------------------------------------------------


@pytest.mark.parametrize(("current", "to"), OFFER_ALLOWED)
def test_every_allowed_offer_move_writes_one_event(current, to, artisan, offer):
    offer = offer_in(current, offer)
    before = OfferEvent.objects.count()
    moved = transition_offer(offer=offer, to=to, code="test_move", actor=artisan, data={"k": 1})
    assert moved.status == to and offer.status == to
    assert Offer.objects.get(pk=offer.pk).status == to
    assert OfferEvent.objects.count() == before + 1
    row = OfferEvent.objects.latest("id")
    assert (row.offer_id, row.from_status, row.to_status, row.code, row.actor_id, row.data) == (
        offer.pk,
        current,
        to,
        "test_move",
        artisan.pk,
        {"k": 1},
    )


@pytest.mark.parametrize(("current", "to"), OFFER_REFUSED)
def test_every_refused_offer_move_raises_and_writes_nothing(current, to, offer):
    offer = offer_in(current, offer)
    before = OfferEvent.objects.count()
    with pytest.raises(IllegalTransition) as refused:
        transition_offer(offer=offer, to=to, code="test_move")
    assert (refused.value.current, refused.value.requested) == (current, to)
    assert refused.value.code == "illegal_transition"
    assert Offer.objects.get(pk=offer.pk).status == current
    assert OfferEvent.objects.count() == before


def test_unknown_offer_status_is_refused(offer):
    with pytest.raises(IllegalTransition, match="Unknown offer status"):
        transition_offer(offer=offer, to="paid", code="test_move")
    assert Offer.objects.get(pk=offer.pk).status == OfferStatus.SENT


# --- Offer service paths -------------------------------------------------------------------


def test_sending_writes_draft_to_sent_by_the_artisan(artisan, offer):
    row = offer.events.get()
    assert (row.from_status, row.to_status, row.code, row.actor) == (
        "draft",
        "sent",
        "sent",
        artisan,
    )


def test_a_new_version_supersedes_with_history(artisan, conversation, offer):
    newer = send(artisan, conversation, lines=[line(price="95.00")])
    assert codes(offer) == [("draft", "sent", "sent"), ("sent", "superseded", "superseded")]
    superseded = offer.events.get(code="superseded")
    assert superseded.actor == artisan and superseded.data == {"by_version": newer.version}
    assert codes(newer) == [("draft", "sent", "sent")]


def test_a_version_after_requested_changes_supersedes_it(buyer, artisan, conversation, offer):
    services.request_offer_changes(buyer=buyer, offer=offer, note="Smaller, please")
    send(artisan, conversation, lines=[line(price="80.00")])
    assert codes(offer) == [
        ("draft", "sent", "sent"),
        ("sent", "changes_requested", "changes_requested"),
        ("changes_requested", "superseded", "superseded"),
    ]
    assert offer.events.get(code="changes_requested").actor == buyer


def test_accepting_writes_accepted_by_the_buyer(buyer, offer):
    services.accept_offer(buyer=buyer, offer=offer)
    row = offer.events.latest("id")
    assert (row.from_status, row.to_status, row.code, row.actor) == (
        "sent",
        "accepted",
        "accepted",
        buyer,
    )
    assert offer.events.count() == 2


def test_declining_writes_declined_by_the_buyer(buyer, offer):
    services.decline_offer(buyer=buyer, offer=offer, note="Not this time")
    row = offer.events.latest("id")
    assert (row.from_status, row.to_status, row.code, row.actor) == (
        "sent",
        "declined",
        "declined",
        buyer,
    )
    offer.refresh_from_db()
    assert offer.response_note == "Not this time" and offer.responded_at is not None


def test_change_orders_record_send_supersede_and_accept(buyer, artisan, order):
    first = services.send_change_order(artisan=artisan, order=order, lines=[line("Glaze", "10.00")])
    second = services.send_change_order(
        artisan=artisan, order=order, lines=[line("Glaze", "12.00")]
    )
    services.accept_offer(buyer=buyer, offer=second)
    assert codes(first) == [("draft", "sent", "sent"), ("sent", "superseded", "superseded")]
    assert codes(second) == [("draft", "sent", "sent"), ("sent", "accepted", "accepted")]


def test_expiry_writes_one_expired_event_per_stale_offer(buyer, artisan, conversation, order):
    # Given an open offer and an open change order, both past their expiry, and a fresh one
    stale_change = services.send_change_order(
        artisan=artisan, order=order, lines=[line("Glaze", "10.00")]
    )
    fresh = send(artisan, conversation, valid_days=7)
    past = timezone.now() - timedelta(minutes=1)
    Offer.objects.filter(pk=stale_change.pk).update(expires_at=past)
    # When the periodic task runs
    expired = services.expire_stale_offers()
    # Then only the stale one moved, with a history row that names no person
    assert expired == 1
    row = stale_change.events.latest("id")
    assert (row.from_status, row.to_status, row.code, row.actor_id) == (
        "sent",
        "expired",
        "expired",
        None,
    )
    assert row.data == {"expires_at": past.isoformat()}
    assert codes(fresh) == [("draft", "sent", "sent")]
    # And running again finds nothing and writes nothing
    assert services.expire_stale_offers() == 0
    assert stale_change.events.count() == 2


def test_expiry_of_an_offer_awaiting_a_new_version(buyer, offer):
    services.request_offer_changes(buyer=buyer, offer=offer, note="Blue glaze?")
    assert services.expire_stale_offers(now=offer.expires_at + timedelta(seconds=1)) == 1
    assert codes(offer)[-1] == ("changes_requested", "expired", "expired")


# --- transition_payment --------------------------------------------------------------------


@pytest.fixture
def payment(buyer, order) -> Payment:
    return services.start_checkout(buyer=buyer, order=order)


@pytest.mark.parametrize(("current", "to"), PAYMENT_ALLOWED)
def test_every_allowed_payment_move_writes_one_event(current, to, admin_user, payment):
    payment = payment_in(current, payment)
    transition_payment(payment=payment, to=to, code="test_move", actor=admin_user)
    assert payment.status == to and Payment.objects.get(pk=payment.pk).status == to
    row = payment.events.get()
    assert (row.from_status, row.to_status, row.code, row.actor) == (
        current,
        to,
        "test_move",
        admin_user,
    )


@pytest.mark.parametrize(("current", "to"), PAYMENT_REFUSED)
def test_every_refused_payment_move_raises_and_writes_nothing(current, to, payment):
    payment = payment_in(current, payment)
    with pytest.raises(IllegalTransition) as refused:
        transition_payment(payment=payment, to=to, code="test_move")
    assert (refused.value.current, refused.value.requested) == (current, to)
    assert Payment.objects.get(pk=payment.pk).status == current
    assert not PaymentEvent.objects.exists()


def test_unknown_payment_status_is_refused(payment):
    with pytest.raises(IllegalTransition, match="Unknown payment status"):
        transition_payment(payment=payment, to="chargeback", code="test_move")
    assert not PaymentEvent.objects.exists()


# --- Payment service paths -----------------------------------------------------------------


def payment_codes(payment: Payment) -> list[tuple[str, str, str]]:
    return list(payment.events.values_list("from_status", "to_status", "code"))


def test_success_writes_one_event_and_a_replay_writes_none(payment):
    succeeded = event(payment, "payment.succeeded", "evt_ok")
    assert services.handle_payment_event(event=succeeded).outcome == "paid"
    assert services.handle_payment_event(event=succeeded).outcome == "duplicate"
    again = event(payment, "payment.succeeded", "evt_ok_again")
    assert services.handle_payment_event(event=again).outcome == "already_succeeded"
    assert payment_codes(payment) == [("pending", "succeeded", "provider_succeeded")]
    row = payment.events.get()
    assert row.actor is None
    assert row.data == {"provider": "dev", "event_id": "evt_ok"}


def test_failure_then_late_failure_after_success(payment):
    services.handle_payment_event(event=event(payment, "payment.failed", "evt_f1"))
    services.handle_payment_event(event=event(payment, "payment.succeeded", "evt_s"))
    # A failure that arrives after the success changes nothing.
    services.handle_payment_event(event=event(payment, "payment.failed", "evt_f2"))
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert payment_codes(payment) == [
        ("pending", "failed", "provider_failed"),
        ("failed", "succeeded", "provider_succeeded"),
    ]


def test_full_refund_writes_refunded(buyer, artisan, payment):
    services.handle_payment_event(event=event(payment, "payment.succeeded", "evt_s"))
    payment.refresh_from_db()
    services.refund_payment(actor=artisan, payment=payment, amount=Decimal("20.00"))
    # A partial refund is not a status move.
    assert payment_codes(payment) == [("pending", "succeeded", "provider_succeeded")]
    payment.refresh_from_db()
    services.refund_payment(actor=artisan, payment=payment)
    assert payment_codes(payment)[-1] == ("succeeded", "refunded", "refunded")
    assert payment.events.latest("id").data["amount_refunded"] == "120.00"


def test_refund_before_success_is_recorded_once(payment):
    services.handle_payment_event(event=event(payment, "refund.succeeded", "evt_r"))
    outcome = services.handle_payment_event(event=event(payment, "payment.succeeded", "evt_s"))
    assert outcome.outcome == "refunded_before_success"
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REFUNDED
    assert payment_codes(payment) == [("pending", "refunded", "refunded")]


def test_wrong_amount_after_a_refund_leaves_the_payment_refunded(payment):
    # A refunded payment stays refunded (terminal) even if the late success names another
    # amount: the money already went back, so nothing is owed either.
    services.handle_payment_event(event=event(payment, "refund.succeeded", "evt_r"))
    late = event(payment, "payment.succeeded", "evt_s", "99.00")
    assert services.handle_payment_event(event=late).outcome == "amount_mismatch"
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REFUNDED and not payment.needs_refund
    assert payment.succeeded_at is not None
    assert payment_codes(payment) == [("pending", "refunded", "refunded")]


def test_paying_twice_and_wrong_amounts_are_coded(buyer, order):
    first = services.start_checkout(buyer=buyer, order=order)
    services.handle_payment_event(event=event(first, "payment.succeeded", "evt_1"))
    # A second payment the order no longer needs
    extra = Payment.objects.create(
        order=order,
        provider="dev",
        provider_payment_id="dev_extra",
        amount=order.total,
        currency=order.currency,
        purpose=first.purpose,
        idempotency_key="test:extra",
    )
    services.handle_payment_event(event=event(extra, "payment.succeeded", "evt_2"))
    # A payment the provider charged a different amount for
    odd = Payment.objects.create(
        order=order,
        provider="dev",
        provider_payment_id="dev_odd",
        amount=order.total,
        currency=order.currency,
        purpose=first.purpose,
        idempotency_key="test:odd",
    )
    services.handle_payment_event(event=event(odd, "payment.succeeded", "evt_3", "1.00"))
    assert payment_codes(extra) == [("pending", "succeeded", "not_expected")]
    assert payment_codes(odd) == [("pending", "succeeded", "amount_mismatch")]
    assert odd.events.get().data["amount"] == "1.00"


# --- Admin and GDPR ------------------------------------------------------------------------


def test_history_inlines_are_read_only_on_the_admin():
    offer_admin = admin.site._registry[Offer]
    payment_admin = admin.site._registry[Payment]
    assert OfferEventInline in offer_admin.inlines
    assert PaymentEventInline in payment_admin.inlines
    for inline in (OfferEventInline, PaymentEventInline):
        assert inline.can_delete is False
        assert inline(inline.model, admin.site).has_add_permission(None) is False


def test_admin_pages_show_the_history(client, admin_user, buyer, offer):
    order = services.accept_offer(buyer=buyer, offer=offer)
    payment = services.start_checkout(buyer=buyer, order=order)
    services.handle_payment_event(event=event(payment, "payment.succeeded", "evt_adm"))
    client.force_login(admin_user)
    offer_page = client.get(f"/admin/commerce/offer/{offer.pk}/change/")
    payment_page = client.get(f"/admin/commerce/payment/{payment.pk}/change/")
    assert offer_page.status_code == 200 and payment_page.status_code == 200

    def inline_rows(page, model) -> list:
        (formset,) = [f for f in page.context["inline_admin_formsets"] if f.formset.model is model]
        return [form.original for form in formset]

    assert [e.code for e in inline_rows(offer_page, OfferEvent)] == ["sent", "accepted"]
    assert [e.code for e in inline_rows(payment_page, PaymentEvent)] == ["provider_succeeded"]
    assert "provider_succeeded" in payment_page.content.decode()


def test_export_carries_offer_history(buyer, artisan, offer):
    services.accept_offer(buyer=buyer, offer=offer)
    exported = export_personal_data(user=buyer)["commerce"]["offers"]
    history = next(o for o in exported if o["id"] == offer.pk)["history"]
    assert [(h["from_status"], h["status"], h["code"]) for h in history] == [
        ("draft", "sent", "sent"),
        ("sent", "accepted", "accepted"),
    ]
