"""Reviews: verified buyers only, once a delivered order; one per order; the artisan answers
once; averages on the piece's and the shop's pages; hidden reviews do not count."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from commerce import selectors
from commerce.errors import InvalidInput, NotAllowed
from commerce.models import Order, OrderStatus, Review
from commerce.services.reviews import leave_review, reply_to_review
from tests.commerce.conftest import png_upload
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def bowl(shop, artisan):
    from commerce import services

    return services.create_product(
        artisan=artisan,
        fields=services.ProductInput(title="Bowl", price="30.00", currency="EUR", stock_quantity=5),
    )


def delivered(buyer, artisan, shop, bowl, ref="AT-REV001", status=OrderStatus.DELIVERED):
    return Order.objects.create(
        reference=ref,
        buyer=buyer,
        artisan=artisan,
        shop=shop,
        product=bowl,
        title="Bowl",
        total=Decimal("30"),
        currency="EUR",
        status=status,
    )


def test_a_buyer_reviews_a_delivered_order_once_and_the_artisan_answers_once(
    buyer, artisan, shop, bowl
):
    order = delivered(buyer, artisan, shop, bowl)
    review = leave_review(
        buyer=buyer, order=order, piece_rating="5", shop_rating=4, text=" Lovely glaze. ",
        photos=[png_upload("bowl.png"), png_upload("foot.png", colour="#222222")],
    )  # fmt: skip
    assert (review.piece_rating, review.shop_rating, review.text) == (5, 4, "Lovely glaze.")
    photos = list(review.photos.all())
    assert review.product == bowl and len(photos) == 2
    assert [p.position for p in photos] == [0, 1]
    assert all(p.image.name.startswith("commerce/reviews/") for p in photos)
    with pytest.raises(InvalidInput, match="already reviewed"):
        leave_review(buyer=buyer, order=order, piece_rating=1, shop_rating=1)

    reply_to_review(artisan=artisan, review=review, text="Thank you, Léa!")
    with pytest.raises(InvalidInput, match="already answered"):
        reply_to_review(artisan=artisan, review=review, text="Again")
    other = make_user("other-artisan@example.com", role="artisan")
    with pytest.raises(NotAllowed):
        reply_to_review(artisan=other, review=review, text="Not mine")


@pytest.mark.parametrize("status", [OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.CANCELLED])
def test_only_a_delivered_order_can_be_reviewed(buyer, artisan, shop, bowl, status):
    order = delivered(buyer, artisan, shop, bowl, status=status)
    with pytest.raises(InvalidInput, match="once it has been delivered"):
        leave_review(buyer=buyer, order=order, piece_rating=5, shop_rating=5)


def test_only_the_buyer_and_only_one_to_five_stars(buyer, artisan, shop, bowl):
    order = delivered(buyer, artisan, shop, bowl)
    with pytest.raises(NotAllowed):
        leave_review(buyer=make_user("x@example.com"), order=order, piece_rating=5, shop_rating=5)
    for bad in (0, 6, "five", None):
        with pytest.raises(InvalidInput) as error:
            leave_review(buyer=buyer, order=order, piece_rating=bad, shop_rating=5)
        assert error.value.field == "piece_rating"
    with pytest.raises(InvalidInput) as error:
        leave_review(buyer=buyer, order=order, piece_rating=5, shop_rating=5, text="x" * 2001)
    assert error.value.field == "text"


def test_averages_on_the_pages_and_hidden_reviews_do_not_count(buyer, artisan, shop, bowl, client):
    second = make_user("second@example.com", display_name="Sam")
    leave_review(buyer=buyer, order=delivered(buyer, artisan, shop, bowl), piece_rating=5,
                 shop_rating=4, text="Lovely glaze.")  # fmt: skip
    hidden = leave_review(buyer=second, order=delivered(second, artisan, shop, bowl, "AT-REV002"),
                          piece_rating=1, shop_rating=1, text="Spam spam")  # fmt: skip
    assert selectors.rating_summary(shop=shop) == {"count": 2, "piece": 3.0, "shop": 2.5}
    Review.objects.filter(pk=hidden.pk).update(is_hidden=True)
    assert selectors.rating_summary(product=bowl) == {"count": 1, "piece": 5.0, "shop": 4.0}

    page = client.get(reverse("commerce:product", args=[shop.slug, bowl.slug])).content.decode()
    assert "Lovely glaze." in page and "Spam spam" not in page
    assert 'data-rating-count="1"' in page
    shop_page = client.get(reverse("commerce:shop_profile", args=[shop.slug])).content.decode()
    assert "Lovely glaze." in shop_page


def test_the_order_page_offers_the_form_and_posts_it(buyer, artisan, shop, bowl, client):
    order = delivered(buyer, artisan, shop, bowl)
    client.force_login(buyer)
    url = reverse("commerce:order_detail", args=[order.reference])
    assert 'id="review-form"' in client.get(url).content.decode()
    response = client.post(
        reverse("commerce:review_order", args=[order.reference]),
        {
            "piece_rating": "4",
            "shop_rating": "5",
            "text": "Arrived well packed.",
            "photos": [png_upload("a.png"), png_upload("b.png", colour="#334455")],
        },
        follow=True,
    )
    page = response.content.decode()
    assert 'id="your-review"' in page and "Arrived well packed." in page
    assert 'id="review-form"' not in page
    assert page.count('class="review-photo"') == 2 and "Photo 2 of 2 from the buyer" in page

    # Both photos on the piece's public page, in the order given.
    review = Review.objects.get(order=order)
    product_page = client.get(reverse("commerce:product", args=[shop.slug, bowl.slug]))
    html = product_page.content.decode()
    urls = [photo.image.url for photo in review.photos.all()]
    assert html.index(urls[0]) < html.index(urls[1])


def test_erasure_keeps_the_stars_and_drops_the_words(buyer, artisan, shop, bowl):
    from commerce.gdpr import erase_commerce

    review = leave_review(buyer=buyer, order=delivered(buyer, artisan, shop, bowl), piece_rating=5,
                          shop_rating=5, text="My name is Léa", photos=[png_upload()])  # fmt: skip
    [photo] = review.photos.all()
    storage, name = photo.image.storage, photo.image.name
    erase_commerce(buyer)
    review.refresh_from_db()
    assert review.text == "" and not review.photos.exists() and review.piece_rating == 5
    assert not storage.exists(name)


def test_at_most_four_photos_each_a_real_image(buyer, artisan, shop, bowl):
    from django.core.files.uploadedfile import SimpleUploadedFile

    order = delivered(buyer, artisan, shop, bowl)
    with pytest.raises(InvalidInput, match="At most 4 photos") as too_many:
        leave_review(buyer=buyer, order=order, piece_rating=5, shop_rating=5,
                     photos=[png_upload(f"p{n}.png") for n in range(5)])  # fmt: skip
    assert too_many.value.field == "photos"
    fake = SimpleUploadedFile("p.png", b"not an image", content_type="image/png")
    with pytest.raises(InvalidInput) as unreadable:
        leave_review(buyer=buyer, order=order, piece_rating=5, shop_rating=5,
                     photos=[png_upload(), fake])  # fmt: skip
    assert unreadable.value.field == "photos"
    assert not Review.objects.filter(order=order).exists()  # nothing half-saved
