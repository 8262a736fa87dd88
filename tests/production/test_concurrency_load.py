"""One production-mode worker on the real PostgreSQL (+ Redis in CI) under concurrent load.

Regression for the audit's critical finding: with ``CONN_MAX_AGE=60`` every sync view's
fresh thread kept its connection open, and one uvicorn worker answered 53 of ~660 page
loads at ``wrk -c10`` with HTTP 500 ("too many clients already"). Now each process borrows
from one bounded psycopg pool; this test drives 200 concurrent page loads and 200 concurrent
WebSocket sends at one worker and counts: zero errors, every send acknowledged and stored
once, and never more server connections than the pool's size (sampled from pg_stat_activity).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import subprocess
import sys
import threading
import time
import uuid
from urllib.parse import quote

import httpx
import psycopg
import pytest
import websockets
from django.db import connection
from django.test import Client, override_settings

from commerce import services
from conversations.models import Message
from conversations.services import start_conversation
from core.models import Role
from tests.conftest import enrol_totp, make_user, require_or_skip
from tests.production.support import ROOT, STRIPE_KEYS, production_env
from tests.webchat.browser import free_port

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

POOL_MAX = 6
PAGE_LOADS = 200
SENDERS = 200
BUYERS = 50  # four sockets each: the per-user send rate stays far below its limit
APP_NAME = f"atelier-load-{uuid.uuid4().hex[:6]}"
# Sessions made here must verify in the server, so both sign with the same key.
SERVER_SECRET = secrets.token_urlsafe(50)


def _database_url() -> str:
    conf = connection.settings_dict
    user = quote(conf.get("USER") or "postgres")
    password = f":{quote(conf['PASSWORD'])}" if conf.get("PASSWORD") else ""
    host = conf.get("HOST") or "127.0.0.1"
    port = conf.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{conf['NAME']}?application_name={APP_NAME}"


def _server_connections(dsn: dict) -> int:
    with psycopg.connect(**dsn, dbname="postgres", autocommit=True) as conn:
        return conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (APP_NAME,)
        ).fetchone()[0]


class ConnectionSampler(threading.Thread):
    """Reads the server's connection count from pg_stat_activity every 50 ms."""

    def __init__(self, dsn: dict) -> None:
        super().__init__(daemon=True)
        self.dsn, self.samples, self.stop = dsn, [], threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.samples.append(_server_connections(self.dsn))
            time.sleep(0.05)


