"""Fault test: PostgreSQL becomes unreachable for the process serving a send.

A production-mode uvicorn child (tests/production/support.py) reaches PostgreSQL only
through a TCP proxy owned by this test. While the proxy is cut — every open connection
reset, every new one accepted and then never answered (a blackhole: the worst case, where
only timeouts help) — a buyer sends one message over the JSON API and one over the
WebSocket. Each gets a clear error within the child's small timeouts (connect_timeout,
pool timeout, statement_timeout) instead of a hang, and nothing is written. Then the proxy
is restored and each client retries with the same client_id until it is accepted: each
message is stored exactly once, and the conversation's seqs are gapless.

Needs the real PostgreSQL (DATABASE_URL); CI sets ATELIER_REQUIRE_REAL_SERVICES=1 so a
missing one fails instead of skipping.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import socket
import subprocess
import sys
import threading
import time
import uuid
from urllib.parse import quote

import httpx
import pytest
import websockets
from django.db import connection
from django.test import Client, override_settings

from conversations.models import Message
from conversations.services import start_conversation
from core.models import Role
from tests.conftest import enrol_totp, make_user, require_or_skip
from tests.production.conftest import production_static_root  # noqa: F401 - fixture
from tests.production.support import ROOT, STRIPE_KEYS, production_env
from tests.webchat.browser import free_port

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SERVER_SECRET = secrets.token_urlsafe(50)
# Small timeouts in the child so a cut database is an error within seconds.
CONNECT_TIMEOUT = 2
POOL_TIMEOUT = 3
STATEMENT_TIMEOUT_MS = 3000
# The test's own bound on one request: far above the timeouts, so hitting it means a hang.
HANG_BOUND_SECONDS = 45
CSRF_SECRET = "A" * 16 + secrets.token_hex(8)  # 32 characters, Django's unmasked format


class PostgresProxy:
    """A TCP proxy in front of PostgreSQL that the test can cut and restore."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.cut_now = False
        self.open_pairs: list[tuple[socket.socket, socket.socket]] = []
        self.held: list[socket.socket] = []  # accepted while cut, never answered
        self.reset_connections = 0
        self.stopped = threading.Event()
        threading.Thread(target=self._accept_loop, daemon=True).start()

    def _accept_loop(self) -> None:
        while not self.stopped.is_set():
            try:
                client, _addr = self.listener.accept()
            except OSError:
                return
            with self.lock:
                if self.cut_now:
                    self.held.append(client)
                    continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.open_pairs.append((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self) -> None:
        """Reset every open connection; accept new ones but never answer them."""
        with self.lock:
            self.cut_now = True
            pairs, self.open_pairs = self.open_pairs, []
        for pair in pairs:
            for sock in pair:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
        self.reset_connections += len(pairs)

    def restore(self) -> None:
        with self.lock:
            self.cut_now = False
            held, self.held = self.held, []
        for sock in held:
            sock.close()

    def stop(self) -> None:
        self.stopped.set()
        self.cut()
        self.restore()
        self.listener.close()


def _database_url(port: int) -> str:
    conf = connection.settings_dict
    user = quote(conf.get("USER") or "postgres")
    password = f":{quote(conf['PASSWORD'])}" if conf.get("PASSWORD") else ""
    return f"postgres://{user}{password}@127.0.0.1:{port}/{conf['NAME']}"


@pytest.fixture
def proxied_server(production_static_root):  # noqa: F811 - the imported fixture
    require_or_skip(connection.vendor == "postgresql", "needs the real PostgreSQL (DATABASE_URL)")
    conf = connection.settings_dict
    proxy = PostgresProxy((conf.get("HOST") or "127.0.0.1", int(conf.get("PORT") or 5432)))
    port = free_port()
    env = production_env(
        **STRIPE_KEYS,
        DJANGO_SECRET_KEY=SERVER_SECRET,
        DATABASE_URL=_database_url(proxy.port),
        DB_POOL_MIN_SIZE="1",
        DB_POOL_MAX_SIZE="4",
        DB_POOL_TIMEOUT=str(POOL_TIMEOUT),
        DB_CONNECT_TIMEOUT=str(CONNECT_TIMEOUT),
        DB_STATEMENT_TIMEOUT_MS=str(STATEMENT_TIMEOUT_MS),
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        STATIC_ROOT=production_static_root,
        CHANNEL_LAYER_PREFIX=f"pgcut{uuid.uuid4().hex[:6]}",
        # Follow-ups go to a queue of their own that no worker of other tests consumes.
        CELERY_TASK_DEFAULT_QUEUE=f"pgcut-{uuid.uuid4().hex[:6]}",
        LOG_LEVEL="WARNING",
    )
    process = subprocess.Popen(  # noqa: S603 - our own server
        [
            sys.executable, "-m", "uvicorn", "core.asgi:application",
            "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
            "--ws", "core.ws_server:SlimSansIOProtocol", "--ws-per-message-deflate", "false",
            "--lifespan", "off", "--no-access-log",
        ],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{base}/accounts/login/", headers={"X-Forwarded-Proto": "https"}, timeout=2)
            break
        except httpx.HTTPError:
            if process.poll() is not None or time.monotonic() > deadline:
                output = process.stdout.read() if process.stdout else ""
                proxy.stop()
                pytest.fail(f"production server did not start:\n{output[-4000:]}")
            time.sleep(0.2)
    try:
        yield base, proxy
    finally:
        process.terminate()
        try:
            output, _ = process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
        proxy.stop()
        print(output[-3000:])


def _buyer_thread():
    artisan = make_user("potter@example.com", Role.ARTISAN, display_name="Paz Potter")
    enrol_totp(artisan)
    buyer = make_user("buyer@example.com", display_name="Bea Buyer")
    conversation = start_conversation(buyer=buyer, artisan=artisan, subject="A bowl")
    client = Client()
    with override_settings(SECRET_KEY=SERVER_SECRET):
        client.force_login(buyer)
    return buyer, conversation, client.cookies["sessionid"].value


def _api_send(base: str, session: str, conversation_id: int, client_id: str, text: str):
    """One POST as the widget makes it (session cookie, CSRF, behind the TLS proxy)."""
    return httpx.post(
        f"{base}/api/conversations/{conversation_id}/messages/",
        json={"client_id": client_id, "text": text},
        headers={
            "Cookie": f"sessionid={session}; csrftoken={CSRF_SECRET}",
            "X-CSRFToken": CSRF_SECRET,
            "X-Forwarded-Proto": "https",
            "Origin": base.replace("http://", "https://"),
            "Referer": base.replace("http://", "https://") + "/",
        },
        timeout=HANG_BOUND_SECONDS,
    )


async def _open_socket(base: str, session: str, conversation_id: int):
    socket_ = await websockets.connect(
        base.replace("http://", "ws://") + "/ws/chat/",
        additional_headers={"Cookie": f"sessionid={session}", "X-Forwarded-Proto": "https"},
        origin=base.replace("http://", "https://"),
        open_timeout=HANG_BOUND_SECONDS,
        close_timeout=5,
    )
    await socket_.send(json.dumps({"type": "subscribe", "conversation": conversation_id}))
    return socket_


async def _ws_send(socket_, conversation_id: int, client_id: str, text: str) -> dict:
    """Send one message; the first ack or error frame for it (the test's hang bound)."""
    await socket_.send(
        json.dumps(
            {
                "type": "message.send",
                "conversation": conversation_id,
                "client_id": client_id,
                "text": text,
            }
        )
    )
    async with asyncio.timeout(HANG_BOUND_SECONDS):
        while True:
            frame = json.loads(await socket_.recv())
            if frame["type"] == "error":
                return frame
            if frame["type"] == "message.ack" and frame["client_id"] == client_id:
                return frame


def _retry_until(call, accepted, attempts: int = 20):
    """A client's retry loop: same request again after a pause until it is accepted."""
    results = []
    for _attempt in range(attempts):
        result = call()
        results.append(result)
        if accepted(result):
            return results
        time.sleep(1)
    raise AssertionError(f"never accepted after {attempts} tries: {results[-3:]}")


def test_sends_while_postgres_is_unreachable_fail_fast_and_land_once_on_retry(proxied_server):
    base, proxy = proxied_server
    buyer, conversation, session = _buyer_thread()
    api_id, ws_id = str(uuid.uuid4()), str(uuid.uuid4())

    async def scenario() -> dict:
        socket_ = await _open_socket(base, session, conversation.pk)
        try:
            # Given a working server: one message goes through before the fault
            before = await _ws_send(socket_, conversation.pk, str(uuid.uuid4()), "before")
            assert before["type"] == "message.ack"
            # When PostgreSQL becomes unreachable for the server
            proxy.cut()
            print(f"injected: proxy cut, {proxy.reset_connections} open connection(s) reset")
            # Each client tries twice during the cut: the first try meets a connection the
            # cut reset, the second an empty pool whose new connections are blackholed (only
            # connect_timeout and the pool timeout end it).
            api_cut, ws_cut = [], []
            for phase in ("reset connection", "blackholed connect"):
                started = time.monotonic()
                api_cut.append(
                    await asyncio.to_thread(
                        _api_send, base, session, conversation.pk, api_id, "over the API"
                    )
                )
                api_took = time.monotonic() - started
                started = time.monotonic()
                ws_cut.append(await _ws_send(socket_, conversation.pk, ws_id, "over the socket"))
                print(
                    f"{phase}: API {api_cut[-1].status_code} after {api_took:.1f}s, socket "
                    f"{ws_cut[-1].get('code')} after {time.monotonic() - started:.1f}s"
                )
            # Then neither hangs: each gets a clear error, and nothing was written
            rows_during_cut = await asyncio.to_thread(
                lambda: Message.objects.filter(
                    conversation=conversation, client_id__in=[api_id, ws_id]
                ).count()
            )
            held = len(proxy.held)
            # When the database is back, each client retries with the same client_id
            proxy.restore()
            print(f"restored: {held} connection attempt(s) were blackholed during the cut")
            ws_retries = []
            for _attempt in range(20):
                frame = await _ws_send(socket_, conversation.pk, ws_id, "over the socket")
                ws_retries.append(frame)
                if frame["type"] == "message.ack":
                    break
                await asyncio.sleep(1)
            return {
                "api_cut": api_cut,
                "ws_cut": ws_cut,
                "rows_during_cut": rows_during_cut,
                "held": held,
                "ws_retries": ws_retries,
            }
        finally:
            await socket_.close()

    outcome = asyncio.run(scenario())
    api_cut, ws_cut = outcome["api_cut"], outcome["ws_cut"]
    print(f"API during the cut: {[(r.status_code, r.json()) for r in api_cut]}")
    print(f"socket during the cut: {ws_cut}")
    for response in api_cut:
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "1"
        assert response.json() == {
            "code": "unavailable",
            "message": "Something went wrong. Try again.",
            "retry_after": 1,
        }
    for frame in ws_cut:
        assert frame["type"] == "error" and frame["code"] == "server_error"
        assert frame["client_id"] == ws_id
        assert frame["message"] == "Something went wrong. Try again."
    assert outcome["rows_during_cut"] == 0
    assert outcome["held"] >= 1  # the blackhole was really met

    api_retries = _retry_until(
        lambda: _api_send(base, session, conversation.pk, api_id, "over the API"),
        lambda response: response.status_code == 200,
    )
    ws_retries = outcome["ws_retries"]
    print(
        f"retries until accepted: API {len(api_retries)} "
        f"({[r.status_code for r in api_retries]}), socket {len(ws_retries)} "
        f"({[f.get('code', f['type']) for f in ws_retries]})"
    )
    assert ws_retries[-1]["type"] == "message.ack"
    # And the API's acceptance is the first: a retry after it says "duplicate", never twice
    assert api_retries[-1].json()["duplicate"] is False
    again = _api_send(base, session, conversation.pk, api_id, "over the API")
    assert again.status_code == 200 and again.json()["duplicate"] is True

    # Then each message is stored exactly once and the seqs have no gap
    stored = Message.objects.filter(conversation=conversation, author=buyer)
    counts = {
        "api": stored.filter(client_id=api_id).count(),
        "socket": stored.filter(client_id=ws_id).count(),
    }
    seqs = list(
        Message.objects.filter(conversation=conversation)
        .order_by("seq")
        .values_list("seq", flat=True)
    )
    print(f"stored by client_id: {counts}; seqs {seqs}")
    assert counts == {"api": 1, "socket": 1}
    assert seqs == list(range(1, len(seqs) + 1))
    assert stored.count() == 3  # "before", the API message, the socket message
