"""Stripe PaymentIntents gateway. The only module in Atelier that imports ``stripe``.

One PaymentIntent per payment attempt, confirmed by the buyer with Stripe.js on our pay
page (using ``PaymentSession.client_secret``); the order is marked paid only from the
signed ``payment_intent.succeeded`` webhook. Settings (read lazily, explicit constructor
arguments win): STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET, STRIPE_API_BASE (localstripe in
tests), STRIPE_API_VERSION, STRIPE_TIMEOUT_SECONDS, STRIPE_MAX_NETWORK_RETRIES,
STRIPE_WEBHOOK_TOLERANCE_SECONDS.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import stripe
from django.conf import settings

from commerce.payments.config import first_non_empty, get_header
from commerce.payments.types import (
    GatewayNotConfigured,
    GatewayUnavailable,
    InvalidPaymentRequest,
    InvalidWebhook,
    PaymentDeclined,
    PaymentError,
    PaymentRequest,
    PaymentSession,
    PaymentStatus,
    RefundResult,
    RefundStatus,
    WebhookEvent,
    WebhookEventType,
    from_minor_units,
    normalise_currency,
    to_minor_units,
)

# Pinned to the version stripe-python 16.1 was generated against, so request and response
# shapes match the library's types; bump together with the library.
STRIPE_API_VERSION = "2026-10-28.endive"
DEFAULT_TIMEOUT_SECONDS = 10.0
DEFAULT_MAX_NETWORK_RETRIES = 2
DEFAULT_WEBHOOK_TOLERANCE_SECONDS = 300
# Stripe limits: 50 metadata keys, values up to 500 characters.
_METADATA_VALUE_LIMIT = 500

_PAYMENT_INTENT_STATUSES: Mapping[str, PaymentStatus] = {
    "requires_payment_method": "pending",
    "requires_confirmation": "pending",
    "requires_action": "requires_action",
    "processing": "processing",
    "requires_capture": "authorized",
    "succeeded": "succeeded",
    "canceled": "canceled",
}
_REFUND_STATUSES: Mapping[str, RefundStatus] = {
    "pending": "pending",
    "requires_action": "pending",
    "succeeded": "succeeded",
    "failed": "failed",
    "canceled": "failed",
}
_WEBHOOK_EVENT_TYPES: Mapping[str, WebhookEventType] = {
    "payment_intent.succeeded": "payment.succeeded",
    "payment_intent.payment_failed": "payment.failed",
    "charge.refunded": "refund.succeeded",
}


class StripeGateway:
    """PaymentGateway over Stripe PaymentIntents (works against api.stripe.com and localstripe)."""

    provider = "stripe"

    def __init__(
        self,
        *,
        secret_key: str | None = None,
        webhook_secret: str | None = None,
        api_base: str | None = None,
        api_version: str | None = None,
        timeout_seconds: float | None = None,
        max_network_retries: int | None = None,
        webhook_tolerance_seconds: int | None = None,
    ) -> None:
        self._secret_key = first_non_empty(secret_key, getattr(settings, "STRIPE_SECRET_KEY", None))
        self._webhook_secret = first_non_empty(
            webhook_secret, getattr(settings, "STRIPE_WEBHOOK_SECRET", None)
        )
        if not self._secret_key:
            raise GatewayNotConfigured("Stripe is selected but STRIPE_SECRET_KEY is not set")
        if not self._webhook_secret:
            raise GatewayNotConfigured(
                "Stripe is selected but STRIPE_WEBHOOK_SECRET is not set "
                "(payments cannot be confirmed without verified webhooks)"
            )
        self.api_base: str = first_non_empty(
            api_base, getattr(settings, "STRIPE_API_BASE", None), stripe.DEFAULT_API_BASE
        )
        self.api_version: str = first_non_empty(
            api_version, getattr(settings, "STRIPE_API_VERSION", None), STRIPE_API_VERSION
        )
        self._webhook_tolerance_seconds = int(
            first_non_empty(
                webhook_tolerance_seconds,
                getattr(settings, "STRIPE_WEBHOOK_TOLERANCE_SECONDS", None),
                DEFAULT_WEBHOOK_TOLERANCE_SECONDS,
            )
        )
        timeout = float(
            first_non_empty(
                timeout_seconds,
                getattr(settings, "STRIPE_TIMEOUT_SECONDS", None),
                DEFAULT_TIMEOUT_SECONDS,
            )
        )
        retries = int(
            first_non_empty(
                max_network_retries,
                getattr(settings, "STRIPE_MAX_NETWORK_RETRIES", None),
                DEFAULT_MAX_NETWORK_RETRIES,
            )
        )
        # The library retries connection errors, 409s and 5xx with exponential backoff and
        # re-sends our idempotency key, so a retry can never create a second PaymentIntent.
        self._client = stripe.StripeClient(
            self._secret_key,
            stripe_version=self.api_version,
            base_addresses={"api": self.api_base},
            max_network_retries=retries,
            # RequestsClient, not HTTPXClient: stripe 16's httpx adapter passes raw bytes as
            # `data=`, which httpx 0.28 deprecates (and -W error turns into a network error).
            http_client=stripe.RequestsClient(timeout=timeout),
        )

    # --- PaymentGateway -------------------------------------------------------------

    def create_payment(self, req: PaymentRequest) -> PaymentSession:
        """Create a PaymentIntent for ``req``; the buyer confirms it with Stripe.js."""
        metadata = {str(key): str(value) for key, value in req.metadata.items()}
        metadata["order_reference"] = req.order_reference
        if req.description:
            # Sent as metadata, not `description`: localstripe rejects unknown parameters,
            # and one request shape for both keeps the tests honest about production.
            metadata["description"] = req.description[:_METADATA_VALUE_LIMIT]
        params: dict[str, Any] = {
            "amount": to_minor_units(req.amount, req.currency),
            "currency": req.currency.lower(),
            # Explicit card-only: `automatic_payment_methods` is unknown to localstripe, and
            # cards are what our pay page's Card Element collects.
            "payment_method_types": ["card"],
            "metadata": metadata,
        }
        intent = self._call(
            self._client.v1.payment_intents.create,
            params,
            options={"idempotency_key": req.idempotency_key},
        )
        return self._session_from_intent(intent)

    def retrieve_payment(self, provider_payment_id: str) -> PaymentSession:
        """Fetch a PaymentIntent's current state."""
        intent = self._call(self._client.v1.payment_intents.retrieve, provider_payment_id)
        return self._session_from_intent(intent)

    def refund(
        self, *, provider_payment_id: str, amount: Decimal | None, idempotency_key: str
    ) -> RefundResult:
        """Refund a PaymentIntent fully (amount None) or partially."""
        params: dict[str, Any] = {"payment_intent": provider_payment_id}
        if amount is not None:
            # Minor units depend on the payment's currency, which only Stripe knows here.
            intent = self._call(self._client.v1.payment_intents.retrieve, provider_payment_id)
            params["amount"] = to_minor_units(amount, str(intent["currency"]))
        refund = self._call(
            self._client.v1.refunds.create, params, options={"idempotency_key": idempotency_key}
        )
        currency = normalise_currency(str(refund["currency"]))
        return RefundResult(
            provider=self.provider,
            refund_id=refund["id"],
            provider_payment_id=provider_payment_id,
            status=_REFUND_STATUSES.get(str(refund.get("status")), "pending"),
            amount=from_minor_units(int(refund["amount"]), currency),
            currency=currency,
        )

    def parse_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
        """Verify the ``Stripe-Signature`` header and normalise the event."""
        signature = get_header(headers, "Stripe-Signature")
        if not signature:
            raise InvalidWebhook("Missing Stripe-Signature header")
        try:
            event = self._client.construct_event(
                body, signature, self._webhook_secret, self._webhook_tolerance_seconds
            )
        except stripe.SignatureVerificationError as error:
            raise InvalidWebhook(f"Stripe signature rejected: {error.user_message}") from error
        except (ValueError, IndexError, KeyError) as error:
            # ValueError: not JSON / not a snapshot event; Index/KeyError: malformed header.
            raise InvalidWebhook(f"Malformed Stripe webhook: {error}") from error
        return _normalise_event(event.to_dict())

    # --- internals ------------------------------------------------------------------

    def _call(self, method: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Call the SDK, return the resource as a plain dict, translate errors into ours."""
        try:
            return method(*args, **kwargs).to_dict()
        except stripe.CardError as error:
            raise PaymentDeclined(error.user_message or "The card was declined") from error
        except (stripe.APIConnectionError, stripe.RateLimitError) as error:
            raise GatewayUnavailable(f"Stripe unreachable: {error.user_message}") from error
        except (stripe.AuthenticationError, stripe.PermissionError) as error:
            raise GatewayNotConfigured(
                f"Stripe rejected STRIPE_SECRET_KEY: {error.user_message}"
            ) from error
        except stripe.APIError as error:
            raise GatewayUnavailable(f"Stripe failed: {error.user_message}") from error
        except stripe.StripeError as error:
            raise PaymentError(f"Stripe refused the request: {error.user_message}") from error

    def _session_from_intent(self, intent: Mapping[str, Any]) -> PaymentSession:
        currency = normalise_currency(str(intent["currency"]))
        status = _PAYMENT_INTENT_STATUSES.get(str(intent["status"]), "processing")
        if status == "pending" and intent.get("last_payment_error"):
            # Stripe puts a declined intent back to requires_payment_method.
            status = "failed"
        return PaymentSession(
            provider=self.provider,
            provider_payment_id=intent["id"],
            status=status,
            client_secret=intent.get("client_secret"),
            redirect_url=None,
            amount=from_minor_units(int(intent["amount"]), currency),
            currency=currency,
        )


def _normalise_event(event: Mapping[str, Any]) -> WebhookEvent:
    """Map a verified Stripe event dict onto our WebhookEvent."""
    try:
        raw_type = str(event["type"])
        event_id = str(event["id"])
        created = datetime.fromtimestamp(int(event["created"]), tz=UTC)
        data_object = event["data"]["object"]
    except (KeyError, TypeError, ValueError, OverflowError, OSError) as error:
        # OverflowError/OSError: a "created" beyond what a datetime holds.
        raise InvalidWebhook(f"Malformed Stripe event: {error}") from error
    event_type = _WEBHOOK_EVENT_TYPES.get(raw_type, "other")
    if event_type == "other":
        return WebhookEvent(
            provider=StripeGateway.provider,
            event_id=event_id,
            event_type="other",
            provider_payment_id=None,
            order_reference=None,
            amount=None,
            currency=None,
            created=created,
            raw_type=raw_type,
        )
    try:
        if not isinstance(data_object, Mapping):
            raise TypeError("data.object is not an object")
        currency = normalise_currency(str(data_object["currency"]))
        metadata = data_object.get("metadata") or {}
        if not isinstance(metadata, Mapping):
            raise TypeError("metadata is not an object")
        if event_type == "refund.succeeded":
            # charge.refunded carries the Charge: the PaymentIntent is its parent, and
            # amount_refunded is the running total over all refunds of that charge.
            payment_id = data_object.get("payment_intent")
            minor_units = int(data_object["amount_refunded"])
        else:
            payment_id = data_object["id"]
            minor_units = int(data_object.get("amount_received") or data_object["amount"])
        amount = from_minor_units(minor_units, currency)
        order_reference = metadata.get("order_reference")
        if not all(isinstance(v, str | None) for v in (payment_id, order_reference)):
            raise TypeError("payment and order ids must be strings")
    except (KeyError, TypeError, ValueError, OverflowError, InvalidPaymentRequest) as error:
        raise InvalidWebhook(f"Malformed Stripe {raw_type} event: {error}") from error
    if not payment_id and not order_reference:
        raise InvalidWebhook(f"Stripe {raw_type} event names neither a payment nor an order")
    return WebhookEvent(
        provider=StripeGateway.provider,
        event_id=event_id,
        event_type=event_type,
        provider_payment_id=payment_id,
        order_reference=order_reference,
        amount=amount,
        currency=currency,
        created=created,
        raw_type=raw_type,
    )
