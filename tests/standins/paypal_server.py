"""A loopback stand-in for the parts of PayPal's REST API that Atelier uses.

Follows the documented shapes of:
* ``POST /v1/oauth2/token`` (client credentials, Basic auth) -> access_token, expires_in;
* ``POST /v2/checkout/orders`` (intent CAPTURE, PayPal-Request-Id idempotency),
  ``GET /v2/checkout/orders/{id}``, ``POST /v2/checkout/orders/{id}/capture``;
* ``POST /v2/payments/captures/{id}/refund``;
* ``POST /v1/notifications/verify-webhook-signature`` -> verification_status SUCCESS/FAILURE.

What it cannot imitate is PayPal's signature scheme (SHA256withRSA with PayPal's
certificate over ``transmission_id|transmission_time|webhook_id|crc32(body)``). The
stand-in signs the same fields with HMAC-SHA256 under its own key instead, over a canonical
JSON form of the event, and its verify endpoint checks that. The gateway under test only
sees the documented request/response shapes, so it cannot tell the difference.

The buyer's approval on paypal.com is simulated with ``approve_order`` (optionally with a
declining instrument, which makes the capture fail with ``INSTRUMENT_DECLINED``).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import secrets
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CLIENT_ID = "atelier-standin-client"
CLIENT_SECRET = "atelier-standin-secret"  # noqa: S105 - test credential
WEBHOOK_ID = "WH-ATELIER-STANDIN"
TOKEN_LIFETIME_SECONDS = 32400


@dataclass
class PayPalStandIn:
    """State and helpers of one running stand-in."""

    base_url: str = ""
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    tokens_issued: int = 0
    fail_next_requests: int = 0  # answer this many API calls with 503 (retry tests)
    token_lifetime_seconds: int = TOKEN_LIFETIME_SECONDS
    _tokens: dict[str, datetime] = field(default_factory=dict)
    _idempotent_responses: dict[tuple[str, str], tuple[int, dict[str, Any]]] = field(
        default_factory=dict
    )
    _declining_orders: set[str] = field(default_factory=set)
    _signing_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- buyer and PayPal-side simulation ------------------------------------------

    def approve_order(self, order_id: str, *, decline_on_capture: bool = False) -> None:
        """The buyer approves the order on PayPal's site."""
        with self._lock:
            order = self.orders[order_id]
            order["status"] = "APPROVED"
            order["payer"] = {"email_address": "buyer@example.test", "payer_id": "PAYER123"}
            if decline_on_capture:
                self._declining_orders.add(order_id)

    def sign_webhook(
        self,
        event: dict[str, Any],
        *,
        webhook_id: str = WEBHOOK_ID,
        transmission_time: datetime | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        """Body and PAYPAL-* headers of a webhook delivery, as PayPal would POST them."""
        body = json.dumps(event, indent=1).encode()
        sent_at = transmission_time or datetime.now(tz=UTC)
        transmission_id = secrets.token_hex(16)
        time_header = sent_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        headers = {
            "Content-Type": "application/json",
            "PAYPAL-AUTH-ALGO": "SHA256withRSA",
            "PAYPAL-CERT-URL": f"{self.base_url}/v1/notifications/certs/CERT-STANDIN",
            "PAYPAL-TRANSMISSION-ID": transmission_id,
            "PAYPAL-TRANSMISSION-TIME": time_header,
            "PAYPAL-TRANSMISSION-SIG": self._signature(
                transmission_id, time_header, webhook_id, event
            ),
        }
        return body, headers

    def capture_completed_event(self, order_id: str) -> dict[str, Any]:
        """PAYMENT.CAPTURE.COMPLETED for the order's capture (resource = the capture)."""
        capture = self.orders[order_id]["purchase_units"][0]["payments"]["captures"][0]
        return self._event("PAYMENT.CAPTURE.COMPLETED", "capture", capture)

    def capture_refunded_event(self, order_id: str) -> dict[str, Any]:
        """PAYMENT.CAPTURE.REFUNDED for the order's latest refund (resource = the refund)."""
        refund = self.orders[order_id]["purchase_units"][0]["payments"]["refunds"][-1]
        return self._event("PAYMENT.CAPTURE.REFUNDED", "refund", refund)

    # --- request handling -------------------------------------------------------------

    def handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.requests.append(
                {
                    "method": method,
                    "path": path,
                    "paypal_request_id": headers.get("paypal-request-id"),
                    "body": body.decode(errors="replace"),
                }
            )
            if self.fail_next_requests > 0 and path != "/v1/oauth2/token":
                self.fail_next_requests -= 1
                return 503, {"name": "SERVICE_UNAVAILABLE", "message": "Try again"}
            if method == "POST" and path == "/v1/oauth2/token":
                return self._issue_token(headers, body)
            if not self._authorised(headers):
                return 401, {"error": "invalid_token", "error_description": "Token is invalid"}
            request_id = headers.get("paypal-request-id")
            if method == "POST" and request_id and (path, request_id) in self._idempotent_responses:
                return self._idempotent_responses[(path, request_id)]
            try:
                payload = json.loads(body) if body else {}
            except ValueError:
                return 400, _error("INVALID_REQUEST", "MALFORMED_REQUEST_JSON")
            status, response = self._route(method, path, payload)
            if method == "POST" and request_id and status < 500:
                self._idempotent_responses[(path, request_id)] = (status, response)
            return status, response

    def _route(self, method: str, path: str, payload: dict[str, Any]) -> tuple[int, dict]:
        parts = path.strip("/").split("/")
        if method == "POST" and path == "/v2/checkout/orders":
            return self._create_order(payload)
        if parts[:3] == ["v2", "checkout", "orders"] and len(parts) == 4 and method == "GET":
            order = self.orders.get(parts[3])
            return (
                (200, order)
                if order
                else (404, _error("RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID"))
            )
        if parts[:3] == ["v2", "checkout", "orders"] and parts[4:] == ["capture"]:
            return self._capture_order(parts[3])
        if parts[:3] == ["v2", "payments", "captures"] and parts[4:] == ["refund"]:
            return self._refund_capture(parts[3], payload)
        if method == "POST" and path == "/v1/notifications/verify-webhook-signature":
            return self._verify_webhook(payload)
        return 404, _error("RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID")

    def _issue_token(self, headers: dict[str, str], body: bytes) -> tuple[int, dict]:
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if headers.get("authorization") != f"Basic {expected}":
            return 401, {
                "error": "invalid_client",
                "error_description": "Client Authentication failed",
            }
        if b"grant_type=client_credentials" not in body:
            return 400, {
                "error": "unsupported_grant_type",
                "error_description": "Grant Type is NULL",
            }
        token = "A21AA" + secrets.token_urlsafe(24)
        self._tokens[token] = datetime.now(tz=UTC) + timedelta(seconds=self.token_lifetime_seconds)
        self.tokens_issued += 1
        return 200, {
            "scope": "https://uri.paypal.com/services/payments/payment",
            "access_token": token,
            "token_type": "Bearer",
            "app_id": "APP-STANDIN",
            "expires_in": self.token_lifetime_seconds,
            "nonce": secrets.token_hex(8),
        }

    def _authorised(self, headers: dict[str, str]) -> bool:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        expires_at = self._tokens.get(token)
        return scheme == "Bearer" and expires_at is not None and expires_at > datetime.now(tz=UTC)

    def _create_order(self, payload: dict[str, Any]) -> tuple[int, dict]:
        units = payload.get("purchase_units") or []
        if payload.get("intent") != "CAPTURE" or len(units) != 1:
            return 422, _error("UNPROCESSABLE_ENTITY", "INVALID_PARAMETER_VALUE")
        amount = units[0].get("amount") or {}
        try:
            value = Decimal(amount["value"])
            assert value > 0 and len(amount["currency_code"]) == 3
        except (KeyError, ArithmeticError, AssertionError):
            return 422, _error("UNPROCESSABLE_ENTITY", "INVALID_PARAMETER_VALUE")
        order_id = secrets.token_hex(8).upper()
        experience = ((payload.get("payment_source") or {}).get("paypal") or {}).get(
            "experience_context"
        )
        approve_rel = "payer-action" if experience else "approve"
        order = {
            "id": order_id,
            "intent": "CAPTURE",
            "status": "PAYER_ACTION_REQUIRED" if experience else "CREATED",
            "create_time": _now_iso(),
            "purchase_units": [
                {
                    "reference_id": units[0].get("reference_id", "default"),
                    "custom_id": units[0].get("custom_id"),
                    "description": units[0].get("description"),
                    "amount": {"currency_code": amount["currency_code"], "value": amount["value"]},
                }
            ],
            "links": [
                {
                    "href": f"{self.base_url}/v2/checkout/orders/{order_id}",
                    "rel": "self",
                    "method": "GET",
                },
                {
                    "href": f"{self.base_url}/checkoutnow?token={order_id}",
                    "rel": approve_rel,
                    "method": "GET",
                },
                {
                    "href": f"{self.base_url}/v2/checkout/orders/{order_id}/capture",
                    "rel": "capture",
                    "method": "POST",
                },
            ],
        }
        self.orders[order_id] = order
        return 201, order

    def _capture_order(self, order_id: str) -> tuple[int, dict]:
        order = self.orders.get(order_id)
        if order is None:
            return 404, _error("RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID")
        if order["status"] == "COMPLETED":
            return 422, _error("UNPROCESSABLE_ENTITY", "ORDER_ALREADY_CAPTURED")
        if order["status"] != "APPROVED":
            return 422, _error("UNPROCESSABLE_ENTITY", "ORDER_NOT_APPROVED")
        if order_id in self._declining_orders:
            return 422, _error("UNPROCESSABLE_ENTITY", "INSTRUMENT_DECLINED")
        unit = order["purchase_units"][0]
        capture_id = secrets.token_hex(8).upper()
        unit["payments"] = {
            "captures": [
                {
                    "id": capture_id,
                    "status": "COMPLETED",
                    "amount": dict(unit["amount"]),
                    "final_capture": True,
                    "custom_id": unit.get("custom_id"),
                    "create_time": _now_iso(),
                    "supplementary_data": {"related_ids": {"order_id": order_id}},
                    "links": [
                        {
                            "href": f"{self.base_url}/v2/checkout/orders/{order_id}",
                            "rel": "up",
                            "method": "GET",
                        }
                    ],
                }
            ]
        }
        order["status"] = "COMPLETED"
        return 201, order

    def _refund_capture(self, capture_id: str, payload: dict[str, Any]) -> tuple[int, dict]:
        for order in self.orders.values():
            payments = order["purchase_units"][0].get("payments") or {}
            captures = [c for c in payments.get("captures", []) if c["id"] == capture_id]
            if captures:
                break
        else:
            return 404, _error("RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID")
        capture = captures[0]
        currency = capture["amount"]["currency_code"]
        refunds = payments.setdefault("refunds", [])
        already = sum(Decimal(r["amount"]["value"]) for r in refunds)
        requested = payload.get("amount") or {
            "currency_code": currency,
            "value": str(Decimal(capture["amount"]["value"]) - already),
        }
        if requested.get("currency_code") != currency:
            return 422, _error("UNPROCESSABLE_ENTITY", "REFUND_CURRENCY_MISMATCH")
        if already + Decimal(requested["value"]) > Decimal(capture["amount"]["value"]):
            return 422, _error("UNPROCESSABLE_ENTITY", "REFUND_AMOUNT_EXCEEDED")
        total = already + Decimal(requested["value"])
        refund = {
            "id": secrets.token_hex(8).upper(),
            "status": "COMPLETED",
            "amount": {"currency_code": currency, "value": requested["value"]},
            "custom_id": payload.get("custom_id"),
            "create_time": _now_iso(),
            "seller_payable_breakdown": {
                "total_refunded_amount": {"currency_code": currency, "value": str(total)}
            },
            "links": [
                {
                    "href": f"{self.base_url}/v2/payments/captures/{capture_id}",
                    "rel": "up",
                    "method": "GET",
                }
            ],
        }
        refunds.append(refund)
        capture["status"] = (
            "REFUNDED" if total == Decimal(capture["amount"]["value"]) else "PARTIALLY_REFUNDED"
        )
        return 201, refund

    def _verify_webhook(self, payload: dict[str, Any]) -> tuple[int, dict]:
        required = ("auth_algo", "cert_url", "transmission_id", "transmission_sig")
        required += ("transmission_time", "webhook_id", "webhook_event")
        if any(not payload.get(name) for name in required):
            return 400, _error("VALIDATION_ERROR", "MISSING_REQUIRED_PARAMETER")
        expected = self._signature(
            payload["transmission_id"],
            payload["transmission_time"],
            payload["webhook_id"],
            payload["webhook_event"],
        )
        valid = payload["webhook_id"] == WEBHOOK_ID and hmac.compare_digest(
            expected, payload["transmission_sig"]
        )
        return 200, {"verification_status": "SUCCESS" if valid else "FAILURE"}

    def _signature(
        self, transmission_id: str, transmission_time: str, webhook_id: str, event: Any
    ) -> str:
        canonical = json.dumps(event, sort_keys=True, separators=(",", ":")).encode()
        signed = f"{transmission_id}|{transmission_time}|{webhook_id}|{zlib.crc32(canonical)}"
        digest = hmac.new(self._signing_key, signed.encode(), hashlib.sha256).digest()
        return base64.b64encode(digest).decode()

    def _event(self, event_type: str, resource_type: str, resource: dict) -> dict[str, Any]:
        return {
            "id": "WH-" + secrets.token_hex(10).upper(),
            "event_version": "1.0",
            "create_time": _now_iso(),
            "resource_type": resource_type,
            "resource_version": "2.0",
            "event_type": event_type,
            "summary": f"{event_type} (stand-in)",
            "resource": json.loads(json.dumps(resource)),
            "links": [],
        }


@contextlib.contextmanager
def run_paypal_standin() -> Iterator[PayPalStandIn]:
    """Serve a PayPalStandIn on a free 127.0.0.1 port in a background thread."""
    standin = PayPalStandIn()

    class Handler(BaseHTTPRequestHandler):
        def _dispatch(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {key.lower(): value for key, value in self.headers.items()}
            path = self.path.split("?", 1)[0]
            status, payload = standin.handle(self.command, path, headers, body)
            encoded = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(encoded)))
            self.end_headers()
            self.wfile.write(encoded)

        do_GET = _dispatch  # noqa: N815 - http.server naming
        do_POST = _dispatch  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # keep test output quiet

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    standin.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name="paypal-standin",
        daemon=True,
    )
    thread.start()
    try:
        yield standin
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _error(name: str, issue: str) -> dict[str, Any]:
    return {
        "name": name,
        "message": "The requested action could not be performed.",
        "debug_id": secrets.token_hex(6),
        "details": [{"issue": issue, "description": issue.replace("_", " ").lower()}],
    }


def _now_iso() -> str:
    return datetime.now(tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
