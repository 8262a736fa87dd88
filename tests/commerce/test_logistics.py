"""Signed carrier tracking webhooks: tampered, stale, replayed, unknown; partner page."""

from __future__ import annotations

import json
import time

import pytest

from commerce import services
from commerce.models import LogisticsProvider, OrderStatus, ShipmentStatus
from conversations.models import MessageKind
from core.signing import sign_payload
from tests.commerce.conftest import cards, pay_through_dev_gateway

pytestmark = pytest.mark.django_db
SECRET = "whsec-swift-parcel"


@pytest.fixture
def provider(logistics_user):
    provider = LogisticsProvider.objects.create(
        name="Swift Parcel",
        slug="swift",
        webhook_secret=SECRET,
        tracking_url_template="https://track.swift.example/{tracking_number}",
    )
    provider.members.add(logistics_user)
    return provider


@pytest.fixture
def shipment(buyer, artisan, order, provider):
    pay_through_dev_gateway(buyer, order)
    return services.ship_order(
        actor=artisan,
        order=order,
        carrier="Swift Parcel",
        tracking_number="SW-1001",
        provider=provider,
    )


def post_tracking(client, body: dict, *, secret=SECRET, timestamp=None, slug="swift", raw=None):
    payload = raw if raw is not None else json.dumps(body).encode()
    signature = sign_payload(
        secret=secret, body=payload, timestamp=int(time.time()) if timestamp is None else timestamp
    )
    return client.post(
        f"/webhooks/logistics/{slug}/",
        payload,
        content_type="application/json",
        HTTP_X_ATELIER_SIGNATURE=signature,
    )


def test_signed_updates_move_shipment_and_order(client, shipment):
    assert shipment.tracking_url == "https://track.swift.example/SW-1001"
    r1 = post_tracking(
        client, {"event_id": "e1", "tracking_number": "SW-1001", "status": "in_transit"}
    )
    r2 = post_tracking(
        client, {"event_id": "e2", "tracking_number": "SW-1001", "status": "out_for_delivery"}
    )
    r3 = post_tracking(
        client, {"event_id": "e3", "tracking_number": "SW-1001", "status": "delivered"}
    )
    assert [r.status_code for r in (r1, r2, r3)] == [200, 200, 200]
    shipment.refresh_from_db()
    shipment.order.refresh_from_db()
    assert shipment.status == ShipmentStatus.DELIVERED
    assert shipment.order.status == OrderStatus.DELIVERED
    conversation = shipment.order.conversation
    events = [c.payload.get("event") for c in cards(conversation, MessageKind.SYSTEM)][-3:]
    assert events == ["shipment.status", "shipment.status", "order.status"]
    # The order keeps one card; delivery then asks the CSAT question on a card of its own
    order_card, csat_card = cards(conversation)
    assert order_card.payload["shipment"]["status"] == ShipmentStatus.DELIVERED
    assert csat_card.payload["card"] == "csat"


def test_replayed_event_is_applied_once(client, shipment):
    body = {"event_id": "e1", "tracking_number": "SW-1001", "status": "in_transit"}
    assert post_tracking(client, body).json()["applied"] is True
    assert post_tracking(client, body).json()["applied"] is False
    assert shipment.events.filter(status="in_transit").count() == 1


def test_out_of_order_update_does_not_go_backwards(client, shipment):
    post_tracking(
        client, {"event_id": "e2", "tracking_number": "SW-1001", "status": "out_for_delivery"}
    )
    late = post_tracking(
        client, {"event_id": "e1", "tracking_number": "SW-1001", "status": "in_transit"}
    )
    assert late.status_code == 200 and late.json()["applied"] is False
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.OUT_FOR_DELIVERY


def test_tampered_body_is_rejected(client, shipment):
    body = json.dumps(
        {"event_id": "e1", "tracking_number": "SW-1001", "status": "in_transit"}
    ).encode()
    signature = sign_payload(secret=SECRET, body=body, timestamp=int(time.time()))
    tampered = body.replace(b"in_transit", b"delivered")
    response = client.post(
        "/webhooks/logistics/swift/",
        tampered,
        content_type="application/json",
        HTTP_X_ATELIER_SIGNATURE=signature,
    )
    assert response.status_code == 400 and response.json()["code"] == "invalid_signature"
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.CREATED


def test_wrong_secret_and_missing_header_are_rejected(client, shipment):
    body = {"event_id": "e1", "tracking_number": "SW-1001", "status": "in_transit"}
    assert post_tracking(client, body, secret="guess").status_code == 400
    assert (
        client.post("/webhooks/logistics/swift/", body, content_type="application/json").status_code
        == 400
    )


def test_stale_timestamp_is_rejected(client, shipment):
    body = {"event_id": "e1", "tracking_number": "SW-1001", "status": "in_transit"}
    response = post_tracking(client, body, timestamp=int(time.time()) - 301)
    assert response.status_code == 400 and response.json()["code"] == "stale"


def test_unknown_tracking_number_is_404_json(client, shipment):
    response = post_tracking(
        client, {"event_id": "e9", "tracking_number": "NOPE", "status": "in_transit"}
    )
    assert response.status_code == 404
    assert response.json()["code"] == "unknown_tracking_number"


def test_unknown_provider_is_404(client, shipment):
    response = post_tracking(
        client,
        {"event_id": "e1", "tracking_number": "SW-1001", "status": "in_transit"},
        slug="other",
    )
    assert response.status_code == 404


def test_partner_page_lists_and_updates_their_shipments(client, shipment, logistics_user, buyer):
    client.force_login(logistics_user)
    page = client.get("/logistics/")
    assert page.status_code == 200 and b"SW-1001" in page.content
    response = client.post(
        f"/logistics/shipments/{shipment.pk}/",
        {"status": "delivered", "note": "Left with neighbour"},
    )
    assert response.status_code == 302
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.DELIVERED
    client.force_login(buyer)
    assert client.get("/logistics/").status_code == 403
