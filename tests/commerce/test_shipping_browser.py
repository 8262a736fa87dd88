"""Real Chromium: the product price follows the options, the composer adds lines and keeps a
running total with the deposit amount, the pay page's address step. Plain JS, no build."""

from __future__ import annotations

import pytest

from commerce import services
from commerce.services.shipping import RateInput, save_shipping_profile
from tests.commerce.conftest import save_address
from tests.webchat.browser import signed_in_context

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
TIMEOUT = 10_000


@pytest.fixture
def glazed_bowl(artisan, shop):
    save_shipping_profile(
        artisan=artisan,
        processing_days=2,
        currency="EUR",
        rates=[RateInput(zone="world", price="12.00", transit_days_min=5, transit_days_max=9)],
    )
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
                    services.ChoiceInput(label="Cobalt", price_delta="12.00"),
                ),
            )
        ],
    )


def test_product_price_follows_the_option_in_french(browser, server, buyer, glazed_bowl):
    from playwright.sync_api import expect

    buyer.preferred_language = "fr"
    buyer.save(update_fields=["preferred_language"])
    save_address(buyer)
    context = signed_in_context(browser, buyer, server, viewport={"width": 390, "height": 844})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"/shop/{glazed_bowl.shop.slug}/{glazed_bowl.slug}/")
    price = page.locator("#live-price")
    expect(price).to_have_text("42,00\u00a0€", timeout=TIMEOUT)
    page.get_by_label("Glaze").select_option(label="Cobalt (+12,00\u00a0€)")
    expect(price).to_have_text("54,00\u00a0€", timeout=TIMEOUT)
    expect(page.locator("#shipping-quote")).to_contain_text("12,00\u00a0€")
    assert errors == []
    context.close()


def test_composer_adds_lines_and_shows_total_and_deposit(browser, server, artisan, conversation):
    from playwright.sync_api import expect

    context = signed_in_context(browser, artisan, server, viewport={"width": 1366, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"/studio/conversations/{conversation.pk}/offer/")
    assert page.locator("[data-line]").count() == 1
    page.locator('input[name="line-0-description"]').fill("Platter")
    page.locator('input[name="line-0-unit_price"]').fill("100")
    page.get_by_role("button", name="Add a line").click()
    assert page.locator("[data-line]").count() == 2
    page.locator('input[name="line-1-description"]').fill("Lid")
    page.locator('input[name="line-1-quantity"]').fill("2")
    page.locator('input[name="line-1-unit_price"]').fill("10")
    page.locator('input[name="shipping_amount"]').fill("9")
    page.locator('input[name="deposit_percent"]').fill("50")
    expect(page.locator("#offer-total")).to_have_text("€129.00", timeout=TIMEOUT)
    expect(page.locator("#deposit-amount")).to_have_text("€64.50")
    expect(page.locator("#preview-total")).to_have_text("€129.00")
    expect(page.locator("#delivery-estimate")).to_contain_text("Arrives between")
    page.get_by_role("button", name="Send offer in the chat").click()
    page.wait_for_url("**/inbox/**", timeout=TIMEOUT)
    offer = conversation.offers.get()
    assert str(offer.total) == "129.00" and offer.lines.count() == 2
    assert errors == []
    context.close()


def test_pay_page_address_step_hides_new_fields_for_a_saved_address(
    browser, server, buyer, glazed_bowl
):
    from playwright.sync_api import expect

    save_address(buyer)
    order = services.create_product_order(buyer=buyer, product=glazed_bowl, selections={})
    context = signed_in_context(browser, buyer, server, viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(f"/pay/{order.reference}/")
    expect(page.locator("#new-address-fields")).to_be_hidden(timeout=TIMEOUT)
    page.get_by_label("A new address").check()
    expect(page.locator("#new-address-fields")).to_be_visible()
    page.locator('input[name="address"]').first.check()
    page.get_by_role("button", name="Deliver here and continue to payment").click()
    expect(page.locator("#ship-to")).to_contain_text("69001 Lyon", timeout=TIMEOUT)
    expect(page.get_by_role("link", name="Pay €54.00 (test payment)")).to_be_visible()
    context.close()
