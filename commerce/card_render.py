"""Offer and order cards, and commerce system lines, as one reader sees them.

Card messages store facts (``commerce.services.cards``); this module turns them into text
in the *active* language, locale and time zone — wrap calls in ``translation.override`` /
``timezone.override`` to render for someone else (the Telegram bridge does). Links are
site-relative paths; callers that leave the site (Telegram, email) prefix ``SITE_URL``.

``card_strings()`` hands the same labels and templates to the chat client (webchat/strings.py),
so the web and the bot say the same thing. Templates use ``%(name)s`` placeholders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.units import format_unit
from django.urls import reverse
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from commerce.models import (
    OfferKind,
    OfferStatus,
    OrderStatus,
    PaymentPurpose,
    ProductionStageKind,
    ProofStatus,
    ShipmentStatus,
)
from commerce.serializers import offer_path, order_path, pay_path
from core.l10n import babel_locale, format_date, format_money, format_percentage


class _Facts(dict):
    """Formatting values; a fact missing from an old payload renders as nothing."""

    def __missing__(self, key: str) -> str:
        return ""


@dataclass
class Action:
    label: str
    path: str
    primary: bool = True


@dataclass
class RenderedCard:
    kind: str  # "offer" | "order"
    title: str
    status: str  # code
    status_label: str
    lines: list[str] = field(default_factory=list)
    action: Action | None = None

    def as_text(self) -> str:
        return "\n".join([self.title, *self.lines, self.status_label])


def status_labels() -> dict[str, dict[str, str]]:
    def labels(choices: Any) -> dict[str, str]:
        return {value: str(label) for value, label in choices.choices}

    return {
        "offer": labels(OfferStatus),
        "order": labels(OrderStatus),
        "proof": labels(ProofStatus),
        "shipment": labels(ShipmentStatus),
        "purpose": labels(PaymentPurpose),
        "stage": labels(ProductionStageKind),
    }


def card_url_templates() -> dict[str, str]:
    """Site-relative link patterns the chat client fills with an id or a reference."""
    return {
        "offer": offer_path(0).replace("/0/", "/{id}/"),
        "pay": pay_path("AT-REF").replace("AT-REF", "{reference}"),
        "order": order_path("AT-REF").replace("AT-REF", "{reference}"),
        "studio_order": reverse("commerce:studio_order", args=["AT-REF"]).replace(
            "AT-REF", "{reference}"
        ),
        # The JSON API (commerce/api.py: rate_order_csat) the CSAT buttons post a score to.
        "csat": "/api/commerce/orders/{reference}/csat/",
    }


def card_strings() -> dict[str, Any]:
    """Every label and template a card or commerce system line needs, in the active language."""
    return {
        "status": status_labels(),
        "offer_title": _("Offer v%(version)s"),
        "change_order_title": _("Change order v%(version)s"),
        "order_title": _("Order %(reference)s"),
        "label_value": _("%(label)s: %(value)s"),
        "total": _("Total"),
        "shipping": _("Shipping"),
        "price_change": _("Price change"),
        "deposit": _("Deposit: %(amount)s (%(percent)s)"),
        "amount_paid": _("Paid %(amount)s"),
        "lead_time": _("Ready in %(duration)s"),
        "extra_time": _("%(duration)s more"),
        "valid_until": _("Valid until %(date)s"),
        "due": _("Expected by %(date)s"),
        "tracking": _("Tracking: %(carrier)s %(number)s"),
        "review_offer": _("Review the offer"),
        "review_proof": _("Review the proof"),
        "view_order": pgettext("button", "View the order"),
        "pay": {
            PaymentPurpose.DEPOSIT: _("Pay the deposit of %(amount)s"),
            PaymentPurpose.FULL: _("Pay %(amount)s"),
            PaymentPurpose.BALANCE: _("Pay the balance of %(amount)s"),
            PaymentPurpose.ADJUSTMENT: _("Pay the supplement of %(amount)s"),
        },
        "events": {
            "offer.accepted": _("Offer v%(version)s accepted — order %(order)s"),
            "offer.declined": _("Offer v%(version)s declined"),
            "offer.changes_requested": _("Changes requested on offer v%(version)s"),
            "offer.expired": _("Offer v%(version)s expired"),
            "change_order.accepted": _("Change order v%(version)s accepted for order %(order)s"),
            "order.status": _("Order %(order)s: %(status)s"),
            "order.production": _("Order %(order)s: %(stage)s"),
            "order.payment": _("Order %(order)s: %(amount)s received"),
            "order.refund": _("Order %(order)s: %(amount)s refunded"),
            "proof.posted": _("New proof for order %(order)s: approve it or ask for changes"),
            "proof.approved": _("Proof approved for order %(order)s"),
            "proof.changes_requested": _("Changes requested on the proof for order %(order)s"),
            "shipment.status": _("Order %(order)s — parcel: %(status)s"),
            "custom_request.sent": _("Custom request"),
        },
        "budget": _("Budget: %(amount)s"),
        "needed_by": _("Needed by %(date)s"),
        "csat": csat_strings(),
    }


def csat_strings() -> dict[str, str]:
    """The CSAT question (commerce/services/csat.py) and its answers, for every reader."""
    return {
        "question": _("How did it go with this order?"),
        # Each button's accessible name (and its text in Telegram)
        "option": _("%(score)s out of 5"),
        "rated": _("You rated this %(score)s out of 5"),
        "change": _("You can change your answer: choose another number."),
        "buyer_rated": _("The buyer rated this order %(score)s out of 5"),
        "waiting": _("Waiting for the buyer's answer."),
        "closed": _("This order was refunded, so it can no longer be rated."),
    }


def _money(amount: Any, currency: str | None, *, signed: bool = False) -> str:
    if amount in (None, "") or not currency:
        return ""
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        return ""
    text = format_money(value, currency)
    return f"+{text}" if signed and value > 0 else text


def _days(days: Any) -> str:
    try:
        count = int(days)
    except (TypeError, ValueError):
        return ""
    return format_unit(count, "duration-day", length="long", locale=babel_locale())


def _date(value: Any) -> str:
    if not value:
        return ""
    moment = parse_datetime(str(value))
    if moment is not None:
        return format_date(moment)
    day = parse_date(str(value))
    return format_date(day) if day else ""


def render_offer_card(payload: dict[str, Any], *, for_buyer: bool = True) -> RenderedCard:
    strings = card_strings()
    change = payload.get("kind") == OfferKind.CHANGE_ORDER
    version = _Facts(version=payload.get("version", ""))
    title = (strings["change_order_title"] if change else strings["offer_title"]) % version
    currency = payload.get("currency") or ""
    lines = []
    for line in payload.get("lines") or []:
        quantity = int(line.get("quantity") or 1)
        label = str(line.get("description") or "")
        if quantity != 1:
            label = f"{label} × {quantity}"
        amount = _money(line.get("total"), currency, signed=change)
        lines.append("• " + strings["label_value"] % _Facts(label=label, value=amount))
    shipping = payload.get("shipping_amount")
    if shipping and float(shipping) > 0:
        value = _money(shipping, currency, signed=change)
        lines.append("• " + strings["label_value"] % _Facts(label=strings["shipping"], value=value))
    total = _money(payload.get("total"), currency, signed=change)
    heading = strings["price_change"] if change else strings["total"]
    lines.append(strings["label_value"] % _Facts(label=heading, value=total))
    if not change and payload.get("deposit_percent"):
        lines.append(
            strings["deposit"]
            % _Facts(
                amount=_money(payload.get("deposit_amount"), currency),
                percent=format_percentage(int(payload["deposit_percent"])),
            )
        )
    if payload.get("lead_time_days"):
        template = strings["extra_time"] if change else strings["lead_time"]
        lines.append(template % _Facts(duration=_days(payload["lead_time_days"])))
    status = str(payload.get("status") or "")
    if status == OfferStatus.SENT and payload.get("expires_at"):
        lines.append(strings["valid_until"] % _Facts(date=_date(payload["expires_at"])))
    if payload.get("note"):
        lines.append(str(payload["note"]))
    action = None
    if for_buyer and status == OfferStatus.SENT and payload.get("offer_id"):
        action = Action(strings["review_offer"], offer_path(int(payload["offer_id"])))
    return RenderedCard(
        kind="offer",
        title=title,
        status=status,
        status_label=strings["status"]["offer"].get(status, status),
        lines=lines,
        action=action,
    )


def render_order_card(payload: dict[str, Any], *, for_buyer: bool = True) -> RenderedCard:
    strings = card_strings()
    reference = str(payload.get("order") or payload.get("reference") or "")
    currency = payload.get("currency") or ""
    status = str(payload.get("status") or "")
    lines = [
        strings["label_value"]
        % _Facts(label=strings["total"], value=_money(payload.get("total"), currency))
    ]
    paid = payload.get("amount_paid")
    if paid not in (None, "") and Decimal(str(paid)) > 0:
        lines.append(strings["amount_paid"] % _Facts(amount=_money(paid, currency)))
    if payload.get("due_date") and status not in (
        OrderStatus.SHIPPED,
        OrderStatus.DELIVERED,
        OrderStatus.CANCELLED,
        OrderStatus.REFUNDED,
    ):
        lines.append(strings["due"] % _Facts(date=_date(payload["due_date"])))
    shipment = payload.get("shipment") or None
    if shipment and shipment.get("tracking_number"):
        lines.append(
            strings["tracking"]
            % _Facts(carrier=shipment.get("carrier", ""), number=shipment["tracking_number"])
        )
    action = None
    payable = payload.get("payable") or None
    proof = payload.get("proof") or None
    if for_buyer and payable and reference:
        template = strings["pay"].get(payable.get("purpose"), strings["pay"][PaymentPurpose.FULL])
        action = Action(
            template % _Facts(amount=_money(payable.get("amount"), currency)), pay_path(reference)
        )
    elif for_buyer and proof and proof.get("status") == ProofStatus.PENDING and reference:
        action = Action(strings["review_proof"], order_path(reference))
    elif reference:
        action = Action(strings["view_order"], order_path(reference), primary=False)
    return RenderedCard(
        kind="order",
        title=strings["order_title"] % _Facts(reference=reference),
        status=status,
        status_label=strings["status"]["order"].get(status, status),
        lines=lines,
        action=action,
    )


def render_system_line(payload: dict[str, Any]) -> str:
    """A commerce milestone (``{"event": …}``) as one short line; "" for other payloads."""
    event = str(payload.get("event") or "")
    strings = card_strings()
    template = strings["events"].get(event)
    if template is None:
        return ""
    labels = strings["status"]
    facts = _Facts({k: v for k, v in payload.items() if isinstance(v, str | int)})
    currency = payload.get("currency") or ""
    if event == "order.status":
        facts["status"] = labels["order"].get(payload.get("new_status", ""), "")
    elif event == "order.production":
        facts["stage"] = labels["stage"].get(payload.get("stage", ""), "")
    elif event == "shipment.status":
        facts["status"] = labels["shipment"].get(payload.get("status", ""), "")
    if "amount" in payload:
        facts["amount"] = _money(payload.get("amount"), currency)
    parts = [template % facts]
    if event == "custom_request.sent":
        parts = [
            strings["label_value"] % _Facts(label=template, value=payload.get("description", ""))
        ]
        if payload.get("budget"):
            parts.append(strings["budget"] % _Facts(amount=_money(payload["budget"], currency)))
        if payload.get("deadline"):
            parts.append(strings["needed_by"] % _Facts(date=_date(payload["deadline"])))
    elif payload.get("tracking_number"):
        parts.append(
            strings["tracking"]
            % _Facts(carrier=payload.get("carrier", ""), number=payload["tracking_number"])
        )
    if payload.get("note") and event != "custom_request.sent":
        parts.append(f"“{payload['note']}”")
    return " · ".join(p for p in parts if p)


def csat_score(payload: dict[str, Any]) -> int | None:
    """The answer stored on a CSAT card, or None (not answered, or not a score)."""
    score = payload.get("score")
    return (
        score
        if isinstance(score, int) and not isinstance(score, bool) and 1 <= score <= 5
        else None
    )


def csat_closed(payload: dict[str, Any]) -> bool:
    """True once the CSAT card was closed (its order refunded after delivery)."""
    return payload.get("closed") is True


def render_csat_card(payload: dict[str, Any], *, for_buyer: bool = True) -> RenderedCard:
    """The CSAT question: the buyer reads their answer (or the question), the artisan the
    buyer's answer (or that it is awaited)."""
    strings = card_strings()
    csat = strings["csat"]
    reference = str(payload.get("order") or "")
    score = csat_score(payload)
    closed = csat_closed(payload)
    if for_buyer:
        lines = [csat["question"]]
        if score is not None:
            lines.append(csat["rated"] % _Facts(score=score))
        if closed:
            lines.append(csat["closed"])
        elif score is not None:
            lines.append(csat["change"])
    else:
        answer = csat["buyer_rated"] % _Facts(score=score) if score else None
        lines = [answer or (csat["closed"] if closed else csat["waiting"])]
    return RenderedCard(
        kind="csat",
        title=strings["order_title"] % _Facts(reference=reference),
        status="rated" if score else "asked",
        status_label="",
        lines=lines,
    )


def render_card(kind: str, payload: dict[str, Any], *, for_buyer: bool = True) -> RenderedCard:
    if kind == "offer" or payload.get("card") == "offer":
        return render_offer_card(payload, for_buyer=for_buyer)
    if payload.get("card") == "csat":
        return render_csat_card(payload, for_buyer=for_buyer)
    return render_order_card(payload, for_buyer=for_buyer)
