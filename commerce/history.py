"""How an order reads to a person: the stepper (where it is, what happens next, who acts) and
history rows rendered from their codes, both in the reader's active language.

Nothing here writes; everything is rendered at display time from stored facts (status,
amounts, proofs, ``OrderEvent.code`` + ``data``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from commerce.models import Order, OrderEvent, OrderStatus, PaymentPurpose, ProofStatus
from core import l10n

S = OrderStatus


# --- History rows ----------------------------------------------------------------------------


def _money(data: dict[str, Any], order: Order) -> str:
    amount = data.get("amount")
    return l10n.format_money(amount, data.get("currency") or order.currency) if amount else ""


def _purpose(code: str | None) -> str:
    try:
        return str(PaymentPurpose(code).label)
    except ValueError:
        return _("Payment")


def describe_event(event: OrderEvent) -> str:
    """One history row as a sentence in the reader's language (empty: nothing to add)."""
    data, order = event.data or {}, event.order
    code = event.code
    if code == "order_placed":
        return _("Order placed from the shop.")
    if code == "offer_accepted":
        return _("Offer v%(version)s accepted.") % {"version": data.get("version", "")}
    if code == "change_order_accepted":
        return _("Change order v%(version)s accepted.") % {"version": data.get("version", "")}
    if code == "address_set":
        return _("Delivery address chosen.")
    if code == "payment_received":
        amount = _money(data, order)
        if amount:
            return _("%(purpose)s of %(amount)s received.") % {
                "purpose": _purpose(data.get("purpose")),
                "amount": amount,
            }
        return _("%(purpose)s received.") % {"purpose": _purpose(data.get("purpose"))}
    if code == "payment_mismatch":
        return _("A payment of %(amount)s did not match; it will be refunded.") % {
            "amount": _money(data, order)
        }
    if code == "payment_extra":
        return _("Extra payment of %(amount)s received; it will be refunded.") % {
            "amount": _money(data, order)
        }
    if code == "refund":
        return _("Refund of %(amount)s.") % {"amount": _money(data, order)}
    if code == "fully_refunded":
        return _("Fully refunded.")
    if code == "piece_ready":
        return _("The piece is ready.")
    if code == "proof_posted":
        return _("Proof posted.")
    if code == "proof_approved":
        return _("Proof approved.")
    if code == "proof_changes_requested":
        return _("Changes requested on the proof (round %(round)s).") % {
            "round": data.get("round", "")
        }
    if code == "production_update":
        return ""
    if code == "shipped":
        return _("Sent with %(carrier)s, tracking %(tracking)s.") % {
            "carrier": data.get("carrier", ""),
            "tracking": data.get("tracking_number", ""),
        }
    if code == "delivered":
        return _("Delivered.")
    if code == "shipment_status":
        return _("Parcel %(tracking)s: %(status)s.") % {
            "tracking": data.get("tracking_number", ""),
            "status": _shipment_label(data.get("status", "")),
        }
    return ""


def _shipment_label(status: str) -> str:
    from commerce.models import ShipmentStatus

    try:
        return str(ShipmentStatus(status).label)
    except ValueError:
        return status


# --- The stepper -----------------------------------------------------------------------------


@dataclass
class Step:
    key: str
    label: str
    state: str = "upcoming"  # done | current | upcoming
    next_text: str = ""
    actor: str = ""  # who acts now: "buyer", "artisan", "carrier"
    actor_label: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_current(self) -> bool:
        return self.state == "current"


STEP_LABELS = {
    "requested": lambda: pgettext("order step", "Requested"),
    "offer": lambda: pgettext("order step", "Offer"),
    "payment": lambda: pgettext("order step", "Payment"),
    "deposit": lambda: pgettext("order step", "Deposit"),
    "proof": lambda: pgettext("order step", "Proof"),
    "making": lambda: pgettext("order step", "Making"),
    "balance": lambda: pgettext("order step", "Balance"),
    "shipped": lambda: pgettext("order step", "Shipped"),
    "delivered": lambda: pgettext("order step", "Delivered"),
}


