"""Pages for marketing: follow and save buttons, the buyer's updates page, the artisan's
campaigns in the studio, and the signed per-recipient links (click, unsubscribe).

Thin edges: every write is a call into ``commerce.services.marketing``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from commerce import campaign_landing as landing
from commerce import selectors
from commerce.campaign_channels import campaign_channels
from commerce.campaign_delivery import landing_path, render_campaign
from commerce.campaign_report import campaign_report, chart_lines, report_csv
from commerce.errors import CommerceError
from commerce.forms import CampaignForm, PromoCodeForm, ScheduleForm
from commerce.models import (
    ArtisanProfile,
    Campaign,
    CampaignChannel,
    CampaignRecipient,
    CampaignStatus,
    Follow,
    RecipientState,
)
from commerce.serializers import absolute_url
from commerce.services import marketing
from conversations.services import HubError
from core.decorators import seller_required
from core.http import safe_next_url

# --- follow and save --------------------------------------------------------------------------


@require_POST
@login_required
def follow(request: HttpRequest, slug: str) -> HttpResponse:
    shop = get_object_or_404(selectors.public_shops(), slug=slug)
    fallback = reverse("commerce:shop_profile", args=[slug])
    try:
        if request.POST.get("follow") == "0":
            marketing.unfollow_shop(user=request.user, shop=shop)
            messages.success(
                request, _("You no longer follow %(shop)s.") % {"shop": shop.shop_name}
            )
        else:
            marketing.follow_shop(user=request.user, shop=shop)
            messages.success(
                request,
                _("You follow %(shop)s: its news will appear on your updates page.")
                % {"shop": shop.shop_name},
            )
    except CommerceError as error:
        messages.error(request, error.message)
    return redirect(safe_next_url(request, fallback=fallback))


@require_POST
@login_required
def favourite(request: HttpRequest, slug: str, product_slug: str) -> HttpResponse:
    product = get_object_or_404(selectors.listed_products(), shop__slug=slug, slug=product_slug)
    saved = marketing.set_favourite(
        user=request.user, product=product, favourite=request.POST.get("favourite") != "0"
    )
    messages.success(
        request,
        _("Saved to your favourites.") if saved else _("Removed from your favourites."),
    )
    fallback = reverse("commerce:product", args=[slug, product_slug])
    return redirect(safe_next_url(request, fallback=fallback))


# --- the buyer's updates page -----------------------------------------------------------------


@login_required
def updates(request: HttpRequest) -> HttpResponse:
    rows = (
        CampaignRecipient.objects.filter(
            user=request.user, channel=CampaignChannel.WEB, state=RecipientState.SENT
        )
        .select_related("campaign__shop", "campaign__product")
        .order_by("-sent_at", "-id")
    )
    page = Paginator(rows, 20).get_page(request.GET.get("page"))
    entries = [
        {
            "row": row,
            "view": render_campaign(
                row.campaign, reader=request.user, recipient=row, absolute=False
            ),
        }
        for row in page
    ]
    marketing.record_open([row.pk for row in page if row.opened_at is None])
    following = (
        Follow.objects.filter(user=request.user).select_related("shop").order_by("shop__shop_name")
    )
    return render(
        request,
        "commerce/updates.html",
        {"page": page, "entries": entries, "following": following},
    )


@require_POST
@login_required
def campaign_reply(request: HttpRequest, recipient_id: int) -> HttpResponse:
    recipient = get_object_or_404(
        CampaignRecipient.objects.select_related("campaign__shop__user", "campaign__product"),
        pk=recipient_id,
        user=request.user,
        state=RecipientState.SENT,
    )
    try:
        conversation = marketing.reply_to_campaign(recipient=recipient)
    except HubError as error:
        messages.error(request, error.message)
        return redirect("commerce:updates")
    return redirect("webchat:inbox_conversation", conversation.pk)


# --- the campaign's public page ---------------------------------------------------------------


def campaign_landing(request: HttpRequest, slug: str, campaign_id: int) -> HttpResponse:
    campaign = get_object_or_404(
        Campaign.objects.select_related("shop__user", "product", "promo_code"),
        pk=campaign_id,
        shop__slug=slug,
    )
    owner = request.user.is_authenticated and campaign.shop.user_id == request.user.pk
    if landing.is_gone(campaign) and not owner:
        return render(request, "commerce/campaign_gone.html", {"shop": campaign.shop}, status=410)
    shop_is_public = selectors.public_shops().filter(pk=campaign.shop_id).exists()
    if not owner and not (landing.is_public(campaign) and shop_is_public):
        raise Http404(_("This page does not exist."))
    page = landing.landing_page(
        campaign, viewer=request.user, version=request.session.get(landing.version_key(campaign))
    )
    if page.promo is not None and page.promo.is_open:
        # Filled in on the pay page, as after a click in the campaign; still checked there.
        request.session["campaign_code"] = page.promo.code
    return render(
        request,
        "commerce/campaign_landing.html",
        {
            "page": page,
            "shop": campaign.shop,
            "share_text": landing.share_text(page.view),
            "following": selectors.is_following(request.user, campaign.shop),
        },
    )


# --- signed per-recipient links ---------------------------------------------------------------


def campaign_click(request: HttpRequest, token: str) -> HttpResponse:
    recipient = marketing.recipient_from_token(token)
    if recipient is None:
        raise Http404(_("This link is not valid."))
    marketing.record_click(recipient)
    campaign = recipient.campaign
    if campaign.promo_code_id:
        # Filled in on the pay page; still checked there like a typed code.
        request.session["campaign_code"] = campaign.promo_code.code
    if campaign.is_ab_test and recipient.variant in ("a", "b"):
        # The public page then shows this person the version they were sent.
        request.session[landing.version_key(campaign)] = recipient.variant
    return redirect(f"{landing_path(campaign)}?campaign={campaign.pk}")


# A transparent 1×1 GIF.
_PIXEL = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b"
)


def campaign_open_pixel(request: HttpRequest, token: str) -> HttpResponse:
    """The email's open pixel (only in emails to people who agreed to EMAIL_TRACKING):
    records the first open; always the same image, whatever the token."""
    recipient = marketing.recipient_from_token(token)
    if recipient is not None and recipient.channel == CampaignChannel.EMAIL:
        marketing.record_open([recipient.pk])
    response = HttpResponse(_PIXEL, content_type="image/gif")
    response["Cache-Control"] = "no-store, private"
    return response


@csrf_exempt  # RFC 8058 one-click POSTs come from mail providers; the token is the proof
@require_http_methods(["GET", "POST"])
def campaign_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    recipient = marketing.recipient_from_token(token)
    if recipient is None:
        raise Http404(_("This link is not valid."))
    done = False
    if request.method == "POST":
        marketing.unsubscribe(recipient=recipient, source=f"unsubscribe_{recipient.channel}")
        done = True
        if request.POST.get("List-Unsubscribe") == "One-Click":
            return HttpResponse(status=200)
    return render(
        request,
        "commerce/campaign_unsubscribe.html",
        {"recipient": recipient, "shop": recipient.campaign.shop, "done": done},
    )


# --- the studio -------------------------------------------------------------------------------


def _shop(request: HttpRequest) -> ArtisanProfile | None:
    return ArtisanProfile.objects.filter(user=request.user).first()


def _channel_choices() -> list[tuple[str, str]]:
    available = campaign_channels()
    return [(value, label) for value, label in CampaignChannel.choices if value in available]


@seller_required
def studio_campaigns(request: HttpRequest) -> HttpResponse:
    shop = _shop(request)
    campaigns = Campaign.objects.filter(shop=shop) if shop else Campaign.objects.none()
    page = Paginator(campaigns, 20).get_page(request.GET.get("page"))
    rows = [{"campaign": c, "counts": marketing.delivery_counts(c.pk)} for c in page]
    followers = Follow.objects.filter(shop=shop).count() if shop else 0
    return render(
        request,
        "commerce/studio_campaigns.html",
        {"shop": shop, "page": page, "rows": rows, "followers": followers},
    )


@seller_required
def campaign_edit(request: HttpRequest, campaign_id: int | None = None) -> HttpResponse:
    shop = _shop(request)
    if shop is None:
        messages.info(request, _("Set up your shop profile first."))
        return redirect("commerce:studio_profile")
    campaign = get_object_or_404(Campaign, pk=campaign_id, shop=shop) if campaign_id else None
    if campaign is not None and not campaign.is_editable:
        messages.error(request, _("A campaign cannot be edited once sending has started."))
        return redirect("commerce:campaign_detail", campaign.pk)
    initial: dict[str, Any] = {"segment": "followers", "channels": ["web"]}
    if campaign is not None:
        initial = {
            "title": campaign.title,
            "body": campaign.body,
            "segment": campaign.segment,
            "within_days": campaign.within_days,
            "product": str(campaign.product_id or ""),
            "promo_code": str(campaign.promo_code_id or ""),
            "channels": campaign.channels,
            "body_b": campaign.body_b,
            "ab_sample_percent": campaign.ab_sample_percent,
            "ab_wait_hours": campaign.ab_wait_hours,
            "image_alt": campaign.image_alt,
        }
    form = CampaignForm(
        request.POST or None,
        request.FILES or None,
        initial=initial,
        shop=shop,
        channels=_channel_choices(),
        has_image=campaign is not None and bool(campaign.image),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            campaign = marketing.save_campaign(
                artisan=request.user,
                campaign=campaign,
                data=marketing.CampaignInput(
                    title=data["title"],
                    body=data["body"],
                    segment=data["segment"],
                    channels=tuple(data["channels"]),
                    product_id=int(data["product"]) if data["product"] else None,
                    within_days=data["within_days"],
                    promo_code_id=int(data["promo_code"]) if data["promo_code"] else None,
                    body_b=data["body_b"] or "",
                    ab_sample_percent=data["ab_sample_percent"] or 20,
                    ab_wait_hours=data["ab_wait_hours"] or 4,
                    image=data["image"] or None,
                    image_alt=data["image_alt"] or "",
                    remove_image=bool(data.get("remove_image")),
                ),
            )
        except CommerceError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, _("Draft saved. Check the audience, then send or schedule."))
            return redirect("commerce:campaign_detail", campaign.pk)
    return render(
        request,
        "commerce/campaign_form.html",
        {"form": form, "campaign": campaign, "shop": shop},
    )


@seller_required
def campaign_detail(request: HttpRequest, campaign_id: int) -> HttpResponse:
    shop = _shop(request)
    campaign = get_object_or_404(
        Campaign.objects.select_related("product"), pk=campaign_id, shop=shop
    )
    if request.method == "POST":
        return _campaign_action(request, campaign)
    counts = marketing.delivery_counts(campaign.pk)
    report = None if campaign.is_editable else campaign_report(campaign)
    labels = dict(CampaignChannel.choices)
    audience = marketing.audience_counts(campaign) if campaign.is_editable else None
    preview = render_campaign(campaign, reader=request.user, recipient=None, absolute=False)
    return render(
        request,
        "commerce/campaign_detail.html",
        {
            "campaign": campaign,
            "audience": audience,
            "channel_names": [str(labels.get(c, c)) for c in campaign.channels],
            "audience_rows": [
                (str(labels.get(c, c)), audience.get(c, 0)) for c in campaign.channels
            ]
            if audience is not None
            else [],
            "counts": counts,
            "done": counts["sent"] + counts["failed"] + counts["skipped"],
            "report": report,
            "attribution_days": settings.CAMPAIGN_ATTRIBUTION_DAYS,
            "chart": chart_lines(report) if report is not None else [],
            "schedule_form": ScheduleForm(),
            "events": campaign.events.order_by("created_at", "id"),
            "preview": preview,
            "preview_b": render_campaign(
                campaign, reader=request.user, recipient=None, absolute=False, variant="b"
            )
            if campaign.is_ab_test
            else None,
            "ab": _ab_context(campaign) if campaign.is_ab_test else None,
            "public_page": landing.is_public(campaign),
            "public_path": landing_path(campaign),
            "public_url": absolute_url(landing_path(campaign)),
            "share_text": landing.share_text(preview),
        },
    )


def _ab_context(campaign: Campaign) -> dict[str, Any]:
    """The A/B test box: each version's figures and rates, the leader, when it is decided."""
    figures = marketing.variant_figures(campaign.pk)
    versions = []
    for variant in marketing.VARIANTS:
        row = figures[variant]
        sent = row["sent"]
        versions.append(
            {
                "key": variant,
                "label": variant.upper(),
                **row,
                "click_rate": row["clicked"] / sent if sent else 0.0,
                "open_rate": row["opened"] / sent if sent else 0.0,
            }
        )
    counts = marketing.delivery_counts(campaign.pk)
    return {
        "versions": versions,
        "leader": marketing.leading_variant(figures).upper(),
        "winner": campaign.ab_winner.upper(),
        "held": counts.get(RecipientState.HELD, 0),
        "due_at": marketing.ab_winner_due_at(campaign),
        "can_pick": campaign.status == CampaignStatus.SENDING
        and not campaign.ab_winner
        and counts.get(RecipientState.HELD, 0) > 0,
    }


