"""GDPR export/erase for commerce, and the demo seeder."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from commerce import services
from commerce.models import ArtisanProfile, LedgerEntry, Order, Payment, Product
from core.gdpr import erase_personal_data, export_personal_data
from tests.commerce.conftest import pay_through_dev_gateway

pytestmark = pytest.mark.django_db


def test_export_contains_orders_offers_requests(buyer, artisan, shop, order):
    data = export_personal_data(user=buyer)["commerce"]
    assert data["orders"][0]["reference"] == order.reference
    assert data["offers"][0]["total"] == "120.00"
    assert export_personal_data(user=artisan)["commerce"]["shop"]["shop_name"] == "Casa Barro"


def test_erasure_scrubs_personal_fields_but_keeps_money_records(buyer, artisan, shop):
    request = services.submit_custom_request(
        buyer=buyer, shop=shop, description="Mug saying 'For Léa, 12 May'"
    )
    offer = services.send_offer(
        artisan=artisan,
        conversation=request.conversation,
        lines=[services.OfferLineInput("Mug", "30.00")],
        currency="EUR",
        lead_time_days=5,
    )
    order = services.accept_offer(buyer=buyer, offer=offer)
    Order.objects.filter(pk=order.pk).update(
        shipping_name="Léa Martin", shipping_address={"full_name": "Léa Martin", "line1": "1 Rue X"}
    )
    pay_through_dev_gateway(buyer, order)
    erase_personal_data(user=buyer)
    order.refresh_from_db()
    request.refresh_from_db()
    assert order.shipping_name == "" and order.shipping_address == {}
    assert "Léa" not in str(order.spec_snapshot) and request.description == "[erased]"
    assert Payment.objects.filter(order=order).count() == 1
    assert LedgerEntry.objects.filter(order=order).count() == 2


def test_demo_seed_is_idempotent(db):
    call_command("seed_demo")
    call_command("seed_demo")
    assert ArtisanProfile.objects.count() == 2
    assert Product.objects.count() == 5
    assert all(p.photos.exists() for p in Product.objects.all())
