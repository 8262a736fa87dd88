"""WebSocket load benchmark: C clients in K conversations through the real ASGI server.

Starts uvicorn (core.asgi) as a separate process on a free loopback port, creates buyers,
artisans, conversations and sessions in its own database, connects C WebSocket clients
(half buyers, half artisans), and has every client send messages at a steady rate for a
bounded time. Each client checks what it receives against the database's truth (every
seq of its conversation exactly once) and the bench prints:

  connections held, delivery latency p50/p95/p99 (send → other side's message.new),
  messages/s accepted, lost and duplicated deliveries (must be 0), server RSS per socket.

Examples:
  python bench/ws_load.py --smoke                      # tiny, in-memory layer, SQLite
  REDIS_URL=redis://127.0.0.1:6379/0 \\
  python bench/ws_load.py --clients 1000 --conversations 500 --seconds 20 \\
      --database-url postgres://postgres@127.0.0.1:5432/atelier_bench --workers 2
  ... --layer pubsub                                     # RedisPubSubChannelLayer
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LAYERS = {
    "memory": "channels.layers.InMemoryChannelLayer",
    "redis": "channels_redis.core.RedisChannelLayer",
    "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * pct / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def rss_kib(pid: int) -> int:
    total = 0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


@dataclass
class ClientStats:
    received: dict[int, list[int]] = field(default_factory=dict)  # conversation -> seqs
    latencies: list[float] = field(default_factory=list)
    acked: int = 0
    errors: list[str] = field(default_factory=list)


def prepare_database(env: dict[str, str], clients: int, conversations: int) -> list[dict]:
    """Migrate, create people/conversations/sessions; return one spec per client."""
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "core.settings"
    # This script drives the ORM from its event loop only to set up and check data.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    import django

    django.setup()
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command

    from conversations.models import Conversation, Participant
    from core.models import Role, User

    call_command("migrate", verbosity=0)
    run = uuid.uuid4().hex[:6]
    specs = []
    per_conversation = max(2, clients // conversations)
    for k in range(conversations):
        buyer = User.objects.create_user(email=f"b{k}-{run}@bench.invalid", role=Role.BUYER)
        artisan = User.objects.create_user(email=f"a{k}-{run}@bench.invalid", role=Role.ARTISAN)
        conv = Conversation.objects.create(buyer=buyer, artisan=artisan, subject=f"bench {k}")
        Participant.objects.create(conversation=conv, user=buyer, role="buyer")
        Participant.objects.create(conversation=conv, user=artisan, role="artisan")
        for i in range(per_conversation):
            user = buyer if i % 2 == 0 else artisan
            session = SessionStore()
            session[SESSION_KEY] = str(user.pk)
            session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
            session[HASH_SESSION_KEY] = user.get_session_auth_hash()
            session.create()
            specs.append({"user": user.pk, "conversation": conv.pk, "session": session.session_key})
            if len(specs) >= clients:
                return specs
    return specs


async def run_client(
    url: str,
    spec: dict,
    stats: ClientStats,
    *,
    send_count: int,
    interval: float,
    start_at: float,
    connected: asyncio.Event,
    all_connected: asyncio.Event,
    drain_seconds: float = 120.0,
) -> None:
    import websockets

    headers = {"Cookie": f"sessionid={spec['session']}", "Origin": _origin_of(url)}
    conv = spec["conversation"]
    async with websockets.connect(
        url, additional_headers=headers, compression=None, max_queue=None, open_timeout=120
    ) as ws:
        hello = json.loads(await ws.recv())
        if hello.get("type") != "hello":
            stats.errors.append(f"no hello: {hello}")
            return
        await ws.send(json.dumps({"type": "subscribe", "conversation": conv, "after_seq": 0}))
        connected.set()
        stats.received.setdefault(conv, [])

        async def reader() -> None:
            async for raw in ws:
                frame = json.loads(raw)
                kind = frame.get("type")
                if kind == "message.new":
                    message = frame["message"]
                    stats.received[conv].append(message["seq"])
                    text = message.get("text", "")
                    if text.startswith("bench|") and message["author"]["id"] != spec["user"]:
                        sent_at = float(text.split("|")[2])
                        stats.latencies.append(time.time() - sent_at)
                elif kind == "message.ack":
                    stats.acked += 1
                elif kind == "error":
                    stats.errors.append(f"{frame.get('code')}: {frame.get('message')}")

        reader_task = asyncio.create_task(reader())
        await all_connected.wait()
        await asyncio.sleep(max(0.0, start_at - time.time()) + random.random() * interval)
        for n in range(send_count):
            await ws.send(
                json.dumps(
                    {
                        "type": "message.send",
                        "conversation": conv,
                        "client_id": f"{spec['session'][:8]}-{n}",
                        "text": f"bench|{spec['user']}|{time.time():.6f}|{n}",
                    }
                )
            )
            await asyncio.sleep(interval)
        # Drain: wait for every ack (the server may be behind), then for the last deliveries.
        deadline = time.time() + drain_seconds
        while stats.acked + len(stats.errors) < send_count and time.time() < deadline:
            await asyncio.sleep(0.2)
        await asyncio.sleep(3.0)
        reader_task.cancel()


def _origin_of(ws_url: str) -> str:
    """The page origin a browser would send for this socket (same host and port)."""
    return "http" + ws_url.removeprefix("ws").split("/ws/", 1)[0]


async def warm_up(url: str, spec: dict) -> None:
    """First requests load models and open connections; keep them out of the figures."""
    import websockets

    headers = {"Cookie": f"sessionid={spec['session']}", "Origin": _origin_of(url)}
    async with websockets.connect(url, additional_headers=headers, compression=None) as ws:
        await ws.recv()
        for n in range(3):
            await ws.send(
                json.dumps(
                    {
                        "type": "message.send",
                        "conversation": spec["conversation"],
                        "client_id": f"warm-{uuid.uuid4().hex}",
                        "text": f"warm-up {n}",
                    }
                )
            )
            while json.loads(await ws.recv()).get("type") != "message.ack":
                pass


def truth(env: dict[str, str]) -> dict[int, list[int]]:
    from conversations.models import Message

    result: dict[int, list[int]] = {}
    for conv, seq in Message.objects.values_list("conversation_id", "seq").order_by(
        "conversation_id", "seq"
    ):
        result.setdefault(conv, []).append(seq)
    return result


async def main_async(args: argparse.Namespace) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="atelier-bench-"))
    database_url = args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    if args.layer != "memory" and not os.environ.get("REDIS_URL"):
        print("--layer redis/pubsub needs REDIS_URL", file=sys.stderr)
        return 2
    if args.workers > 1 and args.layer == "memory":
        print("several workers need a Redis channel layer (--layer redis|pubsub)", file=sys.stderr)
        return 2
    env = {
        "DATABASE_URL": database_url,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "WS_SEND_RATE": "1000000/1s",
        # Follow-ups (translation, notifications) go to a broker queue in production; with
        # no Redis they run inline as in `make run`.
        "CELERY_TASK_ALWAYS_EAGER": "false" if args.layer != "memory" else "true",
        "LOG_LEVEL": "WARNING",
        "MEDIA_ROOT": str(workdir / "media"),
        "DB_CONN_MAX_AGE": "60",
    }
    if args.layer == "memory":
        env["REDIS_URL"] = ""
    else:
        env["REDIS_URL"] = os.environ["REDIS_URL"]
        env["CHANNEL_LAYER_BACKEND"] = LAYERS[args.layer]
        env["CHANNEL_LAYER_PREFIX"] = f"bench{uuid.uuid4().hex[:6]}"
        # A throwaway broker database: queued follow-ups are dropped after the run.
        env["CELERY_BROKER_URL"] = os.environ["REDIS_URL"].rsplit("/", 1)[0] + "/15"
    specs = prepare_database(env, args.clients, args.conversations)
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "core.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--ws",
            "websockets",
            "--ws-per-message-deflate",
            "false",
            "--lifespan",
            "off",
            "--log-level",
            "warning",
            "--workers",
            str(args.workers),
        ],
        cwd=ROOT,
        env={**os.environ, **env},
    )
    try:
        for _ in range(200):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)
        await warm_up(f"ws://127.0.0.1:{port}/ws/chat/", specs[0])
        baseline = rss_kib(server.pid)
        url = f"ws://127.0.0.1:{port}/ws/chat/"
        stats = [ClientStats() for _ in specs]
        all_connected = asyncio.Event()
        connected_events = [asyncio.Event() for _ in specs]
        interval = args.seconds / max(args.messages, 1)
        start_at = time.time() + 2.0
        tasks = []
        for spec, st, ev in zip(specs, stats, connected_events, strict=True):
            tasks.append(
                asyncio.create_task(
                    run_client(
                        url,
                        spec,
                        st,
                        send_count=args.messages,
                        interval=interval,
                        start_at=start_at,
                        connected=ev,
                        all_connected=all_connected,
                    )
                )
            )
            if len(tasks) % 100 == 0:
                await asyncio.sleep(0.2)  # connect in waves, as real clients would
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in connected_events)), timeout=300)
        held = sum(e.is_set() for e in connected_events)
        loaded = rss_kib(server.pid)
        all_connected.set()
        t0 = time.time()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        elapsed = time.time() - t0
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
    failures = [r for r in results if isinstance(r, BaseException)]
    db_truth = truth(env)
    lost = duplicated = 0
    for spec, st in zip(specs, stats, strict=True):
        got = st.received.get(spec["conversation"], [])
        expected = db_truth.get(spec["conversation"], [])
        lost += len(set(expected) - set(got))
        duplicated += len(got) - len(set(got))
    latencies = [lat * 1000 for st in stats for lat in st.latencies]
    accepted = sum(st.acked for st in stats)
    errors = [e for st in stats for e in st.errors]
    print(f"layer               {LAYERS[args.layer]}")
    print(f"database            {database_url.split('@')[-1]}")
    print(f"server workers      {args.workers}")
    print(f"connections held    {held}/{len(specs)}")
    print(
        f"messages accepted   {accepted} (sent {len(specs) * args.messages}) in {elapsed:.1f}s "
        f"= {accepted / max(elapsed, 1e-9):.0f} msg/s"
    )
    print(f"deliveries          {len(latencies)} to the other side")
    if latencies:
        print(
            f"latency ms          p50 {percentile(latencies, 50):.1f}  p95 {percentile(latencies, 95):.1f}  "
            f"p99 {percentile(latencies, 99):.1f}  max {max(latencies):.1f}  mean {statistics.mean(latencies):.1f}"
        )
    print(f"lost                {lost}")
    print(f"duplicated          {duplicated}")
    print(
        f"server RSS          {baseline} KiB idle -> {loaded} KiB with {held} sockets "
        f"(~{(loaded - baseline) / max(held, 1):.0f} KiB/socket incl. session load)"
    )
    print(f"client errors       {len(errors)}{(' e.g. ' + errors[0]) if errors else ''}")
    print(
        f"client failures     {len(failures)}{(' e.g. ' + repr(failures[0])) if failures else ''}"
    )
    ok = (
        lost == 0
        and duplicated == 0
        and not failures
        and held == len(specs)
        and accepted == len(specs) * args.messages
    )
    print("RESULT              " + ("OK" if ok else "FAILED"))
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--conversations", type=int, default=100)
    parser.add_argument("--messages", type=int, default=5, help="messages each client sends")
    parser.add_argument(
        "--seconds", type=float, default=10.0, help="spread each client's sends over this"
    )
    parser.add_argument(
        "--layer",
        choices=sorted(LAYERS),
        default="pubsub" if os.environ.get("REDIS_URL") else "memory",
    )
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--smoke", action="store_true", help="tiny run for the test suite")
    args = parser.parse_args()
    if args.smoke:
        args.clients, args.conversations, args.messages, args.seconds = 6, 3, 3, 1.5
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65535), hard))
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
