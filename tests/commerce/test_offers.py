"""Offers in chat: versions, acceptance rules, change orders, cards in the conversation."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from commerce import services
from commerce.errors import (
    InvalidInput,
    InvalidMoney,
    NotAllowed,
    OfferAlreadyAccepted,
    OfferExpired,
    OfferSuperseded,
)
from commerce.models import CustomRequestStatus, Offer, OfferStatus, Order, OrderStatus
from conversations.models import Message, MessageKind
from conversations.services import edit_message, post_message
from tests.commerce.conftest import cards, line, send

pytestmark = pytest.mark.django_db


def test_offer_posts_a_structured_card(artisan, conversation):
    # When the artisan sends an offer
    offer = send(artisan, conversation, deposit_percent=30, personalised=True)
    # Then an offer card with the documented payload is in the chat, authored by no one
    [card] = cards(conversation, MessageKind.OFFER)
    assert card.author is None
    payload = card.payload
    assert payload["offer_id"] == offer.pk
    assert payload["version"] == 1
    assert payload["total"] == "120.00" and payload["currency"] == "EUR"
    assert payload["lines"][0]["description"] == "Large bowl"
    assert payload["deposit_percent"] == 30 and payload["personalised"] is True
    assert payload["status"] == OfferStatus.SENT
    assert payload["card"] == "offer" and payload["deposit_amount"] == "36.00"
    assert card.text == ""  # facts only: readers render it in their own language
    assert "url" not in payload and "status_label" not in payload
    assert payload["actor"]["id"] == artisan.pk
    for key in ("lead_time_days", "expires_at", "revision_rounds"):
        assert key in payload


def test_new_version_supersedes_the_open_one(buyer, artisan, conversation):
    # Given v1, and the buyer asking for changes
    first = send(artisan, conversation)
    services.request_offer_changes(buyer=buyer, offer=first, note="Can it be blue?")
    # When the artisan sends v2
    second = send(artisan, conversation, lines=[line("Large blue bowl", "135.00")])
    # Then v2 supersedes v1 and v1 keeps its history
    first.refresh_from_db()
    assert second.version == 2 and second.supersedes_id == first.pk
    assert first.status == OfferStatus.SUPERSEDED
    assert first.response_note == "Can it be blue?"
    assert [m.payload["version"] for m in cards(conversation, MessageKind.OFFER)] == [1, 2]


def test_accepting_a_superseded_offer_is_refused(buyer, artisan, conversation):
    first = send(artisan, conversation)
    send(artisan, conversation, lines=[line("Other", "99.00")])
    with pytest.raises(OfferSuperseded, match="newer version"):
        services.accept_offer(buyer=buyer, offer=first)
    assert not Order.objects.exists()


def test_accepting_an_expired_offer_is_refused(buyer, artisan, conversation):
    offer = send(artisan, conversation, expires_at=timezone.now() + timedelta(seconds=1))
    Offer.objects.filter(pk=offer.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    with pytest.raises(OfferExpired, match="expired"):
        services.accept_offer(buyer=buyer, offer=offer)
    assert not Order.objects.exists()
    # The periodic sweep marks it expired
    assert services.expire_stale_offers() == 1
    offer.refresh_from_db()
    assert offer.status == OfferStatus.EXPIRED


def test_double_accept_creates_one_order(buyer, offer):
    order = services.accept_offer(buyer=buyer, offer=offer)
    with pytest.raises(OfferAlreadyAccepted) as error:
        services.accept_offer(buyer=buyer, offer=offer)
    assert error.value.order_reference == order.reference
    assert Order.objects.count() == 1


def test_only_the_buyer_accepts(artisan, stranger, offer):
    with pytest.raises(NotAllowed):
        services.accept_offer(buyer=stranger, offer=offer)
    with pytest.raises(NotAllowed):
        services.accept_offer(buyer=artisan, offer=offer)


def test_accept_freezes_terms_and_posts_checkout_link(buyer, artisan, conversation):
    offer = send(
        artisan,
        conversation,
        lines=[line("Bowl", "100.00"), line("Saucer", "12.50", 2)],
        deposit_percent=30,
        revision_rounds_included=2,
        personalised=True,
    )
    order = services.accept_offer(buyer=buyer, offer=offer)
    assert order.reference.startswith("AT-") and len(order.reference) == 9
    assert order.total == Decimal("125.00")
    assert order.deposit_amount == Decimal("37.50")
    assert order.balance_amount == Decimal("87.50")
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert order.personalised and order.revision_rounds_included == 2
    assert order.spec_snapshot["offer"]["lines"][1]["quantity"] == 2
    [order_card] = cards(conversation)
    assert order_card.payload["card"] == "order"
    assert order_card.payload["order"] == order.reference
    assert order_card.payload["payable"] == {"purpose": "deposit", "amount": "37.50"}
    assert order_card.payload["currency"] == "EUR" and "url" not in order_card.payload


def test_editing_chat_text_never_changes_terms(buyer, artisan, conversation, offer):
    # Given an artisan message quoting a price, and an accepted offer
    said = post_message(
        conversation=conversation, author=artisan, text="It will be 120 EUR"
    ).message
    order = services.accept_offer(buyer=buyer, offer=offer)
    # When the artisan edits the message to a higher price
    edit_message(message=said, editor=artisan, text="It will be 900 EUR")
    # Then the order and offer are unchanged; cards cannot be edited at all
    order.refresh_from_db()
    assert order.total == Decimal("120.00")
    card = Message.objects.filter(kind=MessageKind.OFFER).first()
    with pytest.raises(Exception, match="own messages|Only text"):
        edit_message(message=card, editor=artisan, text="free")


def test_change_order_needs_buyer_acceptance(buyer, artisan, order):
    # When the artisan proposes +30 EUR and 5 more days
    change = services.send_change_order(
        artisan=artisan,
        order=order,
        lines=[services.OfferLineInput(description="Gold rim", unit_price="30.00")],
        extra_lead_time_days=5,
    )
    order.refresh_from_db()
    # Then nothing changes until the buyer accepts
    assert order.total == Decimal("120.00")
    services.accept_offer(buyer=buyer, offer=change)
    order.refresh_from_db()
    assert order.total == Decimal("150.00")
    assert order.lead_time_days == 19
    assert order.spec_snapshot["change_orders"][0]["total"] == "30.00"
    assert order.events.filter(type="change_order").exists()


def test_change_order_cannot_zero_the_total(artisan, order):
    with pytest.raises(InvalidInput, match="above zero"):
        services.send_change_order(
            artisan=artisan,
            order=order,
            lines=[services.OfferLineInput(description="Discount", unit_price="-120.00")],
        )


def test_offer_validation(artisan, conversation):
    with pytest.raises(InvalidMoney):
        send(artisan, conversation, lines=[line(price="-1")])
    with pytest.raises(InvalidMoney):
        send(artisan, conversation, currency="DOGE")
    with pytest.raises(InvalidInput):
        send(artisan, conversation, lines=[])
    with pytest.raises(InvalidInput):
        send(artisan, conversation, deposit_percent=95)


def test_custom_request_opens_conversation_and_links_offer(buyer, artisan, shop):
    from tests.commerce.conftest import png_upload

    request = services.submit_custom_request(
        buyer=buyer,
        shop=shop,
        description="A set of four mugs with my initials",
        budget="160",
        budget_currency="eur",
        images=[png_upload("ref.png")],
    )
    conversation = request.conversation
    assert conversation.artisan_id == artisan.pk
    # The pair's thread carries the request as data (a context card) and as the brief
    context_card, note = cards(conversation, MessageKind.SYSTEM)
    assert context_card.payload["type"] == "context"
    assert context_card.payload["context"] == "request"
    assert context_card.payload["request_id"] == request.pk
    assert note.payload["type"] == "custom_request" and note.payload["budget"] == "160.00"
    assert len(note.payload["image_urls"]) == 1
    # The same buyer's next request continues the conversation
    again = services.submit_custom_request(buyer=buyer, shop=shop, description="And a matching jug")
    assert again.conversation_id == conversation.pk
    offer = send(artisan, conversation)
    assert offer.custom_request_id == again.pk
    services.accept_offer(buyer=buyer, offer=offer)
    again.refresh_from_db()
    assert again.status == CustomRequestStatus.ACCEPTED
