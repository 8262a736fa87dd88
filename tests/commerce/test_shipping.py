"""Shipping addresses, shipping profiles and quotes, the address at checkout, prices that add
up, the offer composer's pre-fill, the order stepper and history rendered per reader."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.utils import translation

from commerce import services
from commerce.errors import InvalidInput
from commerce.models import (
    Order,
    OrderEvent,
    OrderStatus,
    Payment,
    ShippingAddress,
    ShippingZone,
)
from commerce.services.shipping import (
    AddressInput,
    RateInput,
    clean_address,
    delete_shipping_address,
    quote_shipping,
    save_shipping_address,
    save_shipping_profile,
    set_order_shipping_address,
)
from conversations.models import MessageKind
from conversations.services import post_message
from core.gdpr import erase_personal_data, export_personal_data
from tests.commerce.conftest import LYON, pay_through_dev_gateway, png_upload, save_address, send


@pytest.fixture
def bowl(artisan, shop):
    return services.create_product(
        artisan=artisan,
        fields=services.ProductInput(
            title="Cobalt bowl", price="42.00", currency="EUR", stock_quantity=5
        ),
        options=[
            services.OptionInput(
                kind="choice",
                label="Glaze",
                choices=(
                    services.ChoiceInput(label="Sand", price_delta="0"),
                    services.ChoiceInput(label="Cobalt", price_delta="4.00"),
                ),
            )
        ],
    )


@pytest.fixture
def profile(artisan, shop):
    # given Casa Barro (MX) ships at home, to a European zone and to the rest of the world
    return save_shipping_profile(
        artisan=artisan,
        processing_days=2,
        currency="EUR",
        free_shipping_threshold="100.00",
        rates=[
            RateInput(
                zone=ShippingZone.DOMESTIC, price="5.00", transit_days_min=1, transit_days_max=3
            ),
            RateInput(
                zone=ShippingZone.ZONE,
                price="12.00",
                transit_days_min=5,
                transit_days_max=9,
                countries=("FR", "DE", "es"),
            ),
            RateInput(
                zone=ShippingZone.WORLD, price="20.00", transit_days_min=7, transit_days_max=14
            ),
        ],
    )


def cobalt_id(product) -> str:
    return str(product.options.get().values.get(label="Cobalt").pk)


def glaze_id(product) -> str:
    return str(product.options.get().pk)


# --- Addresses ------------------------------------------------------------------------------


def test_french_postal_codes_are_checked_and_unknown_formats_accepted():
    # a French address with a valid code passes, normalised
    assert clean_address(AddressInput(**LYON))["postal_code"] == "69001"
    # a four-digit French code is refused on the postal code field, with a clear message
    with pytest.raises(InvalidInput) as refused:
        clean_address(AddressInput(**{**LYON, "postal_code": "6900"}))
    assert refused.value.field == "postal_code"
    assert "“6900” is not a valid postal code for France" in refused.value.message
    # and in French for a French reader
    with translation.override("fr"), pytest.raises(InvalidInput) as refused_fr:
        clean_address(AddressInput(**{**LYON, "postal_code": "6900"}))
    assert "n’est pas un code postal valide" in refused_fr.value.message
    # a country whose format the validator does not know is accepted as typed
    dubai = clean_address(
        AddressInput(full_name="Omar", line1="Sheikh Zayed Rd 1", city="Dubai", country="AE")
    )
    assert dubai["country"] == "AE" and dubai["postal_code"] == ""


def test_first_address_is_default_and_one_default_at_a_time(buyer):
    first = save_address(buyer)
    second = save_address(buyer, full_name="Léa at work", line1="3 quai Perrache")
    assert first.is_default and not second.is_default
    # making the second the default moves the flag
    save_shipping_address(
        buyer=buyer,
        address=second,
        data=AddressInput(**{**LYON, "full_name": "Léa W"}),
        make_default=True,
    )
    assert list(ShippingAddress.objects.filter(buyer=buyer, is_default=True)) == [second]
    # deleting the default hands the flag to the remaining address
    delete_shipping_address(buyer=buyer, address=second)
    first.refresh_from_db()
    assert first.is_default


def test_address_book_page_adds_edits_and_refuses_bad_codes(client, buyer):
    client.force_login(buyer)
    assert b"/accounts/addresses/" in client.get("/accounts/settings/").content
    bad = client.post("/accounts/addresses/", {**LYON, "postal_code": "6900"})
    assert (
        bad.status_code == 200 and "is not a valid postal code for France" in bad.content.decode()
    )
    assert not ShippingAddress.objects.exists()
    assert client.post("/accounts/addresses/", LYON).status_code == 302
    page = client.get("/accounts/addresses/").content.decode()
    assert "12 rue de la République" in page and "69001 Lyon" in page and "France" in page


def test_addresses_are_exported_and_erased(buyer, artisan, conversation):
    address = save_address(buyer)
    order = services.accept_offer(buyer=buyer, offer=send(artisan, conversation))
    set_order_shipping_address(buyer=buyer, order=order, address=address)
    exported = export_personal_data(user=buyer)["commerce"]
    assert exported["shipping_addresses"][0]["postal_code"] == "69001"
    assert exported["orders"][0]["shipping_address"]["city"] == "Lyon"
    erase_personal_data(user=buyer)
    order.refresh_from_db()
    assert not ShippingAddress.objects.filter(buyer=buyer).exists()
    assert order.shipping_address == {} and order.shipping_name == ""


# --- Address at checkout ------------------------------------------------------------------


def test_pay_page_asks_for_an_address_before_any_payment(client, buyer, artisan, conversation):
    # given an accepted offer and a buyer with no address
    order = services.accept_offer(buyer=buyer, offer=send(artisan, conversation))
    client.force_login(buyer)
    page = client.get(f"/pay/{order.reference}/").content.decode()
    # then no payment starts; the page asks where to send the piece
    assert "Where should the piece go?" in page and "/pay/dev/devpay_" not in page
    assert not Payment.objects.filter(order=order).exists()
    # a wrong postal code keeps the buyer on the step, still without payment
    bad = client.post(f"/pay/{order.reference}/", {"address": "new", **LYON, "postal_code": "6900"})
    assert "is not a valid postal code for France" in bad.content.decode()
    assert not Payment.objects.filter(order=order).exists()
    # when the buyer enters a valid one
    client.post(f"/pay/{order.reference}/", {"address": "new", **LYON})
    order.refresh_from_db()
    # then it is snapshotted onto the order, saved in the book, and payment starts
    assert order.shipping_address["postal_code"] == "69001"
    assert order.shipping_address["country"] == "FR"
    assert ShippingAddress.objects.filter(buyer=buyer, is_default=True).count() == 1
    page = client.get(f"/pay/{order.reference}/").content.decode()
    assert "/pay/dev/devpay_" in page and "12 rue de la République" in page


def test_chosen_saved_address_is_a_snapshot(client, buyer, bowl, profile):
    home = save_address(buyer)
    order = services.create_product_order(buyer=buyer, product=bowl, selections={})
    client.force_login(buyer)
    client.post(f"/pay/{order.reference}/", {"address": str(home.pk)})
    # editing the address book later never moves the order
    save_shipping_address(
        buyer=buyer,
        address=home,
        data=AddressInput(**{**LYON, "city": "Paris", "postal_code": "75001"}),
    )
    order.refresh_from_db()
    assert order.shipping_address["city"] == "Lyon"


def test_address_is_shown_to_artisan_and_logistics(client, buyer, artisan, order, logistics_user):
    from commerce.models import LogisticsProvider

    set_order_shipping_address(buyer=buyer, order=order, address=AddressInput(**LYON))
    pay_through_dev_gateway(buyer, order)
    provider = LogisticsProvider.objects.create(name="Swift", slug="swift", webhook_secret="s")
    provider.members.add(logistics_user)
    client.force_login(artisan)
    assert (
        "12 rue de la République"
        in client.get(f"/studio/orders/{order.reference}/").content.decode()
    )
    services.ship_order(
        actor=artisan, order=order, carrier="Swift", tracking_number="SW-1", provider=provider
    )
    client.force_login(logistics_user)
    page = client.get("/logistics/").content.decode()
    assert "12 rue de la République" in page and "69001 Lyon" in page


# --- Quotes -----------------------------------------------------------------------------------


def test_quote_shipping_by_zone_with_free_threshold_and_dates(artisan, profile):
    today = dt.date(2026, 12, 1)
    domestic = quote_shipping(
        artisan=artisan, country="MX", subtotal=Decimal("42"), currency="EUR", today=today
    )
    europe = quote_shipping(
        artisan=artisan, country="ES", subtotal=Decimal("42"), currency="EUR", today=today
    )
    world = quote_shipping(
        artisan=artisan, country="JP", subtotal=Decimal("42"), currency="EUR", today=today
    )
    free = quote_shipping(
        artisan=artisan, country="FR", subtotal=Decimal("100"), currency="EUR", today=today
    )
    assert (domestic.amount, domestic.zone) == (Decimal("5.00"), "domestic")
    assert (europe.amount, europe.zone) == (Decimal("12.00"), "zone")
    assert world.amount == Decimal("20.00")
    assert free.amount == 0 and free.free
    # processing 2 days + transit 5–9 days; a made-to-order lead time comes first
    assert (europe.arrives_from, europe.arrives_to) == (dt.date(2026, 12, 8), dt.date(2026, 12, 12))
    made = quote_shipping(
        artisan=artisan,
        country="FR",
        subtotal=Decimal("42"),
        currency="EUR",
        lead_time_days=10,
        today=today,
    )
    assert made.arrives_from == dt.date(2026, 12, 18)


def test_no_world_rate_means_not_shipped_there(artisan, shop):
    save_shipping_profile(
        artisan=artisan,
        processing_days=1,
        currency="EUR",
        rates=[RateInput(zone="domestic", price="3", transit_days_min=1, transit_days_max=2)],
    )
    assert (
        quote_shipping(artisan=artisan, country="FR", subtotal=Decimal("1"), currency="EUR") is None
    )


def test_studio_shipping_page_saves_a_profile(client, artisan, shop):
    client.force_login(artisan)
    assert b"/studio/shipping/" in client.get("/studio/orders/").content
    response = client.post(
        "/studio/shipping/",
        {
            "processing_days": "3",
            "currency": "EUR",
            "free_shipping_threshold": "80",
            "domestic_price": "4.50",
            "domestic_min": "1",
            "domestic_max": "2",
            "zone1_countries": "FR, DE",
            "zone1_price": "11",
            "zone1_min": "4",
            "zone1_max": "8",
        },
    )
    assert response.status_code == 302
    assert quote_shipping(
        artisan=artisan, country="DE", subtotal=Decimal("10"), currency="EUR"
    ).amount == Decimal("11.00")
    assert (
        quote_shipping(artisan=artisan, country="JP", subtotal=Decimal("10"), currency="EUR")
        is None
    )


def test_product_page_shows_shipping_and_arrival_for_the_default_country(
    client, buyer, bowl, profile
):
    # anonymous: the artisan's own country
    page = client.get(f"/shop/{bowl.shop.slug}/{bowl.slug}/").content.decode()
    assert "Shipping to Mexico: €5.00" in page and "Arrives between" in page
    # a French buyer with a default address in France, reading in French
    save_address(buyer)
    buyer.preferred_language = "fr"
    buyer.save(update_fields=["preferred_language"])
    client.force_login(buyer)
    page = client.get(f"/shop/{bowl.shop.slug}/{bowl.slug}/").content.decode()
    assert "42,00\xa0€" in page and "12,00\xa0€" in page and "France" in page
    # the live price knows each option's surcharge
    assert 'data-price-deltas="{&quot;' in page and "4.00" in page
    # the country picker
    page = client.get(f"/shop/{bowl.shop.slug}/{bowl.slug}/", {"ship_to": "JP"}).content.decode()
    assert "20,00\xa0€" in page


# --- Totals that add up ------------------------------------------------------------------------


def amounts(html: str, section: str) -> list[Decimal]:
    return [Decimal(a) for a in re.findall(rf'<{section}[^>]*data-amount="([-\d.]+)"', html)]


def test_order_total_is_items_plus_options_plus_shipping(client, buyer, bowl, profile):
    save_address(buyer)
    order = services.create_product_order(
        buyer=buyer, product=bowl, selections={glaze_id(bowl): cobalt_id(bowl)}, quantity=1
    )
    # 42 + 4 (cobalt) + 12 (France)
    assert order.shipping_amount == Decimal("12.00")
    assert order.total == Decimal("58.00")
    client.force_login(buyer)
    client.post(f"/pay/{order.reference}/", {"address": str(buyer.shipping_addresses.get().pk)})
    page = client.get(f"/pay/{order.reference}/").content.decode()
    lines = [
        Decimal(a) for a in re.findall(r'<tr class="receipt-\w+" data-amount="([-\d.]+)"', page)
    ]
    total = Decimal(re.search(r'<tfoot><tr data-amount="([-\d.]+)"', page).group(1))
    assert lines == [Decimal("42.00"), Decimal("4.00"), Decimal("12.00")]
    assert sum(lines) == total == Decimal("58.00")
    assert "Shipping" in page and "Glaze: Cobalt" in page and "Pay €58.00" in page


def test_shipping_is_requoted_for_the_chosen_destination(buyer, bowl, profile):
    order = services.create_product_order(buyer=buyer, product=bowl, selections={})
    assert order.shipping_amount == Decimal("5.00")  # no address yet: the shop's own country
    order = set_order_shipping_address(
        buyer=buyer,
        order=order,
        address=AddressInput(
            full_name="Ken", line1="1-1 Chiyoda", city="Tokyo", postal_code="100-0001", country="JP"
        ),
    )
    assert (order.shipping_amount, order.total) == (Decimal("20.00"), Decimal("62.00"))
    assert order.arrives_from and order.arrives_to


def test_offer_shipping_is_part_of_the_order_total(buyer, artisan, conversation):
    offer = send(
        artisan,
        conversation,
        shipping_amount="15.00",
        deposit_percent=30,
        transit_days_min=3,
        transit_days_max=6,
    )
    assert offer.total == Decimal("135.00") and offer.items_total == Decimal("120.00")
    order = services.accept_offer(buyer=buyer, offer=offer)
    assert order.shipping_amount == Decimal("15.00") and order.total == Decimal("135.00")
    assert order.deposit_amount == Decimal("40.50")
    assert order.arrives_to - order.arrives_from == dt.timedelta(days=3)


# --- The composer ------------------------------------------------------------------------------


def test_composer_is_prefilled_from_the_custom_request(client, buyer, artisan, shop, bowl, profile):
    save_address(buyer)
    request = services.submit_custom_request(
        buyer=buyer, shop=shop, description="A bigger version please\nwith a lid", product=bowl
    )
    client.force_login(artisan)
    page = client.get(f"/studio/conversations/{request.conversation_id}/offer/").content.decode()
    # one row with the piece and its price, an Add-a-line button, shipping for France
    assert 'value="Cobalt bowl"' in page and 'value="42.00"' in page
    assert 'name="line-TOTAL_FORMS" value="1"' in page
    assert "Add a line" in page and 'id="offer-line-template"' in page
    assert 'name="shipping_amount" value="12.00"' in page
    assert "What the buyer will see" in page


def test_composer_takes_the_options_from_the_threads_context_card(
    client, buyer, artisan, conversation, bowl
):
    post_message(
        conversation=conversation,
        author=None,
        kind=MessageKind.SYSTEM,
        payload={
            "type": "context",
            "context": "ask",
            "product_id": bowl.pk,
            "options": [
                {"option_id": int(glaze_id(bowl)), "value_id": int(cobalt_id(bowl)), "text": None}
            ],
        },
    )
    client.force_login(artisan)
    page = client.get(f"/studio/conversations/{conversation.pk}/offer/").content.decode()
    assert (
        'value="Cobalt bowl"' in page and 'value="Glaze: Cobalt"' in page and 'value="4.00"' in page
    )
    assert 'name="line-TOTAL_FORMS" value="2"' in page


def test_composer_without_request_starts_with_one_empty_row(client, artisan, conversation):
    client.force_login(artisan)
    page = client.get(f"/studio/conversations/{conversation.pk}/offer/").content.decode()
    assert 'name="line-TOTAL_FORMS" value="1"' in page
    assert "line-1-description" not in page


def test_composer_sends_lines_and_shipping(client, artisan, conversation):
    client.force_login(artisan)
    response = client.post(
        f"/studio/conversations/{conversation.pk}/offer/",
        {
            "line-TOTAL_FORMS": "2",
            "line-INITIAL_FORMS": "0",
            "line-0-description": "Platter",
            "line-0-quantity": "1",
            "line-0-unit_price": "100.00",
            "line-1-description": "Lid",
            "line-1-quantity": "2",
            "line-1-unit_price": "10.00",
            "currency": "EUR",
            "shipping_amount": "9.00",
            "transit_days_min": "2",
            "transit_days_max": "5",
            "deposit_percent": "50",
            "lead_time_days": "10",
            "valid_days": "7",
            "revision_rounds_included": "1",
        },
    )
    assert response.status_code == 302
    offer = conversation.offers.get()
    assert offer.total == Decimal("129.00") and offer.shipping_amount == Decimal("9.00")
    assert offer.lines.count() == 2


# --- Stepper and history ---------------------------------------------------------------------


def current_step(html: str) -> str:
    return re.search(r'data-step="(\w+)" aria-current="step"', html).group(1)


@pytest.mark.parametrize("language", ["en", "fr"])
def test_stepper_follows_the_order(client, buyer, artisan, conversation, language):
    buyer.preferred_language = language
    buyer.save(update_fields=["preferred_language"])
    offer = send(artisan, conversation, deposit_percent=30, revision_rounds_included=1)
    order = services.accept_offer(buyer=buyer, offer=offer)
    set_order_shipping_address(buyer=buyer, order=order, address=AddressInput(**LYON))
    client.force_login(buyer)
    url = f"/orders/{order.reference}/"
    page = client.get(url).content.decode()
    assert current_step(page) == "deposit"
    with translation.override(language):
        deposit_label = translation.pgettext("order step", "Deposit")
        you_pay = translation.gettext("Pay %(amount)s to start; the artisan is told at once.")
    assert deposit_label in page
    assert you_pay.split("%(amount)s")[0] in page
    pay_through_dev_gateway(buyer, order)
    assert current_step(client.get(url).content.decode()) == "proof"
    proof = services.post_proof(artisan=artisan, order=order, image=png_upload())
    services.approve_proof(buyer=buyer, proof=proof)
    assert current_step(client.get(url).content.decode()) == "making"
    services.mark_order_ready(artisan=artisan, order=order)
    assert current_step(client.get(url).content.decode()) == "balance"
    order.refresh_from_db()
    pay_through_dev_gateway(buyer, order)
    services.ship_order(actor=artisan, order=order, carrier="Post", tracking_number="P-1")
    page = client.get(url).content.decode()
    assert current_step(page) == "shipped"
    # the history is still there, folded
    assert '<details class="history">' in page
    if language == "fr":
        assert "Order placed" not in page and "Proof approved." not in page
        assert "Épreuve approuvée." in page


def test_buy_now_order_skips_request_offer_and_deposit(client, buyer, bowl):
    order = services.create_product_order(buyer=buyer, product=bowl, selections={})
    client.force_login(buyer)
    page = client.get(f"/orders/{order.reference}/").content.decode()
    steps = re.findall(r'data-step="(\w+)"', page)
    assert steps == ["payment", "shipped", "delivered"]
    assert current_step(page) == "payment"


def test_buyer_sees_the_approval_not_a_hash(client, buyer, artisan, order):
    pay_through_dev_gateway(buyer, order)
    proof = services.post_proof(artisan=artisan, order=order, image=png_upload())
    services.approve_proof(buyer=buyer, proof=proof)
    proof.refresh_from_db()
    client.force_login(buyer)
    page = client.get(f"/orders/{order.reference}/").content.decode()
    assert proof.approved_sha256 not in page and "SHA-256" not in page
    assert f"Approved by {buyer.name}" in page and proof.image.url in page


def test_history_rows_are_codes_rendered_per_reader(buyer, artisan, order):
    pay_through_dev_gateway(buyer, order)
    event = OrderEvent.objects.filter(order=order, code="payment_received", type="payment").get()
    assert event.note == ""  # no frozen prose
    from commerce.history import describe_event

    with translation.override("en"):
        assert describe_event(event) == "Full payment of €120.00 received."
    with translation.override("fr"):
        assert describe_event(event) == "Paiement intégral de 120,00\xa0€ reçu."
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAID


def test_offer_page_lists_shipping_so_the_lines_add_up(client, buyer, artisan, conversation):
    offer = send(
        artisan, conversation, shipping_amount="15.00", transit_days_min=3, transit_days_max=6
    )
    client.force_login(buyer)
    page = client.get(f"/offers/{offer.pk}/").content.decode()
    assert "€120.00" in page and "Shipping" in page and "€15.00" in page and "€135.00" in page
    assert "Arrives between" in page
