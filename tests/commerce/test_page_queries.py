"""Public pages run a fixed number of queries: more products, photos, options or shipping
rates on a page must not add queries (no N+1), and nothing is fetched twice."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from commerce import services
from commerce.models import (
    ChoiceValue,
    CustomizationOption,
    OptionKind,
    ProcessPhoto,
    ProductPhoto,
    ShippingProfile,
    ShippingRate,
    ShippingZone,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _render_every_time(settings):
    """These tests count the queries of a render; a signed-out page cache hit runs none
    (tests/commerce/test_page_cache.py)."""
    settings.PAGE_CACHE_SECONDS = 0


def _product(artisan, n: int, *, options: int, photos: int):
    product = services.create_product(
        artisan=artisan,
        fields=services.ProductInput(
            title=f"Bowl {n}", price="38.00", currency="EUR", stock_quantity=3
        ),
    )
    for p in range(photos):
        ProductPhoto.objects.create(product=product, image=f"products/bowl-{n}-{p}.png")
    for o in range(options):
        option = CustomizationOption.objects.create(
            product=product, kind=OptionKind.CHOICE, label=f"Glaze {o}", position=o
        )
        for v in range(3):
            ChoiceValue.objects.create(
                option=option, label=f"Colour {v}", price_delta=Decimal(v), position=v
            )
    return product


def _dress_shop(shop, *, photos: int, rates: int) -> None:
    for p in range(photos):
        ProcessPhoto.objects.create(profile=shop, image=f"process/kiln-{p}.png", position=p)
    profile = ShippingProfile.objects.create(shop=shop)
    zones = [ShippingZone.DOMESTIC, ShippingZone.WORLD, ShippingZone.ZONE]
    for r in range(rates):
        ShippingRate.objects.create(
            profile=profile,
            zone=zones[r % 3],
            countries=["FR", "DE"],
            price=Decimal("12.00") + r,
            position=r,
        )


def _queries(client, url: str) -> list[str]:
    client.get(url)  # warm per-process caches (content types, sites)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 200, url
    return [q["sql"] for q in ctx.captured_queries]


def _assert_no_repeats(sql: list[str]) -> None:
    repeated = {s: n for s, n in Counter(sql).items() if n > 1}
    assert not repeated, f"queries run more than once: {repeated}"


@pytest.mark.parametrize("page", ["catalogue", "shop", "product"])
def test_public_pages_do_not_grow_with_their_content(client, artisan, shop, page):
    small = _product(artisan, 0, options=1, photos=1)
    url = {
        "catalogue": reverse("commerce:shop"),
        "shop": reverse("commerce:shop_profile", args=[shop.slug]),
        "product": reverse("commerce:product", args=[shop.slug, small.slug]),
    }[page]
    before = _queries(client, url)

    for n in range(1, 6):
        _product(artisan, n, options=3, photos=2)
    for o in range(1, 4):  # the measured product itself gets richer too
        option = CustomizationOption.objects.create(
            product=small, kind=OptionKind.CHOICE, label=f"Size {o}", position=o
        )
        ChoiceValue.objects.create(option=option, label="Large", position=0)
    ProductPhoto.objects.create(product=small, image="products/extra.png", position=1)
    _dress_shop(shop, photos=3, rates=3)
    after = _queries(client, url)

    # A shipping profile adds its one prefetch on the product page; nothing else may grow.
    allowed = 1 if page == "product" else 0
    assert len(after) <= len(before) + allowed, (len(before), len(after), after)
    _assert_no_repeats(after)


def test_product_page_budget(client, artisan, shop):
    product = _product(artisan, 0, options=3, photos=2)
    _dress_shop(shop, photos=2, rates=3)
    sql = _queries(client, reverse("commerce:product", args=[shop.slug, product.slug]))
    # product+shop+user+shipping profile, photos, options, values, rates, rating,
    # reviews, translations of title/description and of the shop: 10 at most.
    assert len(sql) <= 10, sql
    _assert_no_repeats(sql)
