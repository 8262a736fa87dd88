"""Journey 4: a shop's news (and a promo code). Léa (French, phone) follows Rosa's shop; Rosa (Spanish, desktop,
2FA) writes a campaign about the bowl with a photo in her studio, checks its audience and sends it; Léa
finds it on her updates page, opens the news's own page (in French, the bowl first, share
links) and the piece from it, answers it (Rosa's inbox shows the
thread with the news as its context) and unsubscribes in one tap; Rosa's campaign list and
report then count the delivery, the open, the click and the reply.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.journeys.flows import (
    EMMA_IN_LONDON,
    artisan_signs_in,
    buyer_signs_in,
    deliver_to_a_new_address,
    follows_the_shop,
    open_studio_campaigns,
    open_thread_details,
)
from tests.journeys.harness import TIMEOUT

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TITLE = "Hornada de diciembre"
BODY = "Nuevos tazones cobalto, recién salidos del horno."
BODY_FR = "De nouveaux bols bleu cobalt, tout juste sortis du four."
TITLE_FR = "Fournée de décembre"
ALT = "Seis tazones cobalto en un estante"
ALT_FR = "Six bols bleu cobalt sur une étagère"


def _kiln_photo(folder) -> str:
    """A photo on Rosa's computer, as she would pick it in the file chooser."""
    from PIL import Image

    path = folder / "hornada.jpg"
    Image.new("RGB", (960, 540), "#1f4e8c").save(path, format="JPEG")
    return str(path)


