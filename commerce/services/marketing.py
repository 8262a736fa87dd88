"""Marketing: follows and favourites, campaigns and their delivery, unsubscribes, engagement.

* **Audiences** are computed, never stored: a segment of the shop's people (followers, past
  buyers, people who saved a piece, people who wrote but did not order) narrowed, per
  channel, to those whose *latest* consent record for that channel says yes and whom the
  channel can reach. The same query runs again at each send, so a withdrawal made after
  the campaign started still stops that person's message.
* **Status** moves only through :func:`transition_campaign` (``CAMPAIGN_TRANSITIONS``, a
  ``CampaignEvent`` row in the same transaction), like offers, orders and payments.
* **Delivery** writes one ``CampaignRecipient`` row per person and channel *before* sending
  anything (the unique key makes that idempotent), then claims rows in batches with one
  UPDATE each (``pending`` → ``sending`` with a lease). A retry or a second worker cannot
  claim a row another attempt holds; a killed worker's claim is taken over once its lease
  has run out. So a campaign resumes where it stopped, sending nobody twice and skipping
  nobody (the one window: a kill between the channel's answer and our write).
"""

from __future__ import annotations

import hashlib
import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core import signing
from django.core.files.base import File
from django.db import transaction
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from commerce.campaign_channels import Outcome, campaign_channel, campaign_channels
from commerce.errors import IllegalTransition, InvalidInput, NotAllowed, require_transition
from commerce.models import (
    ArtisanProfile,
    Campaign,
    CampaignEvent,
    CampaignRecipient,
    CampaignStatus,
    Favourite,
    Follow,
    Order,
    OrderStatus,
    Product,
    PromoCode,
    RecipientState,
    Segment,
)
from commerce.services.photos import clean_photo
from conversations.events import send_event_now, user_group
from conversations.models import Conversation
from core.models import Consent, User
from core.services import has_consent, record_consent

CS = CampaignStatus
RS = RecipientState

CAMPAIGN_TRANSITIONS: dict[str, frozenset[str]] = {
    CS.DRAFT: frozenset({CS.SCHEDULED, CS.SENDING, CS.CANCELLED}),
    CS.SCHEDULED: frozenset({CS.DRAFT, CS.SENDING, CS.CANCELLED}),
    CS.SENDING: frozenset({CS.SENT, CS.CANCELLED}),
    CS.SENT: frozenset(),
    CS.CANCELLED: frozenset(),
}


class CampaignEventCode:
    """Why a campaign moved (``CampaignEvent.code``): machine codes, rendered at the edge."""

    SCHEDULED = "scheduled"
    UNSCHEDULED = "unscheduled"
    STARTED = "started"
    FINISHED = "finished"
    CANCELLED = "cancelled"
    STOPPED_BY_MODERATOR = "stopped_by_moderator"
    WINNER_PICKED = "winner_picked"


BODY_MAX_CHARS = 2000
TITLE_MAX_CHARS = 120
IMAGE_ALT_MAX_CHARS = 200
MAX_SCHEDULE_AHEAD = timedelta(days=365)
# A/B tests: the sample is 10–100 % of the audience (100: a plain split, no winner phase);
# the winner is picked 1–72 hours after the start, or earlier by the artisan.
AB_SAMPLE_PERCENT = (10, 100)
AB_WAIT_HOURS = (1, 72)
VARIANTS = ("a", "b")
# People who bought: any order that was paid for (refunded and cancelled ones do not count).
BOUGHT_STATUSES = (
    OrderStatus.DEPOSIT_PAID,
    OrderStatus.PAID,
    OrderStatus.IN_PRODUCTION,
    OrderStatus.AWAITING_BALANCE,
    OrderStatus.SHIPPED,
    OrderStatus.DELIVERED,
)
_LINK_SALT = "atelier.campaign-recipient"  # signing salt, not a secret


# --- follows and favourites -------------------------------------------------------------------


@transaction.atomic
def follow_shop(*, user: User, shop: ArtisanProfile) -> bool:
    """Follow ``shop``; returns whether this created the follow.

    Following is the buyer's explicit "send me this shop's news", so it also records the
    consent for news on the updates page (``MARKETING_WEB``, source ``follow``) when the
    latest record does not already say yes. Email and Telegram need their own consent.
    """
    if shop.user_id == user.pk:
        raise NotAllowed(_("You cannot follow your own shop."))
    _follow, created = Follow.objects.get_or_create(user=user, shop=shop)
    if not has_consent(user=user, purpose=Consent.Purpose.MARKETING_WEB):
        record_consent(
            user=user, purpose=Consent.Purpose.MARKETING_WEB, granted=True, source="follow"
        )
    return created


def unfollow_shop(*, user: User, shop: ArtisanProfile) -> bool:
    return Follow.objects.filter(user=user, shop=shop).delete()[0] > 0


