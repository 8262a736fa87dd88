"""Pages: storefront, privacy of custom orders, pay page notices, the full flow in a browser-less client."""

from __future__ import annotations

import re

import pytest

from commerce import services
from commerce.card_render import render_offer_card
from commerce.models import Order, OrderStatus, Payment
from conversations.models import Message, MessageKind
from core.security import mark_reauthenticated
from tests.commerce.conftest import LYON, png_upload, send

pytestmark = pytest.mark.django_db


@pytest.fixture
def bowl(artisan, shop):
    product = services.create_product(
        artisan=artisan,
        fields=services.ProductInput(
            title="Cobalt bowl",
            price="45.00",
            currency="EUR",
            stock_quantity=4,
            description="Wheel-thrown stoneware.",
            tags="bowl, blue",
        ),
        options=[services.OptionInput(kind="text", label="Engraving", max_length=20)],
    )
    services.add_product_photo(
        artisan=artisan, product=product, image=png_upload("bowl.png"), alt_text="A blue bowl"
    )
    return product


def test_shop_search_filters_and_empty_state(client, bowl):
    assert b"Cobalt bowl" in client.get("/shop/").content
    assert b"Cobalt bowl" in client.get("/shop/", {"q": "blue", "region": "oaxaca"}).content
    assert b"Cobalt bowl" in client.get("/shop/", {"min_price": "40", "max_price": "50"}).content
    empty = client.get("/shop/", {"q": "teapot"})
    assert b"Cobalt bowl" not in empty.content and b"Nothing matches yet" in empty.content
    assert client.get("/shop/", {"min_price": "-3"}).status_code == 200


def test_profile_and_product_pages_have_social_cards(client, shop, bowl):
    profile = client.get(f"/shop/{shop.slug}/").content.decode()
    assert '<meta property="og:title" content="Casa Barro — handmade on Atelier">' in profile
    assert 'name="twitter:card"' in profile and "twitter.com/intent/tweet" in profile
    assert 'property="og:image" content="https://atelier.example/media/' in profile
    product = client.get(f"/shop/{shop.slug}/{bowl.slug}/").content.decode()
    assert 'property="og:type" content="product"' in product
    assert 'property="product:price:amount" content="45.00"' in product


def test_ask_the_artisan_opens_conversation(client, buyer, shop, bowl):
    client.force_login(buyer)
    response = client.post(f"/shop/{shop.slug}/{bowl.slug}/ask/")
    conversation = buyer.buyer_conversations.get()
    assert response["Location"] == f"/inbox/{conversation.pk}/"
    card = conversation.messages.get(payload__type="context")
    assert card.payload["context"] == "ask" and card.payload["product_id"] == bowl.pk


def test_custom_order_details_only_for_parties(client, buyer, artisan, stranger, admin_user, order):
    offer = order.offer
    urls = [f"/offers/{offer.pk}/", f"/orders/{order.reference}/", f"/pay/{order.reference}/"]
    client.force_login(stranger)
    for url in urls:
        assert client.get(url).status_code == 404, url
    client.force_login(artisan)
    assert client.get(f"/offers/{offer.pk}/").status_code == 200
    assert client.get(f"/orders/{order.reference}/").status_code == 200
    assert client.get(f"/pay/{order.reference}/").status_code == 404  # only the buyer pays
    client.force_login(admin_user)
    assert client.get(f"/orders/{order.reference}/").status_code == 200
    client.logout()
    assert client.get(f"/orders/{order.reference}/").status_code == 302


def test_studio_order_page_is_the_artisans_only(client, order, stranger):
    stranger_artisan = stranger
    stranger_artisan.role = "artisan"
    stranger_artisan.save()
    from tests.conftest import enrol_totp

    enrol_totp(stranger_artisan)
    client.force_login(stranger_artisan)
    assert client.get(f"/studio/orders/{order.reference}/").status_code == 404