def test_a_follower_gets_the_shops_news_opens_it_and_unsubscribes(people, shops, tmp_path):
    lea_login, rosa_login = shops["buyer@atelier.test"], shops["potter@atelier.test"]
    buyer = people("buyer", "fr")
    artisan = people("artisan", "es", tz="America/Mexico_City")

    # Given Léa on her phone, signed in, follows Rosa's shop from its page
    buyer_signs_in(buyer, lea_login)
    follows_the_shop(buyer, "Taller Rosa Méndez")

    # And Rosa, at her desk, opens her campaigns: one follower, no campaign yet
    artisan_signs_in(artisan, rosa_login)
    open_studio_campaigns(artisan)
    expect(
        artisan.page.get_by_role("heading", name=artisan.t("Campaigns"), level=1)
    ).to_be_visible()
    expect(artisan.page.locator("main")).to_contain_text(
        artisan.t(
            "No campaigns yet. Tell your followers about a new piece, a kiln opening or a market day."
        )
    )
    artisan.step("campaigns empty")

    # When she writes one about the bowl, for her followers, on the updates page
    artisan.click_link("New campaign")
    artisan.field("Campaign name").fill(TITLE)
    artisan.field("Message").fill(BODY)
    artisan.choose(artisan.field("Who gets it"), artisan.t("People who follow your shop"))
    artisan.choose(artisan.field("Piece to feature"), "Cobalt breakfast bowl")
    # …with a photo of the kiln's batch, described for people who cannot see it
    artisan.field("Picture (optional)").set_input_files(_kiln_photo(tmp_path))
    artisan.field("Picture description (for screen readers)").fill(ALT)
    artisan.step("campaign form")
    artisan.click_button("Save draft")

    # Then the draft shows what people will read and who it reaches: Léa, on the updates page
    expect(artisan.page.get_by_role("heading", name=TITLE, level=1)).to_be_visible()
    preview = artisan.page.get_by_role("region", name=artisan.t("What people will read"))
    expect(preview.get_by_role("img", name=ALT)).to_be_visible()
    audience = artisan.page.get_by_role("region", name=artisan.t("Audience"))
    expect(audience).to_contain_text(re.compile(r"\b1\b"))
    artisan.step("draft with audience")

    # And she writes the French version herself rather than leave it to the machine
    artisan.click_link("Translations", within=audience)
    for label, text in (
        ("Campaign name", TITLE_FR),
        ("Message", BODY_FR),
        ("Picture description (for screen readers)", ALT_FR),
    ):
        french = artisan.page.get_by_role("region", name="Français")
        form = french.locator("form").filter(has=artisan.page.get_by_label(artisan.t(label)))
        form.get_by_label(artisan.t(label)).fill(text)
        artisan.click_button("Save my translation", within=form)
        expect(artisan.page.get_by_role("status")).to_contain_text(
            artisan.t("Your translation is saved.")
        )
    french = artisan.page.get_by_role("region", name="Français")
    expect(french.get_by_text(artisan.t("Your translation"), exact=True)).to_have_count(3)
    expect(artisan.page.get_by_role("region", name="Español")).to_have_count(0)
    artisan.step("own french translation")
    artisan.page.get_by_role("link", name=f"← {TITLE}").click()

    # When she sends it now
    artisan.click_button("Send now")

    # Then it is sent: one delivered
    expect(artisan.page.locator("#campaign-status")).to_have_text(
        artisan.t("Sent"), timeout=TIMEOUT
    )
    delivery = artisan.page.get_by_role("region", name=artisan.t("Delivery"))
    expect(delivery.locator("[data-count=sent]")).to_have_text("1")
    # …and its page gives her the public address to share
    public = artisan.page.get_by_role("region", name=artisan.t("Public page"))
    expect(public.get_by_role("link", name=artisan.t("Open the public page"))).to_be_visible()
    share = public.get_by_role("group", name=artisan.t("Share the campaign"))
    expect(share.get_by_role("link", name="WhatsApp")).to_be_visible()
    artisan.step("sent")

    # When Léa opens her updates page, the news is there with the piece
    buyer.nav("Updates")
    expect(
        buyer.page.get_by_role("heading", name=buyer.t("Updates from shops"), level=1)
    ).to_be_visible()
    news = buyer.page.get_by_role("article").filter(has_text=TITLE_FR)
    expect(news.get_by_text(BODY_FR)).to_be_visible()  # Rosa's own French
    expect(news.get_by_role("img", name=ALT_FR)).to_be_visible()  # the photo, described in French
    expect(news.get_by_text(BODY)).to_be_hidden()
    expect(news).to_contain_text("Cobalt breakfast bowl")
    buyer.step("updates page")
    news.get_by_text(buyer.t("Show original")).click()
    expect(news.get_by_text(BODY)).to_be_visible()  # the Spanish one tap away
    buyer.step("original shown")

    # …and taps "See the piece": the news's own page opens, in French, with the bowl first
    buyer.click_link("See the piece", within=news)
    expect(buyer.page.get_by_role("heading", name=TITLE_FR, level=1)).to_be_visible()
    expect(buyer.page.get_by_role("article").get_by_role("img", name=ALT_FR)).to_be_visible()
    # Rosa wrote this French herself: it is not labelled a machine translation
    expect(buyer.page.get_by_text(buyer.t("Machine translated"))).to_have_count(0)
    pieces = buyer.page.get_by_role(
        "region", name=buyer.tf("Pieces from %(shop_name)s", shop_name="Taller Rosa Méndez")
    )
    expect(pieces.get_by_role("link").first).to_contain_text("Cobalt breakfast bowl")
    share = buyer.page.get_by_role("group", name=buyer.t("Share"))
    expect(share.get_by_role("link", name="Telegram")).to_be_visible()
    expect(share.get_by_role("button", name=buyer.t("Copy link"))).to_be_visible()
    buyer.step("the news's page")

    # …where "See the piece" opens the bowl's page
    buyer.click_link("See the piece", within=buyer.page.get_by_role("article"))
    expect(buyer.page.get_by_role("heading", name="Cobalt breakfast bowl", level=1)).to_be_visible()
    buyer.step("piece from the news")

    # When she goes back to her updates and answers the news
    buyer.nav("Updates")
    news = buyer.page.get_by_role("article").filter(has_text=TITLE_FR)
    news.get_by_role(
        "button", name=buyer.tf("Reply to %(shop)s", shop="Taller Rosa Méndez")
    ).click()
    expect(buyer.chat_box("Rosa Méndez")).to_be_visible()
    buyer.say("Rosa Méndez", "Bonjour ! Il vous en reste en bleu cobalt ?")
    expect(buyer.chat_log()).to_contain_text("bleu cobalt", timeout=TIMEOUT)
    buyer.step("reply in the thread")

    # Then Rosa's inbox lists the thread, with the news she sent as its context
    artisan.nav("Inbox")
    details = open_thread_details(artisan, "Léa Martin", contains="bleu cobalt")
    expect(details).to_contain_text(artisan.t("Replied to the shop's news"))
    expect(details).to_contain_text(TITLE)
    artisan.step("reply with the news as context")

    # When Léa goes back to her updates and unsubscribes, in one tap
    buyer.nav("Updates")
    news = buyer.page.get_by_role("article").filter(has_text=TITLE_FR)
    buyer.click_link("Unsubscribe", within=news)
    expect(
        buyer.page.get_by_role("heading", name=buyer.t("Unsubscribe from shop news?"))
    ).to_be_visible()
    buyer.step("unsubscribe asks")
    buyer.page.get_by_role("main").get_by_role(
        "button", name=buyer.name("Unsubscribe", exact=True)
    ).click()
    expect(buyer.page.get_by_role("heading", name=buyer.t("You're unsubscribed"))).to_be_visible()
    buyer.step("unsubscribed")

    # Then Rosa's campaign list counts the delivery, the open and the click
    open_studio_campaigns(artisan)
    row = artisan.page.get_by_role("row").filter(has_text=TITLE)
    expect(row.get_by_role("cell")).to_have_text([TITLE, artisan.t("Sent"), "1", "1", "1"])
    artisan.step("campaign list with engagement")

    # …and the campaign's page has the funnel: reached, opened, clicked and replied, 1 each
    row.get_by_role("link", name=TITLE).click()
    report = artisan.page.get_by_role("region", name=artisan.t("Engagement"))
    for step in ("sent", "opened", "clicked", "replied"):
        expect(report.locator(f"[data-step={step}] [data-count]")).to_have_text("1")
    expect(report.locator("[data-step=converted] [data-count]")).to_have_text("0")
    artisan.step("campaign report")

    # And her shop's engagement page: one follower (Léa still follows), one campaign sent
    artisan.click_link(
        "Engagement",
        within=artisan.page.get_by_role("navigation", name=artisan.name("Studio", exact=True)),
    )
    expect(
        artisan.page.get_by_role("heading", name=artisan.t("Engagement"), level=1)
    ).to_be_visible()
    expect(artisan.page.locator("[data-figure=followers]")).to_have_text("1")
    expect(artisan.page.locator("[data-figure=new_followers]")).to_have_text("1")
    expect(artisan.page.locator("[data-figure=campaigns]")).to_have_text("1")
    expect(artisan.page.locator("[data-figure=csat]")).to_have_text(artisan.t("No ratings yet"))
    artisan.step("shop engagement")