def set_favourite(*, user: User, product: Product, favourite: bool) -> bool:
    """Save or unsave ``product``; returns whether it is saved now."""
    if favourite:
        Favourite.objects.get_or_create(user=user, product=product)
    else:
        Favourite.objects.filter(user=user, product=product).delete()
    return favourite


# --- audiences --------------------------------------------------------------------------------


def _segment_people(campaign: Campaign) -> QuerySet[User]:
    shop = campaign.shop
    if campaign.segment == Segment.FOLLOWERS:
        ids = Follow.objects.filter(shop=shop).values("user_id")
    elif campaign.segment == Segment.PAST_BUYERS:
        ids = Order.objects.filter(shop=shop, status__in=BOUGHT_STATUSES).values("buyer_id")
    elif campaign.segment == Segment.FAVOURITED:
        favourites = Favourite.objects.filter(product__shop=shop)
        if campaign.product_id:
            favourites = favourites.filter(product_id=campaign.product_id)
        ids = favourites.values("user_id")
    elif campaign.segment == Segment.ASKED_NOT_ORDERED:
        since = timezone.now() - timedelta(days=campaign.within_days or 30)
        ids = (
            Conversation.objects.filter(
                artisan_id=shop.user_id, buyer__isnull=False, last_message_at__gte=since
            )
            .exclude(buyer__orders__shop=shop, buyer__orders__created_at__gte=since)
            .values("buyer_id")
        )
    else:
        return User.objects.none()
    return User.objects.filter(pk__in=ids, is_active=True).exclude(pk=shop.user_id)


def consenting(users: QuerySet[User], purpose: str) -> QuerySet[User]:
    """``users`` whose latest consent record for ``purpose`` grants it."""
    latest = (
        Consent.objects.filter(user=OuterRef("pk"), purpose=purpose)
        .order_by("-created_at", "-id")
        .values("granted")[:1]
    )
    return users.annotate(_consent=Subquery(latest)).filter(_consent=True)


def audience(campaign: Campaign, channel: str) -> QuerySet[User]:
    """The people ``campaign`` reaches on ``channel`` right now (consent and reach checked)."""
    spec = campaign_channel(channel)
    if spec is None:
        return User.objects.none()
    return spec.reachable(consenting(_segment_people(campaign), spec.consent_purpose))


def audience_counts(campaign: Campaign) -> dict[str, int]:
    """People per chosen channel, and ``segment``: everyone in the segment before consent."""
    counts = {channel: audience(campaign, channel).count() for channel in campaign.channels}
    counts["segment"] = _segment_people(campaign).count()
    return counts


# --- drafting -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignInput:
    title: str
    body: str
    segment: str
    channels: tuple[str, ...]
    product_id: int | None = None
    within_days: int | None = None
    language: str = ""
    promo_code_id: int | None = None
    # A second version makes it an A/B test.
    body_b: str = ""
    ab_sample_percent: int = 20
    ab_wait_hours: int = 4
    # A new picture (an upload), or ``remove_image`` to drop the current one; neither keeps it.
    image: File | None = None
    image_alt: str = ""
    remove_image: bool = False


def _validated_image(data: CampaignInput, campaign: Campaign | None) -> dict[str, Any]:
    """The picture's fields: a new upload re-encoded without metadata, kept, or dropped."""
    has_image = data.image is not None or (
        campaign is not None and bool(campaign.image) and not data.remove_image
    )
    alt = " ".join(data.image_alt.split())
    if not has_image:
        return {"image": "", "image_alt": ""} if campaign is not None and campaign.image else {}
    if not alt:
        raise InvalidInput(
            _("Describe the picture in a few words, for people who cannot see it."),
            field="image_alt",
        )
    if len(alt) > IMAGE_ALT_MAX_CHARS:
        raise InvalidInput(
            _("The description is too long (at most %(max)s characters).")
            % {"max": IMAGE_ALT_MAX_CHARS},
            field="image_alt",
        )
    fields: dict[str, Any] = {"image_alt": alt}
    if data.image is not None:
        fields["image"] = clean_photo(data.image, field="image")
    return fields


def _validated_ab(data: CampaignInput, body: str) -> dict[str, Any]:
    body_b = data.body_b.strip()
    if not body_b:
        return {"body_b": ""}
    if len(body_b) > BODY_MAX_CHARS:
        raise InvalidInput(
            _("Version B is too long: %(count)s characters, at most %(max)s.")
            % {"count": len(body_b), "max": BODY_MAX_CHARS},
            field="body_b",
        )
    if body_b == body:
        raise InvalidInput(_("Version B is the same as version A."), field="body_b")
    low, high = AB_SAMPLE_PERCENT
    if not isinstance(data.ab_sample_percent, int) or not low <= data.ab_sample_percent <= high:
        raise InvalidInput(
            _("Test on %(low)s to %(high)s %% of the audience.") % {"low": low, "high": high},
            field="ab_sample_percent",
        )
    low, high = AB_WAIT_HOURS
    if not isinstance(data.ab_wait_hours, int) or not low <= data.ab_wait_hours <= high:
        raise InvalidInput(
            _("Pick the winner after %(low)s to %(high)s hours.") % {"low": low, "high": high},
            field="ab_wait_hours",
        )
    return {
        "body_b": body_b,
        "ab_sample_percent": data.ab_sample_percent,
        "ab_wait_hours": data.ab_wait_hours,
    }


