"""Journey 6: CSAT in the chat. Léa's (French, phone) bowl has been delivered; in her thread
with Rosa the chat asks "How did it go with this order?" with five buttons; she taps 4, then
changes to 5; Rosa (Spanish, desktop), with the thread open in her inbox, reads the answer
arrive in her own language; Léa coming back to the thread still sees her answer. Then
Rosa refunds the order from her studio, and Léa's question closes: her answer stays, the
buttons go, and the card says why.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from tests.journeys.flows import artisan_signs_in, buyer_signs_in, open_thread
from tests.journeys.harness import TIMEOUT, foreign_strings

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CSAT = "[data-chat-log] [data-card=csat]"


@pytest.fixture
def delivered_in_the_thread(shops):
    """Léa's bowl, shipped in her thread with Rosa, then reported delivered by the carrier
    (set-up data, like the shops: no person clicks "delivered")."""
    from commerce.models import ArtisanProfile, Order, OrderStatus, Payment, Product
    from commerce.services.orders import transition_order
    from conversations.services import post_message, start_conversation

    lea, rosa = shops["buyer@atelier.test"].user, shops["potter@atelier.test"].user
    bowl = Product.objects.get(title="Cobalt breakfast bowl")
    conversation = start_conversation(buyer=lea, artisan=rosa, subject=bowl.title)
    post_message(conversation=conversation, author=lea, text="Merci, j’ai hâte !",
                 client_id="csat-journey-1")  # fmt: skip
    order = Order.objects.create(
        reference="AT-LEA002",
        buyer=lea,
        artisan=rosa,
        shop=ArtisanProfile.objects.get(user=rosa),
        product=bowl,
        conversation=conversation,
        title=bowl.title,
        total=Decimal("50.00"),
        shipping_amount=Decimal("12.00"),
        amount_paid=Decimal("50.00"),
        currency="EUR",
        status=OrderStatus.SHIPPED,
    )
    # Paid through the local payment gateway (so Rosa can refund it from her studio).
    Payment.objects.create(
        order=order,
        provider="dev",
        provider_payment_id="dev_pay_LEA002",
        amount=Decimal("50.00"),
        currency="EUR",
        purpose="full",
        status="succeeded",
        idempotency_key="journey:AT-LEA002",
        applied_to_order=True,
    )
    return transition_order(order=order, to=OrderStatus.DELIVERED)


def test_a_buyer_rates_a_delivered_order_in_the_chat_and_the_artisan_reads_it(
    people, shops, delivered_in_the_thread
):
    lea_login, rosa_login = shops["buyer@atelier.test"], shops["potter@atelier.test"]
    buyer = people("buyer", "fr")
    artisan = people("artisan", "es", tz="America/Mexico_City")
    page_for_lea, page_for_rosa = foreign_strings("fr", "es"), foreign_strings("es", "fr")

    # Given Rosa at her desk with Léa's thread open: the question waits for Léa's answer
    artisan_signs_in(artisan, rosa_login)
    open_thread(artisan, "Inbox", "Léa Martin")
    rosa_card = artisan.page.locator(CSAT).last
    expect(rosa_card).to_contain_text(artisan.t("Waiting for the buyer's answer."))
    expect(rosa_card.get_by_role("button")).to_have_count(0)  # only the buyer answers
    artisan.step("inbox csat waiting", forbidden=page_for_rosa)

    # When Léa, on her phone, opens her thread with Rosa
    buyer_signs_in(buyer, lea_login)
    open_thread(buyer, "Messages", "Rosa Méndez")
    card = buyer.page.locator(CSAT).last
    expect(card).to_contain_text(buyer.t("How did it go with this order?"), timeout=TIMEOUT)
    scale = card.get_by_role("group", name=buyer.t("How did it go with this order?"))
    option = lambda n: scale.get_by_role(  # noqa: E731 - reads like the screen
        "button", name=buyer.tf("%(score)s out of 5", score=n), exact=True
    )
    for n in range(1, 6):
        expect(option(n)).to_be_visible()
        box = option(n).bounding_box()
        assert box["width"] >= 44 and box["height"] >= 44, (n, box)  # big enough for a thumb
    buyer.step("thread with the csat question", forbidden=page_for_lea)

    # And taps 4
    option(4).click()
    rated = buyer.tf("You rated this %(score)s out of 5", score=4)
    expect(card).to_contain_text(rated)
    expect(option(4)).to_have_attribute("aria-pressed", "true")
    buyer.step("rated 4", forbidden=page_for_lea)

    # Then changes her mind: 5
    option(5).click()
    expect(card).to_contain_text(buyer.tf("You rated this %(score)s out of 5", score=5))
    expect(option(5)).to_have_attribute("aria-pressed", "true")
    expect(option(4)).to_have_attribute("aria-pressed", "false")
    buyer.step("changed to 5", forbidden=page_for_lea)

    # Then Rosa's open thread shows Léa's answer, in Spanish, without reloading
    expect(rosa_card).to_contain_text(
        artisan.tf("The buyer rated this order %(score)s out of 5", score=5), timeout=TIMEOUT
    )
    artisan.step("inbox csat answered", forbidden=page_for_rosa)

    # And Léa, coming back to the thread later, still sees her answer
    buyer.nav("Orders")
    open_thread(buyer, "Messages", "Rosa Méndez")
    card = buyer.page.locator(CSAT).last
    expect(card).to_contain_text(buyer.tf("You rated this %(score)s out of 5", score=5))
    expect(
        card.get_by_role(
            "button", name=re.compile(re.escape(buyer.tf("%(score)s out of 5", score=5)))
        )
    ).to_have_attribute("aria-pressed", "true")
    buyer.step("thread again, answer kept", forbidden=page_for_lea)

    # When Rosa refunds the order from her studio
    artisan.nav("Studio")
    artisan.page.get_by_role("link", name="AT-LEA002").click()
    artisan.click_button("Refund in full")
    expect(artisan.page.get_by_role("status").first).to_contain_text(
        artisan.t("Saved and sent to the buyer."), timeout=TIMEOUT
    )
    artisan.step("order refunded", forbidden=page_for_rosa)

    # Then Léa's open thread closes the question: her answer stays, no buttons, the reason
    closed = buyer.t("This order was refunded, so it can no longer be rated.")
    expect(card).to_contain_text(closed, timeout=TIMEOUT)
    expect(card).to_contain_text(buyer.tf("You rated this %(score)s out of 5", score=5))
    expect(card.get_by_role("button")).to_have_count(0)
    buyer.step("csat closed after refund", forbidden=page_for_lea)

    # And Rosa's inbox still shows Léa's answer
    open_thread(artisan, "Inbox", "Léa Martin")
    rosa_card = artisan.page.locator(CSAT).last
    expect(rosa_card).to_contain_text(
        artisan.tf("The buyer rated this order %(score)s out of 5", score=5)
    )
    artisan.step("inbox csat after refund", forbidden=page_for_rosa)

    from commerce.models import CsatRating, OrderStatus

    rating = CsatRating.objects.get(order=delivered_in_the_thread)
    assert (rating.score, rating.channel) == (5, "web")
    delivered_in_the_thread.refresh_from_db()
    assert delivered_in_the_thread.status == OrderStatus.REFUNDED
