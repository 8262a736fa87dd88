"""Offer and order cards in real Chromium: each reader's language, live updates in place.

A French buyer and a Spanish artisan have the same thread open; the cards are rendered by
each browser from the stored facts, and accepting the offer redraws the existing card.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import translation

from commerce import services
from commerce.models import Order
from commerce.services.offers import OfferLineInput
from conversations.services import start_conversation
from tests.webchat.browser import running_asgi_server, signed_in_context
from tests.webchat.test_browser_chat import TIMEOUT

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The listitem rule of axe-core: an <li> needs a <ul>/<ol> parent that is still a list, and
# a list holds only <li> (or script/template) children.
LISTITEM_VIOLATIONS_JS = """
() => {
  const bad = [];
  for (const li of document.querySelectorAll('li')) {
    const parent = li.parentElement;
    const isList = parent && ['UL', 'OL'].includes(parent.tagName) &&
      (!parent.getAttribute('role') || parent.getAttribute('role') === 'list');
    if (!isList) bad.push('li: ' + li.outerHTML.slice(0, 80));
  }
  for (const list of document.querySelectorAll('ul, ol')) {
    for (const child of list.children) {
      if (!['LI', 'SCRIPT', 'TEMPLATE'].includes(child.tagName)) bad.push('list: ' + child.outerHTML.slice(0, 80));
    }
  }
  return bad;
}
"""


@pytest.fixture
def server(transactional_db):
    with running_asgi_server() as base_url:
        yield base_url


def _gettext(language: str, text: str, context: str | None = None) -> str:
    with translation.override(language):
        return translation.pgettext(context, text) if context else translation.gettext(text)


def test_french_buyer_and_spanish_artisan_each_read_the_card_in_their_language(
    browser,
    server,
    buyer,
    artisan,
):
    from playwright.sync_api import expect

    buyer.preferred_language = "fr"
    buyer.save()
    artisan.preferred_language = "es"
    artisan.save()
    services.save_artisan_profile(
        user=artisan, shop_name="Casa Barro", story="Barro.", region="Oaxaca", country="MX"
    )
    conversation = start_conversation(buyer=buyer, artisan=artisan, subject="Bol")
    offer = services.send_offer(
        artisan=artisan,
        conversation=conversation,
        lines=[OfferLineInput(description="Bol à soupe", unit_price=Decimal("54.00"))],
        currency="EUR",
        lead_time_days=10,
        deposit_percent=50,
    )
    buyer_ctx = signed_in_context(browser, buyer, server, locale="fr-FR")
    artisan_ctx = signed_in_context(browser, artisan, server, locale="es-ES")
    try:
        mine = buyer_ctx.new_page()
        mine.goto(f"/messages/{conversation.pk}/")
        theirs = artisan_ctx.new_page()
        theirs.goto(f"/inbox/{conversation.pk}/")
        for page in (mine, theirs):
            page.wait_for_function(
                "() => window.atelierChat && window.atelierChat.controller.subscribed",
                timeout=TIMEOUT,
            )
        french_card = mine.locator(".chat-card-offer")
        spanish_card = theirs.locator(".chat-card-offer")

        # Then the buyer reads French, money as French writes it, and the one action
        expect(french_card.locator(".chat-card-title")).to_have_text("Offre v1")
        expect(french_card.locator(".badge")).to_have_text("En attente de réponse")
        expect(french_card.locator(".chat-card-total strong")).to_have_text("54,00\xa0€")
        review = french_card.get_by_role("link", name="Voir l’offre")
        expect(review).to_have_attribute("href", f"{server}/offers/{offer.pk}/")
        # and the artisan reads the same card in Spanish, without the buyer's action
        expect(spanish_card.locator(".chat-card-title")).to_have_text("Oferta v1")
        expect(spanish_card.locator(".badge")).to_have_text(_gettext("es", "Awaiting answer"))
        expect(spanish_card.locator("a")).to_have_count(0)
        french_text = french_card.inner_text()
        spanish_text = spanish_card.inner_text()
        for word in ("Oferta", "Anticipo", "días", "Esperando"):
            assert word not in french_text
        for word in ("Offre", "Acompte", "jours", "attente"):
            assert word not in spanish_text
        for page in (mine, theirs):
            assert page.evaluate(LISTITEM_VIOLATIONS_JS) == []

        # When the buyer opens the card's link in another tab and accepts there
        offer_page = buyer_ctx.new_page()
        offer_page.goto(review.get_attribute("href"))
        offer_page.get_by_role("button", name=_gettext("fr", "Accept and go to payment")).click()
        offer_page.wait_for_url(f"{server}/pay/**")
        order = Order.objects.get()

        # Then the existing card turns "accepted" live on both screens, without its button
        expect(french_card.locator(".badge")).to_have_text("Acceptée", timeout=TIMEOUT)
        expect(french_card.locator("a")).to_have_count(0)
        expect(spanish_card.locator(".badge")).to_have_text(_gettext("es", "Accepted"))
        expect(mine.locator(".chat-card-offer")).to_have_count(1)
        # and one short line says so, each in the reader's words
        expect(mine.locator(".msg-system-text").last).to_have_text(
            f"Offre v1 acceptée — commande {order.reference}"
        )
        expect(theirs.locator(".msg-system-text").last).to_have_text(
            f"Oferta v1 aceptada — pedido {order.reference}"
        )
        # and the order card asks the buyer (only) for the deposit, in euros the French way
        pay = mine.locator(".chat-card-order").get_by_role("link")
        expect(pay).to_have_text("Payer l’acompte de 27,00\xa0€")
        expect(pay).to_have_attribute("href", f"{server}/pay/{order.reference}/")
        expect(theirs.locator(".chat-card-order a")).to_have_text(
            _gettext("es", "View the order", "button")
        )
        assert mine.locator(".chat-card-link.btn:not(.btn-secondary)").count() == 1
    finally:
        buyer_ctx.close()
        artisan_ctx.close()