def _validated(
    shop: ArtisanProfile, data: CampaignInput, campaign: Campaign | None = None
) -> dict[str, Any]:
    title, body = data.title.strip(), data.body.strip()
    if not title:
        raise InvalidInput(_("Give the campaign a name."), field="title")
    if len(title) > TITLE_MAX_CHARS:
        raise InvalidInput(
            _("The name is too long (at most %(max)s characters).") % {"max": TITLE_MAX_CHARS},
            field="title",
        )
    if not body:
        raise InvalidInput(_("Write the message your audience will read."), field="body")
    if len(body) > BODY_MAX_CHARS:
        raise InvalidInput(
            _("The message is too long: %(count)s characters, at most %(max)s.")
            % {"count": len(body), "max": BODY_MAX_CHARS},
            field="body",
        )
    if data.segment not in Segment.values:
        raise InvalidInput(_("Choose who the campaign is for."), field="segment")
    channels = tuple(dict.fromkeys(data.channels))
    available = campaign_channels()
    if not channels:
        raise InvalidInput(_("Choose at least one channel."), field="channels")
    if any(channel not in available for channel in channels):
        raise InvalidInput(_("That channel is not available."), field="channels")
    product = None
    if data.product_id is not None:
        product = Product.objects.filter(pk=data.product_id, shop=shop).first()
        if product is None:
            raise InvalidInput(_("Choose one of your own pieces."), field="product")
    promo = None
    if data.promo_code_id is not None:
        promo = PromoCode.objects.filter(pk=data.promo_code_id, shop=shop).first()
        if promo is None:
            raise InvalidInput(_("Choose one of your own codes."), field="promo_code")
    within_days = data.within_days
    if data.segment == Segment.ASKED_NOT_ORDERED:
        if within_days is None or not 1 <= within_days <= 365:
            raise InvalidInput(_("Say how many days back to look (1 to 365)."), field="within_days")
    else:
        within_days = None
    return {
        "title": title,
        "body": body,
        "segment": data.segment,
        "channels": list(channels),
        "product": product,
        "promo_code": promo,
        "within_days": within_days,
        "language": (data.language or shop.user.preferred_language or settings.LANGUAGE_CODE)[:8],
        **_validated_ab(data, body),
        **_validated_image(data, campaign),
    }


def _shop_of(artisan: User) -> ArtisanProfile:
    shop = ArtisanProfile.objects.filter(user=artisan).select_related("user").first()
    if shop is None:
        raise NotAllowed(_("Set up your shop profile first."))
    return shop


@transaction.atomic
def save_campaign(
    *, artisan: User, data: CampaignInput, campaign: Campaign | None = None
) -> Campaign:
    """Create a draft, or edit one that has not started sending."""
    shop = _shop_of(artisan)
    if campaign is not None:
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk, shop=shop)
        if not campaign.is_editable:
            raise NotAllowed(_("A campaign cannot be edited once sending has started."))
    fields = _validated(shop, data, campaign)
    replaced = campaign.image.name if campaign is not None and "image" in fields else ""
    if campaign is None:
        campaign = Campaign(shop=shop, created_by=artisan, **fields)
    else:
        for name, value in fields.items():
            setattr(campaign, name, value)
    campaign.save()
    if replaced:
        storage = campaign.image.storage
        transaction.on_commit(lambda: storage.delete(replaced))
    from commerce.translation import request_listing_translation

    request_listing_translation(campaign)
    return campaign


# --- status -----------------------------------------------------------------------------------


@transaction.atomic
def transition_campaign(
    *,
    campaign: Campaign,
    to: str,
    code: str,
    actor: User | None = None,
    data: dict[str, Any] | None = None,
) -> Campaign:
    """Move ``campaign`` to ``to`` or raise ``IllegalTransition``; writes a ``CampaignEvent``."""
    locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
    current = locked.status
    require_transition(
        transitions=CAMPAIGN_TRANSITIONS,
        statuses=CS,
        current=current,
        to=to,
        unknown=_("Unknown campaign status “%(status)s”."),
        illegal=_("A campaign in status “%(current)s” cannot move to “%(requested)s”."),
    )
    locked.status = to
    now = timezone.now()
    update = ["status", "updated_at"]
    if to == CS.SENDING:
        locked.started_at = now
        update.append("started_at")
    if to in (CS.SENT, CS.CANCELLED):
        locked.finished_at = now
        update.append("finished_at")
    if to == CS.DRAFT:
        locked.scheduled_for = None
        update.append("scheduled_for")
    locked.save(update_fields=update)
    CampaignEvent.objects.create(
        campaign=locked, from_status=current, to_status=to, actor=actor, code=code, data=data or {}
    )
    # Keep the caller's instance current.
    campaign.status = to
    campaign.started_at, campaign.finished_at = locked.started_at, locked.finished_at
    campaign.scheduled_for = locked.scheduled_for
    return locked


