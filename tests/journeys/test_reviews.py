"""Journey 5: a review. Léa (French, phone) has received Rosa's bowl; from her orders she
rates the piece and the shop and writes a line; the shop page shows it with the average;
Rosa (Spanish, desktop) answers it from her studio; the bowl's page shows both.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from tests.journeys.flows import artisan_signs_in, buyer_signs_in, open_product
from tests.journeys.harness import sample_image

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEXT = "Magnifique bol, l’émail est encore plus beau en vrai."
ANSWER = "¡Gracias, Léa! Que lo disfrutes."


@pytest.fixture
def delivered_bowl(shops):
    """Léa's order of the bowl, delivered (set-up data, like the shops themselves)."""
    from commerce.models import ArtisanProfile, Order, OrderStatus, Product

    rosa = shops["potter@atelier.test"].user
    bowl = Product.objects.get(title="Cobalt breakfast bowl")
    return Order.objects.create(
        reference="AT-LEA001",
        buyer=shops["buyer@atelier.test"].user,
        artisan=rosa,
        shop=ArtisanProfile.objects.get(user=rosa),
        product=bowl,
        title=bowl.title,
        total=Decimal("50.00"),
        shipping_amount=Decimal("12.00"),
        amount_paid=Decimal("50.00"),
        currency="EUR",
        status=OrderStatus.DELIVERED,
        spec_snapshot={"source": "product", "product": {"id": bowl.pk, "title": bowl.title,
                       "base_price": "38.00"}, "quantity": 1, "total": "50.00"},
    )  # fmt: skip


def test_a_buyer_reviews_a_delivered_piece_and_the_artisan_answers(people, shops, delivered_bowl):
    lea_login, rosa_login = shops["buyer@atelier.test"], shops["potter@atelier.test"]
    buyer = people("buyer", "fr")
    artisan = people("artisan", "es", tz="America/Mexico_City")

    # Given Léa on her phone, signed in, on her delivered order
    buyer_signs_in(buyer, lea_login)
    buyer.nav("Orders")
    buyer.page.locator("main").get_by_role("link").filter(has_text="AT-LEA001").first.click()
    form = buyer.page.locator("#review-form")
    expect(form).to_be_visible()
    buyer.step("order with review form")

    # When she gives the piece 5 stars, the shop 4, and writes a line
    piece = form.get_by_role("group", name=buyer.t("The piece"))
    piece.get_by_label(re.compile(r"^\s*5\b")).check()  # "5 étoiles"
    shop = form.get_by_role("group", name=buyer.t("The shop"))
    shop.get_by_label(re.compile(r"^\s*4\b")).check()
    buyer.field("Your review (optional)").fill(TEXT)
    # …and adds two photos of the bowl from her phone
    buyer.field("Photos of the piece (optional)").set_input_files(
        [sample_image("bowl.png"), sample_image("foot.png")]
    )
    buyer.step("review filled")
    buyer.click_button("Post the review")

    # Then the order shows her review, and the shop page lists it with the average
    expect(buyer.page.locator("#your-review")).to_contain_text(TEXT)
    expect(buyer.page.locator("#your-review .review-photo")).to_have_count(2)
    buyer.step("review posted")
    buyer.nav("Shop")
    buyer.page.get_by_role("link", name="Taller Rosa Méndez").first.click()
    reviews = buyer.page.get_by_role("region", name=buyer.t("Reviews"))
    expect(reviews).to_contain_text(TEXT)
    # The average as the reader's locale writes it ("4,0" in French)
    expect(reviews.locator(".review-summary")).to_contain_text(re.compile(r"4[.,]0"))
    for n in (1, 2):
        photo = buyer.tf("Photo %(n)s of %(total)s from the buyer", n=n, total=2)
        picture = reviews.get_by_role("img", name=photo)
        picture.scroll_into_view_if_needed()  # lazy: it loads as she scrolls to it
        expect(picture).to_be_visible()
    buyer.step("shop page with the review")

    # When Rosa opens her studio's reviews and answers it
    artisan_signs_in(artisan, rosa_login)
    artisan.nav("Studio")
    artisan.click_link(
        "Reviews",
        within=artisan.page.get_by_role("navigation", name=artisan.name("Studio", exact=True)),
    )
    expect(artisan.page.locator("main")).to_contain_text(TEXT)
    artisan.field("Answer publicly (once)").fill(ANSWER)
    artisan.step("answering")
    artisan.click_button("Post the answer")
    expect(artisan.page.locator("main")).to_contain_text(ANSWER)
    expect(artisan.button("Post the answer")).to_have_count(0)
    artisan.step("answered")

    # Then the bowl's page shows the review, its 5 stars and Rosa's answer
    open_product(buyer, "Taller Rosa Méndez", "Cobalt breakfast bowl")
    reviews = buyer.page.get_by_role("region", name=buyer.t("Reviews"))
    expect(reviews.locator(".review-summary")).to_contain_text(re.compile(r"5[.,]0"))
    expect(reviews).to_contain_text(TEXT)
    expect(reviews).to_contain_text(ANSWER)
    buyer.step("piece page with the answer")
