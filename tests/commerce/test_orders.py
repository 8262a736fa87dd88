"""The order status machine, deposits, production timeline and proofs."""

from __future__ import annotations

from decimal import Decimal

import pytest

from commerce import services
from commerce.errors import IllegalTransition, InvalidInput, RevisionRoundsExhausted
from commerce.models import OrderEvent, OrderStatus, ProofStatus
from conversations.models import MessageKind
from tests.commerce.conftest import cards, pay_through_dev_gateway, png_upload, send

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "target",
    [OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.IN_PRODUCTION, OrderStatus.REFUNDED],
)
def test_illegal_transitions_are_rejected_without_history(order, target):
    before = OrderEvent.objects.filter(order=order).count()
    with pytest.raises(IllegalTransition) as error:
        services.transition_order(order=order, to=target)
    assert error.value.current == OrderStatus.PENDING_PAYMENT
    assert error.value.requested == target
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert OrderEvent.objects.filter(order=order).count() == before


def test_paid_requires_the_money(order):
    with pytest.raises(IllegalTransition, match="not fully paid"):
        services.transition_order(order=order, to=OrderStatus.PAID)


def test_every_transition_writes_history_and_posts_a_card(buyer, artisan, order):
    conversation = order.conversation
    lines_before = len(cards(conversation, MessageKind.SYSTEM))
    # Paid (via the dev gateway webhook), in production, shipped, delivered
    pay_through_dev_gateway(buyer, order)
    services.post_production_update(
        artisan=artisan, order=order, stage="making", note="On the wheel"
    )
    shipment = services.ship_order(
        actor=artisan, order=order, carrier="Estafeta", tracking_number="EST123"
    )
    services.record_shipment_status(shipment=shipment, status="delivered")
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED
    history = list(
        order.events.filter(type="status")
        .exclude(old_status="")
        .values_list("old_status", "new_status")
    )
    assert history == [
        ("pending_payment", "paid"),
        ("paid", "in_production"),
        ("in_production", "shipped"),
        ("shipped", "delivered"),
    ]
    # Each move is a short system line of facts; the order keeps one card, now "delivered"
    status_lines = [
        m.payload
        for m in cards(conversation, MessageKind.SYSTEM)[lines_before:]
        if m.payload.get("event") == "order.status"
    ]
    assert [(c["old_status"], c["new_status"]) for c in status_lines] == history
    assert status_lines[2]["tracking_number"] == "EST123"
    assert status_lines[2]["order"] == order.reference
    # (delivery also asks the CSAT question: its own card, tests/commerce/test_csat.py)
    [order_card] = [c for c in cards(conversation) if c.payload.get("card") == "order"]
    assert order_card.author is None and order_card.text == ""
    assert order_card.payload["status"] == "delivered"
    assert order_card.payload["shipment"]["tracking_number"] == "EST123"


