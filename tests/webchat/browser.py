"""Browser-test plumbing: a real ASGI server (uvicorn, in a thread) and signed-in contexts.

The server runs in this process against the test database, with the in-memory channel
layer, so events from a browser's socket reach the other browser exactly as in production
(only the layer's transport differs). Tests using it need ``transaction=True`` so the
server's own database connection sees their data.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from django.test import Client

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_asgi_server() -> Iterator[str]:
    from core.asgi import application

    port = free_port()
    config = uvicorn.Config(
        application, host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def session_cookie(user, base_url: str) -> dict:
    """Sign ``user`` in without the login form (2FA included): copy a real session cookie."""
    client = Client()
    client.force_login(user)
    return {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base_url}


def signed_in_context(browser, user, base_url: str, **options):
    context = browser.new_context(base_url=base_url, **options)
    if user is not None:
        context.add_cookies([session_cookie(user, base_url)])
    return context


# Every form control needs an accessible name; returns descriptions of those that lack one.
UNLABELLED_CONTROLS_JS = """
() => {
  const visible = (el) => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
  const named = (el) => {
    if (el.getAttribute('aria-label') || el.getAttribute('aria-labelledby')) return true;
    if (el.id && document.querySelector(`label[for="${CSS.escape(el.id)}"]`)) return true;
    if (el.closest('label')) return true;
    if (el.tagName === 'BUTTON' || el.tagName === 'A' || el.tagName === 'SUMMARY') return !!el.textContent.trim();
    if (el.tagName === 'IFRAME') return !!el.title;
    return false;
  };
  const selector = 'input:not([type=hidden]), select, textarea, button, a[href], summary, iframe';
  return [...document.querySelectorAll(selector)]
    .filter((el) => visible(el) && !named(el))
    .map((el) => el.outerHTML.slice(0, 120));
}
"""
