"""Commerce reads, including who may see what.

Custom-order details (requests, offers, custom orders) are visible only to the buyer, the
artisan and platform admins; every lookup here returns 404 to anyone else so that the
existence of an order is not revealed either.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from commerce.models import (
    ArtisanProfile,
    CustomRequestImage,
    Offer,
    Order,
    Product,
    ProductionStage,
    ProductStatus,
    Proof,
    Shipment,
)
from core.models import User


def is_party(user: User, *, buyer_id: int, artisan_id: int) -> bool:
    if not user.is_authenticated:
        return False
    return user.pk in (buyer_id, artisan_id) or user.is_platform_admin


def order_for_viewer(*, reference: str, user: User) -> Order:
    if "\x00" in reference:  # no reference has one, and PostgreSQL refuses to compare it
        raise Http404("No such order.")
    order = (
        Order.objects.select_related("shop", "buyer", "artisan", "conversation", "offer")
        .filter(reference=reference)
        .first()
    )
    if order is None or not is_party(user, buyer_id=order.buyer_id, artisan_id=order.artisan_id):
        raise Http404("No such order.")
    return order


def offer_for_viewer(*, offer_id: int, user: User) -> Offer:
    offer = Offer.objects.select_related("conversation", "order").filter(pk=offer_id).first()
    if offer is None or not is_party(user, buyer_id=offer.buyer_id, artisan_id=offer.artisan_id):
        raise Http404("No such offer.")
    return offer


def public_shops() -> QuerySet[ArtisanProfile]:
    return ArtisanProfile.objects.filter(is_public=True, user__is_active=True)


def listed_products() -> QuerySet[Product]:
    return (
        Product.objects.filter(status=ProductStatus.ACTIVE, shop__is_public=True)
        .select_related("shop", "category")
        .prefetch_related("photos")
    )


def search_products(
    *,
    text: str = "",
    category_slug: str = "",
    region: str = "",
    min_price: Decimal | None = None,
    max_price: Decimal | None = None,
) -> QuerySet[Product]:
    """Shop search. Prices compare within each listing's own currency (no FX conversion)."""
    qs = listed_products()
    if text:
        for word in text.split()[:6]:
            qs = qs.filter(
                Q(title__icontains=word)
                | Q(description__icontains=word)
                | Q(tags__icontains=word)
                | Q(shop__shop_name__icontains=word)
                | Q(shop__materials__icontains=word)
            )
    if category_slug:
        qs = qs.filter(category__slug=category_slug)
    if region:
        qs = qs.filter(Q(shop__region__icontains=region) | Q(shop__country__iexact=region))
    if min_price is not None:
        qs = qs.filter(price__gte=min_price)
    if max_price is not None:
        qs = qs.filter(price__lte=max_price)
    return qs.order_by("-created_at", "-id")


def buyer_orders(*, buyer: User) -> QuerySet[Order]:
    return Order.objects.filter(buyer=buyer).select_related("shop").order_by("-created_at")


def artisan_orders(*, artisan: User, status: str = "") -> QuerySet[Order]:
    qs = Order.objects.filter(artisan=artisan).select_related("buyer").order_by("-created_at")
    return qs.filter(status=status) if status else qs


def shipments_for_partner(*, user: User) -> QuerySet[Shipment]:
    qs = Shipment.objects.select_related("order", "provider").order_by("-created_at")
    if user.is_platform_admin:
        return qs
    return qs.filter(provider__members=user)


# --- Private media checks (core.media): the parties to the request/order, and admins ---------


def request_image_readable(user: User, name: str) -> bool:
    image = CustomRequestImage.objects.select_related("request").filter(image=name).first()
    return image is not None and is_party(
        user, buyer_id=image.request.buyer_id, artisan_id=image.request.artisan_id
    )


def stage_photo_readable(user: User, name: str) -> bool:
    stage = ProductionStage.objects.select_related("order").filter(photo=name).first()
    return stage is not None and is_party(
        user, buyer_id=stage.order.buyer_id, artisan_id=stage.order.artisan_id
    )


def proof_image_readable(user: User, name: str) -> bool:
    proof = Proof.objects.select_related("order").filter(image=name).first()
    return proof is not None and is_party(
        user, buyer_id=proof.order.buyer_id, artisan_id=proof.order.artisan_id
    )


def is_following(user: Any, shop: ArtisanProfile) -> bool:
    from commerce.models import Follow

    return bool(user.is_authenticated) and Follow.objects.filter(user=user, shop=shop).exists()


def has_favourited(user: Any, product: Product) -> bool:
    from commerce.models import Favourite

    return (
        bool(user.is_authenticated)
        and Favourite.objects.filter(user=user, product=product).exists()
    )


def visible_reviews(**filters: Any) -> QuerySet:
    from commerce.models import Review

    return (
        Review.objects.filter(is_hidden=False, **filters)
        .select_related("buyer")
        .prefetch_related("photos")
    )


def rating_summary(**filters: Any) -> dict[str, Any]:
    """``{"count", "piece", "shop"}``: how many visible reviews and their average stars."""
    from django.db.models import Avg, Count

    row = visible_reviews(**filters).aggregate(
        count=Count("id"), piece=Avg("piece_rating"), shop=Avg("shop_rating")
    )
    return {
        "count": row["count"],
        "piece": round(row["piece"], 1) if row["piece"] is not None else None,
        "shop": round(row["shop"], 1) if row["shop"] is not None else None,
    }


def csat_rating(*, order: Order) -> Any:
    """The buyer's CSAT answer for ``order`` (a ``CsatRating``), or None if not given yet."""
    from commerce.models import CsatRating

    return CsatRating.objects.filter(order=order).first()
