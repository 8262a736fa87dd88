"""A campaign's public page: what its links lead to and what people share.

``/shop/<shop>/news/<campaign>/`` shows the campaign in the visitor's language, its piece
first and a few more of the shop's pieces beside it, the promo code while it can still be
used, and OpenGraph/Twitter cards so a shared link previews as the campaign. It is public
once the campaign has gone out (sending or sent); before that only its artisan sees it, as a
preview. A cancelled campaign's page is gone (410): a moderator may have stopped it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db.models import Case, IntegerField, Value, When
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from commerce import selectors
from commerce.campaign_delivery import CampaignView, landing_path, render_campaign
from commerce.models import Campaign, CampaignStatus, Product, PromoCode
from commerce.serializers import absolute_url
from commerce.services import promos
from core import l10n
from core.models import User

# The featured piece and up to this many more of the shop's pieces.
MORE_PIECES = 5
PUBLIC_STATUSES = (CampaignStatus.SENDING, CampaignStatus.SENT)


@dataclass(frozen=True)
class PromoOnPage:
    code: str
    is_open: bool
    min_order: str  # "" when any order qualifies


@dataclass(frozen=True)
class LandingPage:
    campaign: Campaign
    view: CampaignView
    products: list[Product]
    promo: PromoOnPage | None
    page_url: str
    og_image: str
    description: str
    is_preview: bool


def is_public(campaign: Campaign) -> bool:
    return campaign.status in PUBLIC_STATUSES


def is_gone(campaign: Campaign) -> bool:
    return campaign.status == CampaignStatus.CANCELLED


def promo_on_page(promo: PromoCode | None) -> PromoOnPage | None:
    if promo is None:
        return None
    minimum = promo.min_order
    return PromoOnPage(
        code=promo.code,
        is_open=promos.is_open(promo, now=timezone.now()),
        min_order=l10n.format_money(minimum, promo.currency) if minimum else "",
    )


def landing_products(campaign: Campaign) -> list[Product]:
    """The campaign's piece first, then the shop's newest other pieces."""
    pieces = selectors.listed_products().filter(shop=campaign.shop)
    featured = campaign.product_id or 0
    pieces = pieces.annotate(
        featured=Case(
            When(pk=featured, then=Value(0)), default=Value(1), output_field=IntegerField()
        )
    ).order_by("featured", "-created_at", "-pk")
    return list(pieces[: MORE_PIECES + 1])


def version_key(campaign: Campaign) -> str:
    """Where a click on a recipient's link keeps the A/B version they were sent (session)."""
    return f"campaign-version-{campaign.pk}"


def landing_page(
    campaign: Campaign, *, viewer: User | None, version: str | None = None
) -> LandingPage:
    """The page in the active language (the visitor's, from LocaleMiddleware). ``version``:
    the A/B version this visitor was sent (from their click), else the winner, else A."""
    language = translation.get_language() or settings.LANGUAGE_CODE
    if not (campaign.is_ab_test and version in ("a", "b")):
        version = campaign.ab_winner or "a"
    view = render_campaign(
        campaign, reader=None, recipient=None, absolute=False, variant=version, language=language
    )
    products = landing_products(campaign)
    featured = next((p for p in products if p.pk == campaign.product_id), None)
    photo = None
    for piece in [featured, *products]:
        if piece is not None and piece.photos.all():
            photo = piece.photos.all()[0]
            break
    owner = viewer is not None and viewer.is_authenticated and viewer.pk == campaign.shop.user_id
    return LandingPage(
        campaign=campaign,
        view=view,
        products=products,
        promo=promo_on_page(campaign.promo_code),
        page_url=absolute_url(landing_path(campaign)),
        og_image=_og_image(campaign, photo),
        description=" ".join(view.body.split())[:200],
        is_preview=owner and not is_public(campaign),
    )


def _og_image(campaign: Campaign, photo) -> str:
    """What a shared link previews: the campaign's own picture, else its piece's photo."""
    if campaign.image:
        return absolute_url(campaign.image.url)
    return absolute_url(photo.image.url) if photo is not None else ""


def share_text(view: CampaignView) -> str:
    return _("%(title)s — %(shop)s on Atelier") % {"title": view.title, "shop": view.shop_name}
