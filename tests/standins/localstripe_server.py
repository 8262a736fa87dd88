"""Runs the PyPI ``localstripe`` fake Stripe API on a free loopback port for tests.

``run_localstripe()`` starts it as a subprocess and yields a ``LocalStripe`` handle
(base URL, webhook registration, request log). The subprocess runs *this file* as its
main program, which serves localstripe's own aiohttp app with three changes that
``python -m localstripe --port N`` cannot make:

* it serves on a 127.0.0.1 socket bound by the parent and inherited by file descriptor
  (``python -m localstripe --port N`` binds ``::``, every interface, and a port probed
  free beforehand could be taken by someone else before it binds);
* it disables localstripe's persistence, which pickles the whole store to the fixed path
  ``/tmp/localstripe.pickle`` on every write and reloads it at start, so parallel runs
  (other test sessions, xdist workers) would share and clobber one store;
* it records each API request's method, path, ``Idempotency-Key`` and ``Stripe-Version``
  headers (served at ``GET /_config/requests``), because localstripe ignores both headers
  and tests still want to prove our gateway sends them.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

STARTUP_TIMEOUT_SECONDS = 15.0
HTTP_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class LocalStripe:
    """Handle on a running localstripe."""

    base_url: str
    secret_key: str = "sk_test_atelier_localstripe"

    def register_webhook(
        self, *, webhook_id: str, url: str, secret: str, events: list[str] | None = None
    ) -> None:
        """Make localstripe POST signed events to ``url`` (``POST /_config/webhooks/<id>``).

        Registering the same ``webhook_id`` again replaces the earlier registration.
        """
        body: dict[str, Any] = {"url": url, "secret": secret}
        if events is not None:
            body["events"] = events
        response = httpx.post(
            f"{self.base_url}/_config/webhooks/{webhook_id}",
            json=body,
            timeout=HTTP_TIMEOUT_SECONDS,
        )
        response.raise_for_status()

    def recorded_requests(self) -> list[dict[str, Any]]:
        """API requests seen so far: method, path, idempotency_key, stripe_version."""
        response = httpx.get(f"{self.base_url}/_config/requests", timeout=HTTP_TIMEOUT_SECONDS)
        response.raise_for_status()
        return response.json()

    def api(self, method: str, path: str, **data: Any) -> dict[str, Any]:
        """Raw form-encoded API call with the secret key, as Stripe.js or a test would make.

        Used for the buyer-side steps the server never performs (attach a card, confirm).
        """
        response = httpx.request(
            method,
            f"{self.base_url}{path}",
            data=_flatten_form(data) if method != "GET" else None,
            params=_flatten_form(data) if method == "GET" else None,
            headers={"Authorization": f"Bearer {self.secret_key}"},
            timeout=HTTP_TIMEOUT_SECONDS,
        )
        return {"status_code": response.status_code, **response.json()}


@contextlib.contextmanager
def run_localstripe(
    *, startup_timeout_seconds: float = STARTUP_TIMEOUT_SECONDS
) -> Iterator[LocalStripe]:
    """Start localstripe on a free 127.0.0.1 port, wait until it answers, stop it afterwards."""
    # The parent binds the port and hands the listening socket to the child, so there is
    # no window in which another process could grab a "free" port between probe and bind.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with tempfile.TemporaryDirectory(prefix="localstripe-") as workdir, listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        port = listener.getsockname()[1]
        log_path = Path(workdir) / "localstripe.log"
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(  # noqa: S603 - our own interpreter and file
                [sys.executable, str(Path(__file__).resolve()), "--fd", str(listener.fileno())],
                cwd=workdir,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
                pass_fds=(listener.fileno(),),
            )
        try:
            base_url = f"http://127.0.0.1:{port}"
            _wait_until_answering(process, base_url, log_path, startup_timeout_seconds)
            yield LocalStripe(base_url=base_url)
        finally:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


def _wait_until_answering(
    process: subprocess.Popen[bytes], base_url: str, log_path: Path, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"localstripe exited early:\n{log_path.read_text()}")
        try:
            # Served without authentication, so it answers as soon as the app is up.
            if httpx.get(f"{base_url}/js.stripe.com/v3/", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"localstripe did not answer within {timeout}s:\n{log_path.read_text()}")


def _flatten_form(data: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Stripe's form encoding: {"card": {"number": "4242"}} -> {"card[number]": "4242"}."""
    flat: dict[str, str] = {}
    for key, value in data.items():
        name = f"{prefix}[{key}]" if prefix else key
        if isinstance(value, dict):
            flat.update(_flatten_form(value, name))
        elif isinstance(value, list | tuple):
            for index, item in enumerate(value):
                flat[f"{name}[{index}]"] = str(item)
        elif isinstance(value, bool):
            flat[name] = "true" if value else "false"
        else:
            flat[name] = str(value)
    return flat


def _serve(listening_fd: int) -> None:
    """Subprocess entry point: serve localstripe's app on the inherited loopback socket."""
    from aiohttp import web
    from localstripe import resources, server

    # No pickle file in /tmp shared by every localstripe on the machine.
    resources.Store.dump_to_disk = lambda self: None  # type: ignore[method-assign]
    resources.Store.try_load_from_disk = lambda self: None  # type: ignore[method-assign]

    recorded: list[dict[str, Any]] = []

    @web.middleware
    async def record_request(request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path.startswith("/v1/"):
            recorded.append(
                {
                    "method": request.method,
                    "path": request.path,
                    "idempotency_key": request.headers.get("Idempotency-Key"),
                    "stripe_version": request.headers.get("Stripe-Version"),
                }
            )
        return await handler(request)

    async def list_recorded_requests(request: web.Request) -> web.Response:
        return web.json_response(recorded)

    server.app.middlewares.insert(0, record_request)
    server.app.router.add_get("/_config/requests", list_recorded_requests)
    listener = socket.socket(fileno=listening_fd)
    web.run_app(server.app, sock=listener, print=None, access_log=None)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fd", type=int, required=True, help="inherited listening socket")
    _serve(parser.parse_args().fd)
