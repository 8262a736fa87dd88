"""Selects the payment gateway from settings: PAYMENT_GATEWAY = "dev" (default) | "stripe" | "paypal".

Gateways are built once per name and reused (the PayPal OAuth token and HTTP pools live on
the instance); the cache is dropped whenever a payment setting changes (override_settings).
Provider modules are imported lazily so ``stripe`` is only loaded when Stripe is used.
"""

from __future__ import annotations

import threading
from typing import Any

from django.conf import settings
from django.core import checks
from django.core.signals import setting_changed

from commerce.payments.gateway import PaymentGateway
from commerce.payments.types import GatewayNotConfigured

GATEWAY_NAMES = ("dev", "stripe", "paypal")
DEFAULT_GATEWAY_NAME = "dev"
_SETTING_PREFIXES = ("PAYMENT_GATEWAY", "STRIPE_", "PAYPAL_", "DEV_GATEWAY_", "SECRET_KEY")

_gateways: dict[str, PaymentGateway] = {}
_gateways_lock = threading.Lock()


def selected_gateway_name() -> str:
    """The configured PAYMENT_GATEWAY, validated."""
    default = DEFAULT_GATEWAY_NAME if dev_gateway_allowed() else ""
    name = str(getattr(settings, "PAYMENT_GATEWAY", "") or default).strip().lower()
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
    """Django system check: a gateway is selected, allowed here and fully configured.

    With DEBUG off (``DEV_GATEWAY_ALLOWED`` false) the dev gateway, which lets a buyer mark
    their own order paid, is an error, and so is no gateway at all; a real provider without
    its keys is an error everywhere. The ASGI/WSGI entry points run the checks before serving
    in production (``STARTUP_CHECKS``), so such a deployment refuses to start.
    """
    default = DEFAULT_GATEWAY_NAME if dev_gateway_allowed() else ""
    name = str(getattr(settings, "PAYMENT_GATEWAY", "") or default).strip().lower()
    if not name:
        return [
            checks.Error(
                "PAYMENT_GATEWAY is not set; with DEBUG off it must be 'stripe' or 'paypal'.",
                id="commerce.payments.E003",
            )
        ]
    if name == "dev" and not dev_gateway_allowed():
        return [
            checks.Error(
                "PAYMENT_GATEWAY=dev with DEBUG off: the dev gateway lets buyers mark their own "
                "orders paid and is refused in production. Use 'stripe' or 'paypal'.",
                id="commerce.payments.E002",
            )
        ]
    try:
        get_gateway()
    except GatewayNotConfigured as error:
        return [checks.Error(str(error), id="commerce.payments.E001")]
    return []


def dev_gateway_allowed() -> bool:
    """The dev gateway and its confirm page exist only in development (DEBUG at load time)."""
    return bool(getattr(settings, "DEV_GATEWAY_ALLOWED", False))


def _build_gateway(name: str) -> PaymentGateway:
    if name == "dev":
        if not dev_gateway_allowed():
            raise GatewayNotConfigured("The dev payment gateway is refused with DEBUG off.")
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
