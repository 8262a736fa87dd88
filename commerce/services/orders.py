"""Orders: creation, the status machine, production timeline and proofs.

``transition_order`` is the only code that changes ``Order.status``. Every move writes an
``OrderEvent``, posts an order-update card into the conversation and broadcasts
``order.status`` after commit.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.core.files.base import File
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from commerce import page_cache
from commerce.errors import (
    CommerceError,
    IllegalTransition,
    InvalidInput,
    NotAllowed,
    RevisionRoundsExhausted,
    require_transition,
)
from commerce.models import (
    Order,
    OrderEvent,
    OrderEventType,
    OrderStatus,
    PaymentPurpose,
    Product,
    ProductionStage,
    ProductionStageKind,
    ProductStatus,
    Proof,
    ProofStatus,
)
from commerce.services.cards import post_milestone, publish_order_card
from commerce.services.catalog import price_selection
from commerce.services.context import ContextKind, post_context_card
from commerce.services.csat import ask_for_rating, close_rating
from commerce.services.photos import clean_photo
from conversations.services import conversation_between
from core.models import User

S = OrderStatus
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    S.PENDING_PAYMENT: frozenset({S.DEPOSIT_PAID, S.PAID, S.CANCELLED}),
    S.DEPOSIT_PAID: frozenset({S.IN_PRODUCTION, S.REFUNDED}),
    S.PAID: frozenset({S.IN_PRODUCTION, S.SHIPPED, S.REFUNDED}),
    S.IN_PRODUCTION: frozenset({S.AWAITING_BALANCE, S.SHIPPED, S.REFUNDED}),
    S.AWAITING_BALANCE: frozenset({S.PAID, S.REFUNDED}),
    S.SHIPPED: frozenset({S.DELIVERED, S.REFUNDED}),
    S.DELIVERED: frozenset({S.REFUNDED}),
    S.CANCELLED: frozenset(),
    S.REFUNDED: frozenset(),
}
TERMINAL = {S.CANCELLED, S.REFUNDED}
# Statuses in which the maker is working on the piece.
WORKING = {S.DEPOSIT_PAID, S.PAID, S.IN_PRODUCTION}
REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I look-alikes


def new_order_reference() -> str:
    return "AT-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))


def create_order_row(**fields: Any) -> Order:
    """Insert an order with a fresh random reference (retrying the rare collision)."""
    for _attempt in range(8):
        try:
            with transaction.atomic():
                return Order.objects.create(reference=new_order_reference(), **fields)
        except IntegrityError:
            continue
    raise CommerceError(_("Could not allocate an order reference; try again."))


def _status_guard(order: Order, to: str) -> str | None:
    """Money preconditions a move needs beyond the map; returns the reason it is refused."""
    if to == S.SHIPPED and not order.is_fully_paid:
        return _("The order cannot ship before it is fully paid.")
    if to == S.PAID and not order.is_fully_paid:
        return _("The order is not fully paid yet.")
    if to == S.DEPOSIT_PAID and (
        order.deposit_amount <= 0 or order.amount_paid < order.deposit_amount
    ):
        return _("The deposit has not been paid.")
    if to == S.AWAITING_BALANCE and order.is_fully_paid:
        return _("Nothing is left to pay.")
    return None


@transaction.atomic
def transition_order(
    *,
    order: Order,
    to: str,
    actor: User | None = None,
    note: str = "",
    data: dict[str, Any] | None = None,
    code: str = "",
) -> Order:
    """Move ``order`` to status ``to`` or raise ``IllegalTransition``.

    ``code`` (+ ``data``) says why, rendered per reader by commerce/history.py; ``note`` is
    only for words a person typed.

    Locks the order row, checks the allowed-transitions map and money guards, writes an
    OrderEvent, posts an order-update card and broadcasts ``order.status`` on commit; on
    the move to delivered it also asks the buyer the CSAT question in the chat.
    """
    locked = Order.objects.select_for_update(of=("self",)).get(pk=order.pk)
    current = locked.status
    require_transition(
        transitions=ALLOWED_TRANSITIONS,
        statuses=S,
        current=current,
        to=to,
        unknown=_("Unknown order status “%(status)s”."),
        illegal=_("An order in status “%(current)s” cannot move to “%(requested)s”."),
    )
    refusal = _status_guard(locked, to)
    if refusal:
        raise IllegalTransition(refusal, current=current, requested=to)
    locked.status = to
    if to in (S.PAID, S.DEPOSIT_PAID) and locked.paid_at is None:
        locked.paid_at = timezone.now()
    locked.save(update_fields=["status", "paid_at", "updated_at"])
    OrderEvent.objects.create(
        order=locked,
        type=OrderEventType.STATUS,
        old_status=current,
        new_status=to,
        actor=actor,
        code=code,
        note=note[:2000],
        data=data or {},
    )
    facts = {k: v for k, v in (data or {}).items() if isinstance(v, str | int | None)}
    if to == S.CANCELLED and note and actor is not None:
        facts["note"] = note[:2000]  # the person's own reason, shown as they wrote it
    post_milestone(
        conversation=locked.conversation,
        event="order.status",
        type="status",
        order=locked.reference,
        old_status=current,
        new_status=to,
        actor=actor,
        **facts,
    )
    publish_order_card(order=locked, actor=actor)
    if to == S.DELIVERED:
        ask_for_rating(
            order=locked
        )  # the CSAT question, after the card (commerce/services/csat.py)
    elif current == S.DELIVERED:
        close_rating(order=locked)  # refunded after delivery: the question is closed
    # Keep the caller's instance current.
    order.status, order.paid_at = locked.status, locked.paid_at
    return locked


def record_order_event(
    *,
    order: Order,
    type: str,  # noqa: A002 - mirrors the model field
    actor: User | None = None,
    note: str = "",
    data: dict[str, Any] | None = None,
    code: str = "",
) -> OrderEvent:
    """A history row: ``code`` + ``data`` (rendered per reader), ``note`` typed by a person."""
    return OrderEvent.objects.create(
        order=order, type=type, actor=actor, code=code, note=note[:2000], data=data or {}
    )


@dataclass(frozen=True)
class Payable:
    purpose: str
    amount: Decimal


def payable_now(order: Order) -> Payable | None:
    """What the buyer can pay on the pay page right now (None: nothing)."""
    if order.status == S.PENDING_PAYMENT:
        if order.deposit_amount > 0:
            return Payable(PaymentPurpose.DEPOSIT, order.deposit_amount)
        return Payable(PaymentPurpose.FULL, order.total)
    if order.status == S.AWAITING_BALANCE and order.amount_due > 0:
        return Payable(PaymentPurpose.BALANCE, order.amount_due)
    if (
        order.status in (S.PAID, S.IN_PRODUCTION)
        and order.deposit_amount == 0
        and order.amount_due > 0
    ):
        # An accepted change order raised the price of a fully paid order.
        return Payable(PaymentPurpose.ADJUSTMENT, order.amount_due)
    return None


def post_checkout_link(*, order: Order, actor: User | None = None) -> None:
    """Bring the order's card up to date with what is due now (its "Pay" action).

    The order has one card in its conversation; it is posted the first time and updated in
    place afterwards. Readers render the amount and the pay link themselves.
    """
    publish_order_card(order=order, actor=actor)


# --- Listed products ----------------------------------------------------------------------------


@transaction.atomic
def create_product_order(
    *,
    buyer: User,
    product: Product,
    selections: dict[str, str],
    quantity: int = 1,
    buyer_note: str = "",
) -> Order:
    """Order a listed piece with the buyer's options; reserves stock; posts a checkout link.

    Shipping is quoted for the buyer's default address (the artisan's own country if there
    is none yet) and re-quoted when the buyer picks the address on the pay page.
    """
    from commerce.services.shipping import default_address, origin_country, quote_shipping

    product = (
        Product.objects.select_for_update(of=("self",))
        .select_related("shop__user")
        .get(pk=product.pk)
    )
    if product.status != ProductStatus.ACTIVE or not product.shop.is_public:
        raise InvalidInput(_("This piece is not for sale right now."))
    if product.shop.user_id == buyer.pk:
        raise InvalidInput(_("You cannot buy your own piece."))
    if not 1 <= quantity <= 20:
        raise InvalidInput(_("Quantity is between 1 and 20."), field="quantity")
    if not product.made_to_order:
        if (product.stock_quantity or 0) < quantity:
            raise InvalidInput(_("Not enough pieces in stock."), field="quantity")
        product.stock_quantity = (product.stock_quantity or 0) - quantity
        product.save(update_fields=["stock_quantity"])
    priced = price_selection(product=product, selections=selections)
    items_total = priced.unit_price * quantity
    home = default_address(buyer)
    destination = home.country.code if home else origin_country(product.shop.user)
    quote = quote_shipping(
        artisan=product.shop.user,
        country=destination,
        subtotal=items_total,
        currency=product.currency,
        lead_time_days=product.lead_time_days,
    )
    shipping = quote.amount if quote and quote.currency == product.currency else Decimal("0")
    total = items_total + shipping
    snapshot = {
        "source": "product",
        "product": {"id": product.pk, "title": product.title, "base_price": str(product.price)},
        "options": priced.lines,
        "unit_price": str(priced.unit_price),
        "quantity": quantity,
        "items_total": str(items_total),
        "shipping": {"amount": str(shipping), "zone": quote.zone if quote else ""},
        "total": str(total),
        "currency": product.currency,
        "lead_time_days": product.lead_time_days,
        "personalised": priced.personalised,
        "agreed_at": timezone.now().isoformat(),
    }
    order = create_order_row(
        buyer=buyer,
        artisan=product.shop.user,
        shop=product.shop,
        product=product,
        title=product.title if quantity == 1 else f"{quantity} × {product.title}",
        spec_snapshot=snapshot,
        total=total,
        shipping_amount=shipping,
        currency=product.currency,
        personalised=priced.personalised,
        lead_time_days=product.lead_time_days,
        due_date=(timezone.now() + timedelta(days=product.lead_time_days)).date(),
        arrives_from=quote.arrives_from if quote else None,
        arrives_to=quote.arrives_to if quote else None,
        buyer_note=buyer_note.strip()[:2000],
    )
    conversation = conversation_between(
        buyer=buyer,
        artisan=product.shop.user,
        subject=f"Order {order.reference}: {product.title}"[:200],
    )
    post_context_card(
        conversation=conversation,
        kind=ContextKind.BUY,
        actor=buyer,
        product=product,
        selections=selections,
        unit_price=priced.unit_price,
        currency=product.currency,
        order_id=order.pk,
    )
    order.conversation = conversation
    order.save(update_fields=["conversation"])
    OrderEvent.objects.create(
        order=order,
        type=OrderEventType.STATUS,
        new_status=order.status,
        actor=buyer,
        code="order_placed",
    )
    post_checkout_link(order=order, actor=buyer)
    return order


@transaction.atomic
def cancel_order(*, actor: User, order: Order, note: str = "") -> Order:
    """Cancel an unpaid order (paid orders are refunded instead) and release stock."""
    if actor.pk not in (order.buyer_id, order.artisan_id) and not actor.is_platform_admin:
        raise NotAllowed(_("You cannot cancel this order."))
    order = transition_order(order=order, to=S.CANCELLED, actor=actor, note=note)
    if order.product_id and order.product and not order.product.made_to_order:
        quantity = int(order.spec_snapshot.get("quantity", 1))
        Product.objects.filter(pk=order.product_id).update(
            stock_quantity=(order.product.stock_quantity or 0) + quantity
        )
        page_cache.shop_changed(page_cache.shop_of(order.product))
    return order


# --- Production timeline -------------------------------------------------------------------------


def _require_artisan_of(order: Order, artisan: User) -> None:
    if order.artisan_id != artisan.pk:
        raise NotAllowed(_("This is not your order."))


@transaction.atomic
def post_production_update(
    *,
    artisan: User,
    order: Order,
    stage: str,
    note: str = "",
    photo: File | None = None,
) -> ProductionStage:
    """Add a maker-timeline entry (optionally with a photo) and push it to the buyer.

    The first update moves a paid order into production; ``ready`` triggers
    ``mark_order_ready`` (which posts the balance link when a deposit was taken).
    """
    _require_artisan_of(order, artisan)
    if stage not in ProductionStageKind.values:
        raise InvalidInput(_("Unknown production stage."), field="stage")
    order = Order.objects.select_for_update(of=("self",)).get(pk=order.pk)
    if order.status not in WORKING:
        raise InvalidInput(_("Production updates are for paid orders that are not shipped yet."))
    if order.status in (S.DEPOSIT_PAID, S.PAID):
        order = transition_order(order=order, to=S.IN_PRODUCTION, actor=artisan)
    entry = ProductionStage.objects.create(
        order=order, stage=stage, note=note.strip()[:2000], photo=photo, created_by=artisan
    )
    record_order_event(
        order=order,
        type=OrderEventType.PRODUCTION,
        actor=artisan,
        code="production_update",
        note=note,
        data={"stage": stage, "stage_id": entry.pk},
    )
    post_milestone(
        conversation=order.conversation,
        event="order.production",
        type="production",
        order=order.reference,
        stage=stage,
        stage_id=entry.pk,
        note=entry.note,
        photo_url=entry.photo.url if entry.photo else "",
        actor=artisan,
    )
    if stage == ProductionStageKind.READY:
        mark_order_ready(artisan=artisan, order=order)
    return entry


@transaction.atomic
def mark_order_ready(*, artisan: User, order: Order, note: str = "") -> Order:
    """The piece is finished: ask for the balance if one is due, else it is ready to ship."""
    _require_artisan_of(order, artisan)
    order = Order.objects.select_for_update(of=("self",)).get(pk=order.pk)
    if order.status in (S.DEPOSIT_PAID, S.PAID):
        order = transition_order(order=order, to=S.IN_PRODUCTION, actor=artisan)
    if order.status != S.IN_PRODUCTION:
        raise InvalidInput(_("Only an order in production can be marked ready."))
    if order.amount_due > 0:
        order = transition_order(
            order=order, to=S.AWAITING_BALANCE, actor=artisan, note=note, code="piece_ready"
        )
        post_checkout_link(order=order, actor=artisan)
    return order


# --- Proofs ----------------------------------------------------------------------------------


def file_sha256(file: File) -> str:
    digest = hashlib.sha256()
    file.seek(0)
    for chunk in file.chunks():
        digest.update(chunk)
    file.seek(0)
    return digest.hexdigest()


@transaction.atomic
def post_proof(*, artisan: User, order: Order, image: File, note: str = "") -> Proof:
    """Post a mock-up for the buyer to approve; its SHA-256 is stored with it."""
    _require_artisan_of(order, artisan)
    order = Order.objects.select_for_update(of=("self",)).get(pk=order.pk)
    if order.status in TERMINAL or order.status in (S.SHIPPED, S.DELIVERED):
        raise InvalidInput(_("Proofs are for orders still being made."))
    image = clean_photo(image, field="image")  # no EXIF/GPS; the hash is of what is shown
    sha = file_sha256(image)
    # An unanswered earlier proof is replaced by this one (it no longer needs an answer).
    order.proofs.filter(status=ProofStatus.PENDING).update(
        status=ProofStatus.CHANGES_REQUESTED, buyer_note="Replaced by a newer proof."
    )
    proof = Proof.objects.create(order=order, image=image, sha256=sha, note=note.strip()[:2000])
    record_order_event(
        order=order,
        type=OrderEventType.PROOF,
        actor=artisan,
        code="proof_posted",
        data={"proof_id": proof.pk, "sha256": sha},
    )
    _post_proof_card(order=order, proof=proof, actor=artisan, event="proof.posted")
    return proof


def _post_proof_card(*, order: Order, proof: Proof, actor: User, event: str) -> None:
    """A proof moment: a system line with the image, and the order card's proof step."""
    post_milestone(
        conversation=order.conversation,
        event=event,
        type="proof",
        order=order.reference,
        proof_id=proof.pk,
        status=proof.status,
        image_url=proof.image.url if proof.image else "",
        note=proof.buyer_note if event == "proof.changes_requested" else proof.note,
        rounds_included=order.revision_rounds_included,
        rounds_used=order.revision_rounds_used,
        actor=actor,
    )
    publish_order_card(order=order, actor=actor)


