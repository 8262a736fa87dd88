"""The embedded default gateway for ``make run``: no provider, no network, no state.

``create_payment`` hands out a payment id (derived from the idempotency key, so a retried
attempt gets the same id) and a redirect to our own confirm page
``/pay/dev/<payment_id>/confirm/``. That page (a view owned by commerce) calls
``confirm_payment`` which returns a *signed webhook body*; the view feeds it to the same
webhook service the real providers use, which calls ``parse_webhook``. So the dev path
exercises signature checking and event handling exactly like Stripe does, and this module
never marks anything paid by itself.

Settings: DEV_GATEWAY_SECRET (default: derived from SECRET_KEY),
DEV_GATEWAY_CONFIRM_PATH (default ``/pay/dev/{payment_id}/confirm/``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from commerce.payments.config import first_non_empty, get_header
from commerce.payments.types import (
    GatewayNotConfigured,
    InvalidPaymentRequest,
    InvalidWebhook,
    PaymentRequest,
    PaymentSession,
    RefundResult,
    WebhookEvent,
    WebhookEventType,
    format_major_units,
    normalise_currency,
    parse_major_units,
)
from core.signing import (
    MalformedSignature,
    SignatureError,
    StaleSignature,
    sign_payload,
    verify_signature,
)

SIGNATURE_HEADER = "X-Atelier-Dev-Signature"
DEFAULT_CONFIRM_PATH = "/pay/dev/{payment_id}/confirm/"
DEFAULT_WEBHOOK_TOLERANCE_SECONDS = 300
_SECRET_DERIVATION_LABEL = b"atelier.commerce.payments.dev-gateway.v1"
_SIGNED_EVENT_TYPES: tuple[WebhookEventType, ...] = (
    "payment.succeeded",
    "payment.failed",
    "refund.succeeded",
)


@dataclass(frozen=True, slots=True)
class SignedWebhook:
    """A webhook body and headers ready for ``parse_webhook`` (or an HTTP POST)."""

    body: bytes
    headers: Mapping[str, str]


class DevGateway:
    """PaymentGateway that pays through a local confirm page and signed local webhooks."""

    provider = "dev"

    def __init__(
        self,
        *,
        secret: str | None = None,
        confirm_path: str | None = None,
        webhook_tolerance_seconds: int = DEFAULT_WEBHOOK_TOLERANCE_SECONDS,
    ) -> None:
        self._secret: str = first_non_empty(secret, getattr(settings, "DEV_GATEWAY_SECRET", None))
        if not self._secret:
            try:
                secret_key = settings.SECRET_KEY
            except ImproperlyConfigured:  # Django refuses to hand out an empty SECRET_KEY
                secret_key = ""
            if not secret_key:
                raise GatewayNotConfigured(
                    "The dev gateway needs DEV_GATEWAY_SECRET or SECRET_KEY to sign its webhooks"
                )
            # Derived rather than reused, so a leaked dev webhook signature says nothing
            # about SECRET_KEY itself.
            self._secret = hmac.new(
                str(secret_key).encode(), _SECRET_DERIVATION_LABEL, hashlib.sha256
            ).hexdigest()
        self._confirm_path: str = first_non_empty(
            confirm_path, getattr(settings, "DEV_GATEWAY_CONFIRM_PATH", None), DEFAULT_CONFIRM_PATH
        )
        self._webhook_tolerance_seconds = webhook_tolerance_seconds

    # --- PaymentGateway -------------------------------------------------------------

    def create_payment(self, req: PaymentRequest) -> PaymentSession:
        """Hand out a payment id and the confirm-page URL; nothing is charged."""
        payment_id = "devpay_" + self._derive_id("payment", req.idempotency_key)
        return PaymentSession(
            provider=self.provider,
            provider_payment_id=payment_id,
            status="requires_action",
            client_secret=None,
            redirect_url=self.confirm_url(payment_id),
            amount=req.amount,
            currency=req.currency,
        )

    def retrieve_payment(self, provider_payment_id: str) -> PaymentSession:
        """The dev gateway keeps no state: the payment always waits on its confirm page.

        Our database (fed by the signed events) is the only record of a dev payment's outcome.
        """
        return PaymentSession(
            provider=self.provider,
            provider_payment_id=provider_payment_id,
            status="requires_action",
            redirect_url=self.confirm_url(provider_payment_id),
        )

    def refund(
        self, *, provider_payment_id: str, amount: Decimal | None, idempotency_key: str
    ) -> RefundResult:
        """Accept the refund (no money moved). The amount's currency is unknown here."""
        if amount is not None and (not isinstance(amount, Decimal) or amount <= 0):
            raise InvalidPaymentRequest(f"Refund amount must be a positive Decimal: {amount!r}")
        return RefundResult(
            provider=self.provider,
            refund_id="devre_" + self._derive_id("refund", idempotency_key),
            provider_payment_id=provider_payment_id,
            status="succeeded",
            amount=amount,
            currency=None,
        )

    def parse_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
        """Verify ``X-Atelier-Dev-Signature`` and normalise the dev event."""
        signature_header = get_header(headers, SIGNATURE_HEADER)
        if not signature_header:
            raise InvalidWebhook(f"Missing {SIGNATURE_HEADER} header")
        timestamp = self._verify_signature(body=body, signature_header=signature_header)
        try:
            payload = json.loads(body)
            event_type = payload["type"]
            data = payload["data"]
            currency = normalise_currency(data["currency"])
            amount = parse_major_units(data["amount"], currency)
            event_id = str(payload["id"])
            payment_id = str(data["payment_id"])
            order_reference = str(data["order_reference"])
        except (ValueError, KeyError, TypeError) as error:
            raise InvalidWebhook(f"Malformed dev webhook: {error}") from error
        if event_type not in _SIGNED_EVENT_TYPES:
            raise InvalidWebhook(f"Unknown dev webhook type {event_type!r}")
        return WebhookEvent(
            provider=self.provider,
            event_id=event_id,
            event_type=event_type,
            provider_payment_id=payment_id,
            order_reference=order_reference,
            amount=amount,
            currency=currency,
            created=datetime.fromtimestamp(timestamp, tz=UTC),
            raw_type=event_type,
        )

    # --- dev-only steps (called by the confirm view) --------------------------------

    def confirm_url(self, provider_payment_id: str) -> str:
        """Path of the local confirm page for a payment."""
        return self._confirm_path.format(payment_id=provider_payment_id)

    def confirm_payment(
        self,
        *,
        provider_payment_id: str,
        order_reference: str,
        amount: Decimal,
        currency: str,
        outcome: Literal["succeeded", "failed"] = "succeeded",
    ) -> SignedWebhook:
        """What the buyer's click on the confirm page produces: a signed payment webhook.

        The caller takes order_reference/amount/currency from its own payment record and
        passes the result to the webhook service; nothing is marked paid here.
        """
        if outcome not in ("succeeded", "failed"):
            raise InvalidPaymentRequest(f"Unknown dev payment outcome {outcome!r}")
        return self.build_webhook(
            event_type=f"payment.{outcome}",
            provider_payment_id=provider_payment_id,
            order_reference=order_reference,
            amount=amount,
            currency=currency,
        )

    def build_webhook(
        self,
        *,
        event_type: WebhookEventType,
        provider_payment_id: str,
        order_reference: str,
        amount: Decimal,
        currency: str,
        timestamp: int | None = None,
    ) -> SignedWebhook:
        """Build and sign a dev webhook (also used for ``refund.succeeded`` in dev)."""
        if event_type not in _SIGNED_EVENT_TYPES:
            raise InvalidPaymentRequest(f"Unknown dev webhook type {event_type!r}")
        currency = normalise_currency(currency)
        signed_at = int(time.time()) if timestamp is None else timestamp
        payload: dict[str, Any] = {
            "id": "devevt_" + secrets.token_hex(12),
            "type": event_type,
            "created": signed_at,
            "data": {
                "payment_id": provider_payment_id,
                "order_reference": order_reference,
                "amount": format_major_units(amount, currency),
                "currency": currency,
            },
        }
        body = json.dumps(payload, sort_keys=True).encode()
        signature = sign_payload(secret=self._secret, body=body, timestamp=signed_at)
        return SignedWebhook(
            body=body,
            headers={"Content-Type": "application/json", SIGNATURE_HEADER: signature},
        )

    # --- internals ------------------------------------------------------------------

    def _derive_id(self, purpose: str, idempotency_key: str) -> str:
        if not idempotency_key:
            raise InvalidPaymentRequest("idempotency_key is required")
        mac = hmac.new(self._secret.encode(), f"{purpose}:{idempotency_key}".encode(), "sha256")
        return mac.hexdigest()[:24]

    def _verify_signature(self, *, body: bytes, signature_header: str) -> int:
        try:
            return verify_signature(
                secret=self._secret,
                body=body,
                header=signature_header,
                tolerance=self._webhook_tolerance_seconds,
            )
        except MalformedSignature as error:
            raise InvalidWebhook(f"Malformed {SIGNATURE_HEADER} header") from error
        except StaleSignature as error:
            raise InvalidWebhook("Dev webhook timestamp is outside the tolerance window") from error
        except SignatureError as error:
            raise InvalidWebhook("Dev webhook signature does not match") from error
