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