def _locked_pending_proof(*, buyer: User, proof: Proof) -> tuple[Proof, Order]:
    proof = Proof.objects.select_for_update(of=("self",)).select_related("order").get(pk=proof.pk)
    if proof.order.buyer_id != buyer.pk:
        raise NotAllowed(_("This is not your order."))
    if proof.status != ProofStatus.PENDING:
        raise InvalidInput(_("This proof was already answered."))
    order = Order.objects.select_for_update(of=("self",)).get(pk=proof.order_id)
    return proof, order


@transaction.atomic
def approve_proof(*, buyer: User, proof: Proof) -> Proof:
    """Record the approval time and the hash of the exact image approved (dispute evidence)."""
    proof, order = _locked_pending_proof(buyer=buyer, proof=proof)
    with proof.image.open("rb") as stored:
        sha = file_sha256(stored)
    proof.status = ProofStatus.APPROVED
    proof.decided_at = timezone.now()
    proof.approved_sha256 = sha
    proof.save(update_fields=["status", "decided_at", "approved_sha256"])
    record_order_event(
        order=order,
        type=OrderEventType.PROOF,
        actor=buyer,
        code="proof_approved",
        data={"proof_id": proof.pk, "sha256": sha, "approved_at": proof.decided_at.isoformat()},
    )
    _post_proof_card(order=order, proof=proof, actor=buyer, event="proof.approved")
    return proof