def _require_owner(campaign: Campaign, artisan: User) -> None:
    if campaign.shop.user_id != artisan.pk:
        raise NotAllowed(_("This campaign belongs to another shop."))


def _require_audience(campaign: Campaign) -> None:
    if not any(audience(campaign, channel).exists() for channel in campaign.channels):
        raise InvalidInput(
            _(
                "Nobody in this audience has agreed to receive news on the chosen channels "
                "yet, so there is no one to send to."
            ),
            field="segment",
        )


@transaction.atomic
def schedule_campaign(*, campaign: Campaign, artisan: User, when: datetime) -> Campaign:
    _require_owner(campaign, artisan)
    now = timezone.now()
    if when <= now:
        raise InvalidInput(_("Choose a time in the future."), field="scheduled_for")
    if when > now + MAX_SCHEDULE_AHEAD:
        raise InvalidInput(_("Schedule at most a year ahead."), field="scheduled_for")
    _require_audience(campaign)
    Campaign.objects.filter(pk=campaign.pk).update(scheduled_for=when)
    campaign.scheduled_for = when
    if campaign.status == CS.SCHEDULED:
        CampaignEvent.objects.create(
            campaign=campaign,
            from_status=CS.SCHEDULED,
            to_status=CS.SCHEDULED,
            actor=artisan,
            code=CampaignEventCode.SCHEDULED,
            data={"for": when.isoformat()},
        )
        return campaign
    return transition_campaign(
        campaign=campaign,
        to=CS.SCHEDULED,
        code=CampaignEventCode.SCHEDULED,
        actor=artisan,
        data={"for": when.isoformat()},
    )


def unschedule_campaign(*, campaign: Campaign, artisan: User) -> Campaign:
    _require_owner(campaign, artisan)
    return transition_campaign(
        campaign=campaign, to=CS.DRAFT, code=CampaignEventCode.UNSCHEDULED, actor=artisan
    )


@transaction.atomic
def send_campaign_now(*, campaign: Campaign, artisan: User) -> Campaign:
    _require_owner(campaign, artisan)
    _require_audience(campaign)
    return start_campaign(campaign=campaign, actor=artisan)


@transaction.atomic
def start_campaign(*, campaign: Campaign, actor: User | None = None) -> Campaign:
    """``sending``: write every recipient row now, then deliver after commit."""
    locked = transition_campaign(
        campaign=campaign, to=CS.SENDING, code=CampaignEventCode.STARTED, actor=actor
    )
    created = materialise_recipients(locked)
    CampaignEvent.objects.filter(campaign=locked, code=CampaignEventCode.STARTED).update(
        data={"recipients": created}
    )
    _enqueue_delivery(locked.pk)
    return locked


def cancel_campaign(*, campaign: Campaign, actor: User, by_moderator: bool = False) -> Campaign:
    """Stop before or during sending: nobody still waiting gets it (``skipped``)."""
    if not by_moderator:
        _require_owner(campaign, actor)
    code = CampaignEventCode.STOPPED_BY_MODERATOR if by_moderator else CampaignEventCode.CANCELLED
    with transaction.atomic():
        locked = transition_campaign(campaign=campaign, to=CS.CANCELLED, code=code, actor=actor)
        CampaignRecipient.objects.filter(campaign=locked, state__in=(RS.PENDING, RS.HELD)).update(
            state=RS.SKIPPED, reason="cancelled"
        )
        publish_progress(locked.pk, on_commit=True)
    return locked


def start_due_campaigns(now: datetime | None = None) -> int:
    """Beat: start every scheduled campaign whose time has come; returns how many."""
    now = now or timezone.now()
    started = 0
    for campaign in Campaign.objects.filter(status=CS.SCHEDULED, scheduled_for__lte=now):
        try:
            start_campaign(campaign=campaign)
        except IllegalTransition:
            continue  # another beat, a cancel or an unschedule got there first
        started += 1
    return started


def resume_sending_campaigns() -> int:
    """Beat: requeue delivery of every campaign still sending (after a crash, a lost task)."""
    ids = list(Campaign.objects.filter(status=CS.SENDING).values_list("pk", flat=True))
    for campaign_id in ids:
        _enqueue_delivery(campaign_id)
    return len(ids)