def test_pay_page_tells_about_withdrawal_exemption(client, buyer, artisan, conversation):
    personal = services.accept_offer(
        buyer=buyer, offer=send(artisan, conversation, personalised=True)
    )
    client.force_login(buyer)
    page = client.get(f"/pay/{personal.reference}/").content.decode()
    assert "No 14-day right of withdrawal" in page and "Article 16(c)" in page
    assert "/pay/dev/devpay_" not in page  # the address comes first
    client.post(f"/pay/{personal.reference}/", {"address": "new", **LYON})
    page = client.get(f"/pay/{personal.reference}/").content.decode()
    assert "/pay/dev/devpay_" in page


def test_pay_page_for_standard_goods_mentions_the_right(client, buyer, bowl):
    order = services.create_product_order(buyer=buyer, product=bowl, selections={})
    client.force_login(buyer)
    page = client.get(f"/pay/{order.reference}/").content.decode()
    assert "withdraw from this purchase within 14 days" in page
    assert "No 14-day right" not in page


def test_order_history_reauth_is_optional(client, buyer, order, settings):
    client.force_login(buyer)
    settings.REAUTH_FOR_ORDER_HISTORY = False
    assert order.reference in client.get("/orders/").content.decode()
    settings.REAUTH_FOR_ORDER_HISTORY = True
    assert "/reauth" in client.get("/orders/")["Location"]
    session = client.session
    mark_reauthenticated(session)
    session.save()
    assert client.get("/orders/").status_code == 200