@transaction.atomic
def request_proof_changes(*, buyer: User, proof: Proof, note: str) -> Proof:
    """Ask for a revision; each request uses one of the revision rounds the offer included."""
    proof, order = _locked_pending_proof(buyer=buyer, proof=proof)
    if not note.strip():
        raise InvalidInput(_("Say what should change."), field="note")
    if order.revision_rounds_used >= order.revision_rounds_included:
        raise RevisionRoundsExhausted(
            _(
                "All %(count)s included revision rounds are used. "
                "Ask the artisan for a change order to go further."
            )
            % {"count": order.revision_rounds_included}
        )
    order.revision_rounds_used += 1
    order.save(update_fields=["revision_rounds_used", "updated_at"])
    proof.status = ProofStatus.CHANGES_REQUESTED
    proof.decided_at = timezone.now()
    proof.buyer_note = note.strip()[:2000]
    proof.save(update_fields=["status", "decided_at", "buyer_note"])
    record_order_event(
        order=order,
        type=OrderEventType.PROOF,
        actor=buyer,
        code="proof_changes_requested",
        note=note,
        data={"proof_id": proof.pk, "round": order.revision_rounds_used},
    )
    _post_proof_card(order=order, proof=proof, actor=buyer, event="proof.changes_requested")
    return proof
