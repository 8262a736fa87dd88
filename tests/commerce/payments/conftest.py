"""Fixtures: real localstripe (subprocess), a local webhook receiver, the PayPal stand-in."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from commerce.payments.paypal_gateway import PayPalGateway
from commerce.payments.registry import clear_gateway_cache
from commerce.payments.stripe_gateway import StripeGateway
from tests.standins import paypal_server
from tests.standins.localstripe_server import LocalStripe, run_localstripe

STRIPE_WEBHOOK_SECRET = "whsec_atelier_test_secret"


@dataclass
class ReceivedWebhook:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    """A loopback HTTP endpoint that stores every POST it gets, as a provider's target."""

    url: str = ""
    received: list[ReceivedWebhook] = field(default_factory=list)
    _arrived: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(
        self, matches: Callable[[ReceivedWebhook], bool], *, timeout: float = 10.0
    ) -> ReceivedWebhook:
        """Block until a delivery satisfying ``matches`` arrives (localstripe waits ~1 s)."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                for delivery in self.received:
                    if matches(delivery):
                        return delivery
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"No matching webhook within {timeout}s")
                self._arrived.wait(remaining)

    def _store(self, delivery: ReceivedWebhook) -> None:
        with self._arrived:
            self.received.append(delivery)
            self._arrived.notify_all()


@pytest.fixture(scope="session")
def localstripe() -> Iterator[LocalStripe]:
    with run_localstripe() as running:
        yield running


@pytest.fixture(scope="session")
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server naming
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            receiver._store(ReceivedWebhook(self.path, dict(self.headers.items()), body))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/webhooks/stripe/"
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def stripe_webhooks_registered(localstripe: LocalStripe, webhook_receiver: WebhookReceiver) -> None:
    localstripe.register_webhook(
        webhook_id="atelier-tests", url=webhook_receiver.url, secret=STRIPE_WEBHOOK_SECRET
    )


@pytest.fixture(scope="session")
def stripe_gateway(localstripe: LocalStripe, stripe_webhooks_registered: None) -> StripeGateway:
    return StripeGateway(
        secret_key=localstripe.secret_key,
        webhook_secret=STRIPE_WEBHOOK_SECRET,
        api_base=localstripe.base_url,
        timeout_seconds=5,
        max_network_retries=0,
    )


@pytest.fixture
def paypal_api() -> Iterator[paypal_server.PayPalStandIn]:
    with paypal_server.run_paypal_standin() as standin:
        yield standin


@pytest.fixture
def paypal_gateway(paypal_api: paypal_server.PayPalStandIn) -> Iterator[PayPalGateway]:
    gateway = PayPalGateway(
        client_id=paypal_server.CLIENT_ID,
        client_secret=paypal_server.CLIENT_SECRET,
        webhook_id=paypal_server.WEBHOOK_ID,
        api_base=paypal_api.base_url,
        timeout_seconds=5,
        max_retries=2,
    )
    yield gateway
    gateway.close()


@pytest.fixture(autouse=True)
def _fresh_gateway_registry() -> Iterator[None]:
    clear_gateway_cache()
    yield
    clear_gateway_cache()
