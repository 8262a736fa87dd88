"""CSAT in the chat: the question is asked once when an order is delivered; only its buyer
answers, only once it is delivered, 1 to 5; the same tap twice changes nothing, another
tap changes the answer; the card keeps facts only and follows the answer."""

from __future__ import annotations

import pytest
from django.utils import translation

from commerce import selectors, services
from commerce.errors import InvalidInput, NotAllowed
from commerce.models import CsatRating, OrderStatus
from commerce.services.csat import ask_for_rating, csat_card_message, rate_order
from tests.commerce.conftest import cards, pay_through_dev_gateway

pytestmark = pytest.mark.django_db


def deliver(buyer, artisan, order):
    pay_through_dev_gateway(buyer, order)
    shipment = services.ship_order(
        actor=artisan, order=order, carrier="Estafeta", tracking_number="EST9"
    )
    services.record_shipment_status(shipment=shipment, status="delivered")
    order.refresh_from_db()
    return order


@pytest.fixture
def delivered(buyer, artisan, order):
    return deliver(buyer, artisan, order)


def test_delivery_asks_the_question_once_as_facts_after_the_order_card(buyer, delivered):
    conversation = delivered.conversation
    order_card, csat_card = cards(conversation)
    assert order_card.payload["card"] == "order"
    assert csat_card.seq > order_card.seq
    assert csat_card.author is None and csat_card.text == ""
    assert csat_card.payload == {"card": "csat", "order": delivered.reference, "score": None}
    # Asking again (a retried caller) finds the same card
    assert ask_for_rating(order=delivered) == csat_card
    assert len(cards(conversation)) == 2


def test_an_order_not_yet_delivered_has_no_question_and_cannot_be_rated(buyer, order):
    pay_through_dev_gateway(buyer, order)
    order.refresh_from_db()
    assert csat_card_message(order) is None
    with translation.override("fr"), pytest.raises(InvalidInput) as error:
        rate_order(buyer=buyer, order=order, score=5, channel="web")
    assert "livrée" in error.value.message or "delivered" in error.value.message
    assert not CsatRating.objects.exists()


def test_only_the_buyer_rates(buyer, artisan, stranger, delivered):
    for person in (artisan, stranger):
        with pytest.raises(NotAllowed) as error:
            rate_order(buyer=person, order=delivered, score=4, channel="web")
        assert error.value.code == "forbidden" and error.value.status == 403
    assert selectors.csat_rating(order=delivered) is None


@pytest.mark.parametrize("score", [0, 6, -1, 4.0, "4", None, True, [4]])
def test_the_score_is_an_int_from_1_to_5(buyer, delivered, score):
    with pytest.raises(InvalidInput) as error:
        rate_order(buyer=buyer, order=delivered, score=score, channel="web")
    assert error.value.field == "score"
    assert error.value.message == "Choose a score from 1 to 5."
    assert not CsatRating.objects.exists()


def test_an_unknown_channel_is_refused(buyer, delivered):
    with pytest.raises(InvalidInput):
        rate_order(buyer=buyer, order=delivered, score=3, channel="fax")
    assert not CsatRating.objects.exists()


def test_the_same_score_twice_changes_nothing_and_another_changes_the_answer(
    buyer, delivered, monkeypatch
):
    updates = []
    monkeypatch.setattr(
        "commerce.services.csat.update_card",
        lambda **kw: updates.append(kw["payload"]["score"]) or kw["message"],
    )
    first = rate_order(buyer=buyer, order=delivered, score=4, channel="web")
    assert (first.score, first.channel, first.shop_id) == (4, "web", delivered.shop_id)
    assert first.buyer_id == buyer.pk
    stamp = first.updated_at

    again = rate_order(buyer=buyer, order=delivered, score=4, channel="web")
    assert again.pk == first.pk and again.updated_at == stamp
    assert updates == [4]  # no second card update, no second event

    changed = rate_order(buyer=buyer, order=delivered, score=2, channel="telegram")
    assert changed.pk == first.pk
    assert (changed.score, changed.channel) == (2, "telegram")
    assert changed.updated_at > stamp
    assert CsatRating.objects.count() == 1
    assert updates == [4, 2]


