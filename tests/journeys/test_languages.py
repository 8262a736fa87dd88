"""Journey 3: one custom-order thread, two languages. Léa reads it in French, Rosa in Spanish;
every card and system line is entirely in the reader's language.

The forbidden lists come from the catalogs: every card label, status and milestone template
(``commerce.card_render.card_strings``) and the order-step labels, rendered with
``translation.override`` in the other person's language and in English (the msgids), minus what
the reader's own language shares with them.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.journeys.flows import (
    artisan_signs_in,
    open_product,
    open_thread,
    pay_with_dev_gateway,
)
from tests.journeys.harness import (
    TIMEOUT,
    assert_no_foreign_strings,
    foreign_card_strings,
    foreign_strings,
    sample_image,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CARDS = "[data-chat-log] [data-card], [data-chat-log] .msg-system"


def card_catalog():
    from commerce.card_render import card_strings
    from commerce.history import STEP_LABELS

    return {"cards": card_strings(), "steps": [label() for label in STEP_LABELS.values()]}


def test_french_buyer_and_spanish_artisan_each_read_the_thread_in_their_language(people, shops):
    lea_login, rosa_login = shops["buyer@atelier.test"], shops["potter@atelier.test"]
    for_lea = foreign_card_strings("fr", ("es", "en"), card_catalog)
    for_rosa = foreign_card_strings("es", ("fr", "en"), card_catalog)
    page_for_lea = foreign_strings("fr", "es")
    page_for_rosa = foreign_strings("es", "fr")
    buyer = people("buyer", "fr")
    artisan = people("artisan", "es", tz="America/Mexico_City")

    # Given Léa asked about the bowl and Rosa answered with an offer (30 % deposit)
    buyer.open_home()
    buyer.nav("Sign in")
    buyer.sign_in(lea_login.email, lea_login.password)
    open_product(buyer, "Taller Rosa Méndez", "Cobalt breakfast bowl")
    buyer.choose(buyer.field("Glaze"), "Wood ash")
    buyer.click_button("Ask the artisan")
    buyer.say("Rosa Méndez", "Bonjour, est-ce possible en émail cendre ?")
    artisan_signs_in(artisan, rosa_login)
    open_thread(artisan, "Inbox", "Léa Martin")
    expect(artisan.chat_log()).to_contain_text("émail cendre", timeout=TIMEOUT)
    artisan.say("Léa Martin", "¡Claro! Te preparo una oferta.")
    artisan.page.locator(".inbox-conversation-pane").get_by_role(
        "link", name=artisan.t("Make an offer"), exact=True
    ).first.click()
    artisan.field("Deposit (%)").fill("30")
    artisan.field("Ready in (days)").fill("14")
    artisan.click_button("Send offer in the chat")
    expect(artisan.chat_log().locator("[data-card=offer]").last).to_be_visible(timeout=TIMEOUT)

    # …Léa accepted it, gave her address and paid the deposit
    card = buyer.chat_log().locator("[data-card=offer]").last
    expect(card).to_be_visible(timeout=TIMEOUT)
    buyer.step("offer card fr", forbidden=page_for_lea)
    assert_no_foreign_strings(buyer.page, for_lea, selector=CARDS, where="Léa's offer card")
    buyer.click_link("Review the offer", within=card)
    buyer.click_button("Accept and go to payment")
    buyer.page.get_by_label(buyer.t("A new address")).check()
    buyer.field("Full name").fill("Léa Martin")
    buyer.field("Address").fill("12 rue des Potiers")
    buyer.field("Postal code").fill("69003")
    buyer.field("City").fill("Lyon")
    buyer.field("Country").select_option("FR")
    buyer.click_button("Deliver here and continue to payment")
    buyer.step("pay page fr", forbidden=page_for_lea)
    pay_with_dev_gateway(buyer, "deposit")

    # …and Rosa posted a proof from her studio
    order_card = artisan.chat_log().locator("[data-card=order]").last
    expect(order_card).to_contain_text(artisan.t("Deposit paid"), timeout=TIMEOUT)
    reference = order_card.locator(".chat-card-title").inner_text().split()[-1]
    artisan.nav("Studio")
    artisan.page.get_by_role("link", name=reference, exact=True).click()
    artisan.step("studio order es", forbidden=page_for_rosa)
    proof_form = artisan.page.locator("form").filter(
        has=artisan.page.get_by_role("heading", name=artisan.t("Send a proof"))
    )
    proof_form.get_by_label(artisan.t("Proof image")).set_input_files(sample_image("proof.png"))
    artisan.click_button("Send proof", within=proof_form)

    # When each opens the thread
    open_thread(buyer, "Messages", "Rosa Méndez")
    open_thread(artisan, "Inbox", "Léa Martin")
    for person in (buyer, artisan):
        expect(person.chat_log().locator("[data-card=order]").last).to_be_visible(timeout=TIMEOUT)
        expect(person.chat_log().locator("[data-card=offer]").last).to_have_attribute(
            "data-status", "accepted"
        )

    # Then Léa's cards and milestones are entirely French, Rosa's entirely Spanish
    from commerce.models import OfferStatus

    for person, forbidden, page_forbidden in (
        (buyer, for_lea, page_for_lea),
        (artisan, for_rosa, page_for_rosa),
    ):
        offer = person.chat_log().locator("[data-card=offer]").last
        expect(offer).to_contain_text(person.t(OfferStatus.ACCEPTED.label._args[0]))
        person.step(f"thread read in {person.lang}", forbidden=page_forbidden)
        assert_no_foreign_strings(
            person.page, forbidden, selector=CARDS, where=f"{person.who}'s cards ({person.lang})"
        )
    # the proof card asks Léa, in French, to review it
    expect(buyer.chat_log().locator("[data-card=order]").last).to_contain_text(
        buyer.t("Review the proof")
    )