def _enqueue_delivery(campaign_id: int) -> None:
    from commerce.tasks import deliver_campaign_task

    transaction.on_commit(lambda: deliver_campaign_task.delay(campaign_id))


# --- delivery ---------------------------------------------------------------------------------


def materialise_recipients(campaign: Campaign) -> int:
    """One row per (person, channel) of the audience; idempotent. Returns rows created."""
    created = 0
    for channel in campaign.channels:
        user_ids = list(audience(campaign, channel).values_list("pk", flat=True))
        rows = [
            CampaignRecipient(campaign=campaign, user_id=uid, channel=channel) for uid in user_ids
        ]
        before = CampaignRecipient.objects.filter(campaign=campaign, channel=channel).count()
        CampaignRecipient.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
        created += (
            CampaignRecipient.objects.filter(campaign=campaign, channel=channel).count() - before
        )
    if campaign.is_ab_test and not campaign.ab_winner:
        _assign_variants(campaign)
    return created


# --- A/B tests ----------------------------------------------------------------------------------


def _draw(campaign_id: int, user_id: int) -> str:
    """A person's place in a campaign's random order: stable, and the same on every channel."""
    return hashlib.sha256(f"{campaign_id}:{user_id}".encode()).hexdigest()


def _assign_variants(campaign: Campaign) -> None:
    """The sample (``ab_sample_percent`` of the people, at least two) gets A or B, half
    each; everyone else is ``held`` until the winner is picked. A person reached on two
    channels gets the same version on both."""
    rows = CampaignRecipient.objects.filter(campaign=campaign)
    people = sorted(
        set(rows.values_list("user_id", flat=True)), key=lambda uid: _draw(campaign.pk, uid)
    )
    size = len(people)
    if campaign.ab_sample_percent < 100:
        size = min(size, max(2, math.ceil(size * campaign.ab_sample_percent / 100)))
    sample, rest = people[:size], people[size:]
    rows.filter(user_id__in=sample[1::2]).update(variant="b")
    if rest:
        rows.filter(user_id__in=rest).update(variant="", state=RS.HELD)


def variant_figures(campaign_id: int) -> dict[str, dict[str, int]]:
    """Rows reached, opened, clicked and replied per version ("a", "b"), in one query."""
    figures = {
        variant: {"sent": 0, "opened": 0, "clicked": 0, "replied": 0} for variant in VARIANTS
    }
    rows = (
        CampaignRecipient.objects.filter(campaign_id=campaign_id, variant__in=VARIANTS)
        .values("variant")
        .annotate(
            sent=Count("id", filter=Q(state=RS.SENT)),
            opened=Count("id", filter=Q(opened_at__isnull=False)),
            clicked=Count("id", filter=Q(clicked_at__isnull=False)),
            replied=Count("id", filter=Q(replied_at__isnull=False)),
        )
    )
    for row in rows:
        figures[row.pop("variant")].update(row)
    return figures


def leading_variant(figures: dict[str, dict[str, int]]) -> str:
    """The version with the higher click rate among those reached, then the higher open
    rate (rates compared exactly, as cross products); "" while they are level."""
    a, b = figures["a"], figures["b"]
    for fact in ("clicked", "opened"):
        left, right = a[fact] * b["sent"], b[fact] * a["sent"]
        if left != right:
            return "a" if left > right else "b"
    return ""


def better_variant(figures: dict[str, dict[str, int]]) -> str:
    """The winner by the figures: the leading version, A when they are level."""
    return leading_variant(figures) or "a"


@transaction.atomic
def pick_ab_winner(
    *, campaign: Campaign, artisan: User | None = None, variant: str | None = None
) -> str:
    """Send the winning version to everyone held back; returns the winner.

    ``variant`` is the artisan's own choice; without it the figures decide
    (:func:`better_variant`). Once picked, the winner stays: asking again returns it.
    """
    if artisan is not None:
        _require_owner(campaign, artisan)
    locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if not locked.is_ab_test:
        raise InvalidInput(_("This campaign has only one version."), field="variant")
    if locked.ab_winner:
        campaign.ab_winner = locked.ab_winner
        return locked.ab_winner
    if locked.status != CS.SENDING:
        raise NotAllowed(_("A winner can only be picked while the campaign is sending."))
    if variant is not None and variant not in VARIANTS:
        raise InvalidInput(_("Choose version A or version B."), field="variant")
    figures = variant_figures(locked.pk)
    winner = variant or better_variant(figures)
    locked.ab_winner, locked.ab_decided_at = winner, timezone.now()
    locked.save(update_fields=["ab_winner", "ab_decided_at", "updated_at"])
    released = CampaignRecipient.objects.filter(campaign=locked, state=RS.HELD).update(
        state=RS.PENDING, variant=winner
    )
    CampaignEvent.objects.create(
        campaign=locked,
        from_status=CS.SENDING,
        to_status=CS.SENDING,
        actor=artisan,
        code=CampaignEventCode.WINNER_PICKED,
        data={
            "winner": winner,
            "by": "artisan" if artisan is not None else "figures",
            "released": released,
            "sample": figures,
        },
    )
    campaign.ab_winner, campaign.ab_decided_at = winner, locked.ab_decided_at
    publish_progress(locked.pk, on_commit=True)
    _enqueue_delivery(locked.pk)
    return winner


