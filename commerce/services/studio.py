"""The artisan's order page (``studio_order``): one service per action the page posts.

The page posts ``action`` plus that action's form; the view parses the form and calls
``STUDIO_ACTIONS[action]`` with the cleaned data. Each entry is keyword-only and owns its
transaction: most hand over to the order, shipment, offer or refund service that already
does (a refund deliberately holds no transaction over the provider call), and shipping
looks the carrier's logistics provider up in the same transaction that ships.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from django.db import transaction

from commerce.models import LogisticsProvider, Order
from commerce.services.logistics import ship_order
from commerce.services.offers import OfferLineInput, send_change_order
from commerce.services.orders import (
    cancel_order,
    mark_order_ready,
    post_production_update,
    post_proof,
)
from commerce.services.payments import refund_order
from core.models import User


class StudioAction(Protocol):
    def __call__(self, *, artisan: User, order: Order, data: Mapping[str, Any]) -> object: ...


def mark_ready_from_studio(*, artisan: User, order: Order, data: Mapping[str, Any]) -> Order:
    return mark_order_ready(artisan=artisan, order=order)


def refund_from_studio(*, artisan: User, order: Order, data: Mapping[str, Any]) -> object:
    return refund_order(actor=artisan, order=order, reason=data.get("note", ""))


def cancel_from_studio(*, artisan: User, order: Order, data: Mapping[str, Any]) -> Order:
    return cancel_order(actor=artisan, order=order, note=data.get("note", ""))


def post_production_from_studio(*, artisan: User, order: Order, data: Mapping[str, Any]) -> object:
    return post_production_update(
        artisan=artisan,
        order=order,
        stage=data["stage"],
        note=data["note"],
        photo=data.get("photo"),
    )


def post_proof_from_studio(*, artisan: User, order: Order, data: Mapping[str, Any]) -> object:
    return post_proof(artisan=artisan, order=order, image=data["image"], note=data["note"])


def carrier_provider(carrier: str) -> LogisticsProvider | None:
    """The logistics provider whose name is ``carrier`` (any case), if we integrate with it:
    its tracking link template and webhooks then apply to the shipment."""
    return LogisticsProvider.objects.filter(name__iexact=carrier.strip()).first()


@transaction.atomic
def ship_from_studio(*, artisan: User, order: Order, data: Mapping[str, Any]) -> object:
    return ship_order(
        actor=artisan,
        order=order,
        carrier=data["carrier"],
        tracking_number=data["tracking_number"],
        tracking_url=data["tracking_url"],
        provider=carrier_provider(data["carrier"]),
    )


def send_change_from_studio(*, artisan: User, order: Order, data: Mapping[str, Any]) -> object:
    return send_change_order(
        artisan=artisan,
        order=order,
        lines=[OfferLineInput(description=data["description"], unit_price=data["price_delta"])],
        extra_lead_time_days=data["extra_days"],
        note=data["note"],
    )


# Actions that move money back out: the page asks for a fresh re-authentication first
# (core.decorators.recently_authenticated), so a stolen session cannot refund orders.
REAUTH_ACTIONS: frozenset[str] = frozenset({"refund"})

STUDIO_ACTIONS: Mapping[str, StudioAction] = {
    "ready": mark_ready_from_studio,
    "refund": refund_from_studio,
    "cancel": cancel_from_studio,
    "production": post_production_from_studio,
    "proof": post_proof_from_studio,
    "ship": ship_from_studio,
    "change": send_change_from_studio,
}
