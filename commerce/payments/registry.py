"""Selects the payment gateway from settings: PAYMENT_GATEWAY = "dev" (default) | "stripe" | "paypal".

Gateways are built once per name and reused (the PayPal OAuth token and HTTP pools live on
the instance); the cache is dropped whenever a payment setting changes (override_settings).
Provider modules are imported lazily so ``stripe`` is only loaded when Stripe is used.
"""

from __future__ import annotations

import threading
from typing import Any

from django.core import checks
from django.core.signals import setting_changed

from commerce.payments.config import read_setting
from commerce.payments.gateway import PaymentGateway
from commerce.payments.types import GatewayNotConfigured

GATEWAY_NAMES = ("dev", "stripe", "paypal")
DEFAULT_GATEWAY_NAME = "dev"
_SETTING_PREFIXES = ("PAYMENT_GATEWAY", "STRIPE_", "PAYPAL_", "DEV_GATEWAY_", "SECRET_KEY")

_gateways: dict[str, PaymentGateway] = {}
_gateways_lock = threading.Lock()


def selected_gateway_name() -> str:
    """The configured PAYMENT_GATEWAY, validated."""
    name = str(read_setting("PAYMENT_GATEWAY", DEFAULT_GATEWAY_NAME)).strip().lower()
    if name not in GATEWAY_NAMES:
        raise GatewayNotConfigured(
            f"PAYMENT_GATEWAY={name!r} is not one of {', '.join(GATEWAY_NAMES)}"
        )
    return name


def get_gateway(name: str | None = None) -> PaymentGateway:
    """Return the gateway called ``name``, or the one selected by PAYMENT_GATEWAY.

    Raises GatewayNotConfigured (naming the missing setting) when the provider lacks
    its credentials, so misconfiguration fails loudly instead of at the first payment.
    """
    gateway_name = selected_gateway_name() if name is None else name.strip().lower()
    with _gateways_lock:
        gateway = _gateways.get(gateway_name)
        if gateway is None:
            gateway = _build_gateway(gateway_name)
            _gateways[gateway_name] = gateway
        return gateway


def clear_gateway_cache() -> None:
    """Forget built gateways (settings changed, or between tests)."""
    with _gateways_lock:
        _gateways.clear()


def check_payment_gateway(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Django system check: the selected gateway must be fully configured.

    Register with ``checks.register(check_payment_gateway, deploy=True)`` (or always) so
    production refuses to start with a provider selected but unconfigured.
    """
    try:
        get_gateway()
    except GatewayNotConfigured as error:
        return [checks.Error(str(error), id="commerce.payments.E001")]
    return []


def _build_gateway(name: str) -> PaymentGateway:
    if name == "dev":
        from commerce.payments.dev_gateway import DevGateway

        return DevGateway()
    if name == "stripe":
        from commerce.payments.stripe_gateway import StripeGateway

        return StripeGateway()
    if name == "paypal":
        from commerce.payments.paypal_gateway import PayPalGateway

        return PayPalGateway()
    raise GatewayNotConfigured(f"Unknown payment gateway {name!r}; expected one of {GATEWAY_NAMES}")


def _drop_gateways_on_setting_change(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith(_SETTING_PREFIXES):
        clear_gateway_cache()


setting_changed.connect(_drop_gateways_on_setting_change, dispatch_uid="commerce.payments.registry")
