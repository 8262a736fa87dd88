"""The studio's option rows in Chromium: add an option and values with the buttons, save."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from commerce import services
from tests.webchat.browser import signed_in_context
from tests.webchat.test_browser_chat import TIMEOUT

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = Path(os.environ.get("ATELIER_SCREENSHOTS", "/tmp/atelier-screenshots"))


def test_artisan_adds_an_option_with_values_by_clicking(browser, server, artisan):
    from playwright.sync_api import expect

    shop = services.save_artisan_profile(user=artisan, shop_name="Casa Barro", story="Clay.")
    ctx = signed_in_context(browser, artisan, server, viewport={"width": 1366, "height": 900})
    try:
        page = ctx.new_page()
        page.goto("/studio/products/new/")
        page.get_by_label("Title").fill("Tall vase")
        page.get_by_label("Price", exact=True).fill("40")
        page.get_by_label("In stock").fill("3")
        # The spare row: a choice option with two values, a third added with the button
        first = page.locator("[data-option-row]").first
        first.get_by_label("Option name").fill("Glaze")
        first.get_by_label("Required").check()
        first.get_by_label("Value").nth(0).fill("Sand")
        first.get_by_label("Value").nth(1).fill("Cobalt")
        first.get_by_label("Price change").nth(1).fill("6")
        first.get_by_role("button", name="Add value").click()
        expect(first.get_by_label("Value")).to_have_count(3, timeout=TIMEOUT)
        first.get_by_label("Value").nth(2).fill("Celadon")
        first.get_by_label("Price change").nth(2).fill("8.50")
        # A second option, free text
        page.get_by_role("button", name="Add option").click()
        second = page.locator("[data-option-row]").nth(1)
        second.get_by_label("Option name").fill("Engraving")
        second.get_by_label("Type").select_option("text")
        expect(second.get_by_label("Maximum length (characters)")).to_be_visible()
        second.get_by_label("Maximum length (characters)").fill("20")
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "studio-option-rows.png"), full_page=True)
        page.get_by_role("button", name="Save").click()
        page.wait_for_url("**/studio/products/", timeout=TIMEOUT)
        product = shop.products.get(title="Tall vase")
        glaze, engraving = product.options.order_by("position", "pk")
        assert [v.label for v in glaze.values.order_by("position", "pk")] == [
            "Sand",
            "Cobalt",
            "Celadon",
        ]
        assert glaze.required and (engraving.kind, engraving.max_length) == ("text", 20)
    finally:
        ctx.close()
