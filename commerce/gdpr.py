"""GDPR for commerce: export a person's shop, requests, offers, orders, payouts; erase
personal fields while keeping order, payment and ledger records (legal retention)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from commerce.models import (
    ArtisanProfile,
    CustomRequest,
    Offer,
    Order,
    PayoutRequest,
    Product,
    ProductStatus,
    ShippingAddress,
)
from core.gdpr import register_eraser, register_exporter
from core.models import User

ERASED = "[erased]"


def export_commerce(user: User) -> dict[str, Any]:
    profile = ArtisanProfile.objects.filter(user=user).first()
    return {
        "shop": (
            {
                "shop_name": profile.shop_name,
                "story": profile.story,
                "process": profile.process,
                "region": profile.region,
                "country": profile.country,
                "languages": profile.languages,
                "materials": profile.materials,
                "handmade_declaration": profile.handmade_declaration,
                "claim_status": profile.claim_status,
            }
            if profile
            else None
        ),
        "shipping_addresses": [
            {
                "full_name": a.full_name,
                "line1": a.line1,
                "line2": a.line2,
                "city": a.city,
                "region": a.region,
                "postal_code": a.postal_code,
                "country": a.country.code,
                "phone": a.phone,
                "is_default": a.is_default,
                "created_at": a.created_at.isoformat(),
            }
            for a in ShippingAddress.objects.filter(buyer=user).order_by("id")
        ],
        "custom_requests": [
            {
                "id": r.pk,
                "role": "buyer" if r.buyer_id == user.pk else "artisan",
                "description": r.description,
                "budget": str(r.budget) if r.budget is not None else None,
                "currency": r.budget_currency,
                "deadline": r.deadline.isoformat() if r.deadline else None,
                "status": r.status,
                "created_at": r.created_at.isoformat(),
            }
            for r in CustomRequest.objects.filter(Q(buyer=user) | Q(artisan=user)).order_by("id")
        ],
        "offers": [
            {
                "id": o.pk,
                "kind": o.kind,
                "version": o.version,
                "status": o.status,
                "total": str(o.total),
                "currency": o.currency,
                "lines": [
                    {
                        "description": ln.description,
                        "quantity": ln.quantity,
                        "unit_price": str(ln.unit_price),
                    }
                    for ln in o.lines.all()
                ],
                "created_at": o.created_at.isoformat(),
                "history": [
                    {
                        "from_status": e.from_status,
                        "status": e.to_status,
                        "code": e.code,
                        "data": e.data,
                        "at": e.created_at.isoformat(),
                    }
                    for e in o.events.all()
                ],
            }
            for o in Offer.objects.filter(Q(buyer=user) | Q(artisan=user)).order_by("id")
        ],
        "orders": [
            {
                "reference": o.reference,
                "role": "buyer" if o.buyer_id == user.pk else "artisan",
                "title": o.title,
                "status": o.status,
                "total": str(o.total),
                "currency": o.currency,
                "amount_paid": str(o.amount_paid),
                "spec": o.spec_snapshot,
                "shipping_name": o.shipping_name,
                # The buyer's own address; an artisan's export does not carry their buyers'.
                "shipping_address": o.shipping_address if o.buyer_id == user.pk else None,
                "shipping_amount": str(o.shipping_amount),
                "created_at": o.created_at.isoformat(),
                "history": [
                    {
                        "type": e.type,
                        "status": e.new_status,
                        "code": e.code,
                        "data": e.data,
                        "note": e.note,
                        "at": e.created_at.isoformat(),
                    }
                    for e in o.events.all()
                ],
            }
            for o in Order.objects.filter(Q(buyer=user) | Q(artisan=user)).order_by("id")
        ],
        "payout_requests": [
            {
                "amount": str(p.amount),
                "currency": p.currency,
                "status": p.status,
                "requested_at": p.requested_at.isoformat(),
            }
            for p in PayoutRequest.objects.filter(artisan=user).order_by("id")
        ],
        **_export_marketing(user),
    }


def _export_marketing(user: User) -> dict[str, Any]:
    from commerce.models import CampaignRecipient, CsatRating, Favourite, Follow, Review

    return {
        "csat_ratings": [
            {
                "order": r.order.reference,
                "score": r.score,
                "channel": r.channel,
                "at": r.created_at.isoformat(),
                "updated_at": r.updated_at.isoformat(),
            }
            for r in CsatRating.objects.filter(buyer=user).select_related("order").order_by("id")
        ],
        "reviews": [
            {
                "order": r.order.reference,
                "piece_rating": r.piece_rating,
                "shop_rating": r.shop_rating,
                "text": r.text,
                "reply": r.reply,
                "at": r.created_at.isoformat(),
            }
            for r in Review.objects.filter(buyer=user).select_related("order").order_by("id")
        ],
        "follows": [
            {"shop": f.shop.shop_name, "since": f.created_at.isoformat()}
            for f in Follow.objects.filter(user=user).select_related("shop").order_by("id")
        ],
        "favourites": [
            {"product": f.product.title, "since": f.created_at.isoformat()}
            for f in Favourite.objects.filter(user=user).select_related("product").order_by("id")
        ],
        "campaign_messages": [
            {
                "shop": r.campaign.shop.shop_name,
                "campaign": r.campaign.title,
                "channel": r.channel,
                "state": r.state,
                "sent_at": r.sent_at.isoformat() if r.sent_at else None,
                "opened_at": r.opened_at.isoformat() if r.opened_at else None,
                "clicked_at": r.clicked_at.isoformat() if r.clicked_at else None,
            }
            for r in CampaignRecipient.objects.filter(user=user)
            .select_related("campaign__shop")
            .order_by("id")
        ],
    }


def _scrub_snapshot(snapshot: dict[str, Any]) -> dict[str, Any]:
    """Free-text personalisation (names, dedications) and request briefs are personal data."""
    snapshot = dict(snapshot)
    if snapshot.get("options"):
        snapshot["options"] = [
            {**opt, "value": ERASED} if opt.get("price_delta") == "0" else opt
            for opt in snapshot["options"]
        ]
    if isinstance(snapshot.get("custom_request"), dict):
        snapshot["custom_request"] = {**snapshot["custom_request"], "description": ERASED}
    return snapshot


def erase_commerce(user: User) -> None:
    from commerce.models import CampaignRecipient, CsatRating, Favourite, Follow

    ShippingAddress.objects.filter(buyer=user).delete()
    # Who followed, saved and read what is personal; campaign totals keep their counts
    # only through rows of people who are still here.
    Follow.objects.filter(user=user).delete()
    Favourite.objects.filter(user=user).delete()
    CampaignRecipient.objects.filter(user=user).delete()
    # In-chat CSAT answers go entirely (unlike a review's public stars, nobody else sees them).
    CsatRating.objects.filter(buyer=user).delete()
    # A review's stars stay (anonymous, so the averages do not move); its words and photo go.
    from commerce.models import Review

    for review in Review.objects.filter(buyer=user):
        for photo in review.photos.all():
            photo.image.delete(save=False)
            photo.delete()
        review.text = ""
        review.save(update_fields=["text"])
    for order in Order.objects.filter(buyer=user):
        order.shipping_name = ""
        order.shipping_address = {}
        order.buyer_note = ""
        order.spec_snapshot = _scrub_snapshot(order.spec_snapshot)
        order.save(
            update_fields=["shipping_name", "shipping_address", "buyer_note", "spec_snapshot"]
        )
    for request in CustomRequest.objects.filter(buyer=user):
        for image in request.images.all():
            image.image.delete(save=False)
            image.delete()
        request.description = ERASED
        request.save(update_fields=["description"])
    profile = ArtisanProfile.objects.filter(user=user).first()
    if profile is not None:
        for photo in profile.photos.all():
            photo.image.delete(save=False)
            photo.delete()
        # A campaign's picture may show the artisan: it goes with the shop's photos.
        for campaign in profile.campaigns.exclude(image=""):
            campaign.image.delete(save=False)
            campaign.image_alt = ""
            campaign.save(update_fields=["image", "image_alt"])
        profile.shop_name = "Closed shop"
        profile.tagline = profile.story = profile.process = profile.helpers_note = ""
        profile.region = profile.materials = ""
        profile.is_public = False
        profile.save()
        Product.objects.filter(shop=profile).update(status=ProductStatus.HIDDEN)


register_exporter("commerce", export_commerce)
register_eraser("commerce", erase_commerce)
