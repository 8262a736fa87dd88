"""Journey 2: buy now. A signed-out buyer picks options, "Order and pay", signs in, comes back to
the same product with the same options, enters an address and pays; the numbers on every page
add up (unit + option + shipping = total).
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from tests.journeys.flows import EMMA_IN_LONDON, deliver_to_a_new_address
from tests.journeys.harness import TIMEOUT

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

UNIT, OPTION = Decimal("38.00"), Decimal("4.00")
SHIPPING_UK = Decimal("25.00")  # Rosa's "rest of the world" rate (see the shops fixture)


def loose(text: str):
    """Match an amount however the page spaces it (Babel uses narrow no-break spaces)."""
    return re.compile(re.escape(text).replace("\u202f", r"\s?").replace("\xa0", r"\s?"))


def receipt_amounts(page) -> tuple[list[tuple[str, Decimal]], Decimal]:
    """The price table's lines (label, amount) and its total, as rendered."""
    table = page.locator("table.receipt")
    expect(table).to_be_visible()
    lines = []
    for row in table.locator("tbody tr").all():
        lines.append(
            (row.locator("td").first.inner_text(), Decimal(row.get_attribute("data-amount")))
        )
    total = Decimal(table.locator("tfoot tr").get_attribute("data-amount"))
    return lines, total


def assert_receipt_adds_up(person, *, expected: dict[str, Decimal], total: Decimal) -> None:
    lines, shown_total = receipt_amounts(person.page)
    assert sum(amount for _label, amount in lines) == shown_total == total, lines
    for label_part, amount in expected.items():
        assert any(label_part in label and value == amount for label, value in lines), (
            label_part,
            lines,
        )
    table = person.page.locator("table.receipt")
    for amount in [*expected.values(), total]:
        expect(table).to_contain_text(loose(person.money(amount)))


def test_signed_out_buyer_orders_signs_in_keeps_options_and_pays(people, shops):
    emma = shops["buyer-en@atelier.test"]
    buyer = people("buyer", "en", tz="Europe/London")

    # Given Emma, signed out on her phone, on the bowl's page
    buyer.open_home()
    buyer.step("home")
    buyer.nav("Shop")
    buyer.page.get_by_role("link", name="Taller Rosa Méndez").first.click()
    buyer.page.get_by_role("link", name="Cobalt breakfast bowl").first.click()
    price = buyer.page.locator("#live-price")
    expect(price).to_have_text(loose(buyer.money(UNIT)))
    buyer.step("product")

    # When she picks the wood-ash glaze (+4 €) and initials, the price follows
    buyer.choose(buyer.field("Glaze"), "Wood ash")
    buyer.field("Initials under the foot").fill("EB")
    expect(price).to_have_text(loose(buyer.money(UNIT + OPTION)))
    buyer.step("options picked")

    # …and taps "Order and pay": she is asked to sign in first
    buyer.click_button("Order and pay")
    expect(buyer.page.get_by_role("heading", name=buyer.t("Sign in"), level=1)).to_be_visible()
    buyer.step("sign in first")
    buyer.sign_in(emma.email, emma.password)

    # Then she is back on the same product with the same options and price
    expect(buyer.page.get_by_role("heading", name="Cobalt breakfast bowl", level=1)).to_be_visible(
        timeout=TIMEOUT
    )
    expect(buyer.field("Glaze").locator("option:checked")).to_contain_text("Wood ash")
    expect(buyer.field("Initials under the foot")).to_have_value("EB")
    expect(price).to_have_text(loose(buyer.money(UNIT + OPTION)))
    buyer.step("back with options")

    # When she orders, the pay page asks where the piece goes
    buyer.click_button("Order and pay")
    expect(buyer.page.get_by_role("heading", name=buyer.t("Delivery address"))).to_be_visible()
    buyer.step("address step")
    deliver_to_a_new_address(buyer, EMMA_IN_LONDON, "GB")

    # Then the pay page lists unit, option and shipping, and they add up to the total
    expect(buyer.page.locator("#ship-to")).to_contain_text("221B Baker Street")
    total = UNIT + OPTION + SHIPPING_UK
    assert_receipt_adds_up(
        buyer,
        expected={
            "Cobalt breakfast bowl": UNIT,
            "Wood ash": OPTION,
            buyer.t("Shipping"): SHIPPING_UK,
        },
        total=total,
    )
    pay_link = buyer.page.get_by_role(
        "link", name=loose(buyer.tf("Pay %(amount)s (test payment)", amount=buyer.money(total)))
    )
    expect(pay_link).to_be_visible()
    buyer.step("pay page")

    # When she pays with the dev gateway
    pay_link.click()
    buyer.step("dev gateway")
    buyer.click_button("Confirm payment")
    buyer.page.wait_for_load_state()
    buyer.step("paid")

    # Then her order shows the same lines and total, fully paid
    buyer.nav("Orders")
    expect(buyer.page.locator("main")).to_contain_text(loose(buyer.money(total)))
    buyer.step("order list")
    buyer.page.locator("main").get_by_role("link").filter(has_text="AT-").first.click()
    assert_receipt_adds_up(
        buyer,
        expected={
            "Cobalt breakfast bowl": UNIT,
            "Wood ash": OPTION,
            buyer.t("Shipping"): SHIPPING_UK,
        },
        total=total,
    )
    expect(buyer.page.locator("main")).to_contain_text(
        loose(buyer.tf("Paid %(amount)s", amount=buyer.money(total)))
    )
    buyer.step("order detail")
