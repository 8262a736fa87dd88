"""Commerce fixtures: a shop, a conversation, offers and orders built through services."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from commerce import services
from commerce.models import ArtisanProfile, Order
from commerce.payments.registry import clear_gateway_cache
from conversations.models import Conversation, Message, MessageKind
from conversations.services import start_conversation
from core.models import Role
from tests.conftest import enrol_totp, make_user


@pytest.fixture(autouse=True)
def _dev_gateway(settings):
    settings.PAYMENT_GATEWAY = "dev"
    settings.DEV_GATEWAY_SECRET = "test-dev-gateway-secret"
    settings.SITE_URL = "https://atelier.example"
    settings.PLATFORM_FEE_PERCENT = Decimal("10")
    clear_gateway_cache()
    yield
    clear_gateway_cache()


def png_upload(name: str = "proof.png", colour: str = "#9a3f1c") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), colour).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


@pytest.fixture
def shop(artisan) -> ArtisanProfile:
    return services.save_artisan_profile(
        user=artisan,
        shop_name="Casa Barro",
        story="Clay from the river bank.",
        region="Oaxaca",
        country="MX",
        languages=["es", "en"],
        materials="clay, glaze",
    )


@pytest.fixture
def stranger(db):
    return make_user("stranger@example.com", display_name="Sam Stranger")


@pytest.fixture
def logistics_user(db):
    return make_user("carrier@example.com", Role.LOGISTICS, display_name="Parcel Co")


@pytest.fixture
def conversation(buyer, artisan, shop) -> Conversation:
    return start_conversation(buyer=buyer, artisan=artisan, subject="A custom bowl")


def line(description: str = "Large bowl", price: str = "120.00", quantity: int = 1):
    return services.OfferLineInput(description=description, unit_price=price, quantity=quantity)


def send(artisan, conversation, **overrides):
    params = {
        "artisan": artisan,
        "conversation": conversation,
        "lines": [line()],
        "currency": "EUR",
        "lead_time_days": 14,
        "valid_days": 7,
    }
    params.update(overrides)
    return services.send_offer(**params)


@pytest.fixture
def offer(artisan, conversation):
    return send(artisan, conversation)


@pytest.fixture
def order(buyer, offer) -> Order:
    return services.accept_offer(buyer=buyer, offer=offer)


def cards(conversation: Conversation, kind: str = MessageKind.ORDER_UPDATE) -> list[Message]:
    return list(Message.objects.filter(conversation=conversation, kind=kind).order_by("seq"))


LYON = {
    "full_name": "Léa Martin",
    "line1": "12 rue de la République",
    "city": "Lyon",
    "postal_code": "69001",
    "country": "FR",
}


def save_address(buyer, **overrides):
    from commerce.services.shipping import AddressInput, save_shipping_address

    return save_shipping_address(buyer=buyer, data=AddressInput(**{**LYON, **overrides}))


def pay_through_dev_gateway(buyer, order: Order) -> services.WebhookOutcome:
    payment = services.start_checkout(buyer=buyer, order=order)
    return services.confirm_dev_payment(buyer=buyer, payment=payment)


__all__ = ["enrol_totp", "png_upload"]
