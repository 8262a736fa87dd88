"""The signed-out page cache (core/pagecache.py): a second visit runs no query, each language
and query has its own copy, forms keep working, and every change to what a page shows
reaches the next signed-out reader at once."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from commerce import services
from commerce.models import Category, ProductStatus
from commerce.translation import override_listing_translation
from core.pagecache import HEADER

pytestmark = pytest.mark.django_db


@pytest.fixture
def piece(artisan, shop):
    return services.create_product(
        artisan=artisan,
        fields=services.ProductInput(
            title="Blue bowl", price="38.00", currency="EUR", stock_quantity=3
        ),
    )


def _product_url(piece) -> str:
    return reverse("commerce:product", args=[piece.shop.slug, piece.slug])


def _pages(piece) -> dict[str, str]:
    return {
        "home": "/",
        "catalogue": reverse("commerce:shop"),
        "shop": reverse("commerce:shop_profile", args=[piece.shop.slug]),
        "product": _product_url(piece),
    }


@pytest.mark.parametrize("page", ["home", "catalogue", "shop", "product"])
def test_second_signed_out_visit_is_served_without_a_query(
    client, piece, page, django_assert_num_queries
):
    url = _pages(piece)[page]
    first = client.get(url)
    assert first.status_code == 200
    assert first[HEADER] == "miss"
    with django_assert_num_queries(0):
        again = client.get(url)
    assert again[HEADER] == "hit"
    assert "Blue bowl" in again.content.decode()


def test_each_language_has_its_own_copy(client, piece):
    url = _product_url(piece)
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    french = client.get(url, HTTP_ACCEPT_LANGUAGE="fr")
    assert french[HEADER] == "miss", "the English copy must not be served to a French reader"
    assert english.content != french.content
    assert 'lang="fr"' in client.get(url, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    again = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert again[HEADER] == "hit"
    assert 'lang="en"' in again.content.decode()
    assert again["Content-Language"] == "en"


def test_a_cached_page_carries_this_visitors_own_csrf_token(piece):
    url = _product_url(piece)
    Client().get(url)  # someone else's visit fills the cache
    visitor = Client(enforce_csrf_checks=True)
    page = visitor.get(url)
    assert page[HEADER] == "hit"
    tokens = set(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()))
    assert len(tokens) == 1 and "\x00" not in next(iter(tokens))
    assert "csrftoken" in page.cookies, "the CSRF cookie is set as if the view had run"
    # The language picker on the cached page posts with that token.
    response = visitor.post(
        reverse("set_language"),
        {"language": "de", "next": url, "csrfmiddlewaretoken": tokens.pop()},
    )
    assert response.status_code == 302
    assert visitor.get(url)["Content-Language"] == "de"


def test_query_variants_are_separate_and_unknown_parameters_are_not_cached(client, piece):
    url = _product_url(piece)
    client.get(url)
    to_germany = client.get(url, {"ship_to": "DE"})
    assert to_germany[HEADER] == "miss"
    assert client.get(url, {"ship_to": "DE"})[HEADER] == "hit"
    assert client.get(url, {"utm_source": "x"}).has_header(HEADER) is False
    assert client.get(url, {"ship_to": ["DE", "FR"]}).has_header(HEADER) is False
    # A declared parameter with a value of the wrong shape is rendered, never stored.
    assert client.get(url, {"quantity": "lots"}).has_header(HEADER) is False
    assert client.get(url, {"quantity": "2"})[HEADER] == "miss"


def test_signed_in_people_never_read_or_fill_the_cache(client, piece, artisan, buyer):
    url = _product_url(piece)
    client.force_login(artisan)
    own = client.get(url)
    assert not own.has_header(HEADER)
    client.logout()
    anonymous = client.get(url)
    assert anonymous[HEADER] == "miss", "the artisan's page was not stored for everyone"
    client.force_login(buyer)
    assert not client.get(url).has_header(HEADER)


def test_a_waiting_flash_message_is_shown_not_a_cached_page(client, piece, rf):
    from django.contrib.messages import constants
    from django.contrib.messages.storage.base import Message
    from django.contrib.messages.storage.cookie import CookieStorage

    client.get("/")
    waiting = CookieStorage(rf.get("/"))._encode([Message(constants.SUCCESS, "Saved for later")])
    client.cookies["messages"] = waiting
    page = client.get("/")
    assert not page.has_header(HEADER)
    assert "Saved for later" in page.content.decode()
    again = client.get("/")  # shown once: the cookie went with that response
    assert again[HEADER] == "hit"
    assert "Saved for later" not in again.content.decode()


def test_editing_a_listing_reaches_every_page_that_shows_it(client, piece, artisan):
    for url in _pages(piece).values():
        client.get(url)
    services.update_product(
        artisan=artisan,
        product=piece,
        fields=services.ProductInput(
            title="Green bowl", price="38.00", currency="EUR", stock_quantity=3
        ),
    )
    for name, url in _pages(piece).items():
        page = client.get(url)
        assert page[HEADER] == "miss", name
        assert "Green bowl" in page.content.decode(), name


def test_an_artisans_translation_reaches_readers_of_that_language(client, piece, artisan):
    url = _product_url(piece)
    client.get(url, HTTP_ACCEPT_LANGUAGE="fr")
    override_listing_translation(
        artisan=artisan, obj=piece, field="title", language="fr", text="Bol bleu"
    )
    assert "Bol bleu" in client.get(url, HTTP_ACCEPT_LANGUAGE="fr").content.decode()


def test_a_change_to_one_shop_keeps_the_other_shops_pages(client, piece, stranger):
    other = services.save_artisan_profile(
        user=_artisan(stranger), shop_name="Telar Norte", story="Wool.", country="PE"
    )
    other_url = reverse("commerce:shop_profile", args=[other.slug])
    client.get(other_url)
    piece.status = ProductStatus.HIDDEN
    piece.save()
    assert client.get(other_url)[HEADER] == "hit"
    assert client.get(_product_url(piece)).status_code == 404
    assert "Blue bowl" not in client.get(reverse("commerce:shop")).content.decode()


def _artisan(user):
    from core.models import Role

    user.role = Role.ARTISAN
    user.save()
    return user


def test_a_renamed_shop_drops_its_pages_under_the_old_address(client, piece, shop):
    old_url = reverse("commerce:shop_profile", args=[shop.slug])
    assert client.get(old_url).status_code == 200
    shop.slug = "casa-barro-oaxaca"
    shop.save()
    assert client.get(old_url).status_code == 404


def test_a_new_or_removed_category_reaches_the_catalogue(client, piece):
    client.get(reverse("commerce:shop"))
    category = Category.objects.create(name="Bowls", slug="bowls")
    assert "Bowls" in client.get(reverse("commerce:shop")).content.decode()
    category.delete()
    assert "Bowls" not in client.get(reverse("commerce:shop")).content.decode()


def test_an_unreachable_cache_renders_the_page(client, piece, settings):
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        },
    }
    page = client.get(_product_url(piece))
    assert page.status_code == 200
    assert "Blue bowl" in page.content.decode()
    assert not page.has_header(HEADER)


def test_off_when_the_setting_is_zero(client, piece, settings):
    settings.PAGE_CACHE_SECONDS = 0
    client.get("/")
    assert not client.get("/").has_header(HEADER)


def test_ship_to_options_are_in_the_readers_language_with_one_chosen(client, piece):
    url = _product_url(piece)
    french = client.get(url, {"ship_to": "DE"}, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert '<option value="DE" selected>Allemagne</option>' in french
    ship_to = re.search(r'<select id="ship-to".*?</select>', french, re.S)[0]
    assert ship_to.count(" selected>") == 1
    english = client.get(url, {"ship_to": "JP"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<option value="JP" selected>Japan</option>' in english
    assert '<option value="DE">Germany</option>' in english


def test_a_page_whose_view_added_a_flash_message_is_not_stored(rf, piece, settings):
    from django.contrib.messages import add_message, constants
    from django.contrib.messages.storage.cookie import CookieStorage
    from django.contrib.sessions.backends.db import SessionStore
    from django.http import HttpResponse

    from core.pagecache import cache_public_page

    @cache_public_page()
    def page(request):
        add_message(request, constants.INFO, "Only for you")
        return HttpResponse("<p>Only for you</p>")

    def visit():
        from django.contrib.auth.models import AnonymousUser

        request = rf.get("/somewhere/")
        request.user, request.session = AnonymousUser(), SessionStore()
        request._messages = CookieStorage(request)
        return page(request)

    first, second = visit(), visit()
    assert not first.has_header(HEADER), "rendered, not stored"
    assert second.get(HEADER) != "hit", "the first visitor's message was not served to others"
    assert b"Only for you" in second.content
