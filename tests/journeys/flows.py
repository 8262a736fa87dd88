"""Steps several journeys share, written as a person does them (clicks and typing only)."""

from __future__ import annotations

import re

from playwright.sync_api import expect


def open_product(buyer, shop: str, product: str) -> None:
    buyer.nav("Shop")
    buyer.page.get_by_role("link", name=shop).first.click()
    buyer.page.get_by_role("link", name=product).first.click()
    expect(buyer.page.get_by_role("heading", name=product, level=1)).to_be_visible()


def artisan_signs_in(artisan, login) -> None:
    artisan.open_home()
    artisan.nav("Sign in")
    artisan.step("sign in")
    artisan.sign_in(login.email, login.password, login.totp)


def pay_with_dev_gateway(buyer, label: str) -> None:
    """On the pay page: the test-payment button, then "Confirm payment" on the dev gateway."""
    buyer.page.get_by_role(
        "link",
        name=re.compile(
            re.escape(buyer.tf("Pay %(amount)s (test payment)", amount="__")).replace("__", ".*")
        ),
    ).click()
    expect(buyer.button("Confirm payment")).to_be_visible()
    buyer.step(f"{label} dev gateway")
    buyer.click_button("Confirm payment")
    buyer.page.wait_for_load_state()


def buyer_signs_in(buyer, login) -> None:
    """From the home page: "Sign in", then email and password."""
    buyer.open_home()
    buyer.nav("Sign in")
    buyer.sign_in(login.email, login.password)


EMMA_IN_LONDON = {
    "Full name": "Emma Brown",
    "Address": "221B Baker Street",
    "Postal code": "NW1 6XE",
    "City": "London",
}


def deliver_to_a_new_address(buyer, fields: dict[str, str], country: str) -> None:
    """On the pay page's address step: "A new address", the fields, then continue."""
    buyer.page.get_by_label(buyer.t("A new address")).check()
    for label, value in fields.items():
        buyer.field(label).fill(value)
    buyer.field("Country").select_option(country)
    buyer.click_button("Deliver here and continue to payment")


def open_thread(person, section: str, other_name: str) -> None:
    """From the main navigation (``section``: "Messages" for a buyer, "Inbox" for an
    artisan), the thread with ``other_name``."""
    person.nav(section)
    person.page.locator(".conv-item").filter(has_text=other_name).first.get_by_role(
        "link"
    ).first.click()
    expect(person.chat_log()).to_be_visible()


def open_thread_details(artisan, buyer_name: str, *, contains: str):
    """In the inbox: the buyer's thread (live), its log showing ``contains``, and the
    "About this conversation" panel opened; returns that panel."""
    from tests.journeys.harness import TIMEOUT

    thread = artisan.page.locator(".conv-item").filter(has_text=buyer_name).first
    expect(thread).to_be_visible(timeout=TIMEOUT)
    thread.get_by_role("link").first.click()
    expect(artisan.chat_log()).to_contain_text(contains, timeout=TIMEOUT)
    details = artisan.page.get_by_role("complementary", name=artisan.t("About this conversation"))
    if details.locator("details").first.get_attribute("open") is None:
        details.get_by_text(artisan.t("Details"), exact=True).click()
    return details


def follows_the_shop(buyer, shop: str) -> None:
    """From any page: Shop, the shop's page, "Follow this shop"."""
    buyer.nav("Shop")
    buyer.page.get_by_role("link", name=shop).first.click()
    expect(buyer.page.get_by_role("heading", name=shop, level=1)).to_be_visible()
    buyer.step("shop page")
    buyer.click_button("Follow this shop")
    expect(buyer.page.get_by_role("status")).to_contain_text(shop)
    expect(buyer.button("Following ✓ — unfollow")).to_be_visible()
    buyer.step("following")


def open_studio_campaigns(artisan) -> None:
    """Studio, then Campaigns in the studio's own navigation."""
    artisan.nav("Studio")
    artisan.click_link(
        "Campaigns",
        within=artisan.page.get_by_role("navigation", name=artisan.name("Studio", exact=True)),
    )
