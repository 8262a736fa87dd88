"""Reviews: a verified buyer rates a delivered order's piece and shop, once; the artisan may
answer once. Reads (averages, lists) are in ``commerce.selectors``."""

from __future__ import annotations

from collections.abc import Sequence

from django.core.files.base import File
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from commerce.errors import InvalidInput, NotAllowed
from commerce.models import Order, OrderStatus, Review, ReviewPhoto
from commerce.services.photos import clean_photo
from core.models import User

TEXT_MAX = 2000
PHOTOS_MAX = 4
REVIEWABLE = (OrderStatus.DELIVERED,)


def can_review(order: Order, user: User) -> bool:
    return (
        order.buyer_id == user.pk
        and order.status in REVIEWABLE
        and not Review.objects.filter(order=order).exists()
    )


def _stars(value: object, field: str) -> int:
    try:
        stars = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        stars = 0
    if not 1 <= stars <= 5:
        raise InvalidInput(_("Choose 1 to 5 stars."), field=field)
    return stars


@transaction.atomic
def leave_review(
    *,
    buyer: User,
    order: Order,
    piece_rating: object,
    shop_rating: object,
    text: str = "",
    photos: Sequence[File] = (),
) -> Review:
    order = Order.objects.select_for_update().select_related("shop").get(pk=order.pk)
    if order.buyer_id != buyer.pk:
        raise NotAllowed(_("Only the buyer of this order can review it."))
    if order.status not in REVIEWABLE:
        raise InvalidInput(_("You can review an order once it has been delivered."))
    if Review.objects.filter(order=order).exists():
        raise InvalidInput(_("You have already reviewed this order."))
    text = (text or "").strip()
    if len(text) > TEXT_MAX:
        raise InvalidInput(
            _("The review is too long (at most %(max)s characters).") % {"max": TEXT_MAX},
            field="text",
        )
    photos = [photo for photo in photos if photo]
    if len(photos) > PHOTOS_MAX:
        raise InvalidInput(
            _("At most %(max)s photos per review.") % {"max": PHOTOS_MAX}, field="photos"
        )
    cleaned = [clean_photo(photo, field="photos") for photo in photos]
    review = Review(
        order=order,
        shop=order.shop,
        product_id=order.product_id,
        buyer=buyer,
        piece_rating=_stars(piece_rating, "piece_rating"),
        shop_rating=_stars(shop_rating, "shop_rating"),
        text=text,
    )
    try:
        with transaction.atomic():
            review.save()
    except IntegrityError as error:  # a second tab submitted first
        raise InvalidInput(_("You have already reviewed this order.")) from error
    for position, image in enumerate(cleaned):
        ReviewPhoto.objects.create(review=review, image=image, position=position)
    return review


@transaction.atomic
def reply_to_review(*, artisan: User, review: Review, text: str) -> Review:
    review = Review.objects.select_for_update().select_related("shop").get(pk=review.pk)
    if review.shop.user_id != artisan.pk:
        raise NotAllowed(_("This review is about another shop."))
    if review.replied_at is not None:
        raise InvalidInput(_("You have already answered this review."), field="reply")
    text = (text or "").strip()
    if not text:
        raise InvalidInput(_("Write your answer."), field="reply")
    if len(text) > TEXT_MAX:
        raise InvalidInput(
            _("The answer is too long (at most %(max)s characters).") % {"max": TEXT_MAX},
            field="reply",
        )
    review.reply, review.replied_at = text, timezone.now()
    review.save(update_fields=["reply", "replied_at"])
    return review
