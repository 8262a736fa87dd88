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
import base64
import collections
import json
import os
import random
import resource
import secrets
import signal
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
    # production's default: RedisPubSubChannelLayer with the resync hint and slim queues
    "pubsub": "conversations.channel_layer.ResyncingPubSubChannelLayer",
}


SENTENCES = (
    "Hello! Is the blue glazed bowl still available in the large size?",
    "Yes, I can make a set of four for you by the end of next week.",
    "Could you ship it to Lyon, and how long would delivery take?",
    "Of course. I will send you an offer with shipping included today.",
)


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
    first_send: float = 0.0
    last_ack: float = 0.0


def ensure_database(database_url: str) -> None:
    """Create the bench's PostgreSQL database when it does not exist yet (migrated below)."""
    if not database_url.startswith(("postgres://", "postgresql://")):
        return
    import psycopg
    from psycopg import sql

    base, _, name = database_url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def session_for(user) -> str:
    """A signed-in session of ``user`` in the database, as a sign-in makes; its key."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


def setup_django(env: dict[str, str]) -> None:
    """Django in this (bench) process, with the server's environment."""
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "core.settings"
    # The bench drives the ORM from its event loop only to set up and check data.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    import django

    django.setup()


def prepare_database(env: dict[str, str], clients: int, conversations: int) -> list[dict]:
    """Migrate, create people/conversations/sessions; return one spec per client."""
    ensure_database(env["DATABASE_URL"])
    setup_django(env)
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
        # A buyer and an artisan talking (the shop assistant has handed over: no bot replies).
        conv = Conversation.objects.create(
            buyer=buyer, artisan=artisan, subject=f"bench {k}", bot_active=False
        )
        Participant.objects.create(conversation=conv, user=buyer, role="buyer")
        Participant.objects.create(conversation=conv, user=artisan, role="artisan")
        for i in range(per_conversation):
            user = buyer if i % 2 == 0 else artisan
            specs.append({"user": user.pk, "conversation": conv.pk, "session": session_for(user)})
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
    connected: asyncio.Event,
    all_connected: asyncio.Event,
    handshakes: asyncio.Semaphore,
    drain_seconds: float = 120.0,
    expect_in_conversation: int = 0,
) -> None:
    import websockets

    headers = {"Cookie": f"sessionid={spec['session']}", "Origin": _origin_of(url)}
    conv = spec["conversation"]
    async with handshakes:
        ws = await websockets.connect(
            url, additional_headers=headers, compression=None, max_queue=None, open_timeout=120
        )
        hello = json.loads(await ws.recv())
    async with ws:
        if hello.get("type") != "hello":
            stats.errors.append(f"no hello: {hello}")
            return
        await ws.send(json.dumps({"type": "subscribe", "conversation": conv, "after_seq": 0}))
        stats.received.setdefault(conv, [])
        subscribed = asyncio.Event()

        async def reader() -> None:
            async for raw in ws:
                frame = json.loads(raw)
                kind = frame.get("type")
                if kind == "subscribed":
                    subscribed.set()
                elif kind == "message.new":
                    message = frame["message"]
                    stats.received[conv].append(message["seq"])
                    text = message.get("text", "")
                    if text.startswith("bench|") and message["author"]["id"] != spec["user"]:
                        sent_at = float(text.split("|")[2])
                        stats.latencies.append(time.time() - sent_at)
                elif kind == "message.ack":
                    stats.acked += 1
                    stats.last_ack = time.time()
                elif kind == "error":
                    stats.errors.append(f"{frame.get('code')}: {frame.get('message')}")

        reader_task = asyncio.create_task(reader())
        # Connected means subscribed (its replay and presence done), so the handshake work
        # is not counted in the send phase.
        await asyncio.wait_for(subscribed.wait(), timeout=300)
        connected.set()
        await all_connected.wait()
        await asyncio.sleep(random.random() * interval)  # spread the first sends evenly
        stats.first_send = time.time()
        for n in range(send_count):
            await ws.send(
                json.dumps(
                    {
                        "type": "message.send",
                        "conversation": conv,
                        "client_id": f"{spec['session'][:8]}-{n}",
                        # Chat-like words after the timing header (the hub detects the
                        # language and indexes the words, as for any message).
                        "text": f"bench|{spec['user']}|{time.time():.6f}|{n}| "
                        + SENTENCES[n % len(SENTENCES)],
                    }
                )
            )
            await asyncio.sleep(interval)
        # Drain: wait for every ack (the server may be behind), then for the last deliveries.
        deadline = time.time() + drain_seconds
        while stats.acked + len(stats.errors) < send_count and time.time() < deadline:
            await asyncio.sleep(0.2)
        if expect_in_conversation:
            # Until this conversation's every message has arrived (or the drain deadline).
            while (
                len(set(stats.received[conv])) < expect_in_conversation
                and time.time() < deadline + 30
            ):
                await asyncio.sleep(0.1)
        else:
            await asyncio.sleep(3.0)
        reader_task.cancel()


