"""Journey 4: the main public and signed-in pages, reached through the navigation, pass axe-core.

Each step runs axe-core (0 serious/critical violations) and saves a screenshot; journeys 1–3
run the same check on every page they pass through.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_public_and_signed_in_pages_reached_from_the_navigation(people, shops):
    buyer_login = shops["buyer@atelier.test"]
    artisan_login = shops["potter@atelier.test"]

    # Given a French buyer on a phone, signed out, on the home page
    buyer = people("buyer", "fr")
    buyer.open_home()
    buyer.step("home")

    # When they browse: shop list → shop profile → product
    buyer.nav("Shop")
    expect(buyer.page.get_by_role("heading", level=1)).to_be_visible()
    buyer.step("shop list")
    buyer.page.get_by_role("link", name="Taller Rosa Méndez").first.click()
    expect(buyer.page.get_by_role("heading", name="Taller Rosa Méndez")).to_be_visible()
    buyer.step("shop profile")
    buyer.page.get_by_role("link", name="Cobalt breakfast bowl").first.click()
    expect(buyer.page.get_by_role("heading", name="Cobalt breakfast bowl")).to_be_visible()
    buyer.step("product")

    # …and sign in: the sign-in page, then their messages and orders
    buyer.nav("Sign in")
    buyer.step("sign in")
    buyer.sign_in(buyer_login.email, buyer_login.password)
    buyer.nav("Messages")
    buyer.step("messages")
    buyer.nav("Orders")
    buyer.step("order list")

    # Given a Spanish artisan at a desk, with 2FA
    artisan = people("artisan", "es")
    artisan.open_home()
    artisan.nav("Sign in")
    artisan.sign_in(artisan_login.email, artisan_login.password, artisan_login.totp)
    artisan.step("after sign in")

    # When they open the inbox and the studio from the navigation
    artisan.nav("Inbox")
    artisan.step("inbox")
    artisan.nav("Studio")
    expect(artisan.page.get_by_role("heading", level=1)).to_be_visible()
    artisan.step("studio")