def ab_winner_due_at(campaign: Campaign) -> datetime | None:
    if not campaign.is_ab_test or campaign.ab_winner or campaign.started_at is None:
        return None
    return campaign.started_at + timedelta(hours=campaign.ab_wait_hours)


def pick_due_ab_winners(now: datetime | None = None) -> int:
    """Beat: pick the winner of every test whose wait is over; returns how many."""
    now = now or timezone.now()
    picked = 0
    waiting = Campaign.objects.filter(
        status=CS.SENDING, ab_winner="", recipients__state=RS.HELD
    ).distinct()
    for campaign in waiting:
        due = ab_winner_due_at(campaign)
        if due is not None and due <= now:
            try:
                pick_ab_winner(campaign=campaign)
            except (NotAllowed, InvalidInput):
                continue  # cancelled or finished meanwhile
            picked += 1
    return picked


def _lease() -> timedelta:
    return timedelta(seconds=settings.CAMPAIGN_DELIVERY_LEASE_SECONDS)


def claim_batch(campaign_id: int, size: int) -> tuple[uuid.UUID, list[int]]:
    """Take up to ``size`` rows that nobody holds: pending ones, or ones whose lease ran out."""
    token = uuid.uuid4()
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            CampaignRecipient.objects.select_for_update(skip_locked=True)
            .filter(campaign_id=campaign_id)
            # A pending row's lease is its back-off after a failed try.
            .filter(
                Q(state=RS.PENDING, lease_until__isnull=True)
                | Q(state__in=(RS.PENDING, RS.SENDING), lease_until__lt=now)
            )
            .order_by("id")
            .values_list("pk", flat=True)[:size]
        )
        if ids:
            CampaignRecipient.objects.filter(pk__in=ids).update(
                state=RS.SENDING,
                claim_token=token,
                lease_until=now + _lease(),
                attempts=F("attempts") + 1,
            )
    return token, ids


def _held(ids: list[int], token: uuid.UUID) -> QuerySet[CampaignRecipient]:
    """The rows among ``ids`` our claim still holds (a takeover wins otherwise)."""
    return CampaignRecipient.objects.filter(pk__in=ids, claim_token=token, state=RS.SENDING)


def _settle(ids: list[int], token: uuid.UUID, **fields: Any) -> int:
    """Release rows we hold with their outcome (``lease_until`` cleared unless given)."""
    fields.setdefault("lease_until", None)
    return _held(ids, token).update(claim_token=None, **fields)


#: Channels that interrupt a person (a notification); the updates page is read when they like.
PUSH_CHANNELS = ("email", "telegram")


def _quiet_window() -> tuple[int, int] | None:
    raw = (settings.CAMPAIGN_QUIET_HOURS or "").strip()
    if not raw:
        return None
    start, _, end = raw.partition("-")
    return int(start) % 24, int(end) % 24