def _origin_of(ws_url: str) -> str:
    """The page origin a browser would send for this socket (same host and port)."""
    return "http" + ws_url.removeprefix("ws").split("/ws/", 1)[0]


async def warm_up(url: str, spec: dict) -> int:
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
    return 3


def truth(env: dict[str, str]) -> dict[int, list[int]]:
    from conversations.models import Message

    result: dict[int, list[int]] = {}
    for conv, seq in Message.objects.values_list("conversation_id", "seq").order_by(
        "conversation_id", "seq"
    ):
        result.setdefault(conv, []).append(seq)
    return result


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its direct children (uvicorn's workers)."""
    return sum(cpu_split(pid))


def cpu_split(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of a process and its direct children."""
    ticks = os.sysconf("SC_CLK_TCK")
    user = system = 0.0
    pids = [pid]
    try:
        pids += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        pass
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        user += int(fields[11]) / ticks  # utime
        system += int(fields[12]) / ticks  # stime
    return user, system


@dataclass
class RunFigures:
    name: str
    clients: int
    held: int = 0
    connect_seconds: float = 0.0
    accepted: int = 0
    sent: int = 0
    elapsed: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    lost: int = 0
    duplicated: int = 0
    rss_idle_kib: int = 0
    rss_loaded_kib: int = 0
    server_cpu_s: float = 0.0
    send_span: float = 0.0
    server_sys_s: float = 0.0
    idle_cpu_share: float = 0.0
    client_cpu_s: float = 0.0
    errors: list[str] = field(default_factory=list)
    failures: list[BaseException] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.accepted / max(self.send_span, 1e-9)

    @property
    def handshakes_per_s(self) -> float:
        return self.held / max(self.connect_seconds, 1e-9)

    @property
    def cpu_us_per_message(self) -> float:
        return self.server_cpu_s * 1e6 / max(self.accepted, 1)

    @property
    def kib_per_socket(self) -> float:
        return (self.rss_loaded_kib - self.rss_idle_kib) / max(self.held, 1)

    @property
    def ok(self) -> bool:
        return (
            self.lost == 0
            and self.duplicated == 0
            and not self.failures
            and self.held == self.clients
            and self.accepted == self.sent
        )


async def _start_profiler(server_pid: int, output: str) -> subprocess.Popen:
    """py-spy samples the server (collapsed stacks, one per line), only threads holding the
    GIL: where the CPU of the one core a process can use goes."""
    profiler = subprocess.Popen(  # noqa: S603 - a profiler of our own child process
        ["py-spy", "record", "--pid", str(server_pid), "--format", "raw", "--rate", "200",
         "--output", output, "--nonblocking", "--subprocesses", "--gil"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    await asyncio.sleep(1.0)
    return profiler


def _stop_profiler(profiler: subprocess.Popen) -> None:
    profiler.send_signal(signal.SIGINT)
    profiler.wait(timeout=60)


async def drive(
    name: str, url: str, specs: list[dict], args: argparse.Namespace, server_pid: int
) -> tuple[RunFigures, list[ClientStats], int]:
    """Connect every client, run the send phase, and measure; truth is checked by the caller."""
    figures = RunFigures(name=name, clients=len(specs))
    warmed = await warm_up(url, specs[0])
    await settle(server_pid)
    figures.rss_idle_kib = rss_kib(server_pid)
    stats = [ClientStats() for _ in specs]
    all_connected = asyncio.Event()
    connected_events = [asyncio.Event() for _ in specs]
    handshakes = asyncio.Semaphore(args.connect_concurrency)
    interval = args.seconds / max(args.messages, 1)
    tasks = []
    connect_profiler = None
    if args.profile and name == "atelier" and args.profile_phase == "connect":
        connect_profiler = await _start_profiler(server_pid, args.profile)
    connect_started = time.perf_counter()
    for spec, st, ev in zip(specs, stats, connected_events, strict=True):
        tasks.append(
            asyncio.create_task(
                run_client(
                    url,
                    spec,
                    st,
                    send_count=args.messages,
                    interval=interval,
                    connected=ev,
                    all_connected=all_connected,
                    handshakes=handshakes,
                )
            )
        )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not all(
        event.is_set() or task.done() for event, task in zip(connected_events, tasks, strict=True)
    ):
        await asyncio.sleep(0.02)
    figures.connect_seconds = time.perf_counter() - connect_started
    if connect_profiler is not None:
        _stop_profiler(connect_profiler)
    figures.held = sum(e.is_set() for e in connected_events)
    figures.rss_loaded_kib = rss_kib(server_pid)
    profiler = None
    if args.profile and name == "atelier" and args.profile_phase == "send":
        profiler = await _start_profiler(server_pid, args.profile)
    # What the held sockets cost with nobody sending (pings, timers): not the messages' cost.
    idle0 = cpu_seconds(server_pid)
    await asyncio.sleep(3.0)
    figures.idle_cpu_share = (cpu_seconds(server_pid) - idle0) / 3.0
    split0 = cpu_split(server_pid)
    cpu0, client0, t0 = sum(split0), _own_cpu(), time.time()
    all_connected.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    figures.elapsed = time.time() - t0
    split1 = cpu_split(server_pid)
    figures.server_cpu_s = sum(split1) - cpu0
    figures.server_sys_s = split1[1] - split0[1]
    figures.client_cpu_s = _own_cpu() - client0
    if profiler is not None:
        _stop_profiler(profiler)
    figures.failures = [r for r in results if isinstance(r, BaseException)]
    figures.latencies_ms = [lat * 1000 for st in stats for lat in st.latencies]
    figures.accepted = sum(st.acked for st in stats)
    # The rate is over the send phase: first send to last ack (not the drain that follows).
    sends = [st.first_send for st in stats if st.first_send]
    acks = [st.last_ack for st in stats if st.last_ack]
    figures.send_span = (max(acks) - min(sends)) if sends and acks else figures.elapsed
    figures.sent = len(specs) * args.messages
    figures.errors = [e for st in stats for e in st.errors]
    return figures, stats, warmed


async def settle(pid: int, *, seconds: float = 60.0) -> None:
    """Wait until the server is idle: its background warm-ups (the language model, aiogram)
    must not be counted as the cost of the messages."""
    deadline = time.monotonic() + seconds
    before = cpu_seconds(pid)
    while time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        now = cpu_seconds(pid)
        if now - before < 0.05:
            return
        before = now


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def count_deliveries(
    figures: RunFigures, specs: list[dict], stats: list[ClientStats], expected: dict[int, list[int]]
) -> None:
    for spec, st in zip(specs, stats, strict=True):
        got = st.received.get(spec["conversation"], [])
        want = expected.get(spec["conversation"], [])
        figures.lost += len(set(want) - set(got))
        figures.duplicated += len(got) - len(set(got))


def wait_for_port(port: int, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


def atelier_env(args: argparse.Namespace, workdir: Path, database_url: str) -> dict[str, str]:
    env = {
        "DATABASE_URL": database_url,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "WS_SEND_RATE": "1000000/1s",
        "MESSAGE_SEND_RATE": "1000000/1s",
        # Follow-ups (translation, notifications) go to a broker queue in production; with
        # no Redis they run inline as in `make run`.
        "CELERY_TASK_ALWAYS_EAGER": "false" if args.layer != "memory" else "true",
        "LOG_LEVEL": "WARNING",
        "MEDIA_ROOT": str(workdir / "media"),
    }
    if args.production:
        # The production profile (DEBUG off, startup and deploy checks, the psycopg pool),
        # with test keys for what it refuses to start without.
        env.update(
            {
                "DJANGO_DEBUG": "false",
                "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
                "FIELD_ENCRYPTION_KEYS": base64.urlsafe_b64encode(os.urandom(32)).decode(),
                "PAYMENT_GATEWAY": "stripe",
                "STRIPE_SECRET_KEY": "sk_test_bench",
                "STRIPE_PUBLISHABLE_KEY": "pk_test_bench",
                "STRIPE_WEBHOOK_SECRET": "whsec_bench",
                "STATIC_ROOT": str(workdir / "static"),
                "DB_POOL": "true",
            }
        )
    if args.layer == "memory":
        env["REDIS_URL"] = ""
    else:
        env["REDIS_URL"] = os.environ["REDIS_URL"]
        env["CHANNEL_LAYER_BACKEND"] = LAYERS[args.layer]
        env["CHANNEL_LAYER_PREFIX"] = f"bench{uuid.uuid4().hex[:6]}"
        # A throwaway broker database: queued follow-ups are dropped after the run.
        env["CELERY_BROKER_URL"] = os.environ["REDIS_URL"].rsplit("/", 1)[0] + "/15"
    return env


async def run_atelier(args: argparse.Namespace, workdir: Path) -> RunFigures:
    database_url = args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    env = atelier_env(args, workdir, database_url)
    specs = prepare_database(env, args.clients, args.conversations)
    port = free_port()
    server_env = {**os.environ, **env}
    server_env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # this process's setup only
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and app
        [
            sys.executable, "-m", "uvicorn", "core.asgi:application",
            "--host", "127.0.0.1", "--port", str(port),
            "--ws", "core.ws_server:SlimSansIOProtocol", "--ws-per-message-deflate", "false",
            "--lifespan", "off", "--log-level", "warning", "--no-access-log",
            "--workers", str(args.workers),
        ],
        cwd=ROOT,
        env=server_env,
    )  # fmt: skip
    try:
        wait_for_port(port, server)
        await asyncio.sleep(0.5)
        figures, stats, _ = await drive(
            "atelier", f"ws://127.0.0.1:{port}/ws/chat/", specs, args, server.pid
        )
    finally:
        stop(server)
    count_deliveries(figures, specs, stats, truth(env))
    print(f"layer               {LAYERS[args.layer]}")
    print(f"database            {database_url.split('@')[-1]}")
    print(f"profile             {'production (DEBUG off)' if args.production else 'development'}")
    print(f"server workers      {args.workers}")
    return figures


async def run_ceiling(args: argparse.Namespace) -> RunFigures:
    per_conversation = max(2, args.clients // args.conversations)
    specs = []
    for k in range(args.conversations):
        for i in range(per_conversation):
            user = 2 * k + (i % 2) + 1
            specs.append({"user": user, "conversation": k + 1, "session": f"ceil-{user}"})
            if len(specs) >= args.clients:
                break
        if len(specs) >= args.clients:
            break
    port = free_port()
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, str(ROOT / "bench" / "ws_ceiling.py"), "--port", str(port)], cwd=ROOT
    )
    try:
        wait_for_port(port, server)
        figures, stats, warmed = await drive(
            "ceiling", f"ws://127.0.0.1:{port}/ws/chat/", specs, args, server.pid
        )
    finally:
        stop(server)
    # No database: every acked message of a room is its truth, seq 1..n.
    acked: dict[int, int] = collections.Counter()
    for spec, st in zip(specs, stats, strict=True):
        acked[spec["conversation"]] += st.acked
    acked[specs[0]["conversation"]] += warmed
    count_deliveries(
        figures, specs, stats, {conv: list(range(1, n + 1)) for conv, n in acked.items()}
    )
    return figures


def report(figures: RunFigures) -> None:
    f = figures
    print(f"connections held    {f.held}/{f.clients}")
    print(f"handshakes          {f.held} in {f.connect_seconds:.1f}s = {f.handshakes_per_s:.0f}/s")
    print(
        f"messages accepted   {f.accepted} (sent {f.sent}) in {f.send_span:.1f}s = {f.rate:.0f} msg/s"
    )
    print(f"deliveries          {len(f.latencies_ms)} to the other side")
    if f.latencies_ms:
        lat = f.latencies_ms
        print(
            f"latency ms          p50 {percentile(lat, 50):.1f}  p95 {percentile(lat, 95):.1f}  "
            f"p99 {percentile(lat, 99):.1f}  max {max(lat):.1f}  mean {statistics.mean(lat):.1f}"
        )
    print(f"lost                {f.lost}")
    print(f"duplicated          {f.duplicated}")
    print(
        f"server CPU          {f.server_cpu_s:.1f}s ({f.server_sys_s:.1f}s in the kernel) "
        f"= {f.cpu_us_per_message:.0f} µs/message"
    )
    print(f"server idle CPU     {f.idle_cpu_share:.0%} of one core with {f.held} sockets held")
    print(
        f"server RSS          {f.rss_idle_kib} KiB idle -> {f.rss_loaded_kib} KiB with {f.held} "
        f"sockets (~{f.kib_per_socket:.0f} KiB/socket incl. session load)"
    )
    busy = f.client_cpu_s / max(f.elapsed, 1e-9)
    print(
        f"client CPU          {f.client_cpu_s:.1f}s ({busy:.0%} of one core)"
        + ("  WARNING: the load generator may be the bottleneck" if busy > 0.8 else "")
    )
    print(f"client errors       {len(f.errors)}{(' e.g. ' + f.errors[0]) if f.errors else ''}")
    print(
        f"client failures     {len(f.failures)}"
        f"{(' e.g. ' + repr(f.failures[0])) if f.failures else ''}"
    )


def compare(hub: RunFigures, ceiling: RunFigures) -> None:
    def p(f: RunFigures, pct: float) -> float:
        return percentile(f.latencies_ms, pct)

    rows = [
        ("msg/s sustained", f"{hub.rate:.0f}", f"{ceiling.rate:.0f}", hub.rate / ceiling.rate),
        ("delivery p50 ms", f"{p(hub, 50):.1f}", f"{p(ceiling, 50):.1f}", None),
        ("delivery p99 ms", f"{p(hub, 99):.1f}", f"{p(ceiling, 99):.1f}", None),
        (
            "server CPU µs/message",
            f"{hub.cpu_us_per_message:.0f}",
            f"{ceiling.cpu_us_per_message:.0f}",
            None,
        ),
        (
            "handshakes/s",
            f"{hub.handshakes_per_s:.0f}",
            f"{ceiling.handshakes_per_s:.0f}",
            hub.handshakes_per_s / ceiling.handshakes_per_s,
        ),
        ("KiB/socket", f"{hub.kib_per_socket:.0f}", f"{ceiling.kib_per_socket:.0f}", None),
        ("lost / duplicated", f"{hub.lost} / {hub.duplicated}", "", None),
    ]
    print()
    print(f"{'figure':<24}{'atelier':>12}{'ceiling':>12}{'ratio':>8}")
    for name, a, c, ratio in rows:
        print(f"{name:<24}{a:>12}{c:>12}{(f'{ratio:.2f}' if ratio else ''):>8}")
    cpu_ratio = hub.cpu_us_per_message / max(ceiling.cpu_us_per_message, 1e-9)
    print(f"hub CPU per message is {cpu_ratio:.0f}x the bare server's")


async def main_async(args: argparse.Namespace) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="atelier-bench-"))
    if args.layer != "memory" and not os.environ.get("REDIS_URL"):
        print("--layer redis/pubsub needs REDIS_URL", file=sys.stderr)
        return 2
    if args.workers > 1 and args.layer == "memory":
        print("several workers need a Redis channel layer (--layer redis|pubsub)", file=sys.stderr)
        return 2
    hub = await run_atelier(args, workdir)
    report(hub)
    ceiling = None
    if args.ceiling:
        ceiling = await run_ceiling(args)
        print()
        print("ceiling             bare websockets broadcast server (bench/ws_ceiling.py)")
        report(ceiling)
        compare(hub, ceiling)
    print("RESULT              " + ("OK" if hub.ok else "FAILED"))
    return 0 if hub.ok else 1


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
        "--rate",
        type=float,
        default=0.0,
        help="offered messages/s over all clients (sets --messages from --seconds)",
    )
    parser.add_argument(
        "--layer",
        choices=sorted(LAYERS),
        default="pubsub" if os.environ.get("REDIS_URL") else "memory",
    )
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--database-url", default="")
    parser.add_argument(
        "--development",
        dest="production",
        action="store_false",
        help="run the development profile (DEBUG on) instead of production",
    )
    parser.add_argument(
        "--ceiling",
        action="store_true",
        help="also run the bare websockets server under the same load and print the ratio",
    )
    parser.add_argument(
        "--connect-concurrency", type=int, default=200, help="handshakes in flight at once"
    )
    parser.add_argument(
        "--profile", default="", help="py-spy the hub during one phase into this file"
    )
    parser.add_argument(
        "--profile-phase",
        choices=("send", "connect"),
        default="send",
        help="which phase --profile samples: the sends, or the handshakes and subscribes",
    )
    parser.add_argument("--smoke", action="store_true", help="tiny run for the test suite")
    args = parser.parse_args()
    if args.smoke:
        args.clients, args.conversations, args.messages, args.seconds = 6, 3, 3, 1.5
        args.production = False
    if args.rate:
        args.messages = max(1, round(args.rate * args.seconds / args.clients))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65535), hard))
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
