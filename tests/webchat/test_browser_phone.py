"""At phone size (390×844): one-row header with a menu button, the message box in view, no overflow."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from commerce import services as commerce
from commerce.services.context import ask_about_product
from conversations.services import post_message
from tests.conftest import PASSWORD
from tests.webchat.browser import signed_in_context
from tests.webchat.test_browser_chat import TIMEOUT

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
SHOTS = Path(os.environ.get("ATELIER_SCREENSHOTS", "/tmp/atelier-screenshots"))


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


@pytest.fixture
def asked(buyer, artisan):
    commerce.save_artisan_profile(user=artisan, shop_name="Casa Barro", story="Clay.")
    product = commerce.create_product(
        artisan=artisan,
        fields=commerce.ProductInput(
            title="Tall vase", price="40.00", currency="EUR", stock_quantity=3
        ),
        options=[
            commerce.OptionInput(
                kind="choice",
                label="Glaze",
                choices=[commerce.ChoiceInput(label="Celadon", price_delta="6.00")],
            )
        ],
    )
    glaze = product.options.get()
    conversation = ask_about_product(
        buyer=buyer, product=product, selections={str(glaze.pk): str(glaze.values.get().pk)}
    )
    post_message(conversation=conversation, author=buyer, text="Is the celadon glossy?")
    return conversation


def test_buyer_conversation_on_a_phone_keeps_the_message_box_in_view(
    browser,
    server,
    buyer,
    asked,
):
    from playwright.sync_api import expect

    ctx = signed_in_context(browser, buyer, server, viewport=PHONE)
    try:
        page = ctx.new_page()
        page.goto(f"/messages/{asked.pk}/")
        # The header is one row: the nav sits behind a menu button
        toggle = page.get_by_role("button", name="Menu")
        expect(toggle).to_be_visible(timeout=TIMEOUT)
        assert toggle.get_attribute("aria-expanded") == "false"
        expect(page.locator("#site-nav")).to_be_hidden()
        assert page.locator(".site-header").bounding_box()["height"] < 70
        # The message box is visible without scrolling
        box = page.locator("[data-chat-input]").bounding_box()
        assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"]
        # The context card is drawn in the log from data, with the piece's title
        expect(page.locator(".msg-context")).to_contain_text("Tall vase", timeout=TIMEOUT)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        _shot(page, "phone-buyer-conversation")
        # The menu opens with the keyboard and closes with Escape
        toggle.focus()
        page.keyboard.press("Enter")
        assert toggle.get_attribute("aria-expanded") == "true"
        expect(page.get_by_role("link", name="Orders")).to_be_visible()
        _shot(page, "phone-menu-open")
        page.keyboard.press("Escape")
        assert toggle.get_attribute("aria-expanded") == "false"
        expect(page.locator("#site-nav")).to_be_hidden()
    finally:
        ctx.close()


def test_the_2fa_key_fits_a_phone(browser, server, artisan_without_2fa):
    ctx = signed_in_context(browser, artisan_without_2fa, server, viewport=PHONE)
    try:
        page = ctx.new_page()
        page.goto("/accounts/2fa/setup/")
        # Enrolling needs a fresh password entry (a stolen session must not be enough)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Continue").click()
        key = page.get_by_test_id("totp-secret")
        box = key.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        _shot(page, "phone-2fa-setup")
    finally:
        ctx.close()


def test_desktop_header_shows_the_nav_without_a_menu_button(browser, server, buyer):
    ctx = signed_in_context(browser, buyer, server, viewport={"width": 1366, "height": 900})
    try:
        page = ctx.new_page()
        page.goto("/")
        assert page.locator("#site-nav").is_visible()
        assert not page.get_by_role("button", name="Menu").is_visible()
        assert page.locator("link[rel=icon]").get_attribute("href").endswith("favicon.svg")
    finally:
        ctx.close()


def test_artisan_sees_the_context_and_make_an_offer_on_desktop(
    browser,
    server,
    artisan,
    asked,
):
    from playwright.sync_api import expect

    ctx = signed_in_context(browser, artisan, server, viewport={"width": 1366, "height": 900})
    try:
        page = ctx.new_page()
        page.goto(f"/inbox/{asked.pk}/")
        details = page.locator(".conv-context")
        expect(details).to_contain_text("Tall vase", timeout=TIMEOUT)
        expect(details).to_contain_text("Celadon")
        expect(details).to_contain_text("€46.00")
        offer = page.locator(".conv-header").get_by_role("link", name="Make an offer")
        expect(offer).to_be_visible()
        _shot(page, "desktop-artisan-conversation")
        offer.click()
        page.wait_for_url(f"**/studio/conversations/{asked.pk}/offer/", timeout=TIMEOUT)
    finally:
        ctx.close()
