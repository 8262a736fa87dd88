"""PayPal Orders API v2 gateway over plain REST (httpx).

Flow: ``create_payment`` creates an order (intent CAPTURE) and returns PayPal's approval
link as ``redirect_url``; the buyer approves on PayPal and comes back to
``PaymentRequest.return_url``; commerce then calls ``capture_order``; the order is marked
paid from the verified ``PAYMENT.CAPTURE.COMPLETED`` webhook.

Settings (read lazily, explicit constructor arguments win): PAYPAL_CLIENT_ID,
PAYPAL_CLIENT_SECRET, PAYPAL_WEBHOOK_ID, PAYPAL_API_BASE (default: the sandbox),
PAYPAL_TIMEOUT_SECONDS, PAYPAL_MAX_RETRIES, PAYPAL_WEBHOOK_TOLERANCE_SECONDS.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
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
    format_major_units,
    normalise_currency,
    parse_major_units,
)

PAYPAL_SANDBOX_API_BASE = "https://api-m.sandbox.paypal.com"
DEFAULT_TIMEOUT_SECONDS = 10.0
DEFAULT_MAX_RETRIES = 2
DEFAULT_WEBHOOK_TOLERANCE_SECONDS = 300
# Refresh the OAuth token a little before PayPal expires it, so an in-flight call
# never carries a token that dies on the way.
_TOKEN_EXPIRY_MARGIN_SECONDS = 60
_RETRY_BACKOFF_SECONDS = 0.5
# PayPal field limits (Orders v2): custom_id 127, description 127 characters.
_CUSTOM_ID_LIMIT = 127
_DESCRIPTION_LIMIT = 127
_DECLINE_ISSUES = {"INSTRUMENT_DECLINED", "PAYER_ACTION_REQUIRED", "TRANSACTION_REFUSED"}

_ORDER_STATUSES: Mapping[str, PaymentStatus] = {
    "CREATED": "pending",
    "SAVED": "pending",
    "PAYER_ACTION_REQUIRED": "requires_action",
    "APPROVED": "authorized",
    "VOIDED": "canceled",
    "COMPLETED": "succeeded",
}
_CAPTURE_STATUSES: Mapping[str, PaymentStatus] = {
    "COMPLETED": "succeeded",
    "PENDING": "processing",
    "DECLINED": "failed",
    "FAILED": "failed",
    "REFUNDED": "succeeded",
    "PARTIALLY_REFUNDED": "succeeded",
}
_REFUND_STATUSES: Mapping[str, RefundStatus] = {
    "COMPLETED": "succeeded",
    "PENDING": "pending",
    "CANCELLED": "failed",
    "FAILED": "failed",
}
_WEBHOOK_EVENT_TYPES: Mapping[str, WebhookEventType] = {
    "PAYMENT.CAPTURE.COMPLETED": "payment.succeeded",
    "PAYMENT.CAPTURE.DENIED": "payment.failed",
    "PAYMENT.CAPTURE.DECLINED": "payment.failed",
    "PAYMENT.CAPTURE.REFUNDED": "refund.succeeded",
}
_WEBHOOK_HEADERS = {
    "auth_algo": "PAYPAL-AUTH-ALGO",
    "cert_url": "PAYPAL-CERT-URL",
    "transmission_id": "PAYPAL-TRANSMISSION-ID",
    "transmission_sig": "PAYPAL-TRANSMISSION-SIG",
    "transmission_time": "PAYPAL-TRANSMISSION-TIME",
}


class PayPalGateway:
    """PaymentGateway over PayPal Orders v2 (checkout/orders + payments/captures)."""

    provider = "paypal"

    def __init__(
        self,
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        webhook_id: str | None = None,
        api_base: str | None = None,
        timeout_seconds: float | None = None,
        max_retries: int | None = None,
        webhook_tolerance_seconds: int | None = None,
    ) -> None:
        self._client_id = first_non_empty(client_id, getattr(settings, "PAYPAL_CLIENT_ID", None))
        self._client_secret = first_non_empty(
            client_secret, getattr(settings, "PAYPAL_CLIENT_SECRET", None)
        )
        self._webhook_id = first_non_empty(webhook_id, getattr(settings, "PAYPAL_WEBHOOK_ID", None))
        for setting_name, value in (
            ("PAYPAL_CLIENT_ID", self._client_id),
            ("PAYPAL_CLIENT_SECRET", self._client_secret),
            ("PAYPAL_WEBHOOK_ID", self._webhook_id),
        ):
            if not value:
                raise GatewayNotConfigured(f"PayPal is selected but {setting_name} is not set")
        self.api_base: str = str(
            first_non_empty(
                api_base, getattr(settings, "PAYPAL_API_BASE", None), PAYPAL_SANDBOX_API_BASE
            )
        ).rstrip("/")
        timeout = float(
            first_non_empty(
                timeout_seconds,
                getattr(settings, "PAYPAL_TIMEOUT_SECONDS", None),
                DEFAULT_TIMEOUT_SECONDS,
            )
        )
        self._max_retries = int(
            first_non_empty(
                max_retries, getattr(settings, "PAYPAL_MAX_RETRIES", None), DEFAULT_MAX_RETRIES
            )
        )
        self._webhook_tolerance_seconds = int(
            first_non_empty(
                webhook_tolerance_seconds,
                getattr(settings, "PAYPAL_WEBHOOK_TOLERANCE_SECONDS", None),
                DEFAULT_WEBHOOK_TOLERANCE_SECONDS,
            )
        )
        self._http = httpx.Client(base_url=self.api_base, timeout=timeout)
        self._token_lock = threading.Lock()
        self._access_token: str | None = None
        self._token_expires_at = 0.0

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()

    # --- PaymentGateway -------------------------------------------------------------

    def create_payment(self, req: PaymentRequest) -> PaymentSession:
        """Create a CAPTURE order; ``redirect_url`` is PayPal's approval page."""
        purchase_unit: dict[str, Any] = {
            "reference_id": req.order_reference,
            "custom_id": req.order_reference[:_CUSTOM_ID_LIMIT],
            "amount": {
                "currency_code": req.currency,
                "value": format_major_units(req.amount, req.currency),
            },
        }
        if req.description:
            purchase_unit["description"] = req.description[:_DESCRIPTION_LIMIT]
        body: dict[str, Any] = {"intent": "CAPTURE", "purchase_units": [purchase_unit]}
        if req.return_url:
            experience: dict[str, Any] = {"return_url": req.return_url, "user_action": "PAY_NOW"}
            if req.cancel_url:
                experience["cancel_url"] = req.cancel_url
            body["payment_source"] = {"paypal": {"experience_context": experience}}
            if req.customer_email:
                body["payment_source"]["paypal"]["email_address"] = req.customer_email
        order = self._request(
            "POST", "/v2/checkout/orders", json_body=body, request_id=req.idempotency_key
        )
        return self._session_from_order(order)

    def retrieve_payment(self, provider_payment_id: str) -> PaymentSession:
        """Fetch an order's current state."""
        return self._session_from_order(self._get_order(provider_payment_id))

    def capture_order(self, *, provider_payment_id: str, idempotency_key: str) -> PaymentSession:
        """Capture an order the buyer approved. Raises PaymentDeclined if PayPal refuses.

        The returned status is informational; the order is marked paid from the
        PAYMENT.CAPTURE.COMPLETED webhook.
        """
        order = self._request(
            "POST",
            f"/v2/checkout/orders/{provider_payment_id}/capture",
            json_body={},
            request_id=idempotency_key,
        )
        return self._session_from_order(order)

    def refund(
        self, *, provider_payment_id: str, amount: Decimal | None, idempotency_key: str
    ) -> RefundResult:
        """Refund the order's capture fully (amount None) or partially."""
        order = self._get_order(provider_payment_id)
        unit, capture = _first_capture(order)
        if capture is None:
            raise PaymentError(f"PayPal order {provider_payment_id} has no capture to refund")
        currency = normalise_currency(capture["amount"]["currency_code"])
        body: dict[str, Any] = {}
        if unit.get("custom_id"):
            body["custom_id"] = unit["custom_id"]
        if amount is not None:
            body["amount"] = {
                "currency_code": currency,
                "value": format_major_units(amount, currency),
            }
        refund = self._request(
            "POST",
            f"/v2/payments/captures/{capture['id']}/refund",
            json_body=body,
            request_id=idempotency_key,
        )
        refund_amount = refund.get("amount")
        return RefundResult(
            provider=self.provider,
            refund_id=refund["id"],
            provider_payment_id=provider_payment_id,
            status=_REFUND_STATUSES.get(str(refund.get("status")), "pending"),
            amount=parse_major_units(refund_amount["value"], currency) if refund_amount else amount,
            currency=currency,
        )

    def parse_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
        """Verify through PayPal's verify-webhook-signature API, then normalise."""
        transmission = {}
        for field_name, header_name in _WEBHOOK_HEADERS.items():
            value = get_header(headers, header_name)
            if not value:
                raise InvalidWebhook(f"Missing {header_name} header")
            transmission[field_name] = value
        self._check_transmission_time(transmission["transmission_time"])
        try:
            body_text = body.decode("utf-8")
            event = json.loads(body_text)
        except ValueError as error:
            raise InvalidWebhook("PayPal webhook body is not UTF-8 JSON") from error
        if not isinstance(event, dict):
            raise InvalidWebhook("PayPal webhook body is not a JSON object")
        # PayPal signs the body it sent; re-serialising the event could change bytes, so the
        # raw body is spliced into the verification request verbatim.
        envelope = json.dumps({**transmission, "webhook_id": self._webhook_id})
        verification_body = envelope[:-1] + ', "webhook_event": ' + body_text + "}"
        result = self._request(
            "POST",
            "/v1/notifications/verify-webhook-signature",
            raw_body=verification_body.encode(),
        )
        if result.get("verification_status") != "SUCCESS":
            raise InvalidWebhook("PayPal did not verify the webhook signature")
        return _normalise_event(event)

    # --- internals ------------------------------------------------------------------

    def _get_order(self, order_id: str) -> dict[str, Any]:
        return self._request("GET", f"/v2/checkout/orders/{order_id}")

    def _check_transmission_time(self, transmission_time: str) -> None:
        try:
            sent_at = datetime.fromisoformat(transmission_time.replace("Z", "+00:00"))
        except ValueError as error:
            raise InvalidWebhook("Malformed PAYPAL-TRANSMISSION-TIME header") from error
        if sent_at.tzinfo is None:
            raise InvalidWebhook("PAYPAL-TRANSMISSION-TIME has no timezone")
        age = abs(time.time() - sent_at.timestamp())
        # PayPal's verification API does not reject old transmissions, so replay
        # protection is ours.
        if age > self._webhook_tolerance_seconds:
            raise InvalidWebhook("PayPal webhook transmission time is outside the tolerance")

    def _bearer_token(self, *, refresh: bool = False) -> str:
        with self._token_lock:
            if refresh or not self._access_token or time.time() >= self._token_expires_at:
                response = self._send(
                    "POST",
                    "/v1/oauth2/token",
                    data={"grant_type": "client_credentials"},
                    auth=(self._client_id, self._client_secret),
                    headers={"Accept": "application/json"},
                )
                if response.status_code in (400, 401):
                    raise GatewayNotConfigured(
                        "PayPal rejected PAYPAL_CLIENT_ID/PAYPAL_CLIENT_SECRET"
                    )
                payload = _json_or_error(response)
                self._access_token = str(payload["access_token"])
                lifetime = int(payload.get("expires_in", 0))
                self._token_expires_at = time.time() + lifetime - _TOKEN_EXPIRY_MARGIN_SECONDS
            return self._access_token

    def _request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        raw_body: bytes | None = None,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        headers = {"Accept": "application/json", "Prefer": "return=representation"}
        if request_id:
            # PayPal-Request-Id makes POSTs idempotent, which also makes our retries safe.
            headers["PayPal-Request-Id"] = request_id
        content = raw_body
        if json_body is not None:
            content = json.dumps(json_body).encode()
        if content is not None:
            headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            headers["Authorization"] = f"Bearer {self._bearer_token(refresh=attempt == 2)}"
            response = self._send(method, path, content=content, headers=headers)
            if response.status_code != 401:
                break
            # The cached token was revoked or expired early: fetch a new one once.
        return _json_or_error(response)

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One HTTP call with bounded retries on network errors, 429 and 5xx."""
        can_retry = method == "GET" or "PayPal-Request-Id" in (kwargs.get("headers") or {})
        can_retry = can_retry or path == "/v1/oauth2/token"
        attempts = 1 + (self._max_retries if can_retry else 0)
        for attempt in range(attempts):
            last_attempt = attempt == attempts - 1
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.TransportError as error:
                if last_attempt:
                    raise GatewayUnavailable(f"PayPal unreachable: {error}") from error
            else:
                if response.status_code != 429 and response.status_code < 500:
                    return response
                if last_attempt:
                    raise GatewayUnavailable(f"PayPal answered {response.status_code}")
            time.sleep(_RETRY_BACKOFF_SECONDS * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def _session_from_order(self, order: Mapping[str, Any]) -> PaymentSession:
        status = _ORDER_STATUSES.get(str(order.get("status")), "processing")
        unit, capture = _first_capture(order)
        if capture is not None:
            # A COMPLETED order can still hold a PENDING or DECLINED capture.
            status = _CAPTURE_STATUSES.get(str(capture.get("status")), status)
        amount_field = (capture or {}).get("amount") or unit.get("amount")
        amount = currency = None
        if amount_field:
            currency = normalise_currency(amount_field["currency_code"])
            amount = parse_major_units(amount_field["value"], currency)
        redirect_url = next(
            (
                link["href"]
                for link in order.get("links", [])
                if link.get("rel") in ("approve", "payer-action")
            ),
            None,
        )
        return PaymentSession(
            provider=self.provider,
            provider_payment_id=str(order["id"]),
            status=status,
            client_secret=None,
            redirect_url=redirect_url,
            amount=amount,
            currency=currency,
        )


def _first_capture(order: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The order's (single) purchase unit and its first capture, if any."""
    units = order.get("purchase_units") or [{}]
    unit = units[0]
    captures = (unit.get("payments") or {}).get("captures") or []
    return unit, (captures[0] if captures else None)