def test_end_to_end_custom_order_with_dev_gateway(client, buyer, artisan, shop, logistics_user):
    """Profile → custom request → offer → accept → pay (dev) → production → ship → delivered."""
    from commerce.models import LogisticsProvider

    # Buyer browses the profile and sends a custom request
    client.force_login(buyer)
    assert client.get(f"/shop/{shop.slug}/").status_code == 200
    response = client.post(
        f"/shop/{shop.slug}/request/",
        {
            "description": "A serving platter with a fish motif",
            "budget": "150",
            "budget_currency": "EUR",
        },
    )
    conversation_id = int(re.search(r"/inbox/(\d+)/", response["Location"]).group(1))
    # Artisan composes an offer in the studio
    client.force_login(artisan)
    response = client.post(
        f"/studio/conversations/{conversation_id}/offer/",
        {
            "currency": "EUR",
            "lead_time_days": "10",
            "valid_days": "7",
            "deposit_percent": "0",
            "revision_rounds_included": "1",
            "personalised": "on",
            "note": "Fish in cobalt",
            "line-TOTAL_FORMS": "1",
            "line-INITIAL_FORMS": "0",
            "line-0-description": "Fish platter",
            "line-0-quantity": "1",
            "line-0-unit_price": "140.00",
        },
    )
    assert response.status_code == 302, response.content
    offer_card = Message.objects.get(conversation_id=conversation_id, kind=MessageKind.OFFER)
    # Buyer follows the card's link, accepts, lands on the pay page
    client.force_login(buyer)
    # (the card stores ids; its button is a link relative to the site that renders it)
    offer_path = render_offer_card(offer_card.payload).action.path
    assert offer_path == f"/offers/{offer_card.payload['offer_id']}/"
    assert b"Accept" in client.get(offer_path).content
    response = client.post(f"{offer_path}accept/")
    order = Order.objects.get()
    assert response["Location"] == f"/pay/{order.reference}/"
    pay_page = client.get(response["Location"]).content.decode()
    assert "No 14-day right of withdrawal" in pay_page
    assert "Where should the piece go?" in pay_page
    chosen = client.post(response["Location"], {"address": "new", **LYON})
    assert chosen["Location"] == response["Location"]
    assert "/pay/dev/devpay_" in client.get(chosen["Location"]).content.decode()
    payment = Payment.objects.get(order=order)
    # The dev confirm page feeds a signed webhook into the real handler
    assert client.get(f"/pay/dev/{payment.provider_payment_id}/confirm/").status_code == 200
    client.post(f"/pay/dev/{payment.provider_payment_id}/confirm/", {"outcome": "succeed"})
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    # Double-accept through the page just leads back to the order
    again = client.post(f"{offer_path}accept/")
    assert again["Location"] == f"/orders/{order.reference}/"
    # Artisan posts progress and ships with a partner carrier
    provider = LogisticsProvider.objects.create(
        name="Swift Parcel", slug="swift", webhook_secret="s"
    )
    provider.members.add(logistics_user)
    client.force_login(artisan)
    client.post(
        f"/studio/orders/{order.reference}/",
        {"action": "production", "stage": "making", "note": "Shaping"},
    )
    client.post(f"/studio/orders/{order.reference}/", {"action": "ready"})
    client.post(
        f"/studio/orders/{order.reference}/",
        {
            "action": "ship",
            "carrier": "Swift Parcel",
            "tracking_number": "SW-42",
            "tracking_url": "",
        },
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED
    # Carrier marks it delivered on the partner page
    client.force_login(logistics_user)
    shipment = order.shipments.get()
    client.post(f"/logistics/shipments/{shipment.pk}/", {"status": "delivered"})
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED
    lines = Message.objects.filter(conversation_id=conversation_id, kind=MessageKind.SYSTEM)
    statuses = [m.payload.get("new_status") for m in lines if m.payload.get("type") == "status"]
    cards = Message.objects.filter(conversation_id=conversation_id, kind=MessageKind.ORDER_UPDATE)
    # one order card, updated in place, and on delivery the "how did it go?" question
    assert sorted(card.payload["card"] for card in cards) == ["csat", "order"]
    assert statuses == ["paid", "in_production", "shipped", "delivered"]
    # The buyer sees the whole timeline
    client.force_login(buyer)
    detail = client.get(f"/orders/{order.reference}/").content.decode()
    assert "Delivered" in detail and "SW-42" in detail


def test_studio_pages_render(client, artisan, shop, bowl, order, buyer):
    from commerce.services import confirm_dev_payment, start_checkout

    confirm_dev_payment(buyer=buyer, payment=start_checkout(buyer=buyer, order=order))
    client.force_login(artisan)
    for url in [
        "/studio/orders/",
        f"/studio/orders/{order.reference}/",
        "/studio/products/",
        "/studio/products/new/",
        f"/studio/products/{bowl.pk}/",
        "/studio/profile/",
        "/studio/balance/",
    ]:
        assert client.get(url).status_code == 200, url
    assert "€108.00" in client.get("/studio/balance/").content.decode()


def test_product_form_creates_listing_with_options(client, artisan, shop):
    client.force_login(artisan)
    response = client.post(
        "/studio/products/new/",
        {
            "title": "Vase",
            "price": "60",
            "currency": "EUR",
            "stock_quantity": "2",
            "lead_time_days": "0",
            "status": "active",
            "opt-0-label": "Glaze",
            "opt-0-kind": "choice",
            "opt-0-required": "on",
            "opt-0-value-0-label": "Sand",
            "opt-0-value-0-delta": "0",
            "opt-0-value-1-label": "Cobalt",
            "opt-0-value-1-delta": "+5.00",
            "opt-1-label": "Engraving",
            "opt-1-kind": "text",
            "opt-1-max_length": "15",
        },
    )
    assert response.status_code == 302
    product = shop.products.get(title="Vase")
    assert [o.label for o in product.options.all()] == ["Glaze", "Engraving"]
    bad = client.post(
        "/studio/products/new/",
        {
            "title": "Free",
            "price": "0",
            "currency": "EUR",
            "stock_quantity": "1",
            "lead_time_days": "0",
            "status": "active",
        },
    )
    assert bad.status_code == 200 and "greater than zero" in bad.content.decode()


def test_authenticity_queue_for_admins(client, admin_user, shop, buyer):
    client.force_login(admin_user)
    assert "Casa Barro" in client.get("/authenticity-review/").content.decode()
    client.post("/authenticity-review/", {"profile": shop.pk, "status": "verified"})
    shop.refresh_from_db()
    assert shop.claim_status == "verified"
    client.force_login(buyer)
    assert client.get("/authenticity-review/").status_code == 403
