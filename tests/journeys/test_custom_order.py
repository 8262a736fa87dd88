"""Journey 1: a custom order from the first question to the parcel, only by clicking and typing.

Léa (French buyer, phone) asks Rosa (Spanish potter, desktop, 2FA) about a bowl with a paid
option; Rosa answers live and makes an offer with a deposit from the thread; Léa accepts, enters
her address and pays the deposit (dev gateway); Rosa posts a proof, Léa approves it; Rosa marks
the piece ready, Léa pays the balance; Rosa ships it with tracking; Léa's order page shows the
stepper at "Shipped", and the address Rosa saw is the one Léa typed.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from tests.journeys.flows import (
    artisan_signs_in,
    open_product,
    open_thread_details,
    pay_with_dev_gateway,
)
from tests.journeys.harness import TIMEOUT, sample_image

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ADDRESS = {
    "Full name": "Léa Martin",
    "Address": "12 rue des Potiers",
    "Postal code": "69003",
    "City": "Lyon",
}


def test_custom_order_from_question_to_shipped_parcel(people, shops):
    lea_login, rosa_login = shops["buyer@atelier.test"], shops["potter@atelier.test"]
    buyer = people("buyer", "fr")
    artisan = people("artisan", "es", tz="America/Mexico_City")
    # Given Rosa's code for regular buyers, GRACIAS10 (10 % off; the campaign journey
    # creates one through the studio)
    from commerce.services.promos import PromoInput, create_promo_code

    create_promo_code(
        artisan=rosa_login.user,
        data=PromoInput(code="gracias10", kind="percent", value=Decimal("10")),
    )

    # And Léa on her phone, signed in, on the bowl's page with the wood-ash glaze picked
    buyer.open_home()
    buyer.step("home")
    buyer.nav("Sign in")
    buyer.sign_in(lea_login.email, lea_login.password)
    open_product(buyer, "Taller Rosa Méndez", "Cobalt breakfast bowl")
    buyer.choose(buyer.field("Glaze"), "Wood ash")
    buyer.field("Initials under the foot").fill("LM")
    # the price follows the option: 38 € + 4 €
    expect(buyer.page.locator("#live-price")).to_have_text(
        re.compile(re.escape(buyer.money("42.00")).replace("\u202f", r"\s"))
    )
    buyer.step("product with options")

    # …and Rosa at her desk, signed in with 2FA: she lands on her inbox
    artisan_signs_in(artisan, rosa_login)
    expect(artisan.page.get_by_role("heading", name=artisan.t("Inbox"), level=1)).to_be_visible()
    artisan.step("inbox after 2fa")

    # When Léa asks about the bowl
    buyer.click_button("Ask the artisan")
    expect(buyer.chat_box("Rosa Méndez")).to_be_visible()
    buyer.say("Rosa Méndez", "Bonjour ! Ce bol peut-il être prêt pour Noël ?")
    expect(buyer.chat_log()).to_contain_text("prêt pour Noël", timeout=TIMEOUT)
    buyer.step("asked in the thread")

    # Then the thread appears live in Rosa's inbox; she opens it and sees what Léa picked
    details = open_thread_details(artisan, "Léa Martin", contains="prêt pour Noël")
    expect(details.get_by_text("Cobalt breakfast bowl").first).to_be_visible()
    expect(details.get_by_text("Wood ash").first).to_be_visible()
    artisan.step("thread with context")

    # …and answers live
    artisan.say("Léa Martin", "¡Hola Léa! Sí, lo tengo listo en dos semanas.")
    expect(buyer.chat_log()).to_contain_text("dos semanas", timeout=TIMEOUT)
    buyer.step("answer arrived live")

    # When Rosa makes an offer from the thread: pre-filled, 30 % deposit
    artisan.page.locator(".inbox-conversation-pane").get_by_role(
        "link", name=artisan.t("Make an offer"), exact=True
    ).first.click()
    expect(artisan.page.get_by_role("heading", level=1)).to_contain_text("Léa Martin")
    expect(artisan.page.get_by_label(f"{artisan.t('Item')} 1", exact=True)).not_to_have_value("")
    artisan.field("Deposit (%)").fill("30")
    total = artisan.page.locator("#offer-total")
    expect(total).not_to_have_text("—")
    expect(artisan.page.locator("#deposit-amount")).not_to_have_text("—")
    offer_total = total.inner_text()
    artisan.step("offer composer")
    artisan.click_button("Send offer in the chat")
    expect(artisan.chat_log().locator("[data-card=offer]").last).to_be_visible(timeout=TIMEOUT)
    artisan.step("offer sent")

    # Then Léa sees the offer card live, in French, and opens it
    card = buyer.chat_log().locator("[data-card=offer]").last
    expect(card).to_be_visible(timeout=TIMEOUT)
    expect(card).to_contain_text(buyer.t("Deposit: %(amount)s (%(percent)s)").split("%")[0].strip())
    buyer.step("offer card")
    buyer.click_link("Review the offer", within=card)

    # When she accepts and enters her delivery address
    buyer.click_button("Accept and go to payment")
    expect(buyer.page.get_by_role("heading", name=buyer.t("Delivery address"))).to_be_visible()
    buyer.step("address step")
    buyer.page.get_by_label(buyer.t("A new address")).check()
    for label, value in ADDRESS.items():
        buyer.page.get_by_label(buyer.t(label), exact=True).fill(value)
    buyer.field("Country").select_option("FR")
    buyer.click_button("Deliver here and continue to payment")
    ship_to = buyer.page.locator("#ship-to")
    expect(ship_to).to_contain_text("12 rue des Potiers")
    deposit_line = buyer.page.locator("#deposit-line")
    full_deposit = deposit_line.inner_text()
    buyer.step("pay deposit")

    # …and applies Rosa's code: the deposit is the same share of the lower total
    buyer.field("Promo code").fill("gracias10")
    buyer.click_button("Apply")
    expect(buyer.page.locator("#promo-applied")).to_contain_text("GRACIAS10")
    expect(deposit_line).not_to_have_text(full_deposit)
    pay_link = buyer.page.get_by_role(
        "link",
        name=re.compile(
            re.escape(buyer.tf("Pay %(amount)s (test payment)", amount="__")).replace("__", ".*")
        ),
    )
    prefix, suffix = buyer.tf("Pay %(amount)s (test payment)", amount="__").split("__")
    due = pay_link.inner_text().strip().removeprefix(prefix).removesuffix(suffix)
    expect(deposit_line).to_contain_text(due)  # she pays the deposit the page states
    buyer.step("code on the deposit")

    # …and pays the deposit
    pay_with_dev_gateway(buyer, "deposit")
    buyer.step("deposit paid")

    # Then Rosa sees the order card update in the thread, and opens the order in her studio
    order_card = artisan.chat_log().locator("[data-card=order]").last
    expect(order_card).to_contain_text(artisan.t("Deposit paid"), timeout=TIMEOUT)
    reference = order_card.locator(".chat-card-title").inner_text().split()[-1]
    artisan.nav("Studio")
    artisan.page.get_by_role("link", name=reference, exact=True).click()
    expect(artisan.page.get_by_role("heading", name=artisan.t("Ship to"))).to_be_visible()
    shipped_to = (
        artisan.page.locator("section, div")
        .filter(has=artisan.page.get_by_role("heading", name=artisan.t("Ship to")))
        .last
    )
    for value in ADDRESS.values():
        expect(shipped_to).to_contain_text(value)
    artisan.step("studio order")
    proof_form = artisan.page.locator("form").filter(
        has=artisan.page.get_by_role("heading", name=artisan.t("Send a proof"))
    )
    proof_form.get_by_label(artisan.t("Proof image")).set_input_files(sample_image("proof.png"))
    proof_form.get_by_label(artisan.t("Note"), exact=True).fill("Esmalte de ceniza, iniciales LM.")
    artisan.click_button("Send proof", within=proof_form)
    artisan.step("proof sent")

    # When Léa opens the proof from her order and approves it
    buyer.nav("Orders")
    buyer.page.locator("main").get_by_role("link").filter(has_text="AT-").first.click()
    buyer.step("order with proof")
    buyer.click_button("Approve")
    approved = buyer.tf("Approved by %(name)s on %(date)s", name="Léa Martin", date="\0")
    buyer.sees(approved.split("\0")[0].strip())
    buyer.step("proof approved")

    # Then Rosa posts a progress update ("make the piece, post progress, then mark it ready"),
    # marks the piece ready, and Léa pays the balance
    artisan.page.reload()
    update_form = artisan.page.locator("form").filter(
        has=artisan.page.get_by_role("heading", name=artisan.t("Progress update"))
    )
    update_form.get_by_label(artisan.t("Note for the buyer"), exact=True).fill("¡En el horno!")
    artisan.click_button("Send update", within=update_form)
    artisan.step("progress update")
    artisan.click_button("Mark ready")
    artisan.step("marked ready")
    buyer.nav("Orders")
    buyer.page.locator("main").get_by_role("link").filter(has_text="AT-").first.click()
    buyer.page.get_by_role("link", name=re.compile(re.escape(buyer.t("Pay")))).first.click()
    buyer.step("pay balance")
    pay_with_dev_gateway(buyer, "balance")

    # When Rosa ships it with tracking
    artisan.page.reload()
    ship_form = artisan.page.locator("form").filter(
        has=artisan.page.get_by_role("heading", name=artisan.t("Ship"), exact=True)
    )
    ship_form.get_by_label(artisan.t("Carrier")).fill("Correos")
    ship_form.get_by_label(artisan.t("Tracking number")).fill("PQ123456789ES")
    artisan.click_button("Mark shipped", within=ship_form)
    artisan.step("shipped")

    # Then Léa's order page shows the stepper at "Shipped", the tracking and her address
    buyer.nav("Orders")
    buyer.page.locator("main").get_by_role("link").filter(has_text="AT-").first.click()
    current = buyer.page.locator(".stepper [aria-current=step]")
    expect(current).to_contain_text(buyer.t("Shipped", "order step"))
    expect(buyer.page.locator("main")).to_contain_text("PQ123456789ES")
    for value in ADDRESS.values():
        expect(buyer.page.locator("main")).to_contain_text(value)
    buyer.step("stepper at shipped")
    assert offer_total
