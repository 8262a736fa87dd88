"""Chat cards are data: stored as facts, one per offer/order, rendered for each reader."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.utils import translation

from commerce import services
from commerce.card_render import render_card, render_offer_card, render_system_line
from conversations.models import Message, MessageKind
from tests.commerce.conftest import cards, line, send

pytestmark = pytest.mark.django_db


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for key, item in value.items() for s in [str(key), *_strings(item)]]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return [value] if isinstance(value, str) else []


def _offer(artisan, conversation):
    return send(artisan, conversation, lines=[line("Bol à soupe", "54.00")], deposit_percent=50)


def test_a_stored_card_holds_facts_only(buyer, artisan, conversation):
    # Given an offer sent while the artisan's UI was in Spanish, and accepted by the buyer
    with translation.override("es"):
        offer = _offer(artisan, conversation)
        services.accept_offer(buyer=buyer, offer=offer)
    stored = list(Message.objects.filter(conversation=conversation, author__isnull=True))
    assert {m.kind for m in stored} == {MessageKind.OFFER, MessageKind.ORDER_UPDATE, "system"}
    for message in stored:
        # Then no card or milestone carries prose, a rendered label or an absolute link
        assert message.text == ""
        keys = [k for k in _strings(message.payload) if k.endswith(("_label", "_display"))]
        assert keys == []
        assert not [s for s in _strings(message.payload) if "://" in s]
        assert "url" not in message.payload
    [offer_card] = cards(conversation, MessageKind.OFFER)
    assert offer_card.payload["total"] == "54.00" and offer_card.payload["currency"] == "EUR"
    assert offer_card.payload["status"] == "accepted"
    assert offer_card.payload["expires_at"].endswith("+00:00")  # ISO UTC


def test_the_same_offer_card_reads_in_each_readers_language(artisan, conversation):
    offer = _offer(artisan, conversation)
    [card] = cards(conversation, MessageKind.OFFER)

    # When a French reader and a Spanish reader render the same stored card
    with translation.override("fr"):
        french = render_offer_card(card.payload)
    with translation.override("es"):
        spanish = render_offer_card(card.payload)

    # Then each sees only their own locale's words, and money the way their locale writes it
    french_text, spanish_text = french.as_text(), spanish.as_text()
    assert french.title == "Offre v1" and french.status_label == "En attente de réponse"
    assert "Total\xa0: 54,00\xa0€" in french_text
    assert "Acompte\xa0: 27,00\xa0€ (50\xa0%)" in french_text
    assert french.action.label == "Voir l’offre"
    assert spanish.title == "Oferta v1"
    assert "Total: 54,00\xa0€" in spanish_text
    for word in ("Offre", "Acompte", "Voir", "attente", "jours"):
        assert word not in spanish_text + spanish.action.label
    for word in ("Oferta", "Anticipo", "Esperando", "días"):
        assert word not in french_text + french.action.label
    # The button is a link relative to the site that renders it
    assert french.action.path == spanish.action.path == f"/offers/{offer.pk}/"


def test_money_on_cards_is_formatted_for_the_readers_locale(buyer, artisan, conversation):
    offer = _offer(artisan, conversation)
    services.accept_offer(buyer=buyer, offer=offer)
    [order_card] = cards(conversation)
    rendered = {}
    for language in ("en", "fr", "de", "ja"):
        with translation.override(language):
            rendered[language] = render_card(order_card.kind, order_card.payload)
    assert rendered["en"].action.label == "Pay the deposit of €27.00"
    assert rendered["fr"].action.label == "Payer l’acompte de 27,00\xa0€"
    assert rendered["de"].action.label == "Anzahlung von 27,00\xa0€ bezahlen"
    assert "€54.00" in rendered["ja"].as_text()
    assert rendered["fr"].action.path == f"/pay/{order_card.payload['order']}/"


def test_accepting_updates_the_offer_card_in_place_with_one_short_line(
    buyer, artisan, conversation, monkeypatch, django_capture_on_commit_callbacks
):
    offer = _offer(artisan, conversation)
    [card] = cards(conversation, MessageKind.OFFER)
    lines_before = cards(conversation, MessageKind.SYSTEM)
    sent: list[tuple[str, str, dict]] = []
    monkeypatch.setattr(
        "conversations.events.send_event_now",
        lambda group, event_type, payload, **_: sent.append((group, event_type, payload)),
    )

    # When the buyer accepts
    with django_capture_on_commit_callbacks(execute=True):
        order = services.accept_offer(buyer=buyer, offer=offer)

    # Then the same card message now says "accepted" — no second offer card
    [updated] = cards(conversation, MessageKind.OFFER)
    assert updated.pk == card.pk and updated.seq == card.seq
    assert updated.payload["status"] == "accepted"
    assert updated.payload["actor"]["id"] == artisan.pk  # still the artisan's offer
    # and every open client was told to redraw it
    redraws = [p for _g, t, p in sent if t == "message.updated"]
    assert [p["message"]["id"] for p in redraws] == [card.pk]
    assert redraws[0]["message"]["payload"]["status"] == "accepted"
    # and the moment is one short system line, rendered per reader
    new_lines = cards(conversation, MessageKind.SYSTEM)[len(lines_before) :]
    assert [m.payload["event"] for m in new_lines] == ["offer.accepted"]
    with translation.override("fr"):
        assert render_system_line(new_lines[0].payload) == (
            f"Offre v1 acceptée — commande {order.reference}"
        )
    # The decided card shows its status, not an action
    with translation.override("fr"):
        decided = render_offer_card(updated.payload)
    assert decided.action is None and decided.status_label == "Acceptée"


def test_a_new_version_leaves_one_actionable_card(buyer, artisan, conversation):
    first = _offer(artisan, conversation)
    services.request_offer_changes(buyer=buyer, offer=first, note="Plus grand ?")
    second = send(artisan, conversation, lines=[line("Grand bol", "64.00")])
    rendered = [render_offer_card(m.payload) for m in cards(conversation, MessageKind.OFFER)]
    assert [r.status for r in rendered] == ["superseded", "sent"]
    assert [r.action is not None for r in rendered] == [False, True]
    assert rendered[1].action.path == f"/offers/{second.pk}/"


def test_order_updates_keep_one_order_card(buyer, artisan, conversation):
    offer = _offer(artisan, conversation)
    order = services.accept_offer(buyer=buyer, offer=offer)
    from tests.commerce.conftest import pay_through_dev_gateway

    pay_through_dev_gateway(buyer, order)
    [order_card] = cards(conversation)
    assert order_card.payload["status"] == "deposit_paid"
    assert order_card.payload["amount_paid"] == "27.00"
    assert order_card.payload["payable"] is None
    with translation.override("es"):
        rendered = render_card(order_card.kind, order_card.payload)
        last_line = render_system_line(cards(conversation, MessageKind.SYSTEM)[-1].payload)
    assert rendered.action.label == "Ver el pedido" and not rendered.action.primary
    assert last_line == f"Pedido {order.reference}: {_es_status('deposit_paid')}"
    assert Decimal(order_card.payload["total"]) == Decimal("54.00")


def _es_status(code: str) -> str:
    from commerce.models import OrderStatus

    with translation.override("es"):
        return str(OrderStatus(code).label)


def test_service_errors_are_in_the_readers_language(stranger, buyer, artisan, conversation):
    from commerce.errors import IllegalTransition, InvalidInput, NotAllowed

    offer = _offer(artisan, conversation)
    # A French reader is told in French that the offer is not theirs
    with translation.override("fr"), pytest.raises(NotAllowed, match="ne vous est pas destinée"):
        services.accept_offer(buyer=stranger, offer=offer)
    # and a Spanish reader gets the line number filled into their sentence
    with translation.override("es"), pytest.raises(InvalidInput) as error:
        send(artisan, conversation, lines=[line("", "10.00")])
    assert error.value.message == "La línea 1 necesita una descripción."
    # Status names inside an error are the reader's words too
    order = services.accept_offer(buyer=buyer, offer=offer)
    with translation.override("de"), pytest.raises(IllegalTransition) as refused:
        services.transition_order(order=order, to="delivered")
    assert refused.value.message == (
        "Eine Bestellung im Status „Wartet auf Zahlung“ kann nicht zu „Zugestellt“ wechseln."
    )


def test_the_offer_card_shows_shipping_so_its_lines_add_up(artisan, conversation):
    offer = send(artisan, conversation, shipping_amount="15.00")
    card = Message.objects.filter(conversation=conversation, kind=MessageKind.OFFER).last()
    assert card.payload["shipping_amount"] == "15.00"
    assert card.payload["total"] == str(offer.total)
    with translation.override("fr"):
        text = "\n".join(render_card("offer", card.payload).lines)
    assert "15,00\u00a0€" in text
    assert "Livraison" in text