def _campaign_action(request: HttpRequest, campaign: Campaign) -> HttpResponse:
    action = request.POST.get("action", "")
    try:
        if action == "send_now":
            marketing.send_campaign_now(campaign=campaign, artisan=request.user)
            messages.success(request, _("Sending started."))
        elif action == "schedule":
            form = ScheduleForm(request.POST)
            if not form.is_valid():
                messages.error(request, _("Enter a date and time to send on."))
            else:
                marketing.schedule_campaign(
                    campaign=campaign, artisan=request.user, when=form.cleaned_data["when"]
                )
                messages.success(request, _("Scheduled."))
        elif action == "unschedule":
            marketing.unschedule_campaign(campaign=campaign, artisan=request.user)
            messages.success(request, _("Back to draft: it will not be sent until you say so."))
        elif action == "cancel":
            marketing.cancel_campaign(campaign=campaign, actor=request.user)
            messages.success(request, _("Campaign cancelled: nobody else will get it."))
        elif action == "pick_winner":
            chosen = request.POST.get("variant", "").lower() or None
            winner = marketing.pick_ab_winner(
                campaign=campaign, artisan=request.user, variant=chosen
            )
            messages.success(
                request,
                _("Version %(version)s is going to everyone else now.")
                % {"version": winner.upper()},
            )
        elif action == "test":
            address = marketing.send_test(campaign=campaign, artisan=request.user)
            messages.success(request, _("A test was sent to %(email)s.") % {"email": address})
        else:
            messages.error(request, _("Unknown action."))
    except CommerceError as error:
        messages.error(request, error.message)
    return redirect("commerce:campaign_detail", campaign.pk)