def test_an_artisan_creates_a_code_and_a_buyer_applies_it_at_checkout(people, shops):
    emma, rosa_login = shops["buyer-en@atelier.test"], shops["potter@atelier.test"]
    artisan = people("artisan", "es", tz="America/Mexico_City")
    buyer = people("buyer", "en", tz="Europe/London")

    # Given Rosa in her studio's promo codes: none yet
    artisan_signs_in(artisan, rosa_login)
    artisan.nav("Studio")
    artisan.click_link(
        "Promo codes",
        within=artisan.page.get_by_role("navigation", name=artisan.name("Studio", exact=True)),
    )
    expect(artisan.page.locator("main")).to_contain_text(
        artisan.t("No codes yet. Create one to offer in a campaign or to regular buyers.")
    )
    artisan.step("no codes")

    # When she creates NAVIDAD10: 10 % off from 30 €
    artisan.field("Code").fill("navidad10")
    artisan.choose(artisan.field("Discount"), artisan.t("Percentage off"))
    artisan.field("Amount or percentage").fill("10")
    artisan.field("Minimum order (before shipping)").fill("30")
    artisan.click_button("Create the code")
    row = artisan.page.get_by_role("row").filter(has_text="NAVIDAD10")
    expect(row).to_be_visible()
    expect(row).to_contain_text(artisan.t("Active"))
    artisan.step("code created")

    # And Emma on her phone orders the bowl and reaches the pay page
    buyer_signs_in(buyer, emma)
    buyer.nav("Shop")
    buyer.page.get_by_role("link", name="Taller Rosa Méndez").first.click()
    buyer.page.get_by_role("link", name="Cobalt breakfast bowl").first.click()
    buyer.click_button("Order and pay")
    deliver_to_a_new_address(buyer, EMMA_IN_LONDON, "GB")
    total = buyer.page.locator("table.receipt tfoot")
    expect(total).to_contain_text(buyer.money("63.00"))  # 38 € + 25 € shipping
    buyer.step("pay page")

    # When she types a code that does not exist, she is told so under the field
    buyer.field("Promo code").fill("NAVIDAD")
    buyer.click_button("Apply")
    expect(buyer.page.locator("#promo-error")).to_contain_text(
        buyer.tf("There is no code “%(code)s” at this shop.", code="NAVIDAD")
    )
    buyer.step("unknown code")

    # …and with Rosa's code, 10 % of the bowl (not the shipping) comes off
    buyer.field("Promo code").fill("navidad10")
    buyer.click_button("Apply")
    expect(buyer.page.locator("#promo-applied")).to_contain_text("NAVIDAD10")
    expect(total).to_contain_text(buyer.money("59.20"))
    expect(buyer.page.locator("table.receipt")).to_contain_text(
        buyer.tf("Promo code %(code)s", code="NAVIDAD10")
    )
    expect(
        buyer.page.get_by_role(
            "link",
            name=buyer.tf("Pay %(amount)s (test payment)", amount=buyer.money("59.20")),
        )
    ).to_be_visible()
    buyer.step("code applied")