def _json_or_error(response: httpx.Response) -> dict[str, Any]:
    """Decode a PayPal answer or raise the matching PaymentError."""
    try:
        payload = response.json()
    except ValueError:
        payload = {}
    if response.is_success:
        return payload
    issues = {detail.get("issue") for detail in payload.get("details", []) or []}
    message = payload.get("message") or payload.get("error_description") or response.reason_phrase
    if issues & _DECLINE_ISSUES:
        raise PaymentDeclined(f"PayPal declined the payment: {', '.join(sorted(issues))}")
    raise PaymentError(f"PayPal refused the request ({response.status_code}): {message}")


def _object(value: Any) -> Mapping[str, Any]:
    """A JSON object of a verified event, or TypeError (the caller answers InvalidWebhook)."""
    if not isinstance(value, Mapping):
        raise TypeError(f"expected a JSON object, got {type(value).__name__}")
    return value


def _normalise_event(event: Mapping[str, Any]) -> WebhookEvent:
    """Map a verified PayPal webhook event onto our WebhookEvent."""
    try:
        raw_type = str(event["event_type"])
        event_id = str(event["id"])
        created = datetime.fromisoformat(str(event["create_time"]).replace("Z", "+00:00"))
        if created.tzinfo is None:
            created = created.replace(tzinfo=UTC)
        created = created.astimezone(UTC)  # OverflowError at the edges of year 1 and 9999
        resource = event.get("resource") or {}
    except (KeyError, ValueError, OverflowError) as error:
        raise InvalidWebhook(f"Malformed PayPal event: {error}") from error
    event_type = _WEBHOOK_EVENT_TYPES.get(raw_type, "other")
    if event_type == "other":
        return WebhookEvent(
            provider=PayPalGateway.provider,
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
        amount_field = _object(resource)["amount"]
        if event_type == "refund.succeeded":
            # The running total, to match Stripe's charge.amount_refunded semantics.
            breakdown = _object(resource.get("seller_payable_breakdown") or {})
            amount_field = breakdown.get("total_refunded_amount") or amount_field
        currency = normalise_currency(_object(amount_field)["currency_code"])
        amount = parse_major_units(amount_field["value"], currency)
        supplementary = _object(resource.get("supplementary_data") or {})
        related_ids = _object(supplementary.get("related_ids") or {})
        order_id = related_ids.get("order_id")
        order_reference = resource.get("custom_id")
        if not all(isinstance(v, str | None) for v in (order_id, order_reference)):
            raise TypeError("order_id and custom_id must be strings")
    except (KeyError, TypeError, InvalidPaymentRequest) as error:
        raise InvalidWebhook(f"Malformed PayPal {raw_type} event: {error}") from error
    if not order_id and not order_reference:
        raise InvalidWebhook(f"PayPal {raw_type} event names neither an order nor a custom_id")
    return WebhookEvent(
        provider=PayPalGateway.provider,
        event_id=event_id,
        event_type=event_type,
        provider_payment_id=order_id,
        order_reference=order_reference,
        amount=amount,
        currency=currency,
        created=created,
        raw_type=raw_type,
    )
