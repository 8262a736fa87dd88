"""The artisan's order page: each posted action reaches its service through one table."""

from __future__ import annotations

import time

import pytest

from commerce.models import LogisticsProvider, OrderStatus
from commerce.services import studio
from core.security import mark_reauthenticated
from tests.commerce.conftest import pay_through_dev_gateway
from tests.conftest import PASSWORD, code_at

pytestmark = pytest.mark.django_db


def _page(order) -> str:
    return f"/studio/orders/{order.reference}/"


def _flashes(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


@pytest.fixture
def artisan_client(client, artisan):
    client.force_login(artisan)
    return client


@pytest.fixture
def reauthenticated_client(artisan_client):
    session = artisan_client.session
    mark_reauthenticated(session)
    session.save()
    return artisan_client


def test_every_action_the_page_posts_has_a_service():
    assert set(studio.STUDIO_ACTIONS) == {
        "ready",
        "refund",
        "cancel",
        "production",
        "proof",
        "ship",
        "change",
    }


def test_an_unknown_action_changes_nothing_and_says_so(artisan_client, order):
    response = artisan_client.post(_page(order), {"action": "teleport"})
    assert response.status_code == 200
    assert _flashes(response) == ["Please correct the form below."]
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT


def test_an_invalid_form_is_refused_before_any_service_runs(artisan_client, buyer, order):
    pay_through_dev_gateway(buyer, order)
    response = artisan_client.post(
        _page(order), {"action": "ship", "carrier": "Swift Parcel", "tracking_number": ""}
    )
    assert _flashes(response) == ["Please correct the form below."]
    assert not order.shipments.exists()


def test_cancel_posts_the_note_and_redirects_back(artisan_client, order):
    response = artisan_client.post(_page(order), {"action": "cancel", "note": "Out of clay"})
    assert response.status_code == 302
    assert response["Location"] == _page(order)
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert order.events.filter(note="Out of clay").exists()


def test_a_domain_error_becomes_a_message_on_the_page(reauthenticated_client, order):
    # Nothing has been paid, so there is nothing to refund
    response = reauthenticated_client.post(_page(order), {"action": "refund", "note": "sorry"})
    assert response.status_code == 200
    assert _flashes(response) == ["Nothing (or less than that) is refundable on this order."]


def test_refund_through_the_page_refunds_the_paid_order(reauthenticated_client, buyer, order):
    pay_through_dev_gateway(buyer, order)
    response = reauthenticated_client.post(
        _page(order), {"action": "refund", "note": "Broke in kiln"}
    )
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.amount_refunded == order.amount_paid > 0
    assert order.refunds.get().reason == "Broke in kiln"


def test_shipping_finds_the_partner_carrier_whatever_the_case(artisan, buyer, order):
    provider = LogisticsProvider.objects.create(
        name="Swift Parcel",
        slug="swift",
        webhook_secret="s",
        tracking_url_template="https://swift.example/t/{tracking_number}",
    )
    pay_through_dev_gateway(buyer, order)
    shipment = studio.ship_from_studio(
        artisan=artisan,
        order=order,
        data={"carrier": "swift parcel", "tracking_number": "SW-7", "tracking_url": ""},
    )
    assert shipment.provider == provider
    assert shipment.tracking_url == "https://swift.example/t/SW-7"
    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED


def test_a_refund_without_fresh_reauth_goes_to_reauth_and_refunds_nothing(
    artisan_client, buyer, order
):
    # Given a paid order and an artisan whose session was never re-authenticated
    pay_through_dev_gateway(buyer, order)
    # When they post the refund
    response = artisan_client.post(_page(order), {"action": "refund", "note": "Broke in kiln"})
    # Then they are sent to re-authenticate, with the order page to come back to
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/reauth/?next={_page(order).replace('/', '%2F')}"
    order.refresh_from_db()
    assert order.amount_refunded == 0
    assert not order.refunds.exists()


def test_a_stale_reauth_is_not_enough_for_a_refund(artisan_client, buyer, order, settings):
    pay_through_dev_gateway(buyer, order)
    session = artisan_client.session
    mark_reauthenticated(session, at=time.time() - (settings.REAUTH_WINDOW_MINUTES * 60 + 5))
    session.save()
    response = artisan_client.post(_page(order), {"action": "refund", "note": "late"})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/reauth/")
    assert not order.refunds.exists()


def test_other_actions_need_no_reauth(artisan_client, order):
    response = artisan_client.post(_page(order), {"action": "cancel", "note": "Out of clay"})
    assert response.status_code == 302
    assert response["Location"] == _page(order)


def test_the_artisan_reauthenticates_comes_back_and_refunds(artisan_client, artisan, buyer, order):
    # Given a paid order and a refund refused for want of a fresh re-auth
    pay_through_dev_gateway(buyer, order)
    reauth_url = artisan_client.post(_page(order), {"action": "refund", "note": "x"})["Location"]
    # When the artisan confirms password and 2FA code on the re-auth page
    response = artisan_client.post(
        reauth_url, {"password": PASSWORD, "code": code_at(artisan.totp)}
    )
    # Then they are back on the order page, and the refund now goes through
    assert response.status_code == 302
    assert response["Location"] == _page(order)
    assert artisan_client.get(_page(order)).status_code == 200
    response = artisan_client.post(_page(order), {"action": "refund", "note": "Broke in kiln"})
    assert response.status_code == 302
    assert response["Location"] == _page(order)
    order.refresh_from_db()
    assert order.amount_refunded == order.amount_paid > 0
    assert order.refunds.get().reason == "Broke in kiln"