def test_the_card_follows_the_answer_and_broadcasts_message_updated(
    buyer, delivered, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(
        "conversations.events.send_event_now",
        lambda group, event_type, payload, **_: sent.append((event_type, payload)),
    )
    with django_capture_on_commit_callbacks(execute=True):
        rate_order(buyer=buyer, order=delivered, score=5, channel="web")
    card = csat_card_message(delivered)
    assert card.payload["score"] == 5 and card.payload["order"] == delivered.reference
    [(kind, payload)] = [e for e in sent if e[0] == "message.updated"]
    assert payload["message"]["id"] == card.pk
    assert payload["message"]["payload"]["score"] == 5
    assert selectors.csat_rating(order=delivered).score == 5


def test_after_a_refund_the_order_can_no_longer_be_rated(buyer, artisan, delivered):
    rate_order(buyer=buyer, order=delivered, score=4, channel="web")
    services.transition_order(order=delivered, to=OrderStatus.REFUNDED, actor=artisan)
    # The card is closed for every reader, the answer given stays
    card = csat_card_message(delivered)
    assert card.payload["closed"] is True and card.payload["score"] == 4
    with pytest.raises(InvalidInput) as refused, translation.override("fr"):
        rate_order(buyer=buyer, order=delivered, score=5, channel="web")
    assert (
        refused.value.message == "Cette commande a été remboursée : elle ne peut plus être notée."
    )
    assert CsatRating.objects.get(order=delivered).score == 4


def test_a_closed_question_is_drawn_without_buttons_in_telegram_and_as_closed_for_both(
    buyer, artisan, delivered
):
    from bots.bridge import csat_question
    from commerce.card_render import render_csat_card

    services.transition_order(order=delivered, to=OrderStatus.REFUNDED, actor=artisan)
    payload = csat_card_message(delivered).payload
    assert payload == {
        "card": "csat", "order": delivered.reference, "score": None, "closed": True,
        "updated_at": payload["updated_at"],
    }  # fmt: skip
    with translation.override("es"):
        question = csat_question(chat_id=1, reference=delivered.reference, score=None, closed=True)
        artisan_view = render_csat_card(payload, for_buyer=False)
    assert question.reply_markup is None
    assert "Este pedido fue reembolsado, así que ya no se puede valorar." in question.text
    assert artisan_view.lines == ["Este pedido fue reembolsado, así que ya no se puede valorar."]
    # An open question keeps its five buttons
    open_question = csat_question(chat_id=1, reference=delivered.reference, score=None)
    assert len(open_question.reply_markup.inline_keyboard[0]) == 5


# --- The JSON API the chat's buttons post to (commerce/api.py: rate_order_csat) -----------


def _post(client, user, reference, body):
    client.force_login(user)
    return client.post(
        f"/api/commerce/orders/{reference}/csat/", body, content_type="application/json"
    )


def test_the_api_records_the_buyers_tap_from_the_web(client, buyer, delivered):
    response = _post(client, buyer, delivered.reference, {"score": 4})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["order"], body["score"], body["channel"]) == (delivered.reference, 4, "web")
    assert csat_card_message(delivered).payload["score"] == 4
    # A second tap on another number changes the answer
    assert _post(client, buyer, delivered.reference, {"score": 5}).json()["score"] == 5
    assert CsatRating.objects.get().score == 5


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"score": 9}, 400, "score"),
        ({"score": 0}, 400, "score"),
        ({"score": "lots"}, 422, "score"),
        ({}, 422, "score"),
    ],
)
def test_the_api_refuses_a_bad_score_with_a_clear_error(
    client, buyer, delivered, body, status, field
):
    response = _post(client, buyer, delivered.reference, body)
    assert response.status_code == status, response.content
    error = response.json()
    assert error["field"] == field and error["message"]
    assert error["code"] == "invalid"
    assert not CsatRating.objects.exists()


def test_the_api_refuses_the_artisan_and_hides_the_order_from_strangers(
    client, artisan, stranger, delivered
):
    response = _post(client, artisan, delivered.reference, {"score": 5})
    assert response.status_code == 403 and response.json()["code"] == "forbidden"
    response = _post(client, stranger, delivered.reference, {"score": 5})
    assert response.status_code == 404
    assert not CsatRating.objects.exists()


def test_the_api_error_is_in_the_readers_language(client, buyer, order):
    buyer.preferred_language = "es"
    buyer.save(update_fields=["preferred_language"])
    response = _post(client, buyer, order.reference, {"score": 5})
    assert response.status_code == 400
    with translation.override("es"):
        expected = translation.gettext("You can rate an order once it has been delivered.")
    assert response.json()["message"] == expected


# --- GDPR and the admin ---------------------------------------------------------------------


def test_the_export_lists_the_persons_ratings_and_erasure_deletes_them(buyer, artisan, delivered):
    from core.gdpr import erase_personal_data, export_personal_data

    rate_order(buyer=buyer, order=delivered, score=3, channel="web")
    [exported] = export_personal_data(user=buyer)["commerce"]["csat_ratings"]
    assert exported["order"] == delivered.reference
    assert (exported["score"], exported["channel"]) == (3, "web")
    assert export_personal_data(user=artisan)["commerce"]["csat_ratings"] == []

    erase_personal_data(user=buyer)
    assert not CsatRating.objects.exists()


def test_the_admin_lists_ratings_read_only(admin_user, buyer, delivered):
    from django.test import Client

    rate_order(buyer=buyer, order=delivered, score=5, channel="telegram")
    client = Client()
    client.force_login(admin_user)
    page = client.get("/admin/commerce/csatrating/")
    assert page.status_code == 200
    text = page.content.decode()
    assert delivered.reference in text and "telegram" in text
    rating = CsatRating.objects.get()
    assert client.get("/admin/commerce/csatrating/add/").status_code == 403
    client.post(f"/admin/commerce/csatrating/{rating.pk}/change/", {"score": 1})
    assert CsatRating.objects.get().score == 5  # nothing to change there
