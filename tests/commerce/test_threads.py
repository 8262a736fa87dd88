"""One thread per buyer–artisan pair: ask, request and buy land together, with context cards."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from commerce import services
from conversations import services as hub
from conversations.models import Conversation, ConversationStatus, Message
from tests.commerce.conftest import png_upload
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def vase(artisan, shop):
    product = services.create_product(
        artisan=artisan,
        fields=services.ProductInput(
            title="Tall vase", price="40.00", currency="EUR", stock_quantity=3
        ),
        options=[
            services.OptionInput(
                kind="choice",
                label="Glaze",
                required=True,
                choices=[
                    services.ChoiceInput(label="Cobalt"),
                    services.ChoiceInput(label="Celadon", price_delta="6.00"),
                ],
            ),
            services.OptionInput(kind="text", label="Engraving", max_length=20),
        ],
    )
    services.add_product_photo(
        artisan=artisan, product=product, image=png_upload("vase.png"), alt_text="A vase"
    )
    return product


def _options(product):
    glaze, engraving = product.options.order_by("position", "pk")
    celadon = glaze.values.get(label="Celadon")
    return glaze, engraving, celadon


def _choices(product) -> dict[str, str]:
    glaze, engraving, celadon = _options(product)
    return {f"option_{glaze.pk}": str(celadon.pk), f"option_{engraving.pk}": "For Mia"}


def _context_cards(conversation) -> list[Message]:
    return list(conversation.messages.filter(payload__type="context").order_by("seq"))


def test_ask_request_and_buy_land_in_one_thread_with_three_context_cards(
    client, buyer, artisan, shop, vase
):
    # Given a buyer on a product page, signed in
    client.force_login(buyer)
    base = f"/shop/{shop.slug}/{vase.slug}"
    # When they ask, then request something custom, then order and pay
    client.post(f"{base}/ask/", _choices(vase))
    client.post(
        f"/shop/{shop.slug}/request/?product={vase.pk}",
        {"description": "The same vase but twice as tall, please.", "budget_currency": "EUR"},
    )
    bought = client.post(f"{base}/buy/", {**_choices(vase), "quantity": 1})
    assert bought.status_code == 302 and "/pay/" in bought["Location"]
    # Then there is exactly one conversation for the pair, with three context cards
    [conversation] = Conversation.objects.filter(buyer=buyer, artisan=artisan)
    cards = _context_cards(conversation)
    assert [c.payload["context"] for c in cards] == ["ask", "request", "buy"]
    glaze, engraving, celadon = _options(vase)
    ask = cards[0].payload
    assert ask["product_id"] == vase.pk
    assert ask["options"] == [
        {"option_id": glaze.pk, "value_id": celadon.pk, "text": None},
        {"option_id": engraving.pk, "value_id": None, "text": "For Mia"},
    ]
    assert (ask["price"], ask["currency"]) == ("46.00", "EUR")
    # Cards are data, not prose in the writer's language
    assert all(c.text == "" for c in cards)
    assert cards[2].payload["order_id"] == conversation.orders.get().pk


def test_asking_twice_about_the_same_choice_posts_one_card(client, buyer, shop, vase):
    client.force_login(buyer)
    client.post(f"/shop/{shop.slug}/{vase.slug}/ask/", _choices(vase))
    client.post(f"/shop/{shop.slug}/{vase.slug}/ask/", _choices(vase))
    [conversation] = Conversation.objects.filter(buyer=buyer)
    assert len(_context_cards(conversation)) == 1


def test_thread_is_not_in_the_artisan_inbox_before_the_buyer_writes(
    client, buyer, artisan, shop, vase
):
    # Given a buyer who pressed "Ask the artisan" but has not written yet
    client.force_login(buyer)
    client.post(f"/shop/{shop.slug}/{vase.slug}/ask/", _choices(vase))
    conversation = Conversation.objects.get(buyer=buyer)
    # Then the artisan's inbox does not list it
    client.force_login(artisan)
    inbox = client.get("/inbox/").content.decode()
    assert f"/inbox/{conversation.pk}/" not in inbox
    # When the buyer writes
    hub.post_message(conversation=conversation, author=buyer, text="Is the celadon glossy?")
    # Then it appears
    inbox = client.get("/inbox/").content.decode()
    assert f"/inbox/{conversation.pk}/" in inbox
    assert "Is the celadon glossy?" in inbox


def test_a_request_shows_in_the_inbox_at_once(client, buyer, artisan, shop):
    services.submit_custom_request(
        buyer=buyer, shop=shop, description="A teapot with a bamboo handle, please."
    )
    conversation = Conversation.objects.get(buyer=buyer)
    client.force_login(artisan)
    assert f"/inbox/{conversation.pk}/" in client.get("/inbox/").content.decode()


def test_a_lost_race_to_open_the_thread_reads_the_winners_row(buyer, artisan, shop, monkeypatch):
    # Given a concurrent first contact whose thread committed after our existence check read
    # nothing (READ COMMITTED): we simulate it by committing the rival's thread first and
    # letting our first look miss it
    rival = hub.conversation_between(buyer=buyer, artisan=artisan)
    real_first = QuerySet.first
    looks: list[int] = []

    def first_misses_once(queryset):
        looks.append(1)
        return None if len(looks) == 1 else real_first(queryset)

    monkeypatch.setattr(QuerySet, "first", first_misses_once)
    # When we open the thread: our insert hits the one-open-thread constraint
    conversation = hub.conversation_between(buyer=buyer, artisan=artisan)
    # Then we read the winner's thread back, and there is only one
    assert conversation.pk == rival.pk
    assert Conversation.objects.filter(buyer=buyer, artisan=artisan).count() == 1


def test_the_database_refuses_a_second_open_thread_for_a_pair(buyer, artisan):
    hub.conversation_between(buyer=buyer, artisan=artisan)
    with pytest.raises(IntegrityError), transaction.atomic():
        Conversation.objects.create(buyer=buyer, artisan=artisan, status=ConversationStatus.OPEN)


def test_archived_thread_is_reopened_and_closed_one_is_left_alone(buyer, artisan):
    first = hub.conversation_between(buyer=buyer, artisan=artisan)
    hub.set_conversation_status(conversation=first, user=artisan, status="archived")
    assert hub.conversation_between(buyer=buyer, artisan=artisan).pk == first.pk
    first.refresh_from_db()
    assert first.status == ConversationStatus.OPEN
    hub.set_conversation_status(conversation=first, user=buyer, status="closed")
    fresh = hub.conversation_between(buyer=buyer, artisan=artisan)
    assert fresh.pk != first.pk
    # Reopening the old one would make two open threads: refused with a clear message
    with pytest.raises(hub.HubError, match="already have an open conversation"):
        hub.set_conversation_status(conversation=first, user=buyer, status="open")


def test_details_panel_shows_the_piece_its_options_and_price(client, buyer, artisan, shop, vase):
    # Given a buyer who asked about the vase in celadon with an engraving, and wrote
    client.force_login(buyer)
    client.post(f"/shop/{shop.slug}/{vase.slug}/ask/", _choices(vase))
    conversation = Conversation.objects.get(buyer=buyer)
    hub.post_message(conversation=conversation, author=buyer, text="Hello!")
    # When the artisan opens the thread
    client.force_login(artisan)
    page = client.get(f"/inbox/{conversation.pk}/").content.decode()
    # Then the Details panel shows the product, options and price (not "Product #1")
    assert "Product #" not in page
    details = page[page.index("conv-facts") :]
    assert "Tall vase" in details and 'class="context-thumb"' in details
    assert "Glaze" in details and "Celadon" in details
    assert "Engraving" in details and "For Mia" in details
    assert "€46.00" in details


def test_details_price_is_formatted_for_a_french_reader(client, buyer, artisan, shop, vase):
    client.force_login(buyer)
    client.post(f"/shop/{shop.slug}/{vase.slug}/ask/", _choices(vase))
    conversation = Conversation.objects.get(buyer=buyer)
    hub.post_message(conversation=conversation, author=buyer, text="Bonjour")
    artisan.preferred_language = "fr"
    artisan.save(update_fields=["preferred_language"])
    client.force_login(artisan)
    page = client.get(f"/inbox/{conversation.pk}/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    details = page[page.index("conv-facts") :]
    assert "46,00\xa0€" in details or "46,00 €" in details


def test_make_an_offer_is_offered_to_the_artisan_not_the_buyer(client, buyer, artisan, shop):
    request = services.submit_custom_request(
        buyer=buyer, shop=shop, description="A teapot with a bamboo handle, please."
    )
    conversation = request.conversation
    composer = f"/studio/conversations/{conversation.pk}/offer/"
    client.force_login(artisan)
    page = client.get(f"/inbox/{conversation.pk}/").content.decode()
    assert f'href="{composer}"' in page and "Make an offer" in page
    assert f'href="{composer}?request={request.pk}"' in page  # on the custom request itself
    assert client.get(composer).status_code == 200
    client.force_login(buyer)
    page = client.get(f"/messages/{conversation.pk}/").content.decode()
    assert composer not in page and "Make an offer" not in page


def test_order_thread_links_the_artisan_to_the_studio_order(client, buyer, artisan, shop, vase):
    glaze, _engraving, celadon = _options(vase)
    order = services.create_product_order(
        buyer=buyer, product=vase, selections={str(glaze.pk): str(celadon.pk)}
    )
    client.force_login(artisan)
    page = client.get(f"/inbox/{order.conversation_id}/").content.decode()
    assert f'href="/studio/orders/{order.reference}/"' in page
    client.force_login(buyer)
    page = client.get(f"/messages/{order.conversation_id}/").content.decode()
    assert f'href="/orders/{order.reference}/"' in page
    assert 'href="/studio/orders/' not in page  # the buyer gets no studio link


def test_signing_in_from_order_and_pay_returns_to_the_product_with_the_options(
    client, buyer, shop, vase
):
    # Given a signed-out visitor who picked options and pressed "Order and pay"
    choices = {**_choices(vase), "quantity": "2"}
    response = client.post(f"/shop/{shop.slug}/{vase.slug}/buy/", choices)
    # Then they are sent to sign in, with the product page (and options) as the way back
    assert response.status_code == 302
    login = urlparse(response["Location"])
    assert login.path == "/accounts/login/"
    next_url = parse_qs(login.query)["next"][0]
    assert next_url.startswith(f"/shop/{shop.slug}/{vase.slug}/?")
    # When they sign in
    page = client.get(response["Location"])
    assert page.status_code == 200
    signed_in = client.post(
        response["Location"], {"email": buyer.email, "password": PASSWORD, "next": next_url}
    )
    # Then they land on the product page (a GET, not a 405) with their options selected
    assert signed_in.status_code == 302 and signed_in["Location"] == next_url
    product_page = client.get(signed_in["Location"])
    assert product_page.status_code == 200
    html = product_page.content.decode()
    glaze, engraving, celadon = _options(vase)
    assert f'<option value="{celadon.pk}" selected>' in html
    assert 'value="For Mia"' in html and 'value="2"' in html
    # And "Order and pay" now works
    bought = client.post(f"/shop/{shop.slug}/{vase.slug}/buy/", choices)
    assert bought.status_code == 302 and "/pay/" in bought["Location"]


def test_a_get_on_the_buy_url_is_not_a_405(client, buyer, shop, vase):
    client.force_login(buyer)
    response = client.get(f"/shop/{shop.slug}/{vase.slug}/buy/")
    assert response.status_code == 302
    assert response["Location"] == f"/shop/{shop.slug}/{vase.slug}/"


def test_the_next_url_never_leaves_the_site(client, buyer, artisan, shop, vase):
    response = client.post(
        "/accounts/login/?next=https://evil.example/",
        {"email": buyer.email, "password": PASSWORD, "next": "https://evil.example/"},
    )
    assert "evil.example" not in response.get("Location", "")


def test_widget_on_a_product_page_posts_an_ask_card(client, buyer, artisan, shop, vase):
    client.force_login(buyer)
    response = client.post(
        "/widget/start/",
        {"artisan": artisan.pk, "context_type": "product", "context_id": str(vase.pk)},
    )
    conversation = Conversation.objects.get(pk=response.json()["conversation"])
    [card] = _context_cards(conversation)
    assert card.payload["context"] == "ask" and card.payload["product_id"] == vase.pk
    # and asking from the product page afterwards continues the same thread
    client.post(f"/shop/{shop.slug}/{vase.slug}/ask/", _choices(vase))
    assert Conversation.objects.filter(buyer=buyer).count() == 1


def test_chat_config_carries_the_resolved_context_card(client, buyer, artisan, shop, vase):
    client.force_login(buyer)
    client.post(f"/shop/{shop.slug}/{vase.slug}/ask/", _choices(vase))
    conversation = Conversation.objects.get(buyer=buyer)
    card = _context_cards(conversation)[0]
    response = client.get(f"/messages/{conversation.pk}/")
    config = response.context["config"]
    resolved = config["contextCards"][str(card.pk)]
    assert resolved["title"] == "Tall vase" and resolved["price"] == "€46.00"
    assert resolved["options"] == ["Glaze: Celadon", "Engraving: For Mia"]
    assert config["contextLabels"]["ask"] == "Asked about"


def test_a_bot_handover_becomes_the_pairs_thread(buyer, artisan):
    # Given a pair thread and a separate shop-bot conversation of the same buyer
    older = hub.conversation_between(buyer=buyer, artisan=artisan)
    bot = hub.start_conversation(buyer=buyer, artisan=None)
    # When the bot hands over to the artisan
    hub.assign_artisan(conversation=bot, artisan=artisan)
    # Then the handed-over conversation is the one open thread; the older one is archived
    older.refresh_from_db()
    assert older.status == ConversationStatus.ARCHIVED
    assert hub.conversation_between(buyer=buyer, artisan=artisan).pk == bot.pk