def test_transition_broadcasts_order_status(order, monkeypatch, django_capture_on_commit_callbacks):
    sent = []
    monkeypatch.setattr(
        "conversations.events.send_event_now",
        lambda group, event_type, payload, **_: sent.append((group, event_type, payload)),
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_order(actor=order.buyer, order=order, note="Changed my mind")
    events = [e for e in sent if e[1] == "order.status"]
    assert len(events) == 1
    group, _type, payload = events[0]
    assert group == f"conv.{order.conversation_id}"
    assert payload["conversation"] == order.conversation_id
    assert payload["order"]["status"] == "cancelled"
    assert payload["order"]["reference"] == order.reference


def test_deposit_flow_sends_balance_link_when_ready(buyer, artisan, conversation):
    # Given an accepted offer with a 40 % deposit
    offer = send(artisan, conversation, deposit_percent=40)
    order = services.accept_offer(buyer=buyer, offer=offer)
    assert services.payable_now(order).amount == Decimal("48.00")
    # When the deposit is paid
    assert pay_through_dev_gateway(buyer, order).outcome == "paid"
    order.refresh_from_db()
    assert order.status == OrderStatus.DEPOSIT_PAID
    # The piece cannot ship before the balance
    services.post_production_update(artisan=artisan, order=order, stage="materials")
    with pytest.raises(IllegalTransition, match="fully paid"):
        services.ship_order(actor=artisan, order=order, carrier="DHL", tracking_number="D1")
    # When the artisan marks it ready, the balance link is posted automatically
    services.post_production_update(artisan=artisan, order=order, stage="ready")
    order.refresh_from_db()
    assert order.status == OrderStatus.AWAITING_BALANCE
    [order_card] = cards(conversation)
    assert order_card.payload["status"] == OrderStatus.AWAITING_BALANCE
    assert order_card.payload["payable"] == {"purpose": "balance", "amount": "72.00"}
    # When the balance is paid the order is paid in full and can ship
    assert pay_through_dev_gateway(buyer, order).outcome == "paid"
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID and order.amount_paid == Decimal("120.00")
    services.ship_order(actor=artisan, order=order, carrier="DHL", tracking_number="D1")


def test_production_update_with_photo_reaches_the_chat(buyer, artisan, order):
    pay_through_dev_gateway(buyer, order)
    services.post_production_update(
        artisan=artisan,
        order=order,
        stage="finishing",
        note="Glazing",
        photo=png_upload("glaze.png"),
    )
    line = cards(order.conversation, MessageKind.SYSTEM)[-1].payload
    assert line["event"] == "order.production" and line["stage"] == "finishing"
    assert line["photo_url"].startswith("/private-media/commerce/stages/")  # relative, authorised


def test_proof_approval_keeps_time_and_hash(buyer, artisan, conversation):
    offer = send(artisan, conversation, revision_rounds_included=1)
    order = services.accept_offer(buyer=buyer, offer=offer)
    pay_through_dev_gateway(buyer, order)
    # First proof: the buyer uses the one included revision round
    first = services.post_proof(artisan=artisan, order=order, image=png_upload("p1.png"))
    services.request_proof_changes(buyer=buyer, proof=first, note="Deeper blue")
    # Second proof: asking again is over the included rounds
    second = services.post_proof(
        artisan=artisan, order=order, image=png_upload("p2.png", "#2f6f62")
    )
    with pytest.raises(RevisionRoundsExhausted, match="change order"):
        services.request_proof_changes(buyer=buyer, proof=second, note="Again")
    approved = services.approve_proof(buyer=buyer, proof=second)
    assert approved.status == ProofStatus.APPROVED
    assert approved.decided_at is not None
    assert approved.approved_sha256 == second.sha256 and len(second.sha256) == 64
    proof_lines = [
        m.payload
        for m in cards(conversation, MessageKind.SYSTEM)
        if m.payload.get("type") == "proof"
    ]
    assert [p["event"] for p in proof_lines] == [
        "proof.posted",
        "proof.changes_requested",
        "proof.posted",
        "proof.approved",
    ]
    assert proof_lines[-1]["status"] == "approved" and proof_lines[-1]["proof_id"] == second.pk
    [order_card] = cards(conversation)
    assert order_card.payload["proof"]["status"] == "approved"
    with pytest.raises(InvalidInput, match="already answered"):
        services.approve_proof(buyer=buyer, proof=second)


def test_product_order_reserves_stock_and_cancel_releases_it(buyer, artisan, shop):
    product = services.create_product(
        artisan=artisan,
        fields=services.ProductInput(title="Mug", price="18.00", currency="EUR", stock_quantity=2),
    )
    order = services.create_product_order(buyer=buyer, product=product, selections={}, quantity=2)
    product.refresh_from_db()
    assert product.stock_quantity == 0
    card = order.conversation.messages.get(payload__type="context")
    assert card.payload["context"] == "buy" and card.payload["order_id"] == order.pk
    with pytest.raises(InvalidInput, match="stock"):
        services.create_product_order(buyer=buyer, product=product, selections={})
    services.cancel_order(actor=buyer, order=order)
    product.refresh_from_db()
    assert product.stock_quantity == 2