@seller_required
def studio_promo_codes(request: HttpRequest) -> HttpResponse:
    from commerce.models import PromoCode
    from commerce.services import promos

    shop = _shop(request)
    if shop is None:
        messages.info(request, _("Set up your shop profile first."))
        return redirect("commerce:studio_profile")
    form = PromoCodeForm(request.POST or None)
    if request.method == "POST" and request.POST.get("action") in ("pause", "resume"):
        promo = get_object_or_404(PromoCode, pk=request.POST.get("promo"), shop=shop)
        promos.set_promo_active(
            artisan=request.user, promo=promo, active=request.POST["action"] == "resume"
        )
        return redirect("commerce:studio_promo_codes")
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            promo = promos.create_promo_code(
                artisan=request.user,
                data=promos.PromoInput(
                    code=data["code"],
                    kind=data["kind"],
                    value=data["value"],
                    currency=data["currency"],
                    ends_at=data["ends_at"],
                    max_uses=data["max_uses"],
                    max_uses_per_buyer=data["max_uses_per_buyer"],
                    min_order=data["min_order"],
                ),
            )
        except CommerceError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, _("Code %(code)s created.") % {"code": promo.code})
            return redirect("commerce:studio_promo_codes")
    codes = [
        {"promo": promo, "uses": promos.uses(promo)}
        for promo in PromoCode.objects.filter(shop=shop)
    ]
    return render(
        request, "commerce/studio_promo_codes.html", {"form": form, "codes": codes, "shop": shop}
    )