@pytest.fixture
def production_server(production_static_root):
    require_or_skip(connection.vendor == "postgresql", "needs the real PostgreSQL (DATABASE_URL)")
    port = free_port()
    env = production_env(
        **STRIPE_KEYS,
        DJANGO_SECRET_KEY=SERVER_SECRET,
        DATABASE_URL=_database_url(),
        DB_POOL_MAX_SIZE=str(POOL_MAX),
        DB_POOL_MIN_SIZE="1",
        DB_POOL_TIMEOUT="60",
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        STATIC_ROOT=production_static_root,
        CHANNEL_LAYER_PREFIX=f"load{uuid.uuid4().hex[:6]}",
        # Follow-ups go to a queue of their own that no worker of other tests consumes.
        CELERY_TASK_DEFAULT_QUEUE=f"load-{uuid.uuid4().hex[:6]}",
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
                pytest.fail(f"production server did not start:\n{output[-4000:]}")
            time.sleep(0.2)
    yield base, process
    process.terminate()
    try:
        output, _ = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    print(output[-3000:])


def _people_and_threads():
    artisan = make_user("potter@example.com", Role.ARTISAN, display_name="Paz Potter")
    enrol_totp(artisan)
    services.save_artisan_profile(
        user=artisan, shop_name="Casa Barro", story="Clay.", region="Oaxaca", country="MX",
        languages=["es"], materials="clay",
    )  # fmt: skip
    product = services.create_product(
        artisan=artisan,
        fields=services.ProductInput(
            title="Blue bowl", price="45.00", currency="EUR", stock_quantity=3
        ),
    )
    threads = []
    for index in range(BUYERS):
        buyer = make_user(f"buyer{index}@example.com", display_name=f"Buyer {index}")
        conversation = start_conversation(buyer=buyer, artisan=artisan, subject="A bowl")
        client = Client()
        with override_settings(SECRET_KEY=SERVER_SECRET):
            client.force_login(buyer)
        threads.append((conversation.pk, client.cookies["sessionid"].value))
    return product, threads


async def _load_pages(base: str, path: str) -> list[int]:
    limits = httpx.Limits(max_connections=PAGE_LOADS, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=120) as client:
        headers = {"X-Forwarded-Proto": "https"}
        responses = await asyncio.gather(
            *(client.get(path, headers=headers) for _ in range(PAGE_LOADS)),
            return_exceptions=True,
        )
    return [r.status_code if isinstance(r, httpx.Response) else repr(r) for r in responses]


async def _send_one(base: str, conversation_id: int, session: str) -> dict:
    url = base.replace("http://", "ws://") + "/ws/chat/"
    headers = {"Cookie": f"sessionid={session}", "X-Forwarded-Proto": "https"}
    # As behind the TLS proxy: the page is https, the proxy says so in X-Forwarded-Proto.
    origin = base.replace("http://", "https://")
    async with websockets.connect(
        url, additional_headers=headers, origin=origin, open_timeout=120, close_timeout=5
    ) as socket:
        client_id = str(uuid.uuid4())
        frames = []
        await socket.send(json.dumps({"type": "subscribe", "conversation": conversation_id}))
        await socket.send(
            json.dumps(
                {
                    "type": "message.send",
                    "conversation": conversation_id,
                    "client_id": client_id,
                    "text": f"load {client_id}",
                }
            )
        )
        async with asyncio.timeout(120):
            while True:
                frame = json.loads(await socket.recv())
                frames.append(frame)
                if frame["type"] == "error":
                    return frame
                if frame["type"] == "message.ack" and frame["client_id"] == client_id:
                    return frame


async def _send_all(base: str, threads: list[tuple[int, str]]) -> list:
    jobs = [_send_one(base, threads[i % BUYERS][0], threads[i % BUYERS][1]) for i in range(SENDERS)]
    return await asyncio.gather(*jobs, return_exceptions=True)


def test_one_worker_serves_hundreds_of_concurrent_pages_and_sends_without_errors(
    production_server,
):
    base, _process = production_server
    product, threads = _people_and_threads()
    conf = connection.settings_dict
    dsn = {"host": conf.get("HOST") or "127.0.0.1", "port": conf.get("PORT") or 5432,
           "user": conf.get("USER") or "postgres"}  # fmt: skip
    sampler = ConnectionSampler(dsn)
    sampler.start()
    try:
        # When 200 people load the product page at once, and 200 more the shop list
        product_path = f"/shop/{product.shop.slug}/{product.slug}/"
        product_statuses = asyncio.run(_load_pages(base, product_path))
        shop_statuses = asyncio.run(_load_pages(base, "/shop/"))
        # And 200 sockets each send one message at once
        acks = asyncio.run(_send_all(base, threads))
    finally:
        sampler.stop.set()
        sampler.join(timeout=5)

    # Then every page loaded
    assert [s for s in product_statuses if s != 200] == []
    assert [s for s in shop_statuses if s != 200] == []
    # And every send was acknowledged, none refused, none lost, none stored twice
    failures = [a for a in acks if not isinstance(a, dict) or a.get("type") != "message.ack"]
    assert failures == []
    assert len({a["client_id"] for a in acks}) == SENDERS
    assert sum(m.text.startswith("load ") for m in Message.objects.all()) == SENDERS
    assert not any(a["duplicate"] for a in acks)
    # And each conversation's seqs are gapless
    for conversation_id, _session in threads:
        seqs = list(
            Message.objects.filter(conversation_id=conversation_id)
            .order_by("seq")
            .values_list("seq", flat=True)
        )
        assert seqs == list(range(1, len(seqs) + 1))
    # And the worker never held more connections than its pool allows
    print(f"server connections: max {max(sampler.samples)} over {len(sampler.samples)} samples")
    assert sampler.samples and max(sampler.samples) <= POOL_MAX
    assert max(sampler.samples) >= 1
