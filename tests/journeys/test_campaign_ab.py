"""Journey 4b: an A/B test of a shop's news. Léa (French, phone) follows Rosa's shop, which
has five other followers; Rosa (Spanish, desktop, 2FA) writes a campaign with a second
version, sends it, watches the test run live (two reached, four waiting), sends version B
to everyone else and reads the winner; Léa gets the news once, in one of the versions.
(Its own file, so the suite's workers can run it beside the other campaign journeys.)
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.journeys.flows import (
    artisan_signs_in,
    buyer_signs_in,
    follows_the_shop,
    open_studio_campaigns,
)
from tests.journeys.harness import TIMEOUT

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TITLE = "Hornada de diciembre"

VERSION_A = "Nuevos tazones cobalto, recién salidos del horno."
VERSION_B = "Solo este sábado: los tazones cobalto salen del horno."


def test_an_artisan_tests_two_versions_and_sends_the_winner_to_everyone_else(people, shops):
    from commerce.models import ArtisanProfile
    from commerce.services.marketing import follow_shop
    from tests.conftest import make_user

    lea_login, rosa_login = shops["buyer@atelier.test"], shops["potter@atelier.test"]
    rosa_shop = ArtisanProfile.objects.get(user=rosa_login.user)
    for n in range(5):  # Rosa's other followers
        follow_shop(user=make_user(f"fan{n}@example.com"), shop=rosa_shop)
    buyer = people("buyer", "fr")
    artisan = people("artisan", "es", tz="America/Mexico_City")

    # Given Léa (phone, French) follows Rosa's shop: six followers in all
    buyer_signs_in(buyer, lea_login)
    follows_the_shop(buyer, "Taller Rosa Méndez")

    # When Rosa (desktop, Spanish) writes a campaign with a second version to test
    artisan_signs_in(artisan, rosa_login)
    open_studio_campaigns(artisan)
    artisan.click_link("New campaign")
    artisan.field("Campaign name").fill(TITLE)
    artisan.field("Message").fill(VERSION_A)
    artisan.field("Version B of the message (optional)").fill(VERSION_B)
    expect(artisan.field("Test on this share of the audience (%)")).to_have_value("20")
    expect(artisan.field("Pick the winner after (hours)")).to_have_value("4")
    artisan.choose(artisan.field("Who gets it"), artisan.t("People who follow your shop"))
    artisan.step("campaign form with version B")
    artisan.click_button("Save draft")

    # Then the draft shows both versions and how the test runs
    preview = artisan.page.get_by_role("region", name=artisan.t("What people will read"))
    expect(preview.get_by_role("heading", name=artisan.t("Version A"))).to_be_visible()
    expect(preview.locator("[data-version=a]")).to_have_text(VERSION_A)
    expect(preview.locator("[data-version=b]")).to_have_text(VERSION_B)
    artisan.step("draft with both versions")

    # When she sends it: two of the six (20 %, at least two) get a version each, four wait
    artisan.click_button("Send now")
    test = artisan.page.get_by_role("region", name=artisan.t("A/B test"))
    expect(test).to_be_visible()
    for version in ("a", "b"):
        expect(test.locator(f"tr[data-version={version}] td").first).to_have_text("1")
    delivery = artisan.page.get_by_role("region", name=artisan.t("Delivery"))
    expect(delivery.locator("[data-count=held]")).to_have_text("4")
    expect(delivery.locator("[data-count=sent]")).to_have_text("2")
    # the page follows the delivery live over the hub socket
    expect(artisan.page.locator("#campaign-progress")).to_have_attribute(
        "data-live", "socket", timeout=TIMEOUT
    )
    artisan.step("test running")

    # When she does not wait for the four hours and sends version B to everyone else
    artisan.click_button(artisan.tf("Send version %(version)s to everyone else", version="B"))

    # Then B is the winner and everyone has it: six delivered, nobody waiting
    expect(artisan.page.locator("#campaign-status")).to_have_text(
        artisan.t("Sent"), timeout=TIMEOUT
    )
    test = artisan.page.get_by_role("region", name=artisan.t("A/B test"))
    expect(test.locator("tr[data-version=b]")).to_contain_text(artisan.t("Winner"))
    expect(test).to_contain_text(
        artisan.tf("Version %(version)s won and went to everyone else.", version="B")
    )
    delivery = artisan.page.get_by_role("region", name=artisan.t("Delivery"))
    expect(delivery.locator("[data-count=sent]")).to_have_text("6")
    expect(delivery.locator("[data-count=held]")).to_have_text("0")
    artisan.step("winner sent")

    # And Léa's updates page has the news once, in one of the two versions
    buyer.nav("Updates")
    news = buyer.page.get_by_role("article").filter(has_text=TITLE)
    expect(news).to_have_count(1)
    text = news.inner_text()
    assert (VERSION_A in text) != (VERSION_B in text), text
    buyer.step("updates page with one version")