def _applicable_steps(order: Order, proofs: list[Any]) -> list[str]:
    keys: list[str] = []
    if order.is_custom or order.offer_id:
        if order.spec_snapshot.get("custom_request"):
            keys.append("requested")
        keys.append("offer")
    keys.append("deposit" if order.deposit_amount > 0 else "payment")
    if proofs or (order.is_custom and order.revision_rounds_included > 0):
        keys.append("proof")
    if order.is_custom or order.lead_time_days > 0 or order.stages.exists():
        keys.append("making")
    if order.deposit_amount > 0:
        keys.append("balance")
    keys += ["shipped", "delivered"]
    return keys


def _current_key(order: Order, keys: list[str], proofs: list[Any]) -> str:
    status = order.status
    if status == S.PENDING_PAYMENT:
        return "deposit" if "deposit" in keys else "payment"
    if status in (S.DEPOSIT_PAID, S.PAID, S.IN_PRODUCTION):
        if status == S.PAID and order.deposit_amount > 0:
            return "shipped"  # the balance is in: the artisan ships next
        approved = any(p.status == ProofStatus.APPROVED for p in proofs)
        if "proof" in keys and not approved:
            return "proof"
        if "making" in keys:
            return "making"
        return "shipped"
    if status == S.AWAITING_BALANCE:
        return "balance"
    if status == S.SHIPPED:
        return "shipped"
    if status == S.DELIVERED:
        return "delivered"
    return ""


def _who(actor: str, order: Order, viewer_is_buyer: bool) -> str:
    if actor == "buyer":
        return _("You") if viewer_is_buyer else _("The buyer")
    if actor == "artisan":
        return _("The artisan") if viewer_is_buyer else _("You")
    if actor == "carrier":
        return _("The carrier")
    return ""


def _next_text(key: str, order: Order, proofs: list[Any], viewer_is_buyer: bool) -> tuple[str, str]:
    """(what happens next, who acts) for the current step."""
    money = order.money
    pending_proof = any(p.status == ProofStatus.PENDING for p in proofs)
    if key in ("deposit", "payment"):
        amount = money(order.deposit_amount if key == "deposit" else order.total)
        if viewer_is_buyer:
            return _("Pay %(amount)s to start; the artisan is told at once.") % {
                "amount": amount
            }, "buyer"
        return _("Waiting for the buyer to pay %(amount)s.") % {"amount": amount}, "buyer"
    if key == "proof":
        if pending_proof:
            if viewer_is_buyer:
                return _("Look at the proof below: approve it or ask for changes."), "buyer"
            return _("Waiting for the buyer to answer your proof."), "buyer"
        if viewer_is_buyer:
            return _("The artisan prepares a proof for you to approve."), "artisan"
        return _("Send a proof for the buyer to approve."), "artisan"
    if key == "making":
        if viewer_is_buyer:
            return _("The artisan is making your piece and posts updates here."), "artisan"
        return _("Make the piece, post progress, then mark it ready."), "artisan"
    if key == "balance":
        amount = money(order.amount_due)
        if viewer_is_buyer:
            return _("The piece is ready: pay the balance of %(amount)s so it ships.") % {
                "amount": amount
            }, "buyer"
        return _("Waiting for the buyer to pay the balance of %(amount)s.") % {
            "amount": amount
        }, "buyer"
    if key == "shipped":
        if order.status == S.SHIPPED:
            return _("The parcel is on its way; the carrier delivers it."), "carrier"
        if viewer_is_buyer:
            return _("The artisan packs and ships your piece."), "artisan"
        return _("Pack the piece and mark it shipped with the tracking number."), "artisan"
    if key == "delivered":
        return _("Delivered. Enjoy your piece!"), ""
    return "", ""


def order_steps(order: Order, *, viewer_is_buyer: bool) -> list[Step]:
    """The steps that apply to this order, with the current one and what happens next."""
    proofs = list(order.proofs.all())
    keys = _applicable_steps(order, proofs)
    current = _current_key(order, keys, proofs)
    steps: list[Step] = []
    reached = current == ""  # cancelled/refunded: nothing is current
    passed = True
    for key in keys:
        step = Step(key=key, label=STEP_LABELS[key]())
        if key == current:
            passed = False
            step.state = "current"
            step.next_text, step.actor = _next_text(key, order, proofs, viewer_is_buyer)
            step.actor_label = _who(step.actor, order, viewer_is_buyer)
        elif passed and not reached:
            step.state = "done"
        steps.append(step)
    return steps
