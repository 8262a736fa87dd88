"""get_gateway: PAYMENT_GATEWAY selects the provider; unconfigured providers fail loudly."""

from __future__ import annotations

import pytest

from commerce.payments.dev_gateway import DevGateway
from commerce.payments.paypal_gateway import PayPalGateway
from commerce.payments.registry import check_payment_gateway, get_gateway
from commerce.payments.stripe_gateway import StripeGateway
from commerce.payments.types import GatewayNotConfigured


@pytest.fixture
def no_provider_credentials(settings):
    for name in (
        "STRIPE_SECRET_KEY",
        "STRIPE_WEBHOOK_SECRET",
        "STRIPE_API_BASE",
        "PAYPAL_CLIENT_ID",
        "PAYPAL_CLIENT_SECRET",
        "PAYPAL_WEBHOOK_ID",
    ):
        setattr(settings, name, "")
    return settings


def test_dev_is_the_default(no_provider_credentials):
    settings = no_provider_credentials
    del settings.PAYMENT_GATEWAY
    assert isinstance(get_gateway(), DevGateway)


def test_the_same_gateway_is_reused_until_settings_change(no_provider_credentials):
    settings = no_provider_credentials
    settings.PAYMENT_GATEWAY = "dev"
    first = get_gateway()
    assert get_gateway() is first
    settings.DEV_GATEWAY_SECRET = "rotated"
    assert get_gateway() is not first


@pytest.mark.parametrize(
    ("name", "missing"),
    [("stripe", "STRIPE_SECRET_KEY"), ("paypal", "PAYPAL_CLIENT_ID")],
)
def test_selected_but_unconfigured_provider_names_the_missing_setting(
    no_provider_credentials, name, missing
):
    no_provider_credentials.PAYMENT_GATEWAY = name
    with pytest.raises(GatewayNotConfigured, match=missing):
        get_gateway()
    # And the deploy check reports the same, so production refuses to start
    [error] = check_payment_gateway()
    assert error.id == "commerce.payments.E001"
    assert missing in error.msg


def test_stripe_without_webhook_secret_is_unconfigured(no_provider_credentials):
    settings = no_provider_credentials
    settings.PAYMENT_GATEWAY = "stripe"
    settings.STRIPE_SECRET_KEY = "sk_test_x"
    with pytest.raises(GatewayNotConfigured, match="STRIPE_WEBHOOK_SECRET"):
        get_gateway()


def test_configured_stripe_uses_the_api_base_setting(no_provider_credentials):
    settings = no_provider_credentials
    settings.PAYMENT_GATEWAY = "stripe"
    settings.STRIPE_SECRET_KEY = "sk_test_x"
    settings.STRIPE_WEBHOOK_SECRET = "whsec_x"
    settings.STRIPE_API_BASE = "http://127.0.0.1:8420"
    gateway = get_gateway()
    assert isinstance(gateway, StripeGateway)
    assert gateway.api_base == "http://127.0.0.1:8420"
    assert check_payment_gateway() == []


def test_explicit_name_beats_the_setting(no_provider_credentials):
    settings = no_provider_credentials
    settings.PAYMENT_GATEWAY = "dev"
    settings.PAYPAL_CLIENT_ID = "id"
    settings.PAYPAL_CLIENT_SECRET = "secret"
    settings.PAYPAL_WEBHOOK_ID = "WH"
    assert isinstance(get_gateway("paypal"), PayPalGateway)


def test_unknown_gateway_name_is_refused(no_provider_credentials):
    no_provider_credentials.PAYMENT_GATEWAY = "bitcoin"
    with pytest.raises(GatewayNotConfigured, match="PAYMENT_GATEWAY"):
        get_gateway()
    with pytest.raises(GatewayNotConfigured, match="bitcoin"):
        get_gateway("bitcoin")
