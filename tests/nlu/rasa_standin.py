"""A loopback stand-in for the two Rasa HTTP endpoints the client uses.

It answers like Rasa 3.6 (shapes taken from Rasa's HTTP API docs) and records
what it received, so tests check both directions.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PARSE_REPLY: dict[str, Any] = {
    "text": "where is AT-7K2Q9?",
    "intent": {"name": "order_status", "confidence": 0.97},
    "entities": [
        # DIET and RegexEntityExtractor both report the reference.
        {
            "entity": "order_ref",
            "value": "AT-7K2Q9",
            "start": 9,
            "end": 17,
            "extractor": "DIETClassifier",
        },
        {
            "entity": "order_ref",
            "value": "AT-7K2Q9",
            "start": 9,
            "end": 17,
            "extractor": "RegexEntityExtractor",
        },
    ],
    "intent_ranking": [
        {"name": "order_status", "confidence": 0.97},
        {"name": "checkout", "confidence": 0.02},
    ],
    "response_selector": {},
}

WEBHOOK_REPLY: list[dict[str, Any]] = [
    {
        "recipient_id": "buyer-42",
        "text": "Hello! I'm the Atelier assistant.",
        "buttons": [{"title": "Track an order", "payload": "/order_status"}],
    },
    {"recipient_id": "buyer-42", "image": "https://example.test/vase.jpg"},
    {"recipient_id": "buyer-42", "custom": {"product_ids": [3, 5]}},
]


@dataclass
class RasaStandIn:
    base_url: str = ""
    parse_reply: Any = field(default_factory=lambda: dict(PARSE_REPLY))
    webhook_reply: Any = field(default_factory=lambda: list(WEBHOOK_REPLY))
    status: int = 200
    delay_seconds: float = 0.0
    requests: list[tuple[str, Any]] = field(default_factory=list)


def free_port() -> int:
    """A port that nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running_rasa_standin() -> Iterator[RasaStandIn]:
    state = RasaStandIn()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length) or b"null")
            state.requests.append((self.path, body))
            if state.delay_seconds:
                time.sleep(state.delay_seconds)
            if self.path == "/model/parse":
                reply = state.parse_reply
            elif self.path == "/webhooks/rest/webhook":
                reply = state.webhook_reply
            else:
                self.send_error(404)
                return
            payload = reply if isinstance(reply, bytes) else json.dumps(reply).encode()
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
