"""Wire shapes of commerce objects: chat card payloads, real-time events and the JSON API.

Documented in docs/commerce.md ("Card payloads"). Amounts are strings (Decimal as text).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse

from commerce.models import Offer, Order, Proof
from commerce.money import format_money


def absolute_url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


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
        "total_display": format_money(offer.total, offer.currency),
        "currency": offer.currency,
        "lead_time_days": offer.lead_time_days,
        "expires_at": offer.expires_at.isoformat(),
        "deposit_percent": offer.deposit_percent,
        "revision_rounds": offer.revision_rounds_included,
        "personalised": offer.personalised,
        "note": offer.note,
        "status": offer.status,
        "status_label": str(offer.get_status_display()),
        "url": offer_url(offer),
    }


def serialize_order(order: Order) -> dict[str, Any]:
    return {
        "reference": order.reference,
        "title": order.title,
        "status": order.status,
        "status_label": str(order.get_status_display()),
        "total": str(order.total),
        "currency": order.currency,
        "deposit_amount": str(order.deposit_amount),
        "amount_paid": str(order.amount_paid),
        "amount_due": str(order.amount_due),
        "total_display": format_money(order.total, order.currency),
        "personalised": order.personalised,
        "due_date": order.due_date.isoformat() if order.due_date else None,
        "url": order_url(order),
    }


def serialize_proof(proof: Proof) -> dict[str, Any]:
    return {
        "proof_id": proof.pk,
        "image_url": absolute_url(proof.image.url) if proof.image else "",
        "sha256": proof.sha256,
        "status": proof.status,
        "note": proof.note,
        "created_at": proof.created_at.isoformat(),
        "decided_at": proof.decided_at.isoformat() if proof.decided_at else None,
    }
