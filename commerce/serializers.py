"""Wire shapes of commerce objects: chat card payloads, real-time events and the JSON API.

Documented in docs/commerce.md ("Card payloads"). Amounts are strings (Decimal as text) next
to an ISO currency; times are ISO 8601 UTC. These shapes hold facts only — codes, ids,
amounts — never text in someone's language and never absolute links: readers render them
(``commerce.card_render``, the chat client) in their own language at display time.
``*_url`` helpers below build absolute links for places that leave the site (Telegram, email).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.urls import reverse

from commerce.models import Offer, OfferKind, Order, Proof
from commerce.money import percent_of


def absolute_url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def offer_path(offer_id: int) -> str:
    return reverse("commerce:offer_detail", args=[offer_id])


def pay_path(reference: str) -> str:
    return reverse("commerce:pay", args=[reference])


def order_path(reference: str) -> str:
    return reverse("commerce:order_detail", args=[reference])


def offer_url(offer: Offer) -> str:
    return absolute_url(reverse("commerce:offer_detail", args=[offer.pk]))


def pay_url(order: Order) -> str:
    return absolute_url(reverse("commerce:pay", args=[order.reference]))


def order_url(order: Order) -> str:
    return absolute_url(reverse("commerce:order_detail", args=[order.reference]))


def serialize_offer(offer: Offer) -> dict[str, Any]:
    lines = [
        {
            "description": line.description,
            "quantity": line.quantity,
            "unit_price": str(line.unit_price),
            "total": str(line.line_total),
        }
        for line in offer.lines.all()
    ]
    return {
        "offer_id": offer.pk,
        "kind": offer.kind,
        "version": offer.version,
        "supersedes": offer.supersedes_id,
        "order_reference": offer.order.reference if offer.order_id else None,
        "lines": lines,
        "total": str(offer.total),
        # The total includes shipping: the card shows it as its own line so the sum is visible.
        "shipping_amount": str(offer.shipping_amount or 0),
        "currency": offer.currency,
        "deposit_amount": str(
            percent_of(offer.total, offer.deposit_percent, offer.currency)
            if offer.deposit_percent and offer.kind == OfferKind.INITIAL
            else Decimal("0")
        ),
        "lead_time_days": offer.lead_time_days,
        "expires_at": offer.expires_at.isoformat(),
        "deposit_percent": offer.deposit_percent,
        "revision_rounds": offer.revision_rounds_included,
        "personalised": offer.personalised,
        "note": offer.note,
        "status": offer.status,
        "sent_at": offer.sent_at.isoformat() if offer.sent_at else None,
        "responded_at": offer.responded_at.isoformat() if offer.responded_at else None,
    }


def serialize_order(order: Order) -> dict[str, Any]:
    return {
        "reference": order.reference,
        "title": order.title,
        "status": order.status,
        "total": str(order.total),
        "currency": order.currency,
        "deposit_amount": str(order.deposit_amount),
        "amount_paid": str(order.amount_paid),
        "amount_due": str(order.amount_due),
        "personalised": order.personalised,
        "due_date": order.due_date.isoformat() if order.due_date else None,
    }


def serialize_proof(proof: Proof) -> dict[str, Any]:
    return {
        "proof_id": proof.pk,
        "image_url": proof.image.url if proof.image else "",
        "sha256": proof.sha256,
        "status": proof.status,
        "note": proof.note,
        "created_at": proof.created_at.isoformat(),
        "decided_at": proof.decided_at.isoformat() if proof.decided_at else None,
    }
