"""Custom requests, offers, versions, acceptance and change orders.

Terms live only in Offer rows; a chat message is a rendering of them. Accepting locks the
offer row (SELECT … FOR UPDATE), so two accepts race to one order and the loser gets
``OfferAlreadyAccepted``.

``transition_offer`` is the only code that changes ``Offer.status``: it checks
``OFFER_TRANSITIONS``, writes an ``OfferEvent`` in the same transaction and brings the
offer's card up to date (broadcast on commit). New offers are inserted as drafts and moved
to ``sent`` through it, so every offer's history starts with its sending.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.files.base import File
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from commerce.errors import (
    InvalidInput,
    NotAllowed,
    OfferAlreadyAccepted,
    OfferExpired,
    OfferNotOpen,
    OfferSuperseded,
    require_transition,
)
from commerce.models import (
    ArtisanProfile,
    CustomRequest,
    CustomRequestImage,
    CustomRequestStatus,
    Offer,
    OfferEvent,
    OfferKind,
    OfferLine,
    OfferStatus,
    Order,
    OrderEvent,
    OrderEventType,
    OrderStatus,
    Product,
)
from commerce.money import (
    normalise_currency,
    percent_of,
    round_money,
    validate_delta,
    validate_price,
)
from commerce.serializers import serialize_offer
from commerce.services.cards import post_milestone, publish_offer_card
from commerce.services.context import ContextKind, post_context_card
from commerce.services.orders import (
    TERMINAL,
    create_order_row,
    post_checkout_link,
    record_order_event,
)
from commerce.services.photos import clean_photo
from conversations.models import Conversation
from conversations.services import conversation_between
from core.models import User

MAX_REQUEST_IMAGES = 5
OPEN_STATUSES = (OfferStatus.SENT, OfferStatus.CHANGES_REQUESTED)

OS = OfferStatus
OFFER_TRANSITIONS: dict[str, frozenset[str]] = {
    OS.DRAFT: frozenset({OS.SENT}),
    OS.SENT: frozenset({OS.ACCEPTED, OS.DECLINED, OS.CHANGES_REQUESTED, OS.SUPERSEDED, OS.EXPIRED}),
    # The buyer asked for another version: the artisan answers with one (superseding this).
    OS.CHANGES_REQUESTED: frozenset({OS.SUPERSEDED, OS.EXPIRED}),
    OS.ACCEPTED: frozenset(),
    OS.DECLINED: frozenset(),
    OS.SUPERSEDED: frozenset(),
    OS.EXPIRED: frozenset(),
}


class OfferEventCode:
    """Why an offer moved (``OfferEvent.code``): machine codes, rendered at the edge."""

    SENT = "sent"
    SUPERSEDED = "superseded"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    CHANGES_REQUESTED = "changes_requested"
    EXPIRED = "expired"


@dataclass(frozen=True)
class OfferLineInput:
    description: str
    unit_price: Decimal | str
    quantity: int = 1


# --- Custom requests ------------------------------------------------------------------------


@transaction.atomic
def submit_custom_request(
    *,
    buyer: User,
    shop: ArtisanProfile,
    description: str,
    budget: Any = None,
    budget_currency: str = "",
    deadline: date | None = None,
    product: Product | None = None,
    images: Sequence[File] = (),
) -> CustomRequest:
    """Send a custom-item brief to an artisan; opens (or continues) the conversation.

    From a product page the product's conversation continues; from a profile the buyer's
    open custom-request conversation with that artisan continues.
    """
    description = (description or "").strip()
    if len(description) < 10:
        raise InvalidInput(
            _("Describe what you would like (at least a sentence)."), field="description"
        )
    if len(description) > 4000:
        raise InvalidInput(_("Keep the description under 4000 characters."), field="description")
    if buyer.pk == shop.user_id:
        raise InvalidInput(_("You cannot send a request to your own shop."))
    budget_value: Decimal | None = None
    if budget not in (None, ""):
        budget_currency = normalise_currency(budget_currency or "EUR")
        budget_value = validate_price(budget, budget_currency, field="budget")
    else:
        budget_currency = ""
    if deadline is not None and deadline < timezone.now().date():
        raise InvalidInput(_("The deadline is in the past."), field="deadline")
    if len(images) > MAX_REQUEST_IMAGES:
        raise InvalidInput(
            _("At most %(count)s images.") % {"count": MAX_REQUEST_IMAGES}, field="images"
        )
    images = [clean_photo(upload, field="images") for upload in images]
    if product is not None and product.shop_id != shop.pk:
        raise InvalidInput(_("That piece belongs to another shop."), field="product")
    conversation = conversation_between(
        buyer=buyer,
        artisan=shop.user,
        subject=(product.title if product else shop.shop_name)[:200],
    )
    request = CustomRequest.objects.create(
        buyer=buyer,
        artisan=shop.user,
        product=product,
        conversation=conversation,
        description=description,
        budget=budget_value,
        budget_currency=budget_currency,
        deadline=deadline,
    )
    stored = [CustomRequestImage.objects.create(request=request, image=upload) for upload in images]
    post_context_card(
        conversation=conversation,
        kind=ContextKind.REQUEST,
        actor=buyer,
        product=product,
        request_id=request.pk,
    )
    post_milestone(
        conversation=conversation,
        event="custom_request.sent",
        type="custom_request",
        request_id=request.pk,
        description=description,
        budget=str(budget_value) if budget_value is not None else None,
        currency=budget_currency or None,
        deadline=deadline.isoformat() if deadline else None,
        product_id=product.pk if product else None,
        image_urls=[img.image.url for img in stored],
        actor=buyer,
    )
    return request


# --- Offers --------------------------------------------------------------------------------


def _validated_lines(
    lines: Sequence[OfferLineInput], currency: str, *, signed: bool
) -> list[tuple[str, int, Decimal]]:
    if not lines:
        raise InvalidInput(_("Add at least one line."), field="lines")
    if len(lines) > 30:
        raise InvalidInput(_("At most 30 lines."), field="lines")
    cleaned = []
    for index, line in enumerate(lines):
        description = (line.description or "").strip()
        if not description:
            raise InvalidInput(
                _("Line %(number)s needs a description.") % {"number": index + 1}, field="lines"
            )
        quantity = line.quantity
        if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= 1000:
            raise InvalidInput(
                _("Line %(number)s: quantity is 1–1000.") % {"number": index + 1}, field="lines"
            )
        if signed:
            price = validate_delta(line.unit_price, currency, field="lines")
        else:
            price = validate_price(line.unit_price, currency, field="lines")
        cleaned.append((description[:200], line.quantity, price))
    return cleaned


def _expiry(expires_at: datetime | None, valid_days: int) -> datetime:
    if expires_at is None:
        if not 1 <= valid_days <= 60:
            raise InvalidInput(_("An offer is valid for 1–60 days."), field="valid_days")
        return timezone.now() + timedelta(days=valid_days)
    if expires_at <= timezone.now():
        raise InvalidInput(_("The expiry is in the past."), field="expires_at")
    return expires_at


@transaction.atomic
def transition_offer(
    *,
    offer: Offer,
    to: str,
    code: str,
    actor: User | None = None,
    data: dict[str, Any] | None = None,
) -> Offer:
    """Move ``offer`` to status ``to`` or raise ``IllegalTransition``.

    Locks the offer row, checks ``OFFER_TRANSITIONS``, writes an ``OfferEvent`` (``code`` +
    ``data``: facts, not prose) in the same transaction and publishes the offer's card
    (``offer.updated`` on commit). Fields other than the status that the move changes
    (``responded_at``, ``response_note``) are saved by the caller before the call.
    """
    locked = (
        Offer.objects.select_for_update(of=("self",))
        .select_related("conversation", "order")
        .get(pk=offer.pk)
    )
    current = locked.status
    require_transition(
        transitions=OFFER_TRANSITIONS,
        statuses=OS,
        current=current,
        to=to,
        unknown=_("Unknown offer status “%(status)s”."),
        illegal=_("An offer in status “%(current)s” cannot move to “%(requested)s”."),
    )
    locked.status = to
    locked.save(update_fields=["status"])
    OfferEvent.objects.create(
        offer=locked, from_status=current, to_status=to, actor=actor, code=code, data=data or {}
    )
    publish_offer_card(offer=locked, actor=actor)
    offer.status = to  # keep the caller's instance current
    return locked


def _supersede(open_offers: Any, *, artisan: User, by_version: int) -> Offer | None:
    """Mark the open versions superseded; returns the newest one."""
    previous = None
    for old in open_offers.select_for_update(of=("self",)).order_by("version"):
        previous = transition_offer(
            offer=old,
            to=OS.SUPERSEDED,
            code=OfferEventCode.SUPERSEDED,
            actor=artisan,
            data={"by_version": by_version},
        )
    return previous


@transaction.atomic
def send_offer(
    *,
    artisan: User,
    conversation: Conversation,
    lines: Sequence[OfferLineInput],
    currency: str,
    lead_time_days: int,
    expires_at: datetime | None = None,
    valid_days: int = 7,
    deposit_percent: int = 0,
    revision_rounds_included: int = 1,
    personalised: bool = False,
    note: str = "",
    custom_request: CustomRequest | None = None,
    shipping_amount: Decimal | str = Decimal("0"),
    transit_days_min: int = 0,
    transit_days_max: int = 0,
) -> Offer:
    """Send an offer card in the conversation. A new offer supersedes the open one.

    ``total`` = the lines + ``shipping_amount``; the delivery estimate is the lead time plus
    ``transit_days_min``–``transit_days_max``.
    """
    conversation = Conversation.objects.select_for_update(of=("self",)).get(pk=conversation.pk)
    if conversation.artisan_id != artisan.pk or not artisan.is_artisan:
        raise NotAllowed(_("Only the artisan of this conversation can send offers."))
    if not artisan.can_sell:
        raise NotAllowed(_("Set up two-factor authentication before selling."))
    currency = normalise_currency(currency)
    cleaned = _validated_lines(lines, currency, signed=False)
    if not 0 <= int(lead_time_days) <= 365:
        raise InvalidInput(_("Lead time is 0–365 days."), field="lead_time_days")
    if not 0 <= int(deposit_percent) <= 90:
        # xgettext:no-python-format
        raise InvalidInput(_("The deposit is 0–90 % of the total."), field="deposit_percent")
    if not 0 <= int(revision_rounds_included) <= 10:
        raise InvalidInput(_("Revision rounds are 0–10."), field="revision_rounds_included")
    shipping = Decimal(str(shipping_amount or "0"))
    if shipping < 0:
        raise InvalidInput(_("A shipping price cannot be negative."), field="shipping_amount")
    shipping = round_money(shipping, currency)
    if not 0 <= int(transit_days_min) <= int(transit_days_max) <= 120:
        raise InvalidInput(_("Transit days: the minimum is at most the maximum (0–120)."))
    expires = _expiry(expires_at, valid_days)
    if custom_request is None:
        custom_request = (
            CustomRequest.objects.filter(conversation=conversation)
            .exclude(status=CustomRequestStatus.CLOSED)
            .order_by("-created_at")
            .first()
        )
    elif custom_request.conversation_id != conversation.pk:
        raise InvalidInput(
            _("That request belongs to another conversation."), field="custom_request"
        )
    initial = Offer.objects.filter(conversation=conversation, kind=OfferKind.INITIAL)
    version = (initial.aggregate(v=Max("version"))["v"] or 0) + 1
    previous = _supersede(
        initial.filter(status__in=OPEN_STATUSES), artisan=artisan, by_version=version
    )
    total = sum((price * qty for _d, qty, price in cleaned), Decimal("0")) + shipping
    offer = Offer.objects.create(
        conversation=conversation,
        artisan=artisan,
        buyer=conversation.buyer,
        custom_request=custom_request,
        kind=OfferKind.INITIAL,
        version=version,
        supersedes=previous,
        total=total,
        currency=currency,
        shipping_amount=shipping,
        lead_time_days=int(lead_time_days),
        transit_days_min=int(transit_days_min),
        transit_days_max=int(transit_days_max),
        expires_at=expires,
        deposit_percent=int(deposit_percent),
        revision_rounds_included=int(revision_rounds_included),
        personalised=bool(personalised),
        note=note.strip()[:2000],
        sent_at=timezone.now(),
    )
    OfferLine.objects.bulk_create(
        OfferLine(offer=offer, description=d, quantity=q, unit_price=p, position=i)
        for i, (d, q, p) in enumerate(cleaned)
    )
    if custom_request is not None:
        CustomRequest.objects.filter(pk=custom_request.pk).update(
            status=CustomRequestStatus.OFFERED
        )
    return transition_offer(offer=offer, to=OS.SENT, code=OfferEventCode.SENT, actor=artisan)


@transaction.atomic
def send_change_order(
    *,
    artisan: User,
    order: Order,
    lines: Sequence[OfferLineInput],
    extra_lead_time_days: int = 0,
    valid_days: int = 3,
    note: str = "",
) -> Offer:
    """Propose a change to an agreed order: a signed price delta and/or more days.

    Nothing changes until the buyer accepts; an open change order is superseded by a newer one.
    """
    order = Order.objects.select_for_update(of=("self",)).get(pk=order.pk)
    if order.artisan_id != artisan.pk:
        raise NotAllowed(_("This is not your order."))
    if order.status in TERMINAL or order.status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED):
        raise InvalidInput(_("This order can no longer be changed."))
    if order.conversation is None:
        raise InvalidInput(_("This order has no conversation to send a change order in."))
    cleaned = _validated_lines(lines, order.currency, signed=True)
    delta = sum((price * qty for _d, qty, price in cleaned), Decimal("0"))
    if not 0 <= int(extra_lead_time_days) <= 365:
        raise InvalidInput(_("Extra days are 0–365."), field="extra_lead_time_days")
    if delta == 0 and int(extra_lead_time_days) == 0:
        raise InvalidInput(_("A change order changes the price or the date."), field="lines")
    if order.total + delta <= 0:
        raise InvalidInput(_("The new total must stay above zero."), field="lines")
    existing = Offer.objects.filter(order=order, kind=OfferKind.CHANGE_ORDER)
    version = (existing.aggregate(v=Max("version"))["v"] or 0) + 1
    previous = _supersede(
        existing.filter(status__in=OPEN_STATUSES), artisan=artisan, by_version=version
    )
    offer = Offer.objects.create(
        conversation=order.conversation,
        artisan=artisan,
        buyer=order.buyer,
        order=order,
        kind=OfferKind.CHANGE_ORDER,
        version=version,
        supersedes=previous,
        total=delta,
        currency=order.currency,
        lead_time_days=int(extra_lead_time_days),
        expires_at=_expiry(None, valid_days),
        personalised=order.personalised,
        note=note.strip()[:2000],
        sent_at=timezone.now(),
    )
    OfferLine.objects.bulk_create(
        OfferLine(offer=offer, description=d, quantity=q, unit_price=p, position=i)
        for i, (d, q, p) in enumerate(cleaned)
    )
    return transition_offer(offer=offer, to=OS.SENT, code=OfferEventCode.SENT, actor=artisan)


def _locked_open_offer(*, buyer: User, offer: Offer) -> Offer:
    offer = (
        Offer.objects.select_for_update(of=("self",))
        .select_related("conversation", "order")
        .get(pk=offer.pk)
    )
    if offer.buyer_id != buyer.pk:
        raise NotAllowed(_("This offer was not made to you."))
    if offer.status == OfferStatus.ACCEPTED:
        reference = None
        if offer.kind == OfferKind.INITIAL:
            reference = (
                Order.objects.filter(offer=offer).values_list("reference", flat=True).first()
            )
        raise OfferAlreadyAccepted(
            _("You already accepted this offer."),
            order_reference=reference or (offer.order.reference if offer.order_id else None),
        )
    if offer.status == OfferStatus.SUPERSEDED:
        raise OfferSuperseded(
            _("A newer version of this offer replaced it; answer the latest one.")
        )
    if offer.status == OfferStatus.EXPIRED or offer.is_expired:
        raise OfferExpired(_("This offer has expired. Ask the artisan for a new one."))
    if offer.status != OfferStatus.SENT:
        raise OfferNotOpen(
            _("This offer can no longer be answered (%(status)s).")
            % {"status": offer.get_status_display()}
        )
    return offer


@transaction.atomic
def accept_offer(*, buyer: User, offer: Offer) -> Order:
    """Accept an offer: freeze the agreed terms and create the order (or amend it).

    Initial offers create an Order and post a checkout link; change orders amend the
    order's total/date and append to its snapshot. Raises OfferExpired, OfferSuperseded,
    OfferAlreadyAccepted (carrying the order reference), OfferNotOpen, NotAllowed.
    """
    offer = _locked_open_offer(buyer=buyer, offer=offer)
    offer.responded_at = timezone.now()
    offer.save(update_fields=["responded_at"])
    offer = transition_offer(offer=offer, to=OS.ACCEPTED, code=OfferEventCode.ACCEPTED, actor=buyer)
    if offer.kind == OfferKind.CHANGE_ORDER:
        return _apply_change_order(offer=offer, buyer=buyer)
    return _create_order_from_offer(offer=offer, buyer=buyer)


def _offer_snapshot(offer: Offer) -> dict[str, Any]:
    data = serialize_offer(offer)
    data["accepted_at"] = offer.responded_at.isoformat() if offer.responded_at else None
    return data


def _create_order_from_offer(*, offer: Offer, buyer: User) -> Order:
    shop = ArtisanProfile.objects.get(user=offer.artisan)
    request = offer.custom_request
    snapshot = {
        "source": "offer",
        "offer": _offer_snapshot(offer),
        "custom_request": (
            {
                "id": request.pk,
                "description": request.description,
                "deadline": request.deadline.isoformat() if request.deadline else None,
            }
            if request
            else None
        ),
        "change_orders": [],
    }
    deposit = (
        percent_of(offer.total, offer.deposit_percent, offer.currency)
        if offer.deposit_percent
        else Decimal("0")
    )
    # The artisan's own words for the piece (the first line), never a sentence we compose
    # in one language: every reader sees the order under the same name the maker gave it.
    title = offer.lines.order_by("pk").first().description
    order = create_order_row(
        buyer=buyer,
        artisan=offer.artisan,
        shop=shop,
        conversation=offer.conversation,
        offer=offer,
        product=request.product if request else None,
        is_custom=True,
        spec_snapshot=snapshot,
        title=title[:200],
        total=offer.total,
        shipping_amount=offer.shipping_amount,
        currency=offer.currency,
        deposit_amount=deposit,
        personalised=offer.personalised,
        revision_rounds_included=offer.revision_rounds_included,
        lead_time_days=offer.lead_time_days,
        due_date=(timezone.now() + timedelta(days=offer.lead_time_days)).date(),
        arrives_from=(
            timezone.localdate() + timedelta(days=offer.lead_time_days + offer.transit_days_min)
            if offer.transit_days_max
            else None
        ),
        arrives_to=(
            timezone.localdate() + timedelta(days=offer.lead_time_days + offer.transit_days_max)
            if offer.transit_days_max
            else None
        ),
    )
    if request is not None:
        CustomRequest.objects.filter(pk=request.pk).update(status=CustomRequestStatus.ACCEPTED)
    OrderEvent.objects.create(
        order=order,
        type=OrderEventType.STATUS,
        new_status=order.status,
        actor=buyer,
        code="offer_accepted",
        data={"offer_id": offer.pk, "version": offer.version},
    )
    post_milestone(
        conversation=offer.conversation,
        event="offer.accepted",
        offer_id=offer.pk,
        version=offer.version,
        order=order.reference,
        actor=buyer,
    )
    post_checkout_link(order=order, actor=buyer)
    return order


def _apply_change_order(*, offer: Offer, buyer: User) -> Order:
    order = Order.objects.select_for_update(of=("self",)).get(pk=offer.order_id)
    if order.status in TERMINAL or order.status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED):
        raise OfferNotOpen(_("The order can no longer be changed."))
    if order.total + offer.total <= 0:
        raise OfferNotOpen(_("This change would bring the total to zero or less."))
    old_total = order.total
    order.total = order.total + offer.total
    order.lead_time_days += offer.lead_time_days
    if order.due_date and offer.lead_time_days:
        order.due_date = order.due_date + timedelta(days=offer.lead_time_days)
    snapshot = dict(order.spec_snapshot)
    snapshot["change_orders"] = [*snapshot.get("change_orders", []), _offer_snapshot(offer)]
    order.spec_snapshot = snapshot
    order.save()
    record_order_event(
        order=order,
        type=OrderEventType.CHANGE_ORDER,
        actor=buyer,
        code="change_order_accepted",
        data={
            "version": offer.version,
            "offer_id": offer.pk,
            "old_total": str(old_total),
            "new_total": str(order.total),
            "extra_days": offer.lead_time_days,
        },
    )
    post_milestone(
        conversation=offer.conversation,
        event="change_order.accepted",
        offer_id=offer.pk,
        version=offer.version,
        order=order.reference,
        delta=str(offer.total),
        currency=offer.currency,
        extra_days=offer.lead_time_days,
        actor=buyer,
    )
    post_checkout_link(order=order, actor=buyer)
    if order.amount_paid > order.total:
        # The price went down below what was paid: give the difference back.
        from commerce.services.payments import refund_order

        refund_order(
            actor=buyer,
            order=order,
            amount=order.amount_paid - order.amount_refunded - order.total,
            reason=f"Change order v{offer.version} lowered the price.",
            system=True,
        )
    return order


@transaction.atomic
def decline_offer(*, buyer: User, offer: Offer, note: str = "") -> Offer:
    offer = _locked_open_offer(buyer=buyer, offer=offer)
    offer.responded_at = timezone.now()
    offer.response_note = note.strip()[:2000]
    offer.save(update_fields=["responded_at", "response_note"])
    offer = transition_offer(offer=offer, to=OS.DECLINED, code=OfferEventCode.DECLINED, actor=buyer)
    post_milestone(
        conversation=offer.conversation,
        event="offer.declined",
        type="offer_declined",
        offer_id=offer.pk,
        version=offer.version,
        note=offer.response_note,
        actor=buyer,
    )
    return offer


@transaction.atomic
def request_offer_changes(*, buyer: User, offer: Offer, note: str) -> Offer:
    """Ask for a different version (counter-offer); the artisan answers with a new version."""
    if not (note or "").strip():
        raise InvalidInput(_("Say what you would like changed."), field="note")
    offer = _locked_open_offer(buyer=buyer, offer=offer)
    offer.responded_at = timezone.now()
    offer.response_note = note.strip()[:2000]
    offer.save(update_fields=["responded_at", "response_note"])
    offer = transition_offer(
        offer=offer, to=OS.CHANGES_REQUESTED, code=OfferEventCode.CHANGES_REQUESTED, actor=buyer
    )
    post_milestone(
        conversation=offer.conversation,
        event="offer.changes_requested",
        type="offer_changes_requested",
        offer_id=offer.pk,
        version=offer.version,
        note=offer.response_note,
        actor=buyer,
    )
    return offer


@transaction.atomic
def expire_stale_offers(*, now: datetime | None = None) -> int:
    """Mark open offers past their expiry as expired (periodic task).

    Each offer goes through ``transition_offer`` (one ``OfferEvent`` with code ``expired``
    per offer, all in this one transaction); each already publishes its own card, so a
    bulk UPDATE would save nothing worth the second code path.
    """
    now = now or timezone.now()
    stale = list(
        Offer.objects.select_for_update(of=("self",)).filter(
            status__in=OPEN_STATUSES, expires_at__lte=now
        )
    )
    for offer in stale:
        transition_offer(
            offer=offer,
            to=OS.EXPIRED,
            code=OfferEventCode.EXPIRED,
            data={"expires_at": offer.expires_at.isoformat()},
        )
        post_milestone(
            conversation=offer.conversation,
            event="offer.expired",
            offer_id=offer.pk,
            version=offer.version,
        )
    return len(stale)