def quiet_until(time_zone: str, now: datetime) -> datetime | None:
    """When the person's quiet hours end, if it is quiet for them ``now``; else None."""
    window = _quiet_window()
    if window is None or window[0] == window[1]:
        return None
    start, end = window
    try:
        zone = ZoneInfo(time_zone or settings.TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo(settings.TIME_ZONE)
    local = now.astimezone(zone)
    quiet = (start <= local.hour or local.hour < end) if start > end else start <= local.hour < end
    if not quiet:
        return None
    wake = local.replace(hour=end, minute=0, second=0, microsecond=0)
    if wake <= local:
        wake += timedelta(days=1)
    return wake


def _defer_quiet(recipients: list[CampaignRecipient], token: uuid.UUID) -> list:
    """Put back the rows whose person is in their quiet hours, each until their morning;
    returns the others. A deferral is not an attempt."""
    now = timezone.now()
    awake = []
    for recipient in recipients:
        wake = quiet_until(recipient.user.time_zone, now)
        if wake is None:
            awake.append(recipient)
            continue
        _settle(
            [recipient.pk],
            token,
            state=RS.PENDING,
            lease_until=wake,
            reason="quiet_hours",
            attempts=F("attempts") - 1,
        )
    return awake


def _sendable(rows: list[CampaignRecipient], token: uuid.UUID) -> dict[str, list]:
    """The claimed rows that should go out now, by channel; the others are settled here
    (cancelled campaign, unknown channel, consent withdrawn or person unreachable)."""
    by_channel: dict[str, list[CampaignRecipient]] = {}
    for recipient in rows:
        by_channel.setdefault(recipient.channel, []).append(recipient)
    sendable: dict[str, list[CampaignRecipient]] = {}
    for channel, recipients in by_channel.items():
        spec = campaign_channel(channel)
        ids = [r.pk for r in recipients]
        if recipients[0].campaign.status != CS.SENDING:
            _settle(ids, token, state=RS.SKIPPED, reason="cancelled")
            continue
        if spec is None:
            _settle(ids, token, state=RS.FAILED, reason="no_channel")
            continue
        # Asked again at the moment of sending, for the whole batch in one query: a
        # withdrawal after the start still counts.
        people = User.objects.filter(pk__in=[r.user_id for r in recipients])
        allowed = set(
            spec.reachable(consenting(people, spec.consent_purpose)).values_list("pk", flat=True)
        )
        refused = [r.pk for r in recipients if r.user_id not in allowed]
        if refused:
            _settle(refused, token, state=RS.SKIPPED, reason="no_consent")
        allowed_rows = [r for r in recipients if r.user_id in allowed]
        if channel in PUSH_CHANNELS:
            allowed_rows = _defer_quiet(allowed_rows, token)
        sendable[channel] = allowed_rows
    return sendable


def apply_outcome(recipient: CampaignRecipient, token: uuid.UUID, outcome: Outcome) -> str:
    """Write what the channel answered for a row we hold; returns the row's new state."""
    if outcome.sent:
        _settle(
            [recipient.pk],
            token,
            state=RS.SENT,
            sent_at=timezone.now(),
            reason="",
            external_id=outcome.external_id[:120],
        )
        return RS.SENT
    spec = campaign_channel(recipient.channel)
    if outcome.unsubscribe and spec is not None:
        record_consent(
            user=recipient.user, purpose=spec.consent_purpose, granted=False, source="bounce"
        )
    if outcome.permanent or recipient.attempts >= settings.CAMPAIGN_DELIVERY_MAX_ATTEMPTS:
        _settle([recipient.pk], token, state=RS.FAILED, reason=outcome.reason[:40])
        return RS.FAILED
    backoff = timedelta(seconds=settings.CAMPAIGN_RETRY_SECONDS * recipient.attempts)
    _settle(
        [recipient.pk],
        token,
        state=RS.PENDING,
        reason=outcome.reason[:40],
        lease_until=timezone.now() + backoff,
    )
    return RS.PENDING


def _deliver_rows(rows: list[CampaignRecipient], token: uuid.UUID) -> int:
    """Send claimed rows channel by channel; returns how many want a later try."""
    retried: list[int] = []
    recorded: set[int] = set()

    def record(recipient: CampaignRecipient, outcome: Outcome) -> None:
        # As each answer arrives; also from the channel's thread for an answer that came
        # after it stopped waiting: our claim still holds the row.
        recorded.add(recipient.pk)
        if apply_outcome(recipient, token, outcome) == RS.PENDING:
            retried.append(recipient.pk)

    def renew(in_flight: list[CampaignRecipient]) -> None:
        _held([r.pk for r in in_flight], token).update(lease_until=timezone.now() + _lease())

    for channel, recipients in _sendable(rows, token).items():
        spec = campaign_channel(channel)
        if spec is None or not recipients:
            continue
        try:
            spec.send_many(recipients, record, renew)
        except Exception as error:  # noqa: BLE001 - a channel's crash is one failed attempt
            # Only a channel that sends row by row gets here (one that queues keeps its
            # own rows): what it never answered is tried again later.
            failed = Outcome(sent=False, reason=type(error).__name__)
            for recipient in recipients:
                if recipient.pk not in recorded:
                    record(recipient, failed)
    return len(retried)


def deliver_campaign(campaign_id: int, *, batch_size: int | None = None) -> dict[str, int]:
    """Deliver what is claimable now, batch by batch; finish the campaign when nothing is left.

    Returns the campaign's counts. Rows left ``pending`` after a retryable failure or held
    by another worker keep the campaign ``sending``; the caller (the task) comes back.
    """
    batch_size = batch_size or settings.CAMPAIGN_BATCH_SIZE
    while True:
        campaign = Campaign.objects.filter(pk=campaign_id).first()
        if campaign is None or campaign.status != CS.SENDING:
            break
        token, ids = claim_batch(campaign_id, batch_size)
        if not ids:
            break
        rows = list(
            CampaignRecipient.objects.filter(pk__in=ids)
            .select_related(
                "user", "campaign__shop__user", "campaign__product", "campaign__promo_code"
            )
            .order_by("id")
        )
        retried = _deliver_rows(rows, token)
        publish_progress(campaign_id)
        if retried == len(ids):
            break  # everything in this batch wants a later try: let the task back off
    counts = delivery_counts(campaign_id)
    if finish_if_done(campaign_id):
        publish_progress(campaign_id)
    return counts


def publish_progress(campaign_id: int, *, on_commit: bool = False) -> None:
    """``campaign.progress`` to the artisan's own sockets (their open campaign page moves
    its bar). Best effort: the page also polls, and the database is the truth."""
    if on_commit:
        transaction.on_commit(lambda: publish_progress(campaign_id))
        return
    campaign = Campaign.objects.filter(pk=campaign_id).select_related("shop").first()
    if campaign is None:
        return
    send_event_now(
        user_group(campaign.shop.user_id),
        "campaign.progress",
        {
            "campaign": campaign.pk,
            "status": campaign.status,
            "counts": delivery_counts(campaign.pk),
        },
    )


def finish_if_done(campaign_id: int) -> bool:
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().filter(pk=campaign_id).first()
        if campaign is None or campaign.status != CS.SENDING:
            return False
        if CampaignRecipient.objects.filter(
            campaign_id=campaign_id, state__in=(RS.PENDING, RS.SENDING, RS.HELD)
        ).exists():
            return False
        transition_campaign(
            campaign=campaign,
            to=CS.SENT,
            code=CampaignEventCode.FINISHED,
            data=delivery_counts(campaign_id),
        )
        return True


def delivery_counts(campaign_id: int) -> dict[str, int]:
    """Rows per state, ``total``, and first opens and clicks, in one query."""
    counts = CampaignRecipient.objects.filter(campaign_id=campaign_id).aggregate(
        total=Count("id"),
        opened=Count("id", filter=Q(opened_at__isnull=False)),
        clicked=Count("id", filter=Q(clicked_at__isnull=False)),
        **{state: Count("id", filter=Q(state=state)) for state in RS.values},
    )
    return counts


def send_test(*, campaign: Campaign, artisan: User) -> str:
    """Email the campaign, rendered in the artisan's language, to the artisan only.

    Nothing is recorded on the campaign: the test is for proofreading.
    """
    _require_owner(campaign, artisan)
    from commerce.campaign_delivery import send_test_email

    for variant in VARIANTS if campaign.is_ab_test else ("a",):
        send_test_email(campaign=campaign, artisan=artisan, variant=variant)
    return artisan.email


# --- links, unsubscribes, engagement ---------------------------------------------------------


def recipient_token(recipient: CampaignRecipient) -> str:
    return signing.dumps(recipient.pk, salt=_LINK_SALT, compress=False)


def recipient_from_token(token: str) -> CampaignRecipient | None:
    try:
        pk = signing.loads(token, salt=_LINK_SALT)
    except signing.BadSignature:
        return None
    return (
        CampaignRecipient.objects.filter(pk=pk)
        .select_related("campaign__shop", "campaign__product", "user")
        .first()
    )


def unsubscribe(*, recipient: CampaignRecipient, source: str) -> bool:
    """Withdraw the person's consent for the recipient's channel, at once (one tap)."""
    spec = campaign_channel(recipient.channel)
    if spec is None:
        return False
    if has_consent(user=recipient.user, purpose=spec.consent_purpose):
        record_consent(
            user=recipient.user, purpose=spec.consent_purpose, granted=False, source=source
        )
    return True


def record_open(recipient_ids: list[int]) -> int:
    return CampaignRecipient.objects.filter(
        pk__in=recipient_ids, opened_at__isnull=True, state=RS.SENT
    ).update(opened_at=timezone.now())


@transaction.atomic
def reply_to_campaign(*, recipient: CampaignRecipient) -> Conversation:
    """The person answers a campaign: their one thread with the shop, opened or continued,
    with the campaign (and its piece) as the context card the artisan sees."""
    from commerce.services.context import ContextKind, post_context_card
    from conversations.services import conversation_between

    campaign = recipient.campaign
    conversation = conversation_between(
        buyer=recipient.user, artisan=campaign.shop.user, subject=campaign.title
    )
    post_context_card(
        conversation=conversation,
        kind=ContextKind.CAMPAIGN,
        actor=recipient.user,
        product=campaign.product,
        campaign_id=campaign.pk,
        skip_if_same_as_latest=True,
    )
    _first_time(recipient, "replied_at")
    return conversation


def record_click(recipient: CampaignRecipient) -> None:
    _first_time(recipient, "clicked_at")


def _first_time(recipient: CampaignRecipient, fact: str) -> None:
    """Record ``fact`` (a click, a reply) once; either also means the message was opened."""
    now = timezone.now()
    rows = CampaignRecipient.objects.filter(pk=recipient.pk)
    rows.filter(**{f"{fact}__isnull": True}).update(**{fact: now})
    rows.filter(opened_at__isnull=True).update(opened_at=now)
