"""Shipments and signed carrier tracking webhooks.

Webhook signature: header ``X-Atelier-Signature: t=<unix seconds>,v1=<hex>`` where
``v1 = HMAC-SHA256(provider.webhook_secret, "<t>." + raw body)``. Deliveries older or newer
than ``TRACKING_TOLERANCE_SECONDS`` are refused (replay of captured bodies), and each
``event_id`` is applied once per provider.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from commerce.errors import (
    InvalidInput,
    InvalidTrackingWebhook,
    NotAllowed,
    UnknownLogisticsProvider,
    UnknownTrackingNumber,
)
from commerce.models import (
    LogisticsProvider,
    Order,
    OrderEventType,
    OrderStatus,
    ProcessedWebhookEvent,
    Shipment,
    ShipmentEvent,
    ShipmentStatus,
)
from commerce.services.cards import post_milestone, publish_order_card
from commerce.services.orders import record_order_event, transition_order
from core.models import User
from core.signing import MalformedSignature, SignatureError, StaleSignature, verify_signature

SIGNATURE_HEADER = "X-Atelier-Signature"
TRACKING_TOLERANCE_SECONDS = 300
SHIPMENT_RANK = {
    ShipmentStatus.CREATED: 0,
    ShipmentStatus.IN_TRANSIT: 1,
    ShipmentStatus.OUT_FOR_DELIVERY: 2,
    ShipmentStatus.DELIVERED: 3,
}


@transaction.atomic
def ship_order(
    *,
    actor: User,
    order: Order,
    carrier: str,
    tracking_number: str,
    tracking_url: str = "",
    provider: LogisticsProvider | None = None,
) -> Shipment:
    """Attach a parcel to an order and mark it shipped (the order must be fully paid)."""
    if actor.pk != order.artisan_id and not actor.is_platform_admin:
        raise NotAllowed(_("Only the artisan ships this order."))
    carrier = (carrier or (provider.name if provider else "")).strip()
    tracking_number = (tracking_number or "").strip()
    if not carrier:
        raise InvalidInput(_("Name the carrier."), field="carrier")
    if not tracking_number or len(tracking_number) > 80:
        raise InvalidInput(_("Give the tracking number."), field="tracking_number")
    if not tracking_url and provider and provider.tracking_url_template:
        tracking_url = provider.tracking_url_template.format(tracking_number=tracking_number)
    if tracking_url and not tracking_url.startswith(("https://", "http://")):
        raise InvalidInput(_("The tracking link must start with https://"), field="tracking_url")
    if Shipment.objects.filter(carrier=carrier, tracking_number=tracking_number).exists():
        raise InvalidInput(_("This tracking number is already used."), field="tracking_number")
    shipment = Shipment.objects.create(
        order=order,
        provider=provider,
        carrier=carrier[:80],
        tracking_number=tracking_number,
        tracking_url=tracking_url[:400],
    )
    ShipmentEvent.objects.create(shipment=shipment, status=ShipmentStatus.CREATED, actor=actor)
    transition_order(
        order=order,
        to=OrderStatus.SHIPPED,
        actor=actor,
        code="shipped",
        data={"carrier": carrier, "tracking_number": tracking_number, "tracking_url": tracking_url},
    )
    return shipment


@transaction.atomic
def record_shipment_status(
    *,
    shipment: Shipment,
    status: str,
    actor: User | None = None,
    note: str = "",
    source: str = "manual",
    event_id: str = "",
    occurred_at: datetime | None = None,
) -> bool:
    """Move a shipment forward; stale (backwards or repeated) updates change nothing.

    Returns True when the shipment moved. Delivered moves the order to delivered.
    """
    if status not in SHIPMENT_RANK or status == ShipmentStatus.CREATED:
        raise InvalidInput(_("Unknown shipment status."), field="status")
    shipment = (
        Shipment.objects.select_for_update(of=("self",)).select_related("order").get(pk=shipment.pk)
    )
    if SHIPMENT_RANK[status] <= SHIPMENT_RANK[shipment.status]:
        return False
    shipment.status = status
    if status == ShipmentStatus.DELIVERED:
        shipment.delivered_at = occurred_at or timezone.now()
    shipment.save()
    ShipmentEvent.objects.create(
        shipment=shipment,
        status=status,
        note=note[:300],
        source=source,
        event_id=event_id[:120],
        actor=actor,
        occurred_at=occurred_at or timezone.now(),
    )
    order = shipment.order
    if status == ShipmentStatus.DELIVERED and order.status == OrderStatus.SHIPPED:
        transition_order(
            order=order,
            to=OrderStatus.DELIVERED,
            actor=actor,
            code="delivered",
            note=note,
            data={"tracking_number": shipment.tracking_number},
        )
    else:
        record_order_event(
            order=order,
            type=OrderEventType.SHIPMENT,
            actor=actor,
            code="shipment_status",
            note=note,
            data={"status": status, "tracking_number": shipment.tracking_number},
        )
        post_milestone(
            conversation=order.conversation,
            event="shipment.status",
            type="shipment",
            order=order.reference,
            status=status,
            carrier=shipment.carrier,
            tracking_number=shipment.tracking_number,
            tracking_url=shipment.tracking_url,
            actor=actor,
        )
        publish_order_card(order=order, actor=actor)
    return True


def _verify(provider: LogisticsProvider, body: bytes, header: str, now: float) -> None:
    try:
        verify_signature(
            secret=provider.webhook_secret,
            body=body,
            header=header,
            tolerance=TRACKING_TOLERANCE_SECONDS,
            now=now,
        )
    except MalformedSignature as error:
        raise InvalidTrackingWebhook(f"Malformed {SIGNATURE_HEADER} header.") from error
    except StaleSignature as error:
        raise InvalidTrackingWebhook(
            "Signature timestamp is outside the 5-minute window.", code="stale"
        ) from error
    except SignatureError as error:
        raise InvalidTrackingWebhook("Signature does not match.") from error


@transaction.atomic
def handle_tracking_webhook(
    *, provider_slug: str, body: bytes, signature_header: str, now: float | None = None
) -> tuple[Shipment, bool]:
    """Verify and apply a carrier tracking update. Returns (shipment, applied).

    Body: ``{"event_id", "tracking_number", "status": in_transit|out_for_delivery|delivered,
    "occurred_at"?: ISO-8601, "note"?}``. Raises InvalidTrackingWebhook (400),
    UnknownLogisticsProvider / UnknownTrackingNumber (404).
    """
    provider = LogisticsProvider.objects.filter(slug=provider_slug).first()
    if provider is None:
        raise UnknownLogisticsProvider("Unknown logistics provider.")
    if not signature_header:
        raise InvalidTrackingWebhook(f"Missing {SIGNATURE_HEADER} header.")
    _verify(provider, body, signature_header, time.time() if now is None else now)
    try:
        payload = json.loads(body)
        event_id = str(payload["event_id"])[:120]
        tracking_number = str(payload["tracking_number"]).strip()
        status = str(payload["status"])
    except (ValueError, KeyError, TypeError) as error:
        raise InvalidTrackingWebhook(
            "Body must be JSON with event_id, tracking_number, status."
        ) from error
    if status not in SHIPMENT_RANK or status == ShipmentStatus.CREATED:
        raise InvalidTrackingWebhook(f"Unknown status {status!r}.", code="invalid")
    occurred_at = None
    if payload.get("occurred_at"):
        try:
            occurred_at = datetime.fromisoformat(str(payload["occurred_at"]))
            if occurred_at.tzinfo is None:
                occurred_at = occurred_at.replace(tzinfo=UTC)
        except ValueError as error:
            raise InvalidTrackingWebhook("occurred_at must be ISO-8601.", code="invalid") from error
    shipment = Shipment.objects.filter(provider=provider, tracking_number=tracking_number).first()
    if shipment is None:
        raise UnknownTrackingNumber(f"No shipment with tracking number {tracking_number!r}.")
    try:
        with transaction.atomic():
            ProcessedWebhookEvent.objects.create(
                provider=f"logistics:{provider.slug}"[:40], event_id=event_id, event_type=status
            )
    except IntegrityError:
        return shipment, False
    applied = record_shipment_status(
        shipment=shipment,
        status=status,
        note=str(payload.get("note") or "")[:300],
        source="webhook",
        event_id=event_id,
        occurred_at=occurred_at,
    )
    shipment.refresh_from_db()
    return shipment, applied