@seller_required
def studio_reviews(request: HttpRequest) -> HttpResponse:
    """The shop's reviews, newest first, each answerable once."""
    from commerce.models import Review
    from commerce.services.reviews import reply_to_review

    shop = _shop(request)
    if request.method == "POST" and shop is not None:
        review = get_object_or_404(Review, pk=request.POST.get("review"), shop=shop)
        try:
            reply_to_review(artisan=request.user, review=review, text=request.POST.get("reply", ""))
        except CommerceError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Your answer is shown under the review."))
        return redirect("commerce:studio_reviews")
    reviews = (
        Review.objects.filter(shop=shop).select_related("buyer", "order", "product")
        if shop
        else Review.objects.none()
    )
    page = Paginator(reviews, 20).get_page(request.GET.get("page"))
    return render(
        request,
        "commerce/studio_reviews.html",
        {
            "shop": shop,
            "page": page,
            "rating": selectors.rating_summary(shop=shop) if shop else None,
        },
    )


@seller_required
def studio_engagement(request: HttpRequest) -> HttpResponse:
    """The shop at a glance: followers over time, saved pieces, campaign sales, ratings."""
    from commerce.shop_engagement import PERIODS, follower_line, shop_engagement

    shop = _shop(request)
    if shop is None:
        messages.info(request, _("Set up your shop profile first."))
        return redirect("commerce:studio_profile")
    try:
        days = int(request.GET.get("days", 90))
    except ValueError:
        days = 90
    figures = shop_engagement(shop, days=days)
    return render(
        request,
        "commerce/studio_engagement.html",
        {
            "shop": shop,
            "figures": figures,
            "periods": PERIODS,
            "line": follower_line(figures.points),
        },
    )


