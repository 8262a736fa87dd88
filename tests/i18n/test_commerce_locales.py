"""Commerce pages in every UI locale: the shop list, a product page and the pay page read in
the viewer's language (Accept-Language for visitors, the profile language for signed-in buyers)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from commerce import services
from commerce.models import Order, Product
from commerce.money import format_money
from commerce.payments.registry import clear_gateway_cache
from core.models import Role, User
from tests.conftest import enrol_totp, make_user

pytestmark = pytest.mark.django_db

LOCALES = ["fr", "de", "es", "ja"]


@pytest.fixture(autouse=True)
def _dev_gateway(settings):
    """The loopback-free dev gateway, so the pay page starts a checkout without any network."""
    settings.PAYMENT_GATEWAY = "dev"
    settings.DEV_GATEWAY_SECRET = "test-dev-gateway-secret"
    settings.SITE_URL = "https://atelier.example"
    settings.PLATFORM_FEE_PERCENT = Decimal("10")
    clear_gateway_cache()
    yield
    clear_gateway_cache()


@pytest.fixture
def artisan(db) -> User:
    user = make_user("maker@example.com", Role.ARTISAN, display_name="Ana")
    enrol_totp(user)
    services.save_artisan_profile(
        user=user,
        shop_name="Casa Barro",
        story="Clay from the river bank.",
        region="Oaxaca",
        country="MX",
        languages=["es", "en"],
        materials="clay, glaze",
    )
    return user


@pytest.fixture
def bowl(artisan) -> Product:
    return services.create_product(
        artisan=artisan,
        fields=services.ProductInput(
            title="Cobalt bowl",
            price="45.00",
            currency="EUR",
            stock_quantity=3,
            description="Wheel-thrown stoneware.",
        ),
    )


@pytest.fixture
def buyer(db) -> User:
    return make_user("shopper@example.com", display_name="Bea")


@pytest.fixture
def order(buyer, bowl) -> Order:
    from commerce.services.shipping import AddressInput, set_order_shipping_address

    order = services.create_product_order(buyer=buyer, product=bowl, selections={}, quantity=1)
    # The pay page asks where to ship before it starts a payment.
    home = AddressInput(
        full_name="Bea", line1="1 Main St", city="Lyon", postal_code="69001", country="FR"
    )
    return set_order_shipping_address(buyer=buyer, order=order, address=home)


def in_language(msgid: str, language: str, **values: object) -> str:
    """The msgid as the catalog renders it in ``language``, placeholders filled and escaped."""
    with translation.override(language):
        text = translation.gettext(msgid)
    if values:
        text = text % values
    return escape(text)


def in_language_plural(singular: str, plural: str, count: int, language: str, **values) -> str:
    with translation.override(language):
        text = translation.ngettext(singular, plural, count)
    return escape(text % {**values})


def get_page(client: Client, url: str, **headers) -> str:
    response = client.get(url, **headers)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


@pytest.mark.parametrize("language", LOCALES)
def test_shop_list_follows_accept_language(bowl, language):
    # given a visitor whose browser asks for ``language``
    client = Client()
    # when
    html = get_page(client, reverse("commerce:shop"), HTTP_ACCEPT_LANGUAGE=f"{language},en;q=0.5")
    # then headings, filters and the button are translated, and English is gone
    assert f'<html lang="{language}"' in html
    for msgid in ["Handmade, made to order", "Show pieces", "Minimum price", "Search"]:
        assert in_language(msgid, language) != msgid
        assert in_language(msgid, language) in html, (language, msgid)
    assert in_language_plural(
        "%(counter)s piece", "%(counter)s pieces", 1, language, counter=1
    ) in (html)
    assert "Handmade, made to order" not in html
    assert "Show pieces" not in html


@pytest.mark.parametrize("language", LOCALES)
def test_product_page_follows_accept_language(bowl, language):
    # given a visitor whose browser asks for ``language``
    client = Client()
    url = reverse("commerce:product", args=[bowl.shop.slug, bowl.slug])
    # when
    html = get_page(client, url, HTTP_ACCEPT_LANGUAGE=f"{language},en;q=0.5")
    # then the buy box and the actions are in ``language``
    assert f'<html lang="{language}"' in html
    for msgid in ["Make it yours", "Order and pay", "Ask the artisan", "Request something custom"]:
        assert in_language(msgid, language) != msgid
        assert in_language(msgid, language) in html, (language, msgid)
    assert in_language("%(quantity)s in stock", language, quantity=3) in html
    assert "Make it yours" not in html
    assert "Order and pay" not in html


@pytest.mark.parametrize("language", LOCALES)
def test_pay_page_uses_the_buyers_profile_language(buyer, order, language):
    # given a buyer whose profile says ``language`` and whose browser asks for English
    buyer.preferred_language = language
    buyer.save(update_fields=["preferred_language"])
    client = Client()
    client.force_login(buyer)
    # when
    html = get_page(
        client, reverse("commerce:pay", args=[order.reference]), HTTP_ACCEPT_LANGUAGE="en-US"
    )
    # then the heading, the withdrawal notice and the pay button are in ``language``
    assert f'<html lang="{language}"' in html
    amount = format_money(order.total, order.currency)
    assert in_language("Pay %(amount)s", language, amount=amount) in html
    assert in_language("Pay %(amount)s (test payment)", language, amount=amount) in html
    assert in_language("Order %(reference)s", language, reference=order.reference) in html
    for msgid in [
        "You may withdraw from this purchase within 14 days of delivery (EU Directive 2011/83/EU).",
        "Development payments: no card is charged.",
        "Atelier confirms your payment when the payment provider does; "
        "the artisan is told in your conversation.",
    ]:
        assert in_language(msgid, language) != msgid
        assert in_language(msgid, language) in html, (language, msgid)
    assert "You may withdraw from this purchase" not in html
    assert "(test payment)" not in html