@seller_required
def campaign_translations(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """The artisan's own wording of the message per language (else the machine's)."""
    from commerce.views import listing_translations_page

    shop = _shop(request)
    campaign = get_object_or_404(Campaign, pk=campaign_id, shop=shop)
    fields = ("title", "body", "body_b") if campaign.is_ab_test else ("title", "body")
    if campaign.image:
        fields += ("image_alt",)
    return listing_translations_page(
        request,
        obj=campaign,
        fields=fields,
        labels={
            "title": _("Campaign name"),
            "body": _("Message") if not campaign.is_ab_test else _("Version A"),
            "body_b": _("Version B"),
            "image_alt": _("Picture description (for screen readers)"),
        },
        context={
            "shop": shop,
            "title": campaign.title,
            "back_url": reverse("commerce:campaign_detail", args=[campaign.pk]),
            "intro": _(
                "Each person reads your message in their language. Check the machine "
                "translations and write your own where you know better: yours are never "
                "replaced."
            ),
        },
        here=reverse("commerce:campaign_translations", args=[campaign.pk]),
        editable=campaign.is_editable,
        source_language=campaign.language,
    )


@seller_required
def campaign_report_csv(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=campaign_id, shop__user=request.user)
    response = HttpResponse(report_csv(campaign_report(campaign)), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="campaign-{campaign.pk}.csv"'
    return response


@seller_required
def campaign_progress(request: HttpRequest, campaign_id: int) -> JsonResponse:
    campaign = get_object_or_404(Campaign, pk=campaign_id, shop__user=request.user)
    counts = marketing.delivery_counts(campaign.pk)
    return JsonResponse(
        {
            "status": campaign.status,
            "status_label": str(CampaignStatus(campaign.status).label),
            "counts": counts,
        }
    )
