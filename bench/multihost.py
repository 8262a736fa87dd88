"""Two ASGI hosts, a channel layer sharded over two Redis servers, and nothing lost between them.

The scale-out path of docs/scaling.md on one machine: the bench makes two test hosts of its
own (Linux network namespaces, each joined to this machine by a veth pair), starts

- two Redis servers (the channel-layer shards, channels-redis hashing each group onto one),
- a TCP relay to the local PostgreSQL (the database host, seen from the test hosts),
- one uvicorn (production settings, DEBUG off) inside each test host,

then connects every conversation's buyer to host A and its artisan to host B, has both send
MESSAGES messages, and checks what each client received against the database: every seq of
its conversation exactly once. It prints what each Redis shard carried (both must carry
traffic), lost and duplicated deliveries (0), and cleans up the namespaces, links, address
and processes it made.

Needs root and iproute2 (``ip netns``), and redis-server on PATH.

  python bench/multihost.py --conversations 40 --messages 5
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os
import random
import secrets
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ws_load import (  # noqa: E402 - after the path set-up above
    ClientStats,
    free_port,
    prepare_database,
    run_client,
    stop,
    truth,
)

APP_PORT = 8000


def sh(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True, text=True)  # noqa: S603


class TestHosts:
    """Two network namespaces, each a host at 10.X.<n>.2 behind a veth pair, and an address
    10.X.0.1 on this machine that both reach (where Redis and the database relay listen)."""

    def __init__(self) -> None:
        self.tag = uuid.uuid4().hex[:5]
        taken = subprocess.run(["ip", "-4", "addr"], capture_output=True, text=True).stdout  # noqa: S607
        octets = [n for n in range(100, 250) if f"10.{n}." not in taken]
        self.net = random.Random(self.tag).choice(octets)
        self.service_ip = f"10.{self.net}.0.1"
        self.names = {"a": f"atl{self.tag}a", "b": f"atl{self.tag}b"}
        self.made: list[str] = []

    def ip_of(self, host: str) -> str:
        return f"10.{self.net}.{1 if host == 'a' else 2}.2"

    def up(self) -> None:
        sh("ip", "addr", "add", f"{self.service_ip}/32", "dev", "lo")
        self.made.append("addr")
        for n, (host, ns) in enumerate(self.names.items(), start=1):
            outside, inside = f"v{self.tag}{host}0", f"v{self.tag}{host}1"
            sh("ip", "netns", "add", ns)
            self.made.append(ns)
            sh("ip", "link", "add", outside, "type", "veth", "peer", "name", inside)
            sh("ip", "link", "set", inside, "netns", ns)
            sh("ip", "addr", "add", f"10.{self.net}.{n}.1/30", "dev", outside)
            sh("ip", "link", "set", outside, "up")
            run = ("ip", "netns", "exec", ns)
            sh(*run, "ip", "addr", "add", f"10.{self.net}.{n}.2/30", "dev", inside)
            sh(*run, "ip", "link", "set", inside, "up")
            sh(*run, "ip", "link", "set", "lo", "up")
            sh(*run, "ip", "route", "add", "default", "via", f"10.{self.net}.{n}.1")

    def down(self) -> None:
        for made in reversed(self.made):
            with contextlib.suppress(subprocess.CalledProcessError):
                if made == "addr":
                    sh("ip", "addr", "del", f"{self.service_ip}/32", "dev", "lo")
                else:
                    sh("ip", "netns", "del", made)  # its end of the veth pair goes with it


async def relay(listen_host: str, listen_port: int, target_port: int) -> asyncio.Server:
    """The database host as the test hosts see it: a TCP relay to the local PostgreSQL."""

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", target_port)
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    return await asyncio.start_server(handle, listen_host, listen_port)


def start_relay(listen_host: str, listen_port: int, target_port: int):
    """Run the relay on a thread and event loop of its own (the clients' loop is busy);
    returns a function that stops it."""
    import threading

    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: dict = {}

    def serve() -> None:
        asyncio.set_event_loop(loop)
        holder["server"] = loop.run_until_complete(relay(listen_host, listen_port, target_port))
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    ready.wait(10)

    def close() -> None:
        loop.call_soon_threadsafe(holder["server"].close)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)

    return close


def redis_server(host: str, port: int) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603
        [
            "redis-server", "--bind", host, "--port", str(port), "--save", "",
            "--appendonly", "no", "--protected-mode", "no", "--loglevel", "warning",
        ],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip


def shard_publishes(host: str, port: int) -> int:
    import redis

    stats = redis.Redis(host=host, port=port).info("commandstats")
    return int(stats.get("cmdstat_publish", {}).get("calls", 0))


def wait_http(host: str, port: int, process: subprocess.Popen, seconds: float = 60) -> None:
    import socket

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server on {host} exited with {process.returncode}")
        try:
            with socket.create_connection((host, port), timeout=0.3):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server on {host} did not start")


def server_env(hosts: TestHosts, shards: list[int], pg_port: int, database: str) -> dict:
    redis_urls = [f"redis://{hosts.service_ip}:{port}/0" for port in shards]
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_ALLOW"))},
        "DJANGO_SETTINGS_MODULE": "core.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": os.environ["DJANGO_SECRET_KEY"],
        "FIELD_ENCRYPTION_KEYS": os.environ["FIELD_ENCRYPTION_KEYS"],
        "DJANGO_ALLOWED_HOSTS": f"{hosts.ip_of('a')},{hosts.ip_of('b')}",
        "DATABASE_URL": f"postgres://postgres@{hosts.service_ip}:{pg_port}/{database}",
        "REDIS_URL": redis_urls[0],
        "CHANNEL_LAYER_HOSTS": ",".join(redis_urls),
        "CHANNEL_LAYER_PREFIX": f"multihost{hosts.tag}",
        "CELERY_TASK_ALWAYS_EAGER": "true",
        "PAYMENT_GATEWAY": "stripe",
        "STRIPE_SECRET_KEY": "sk_test_multihost",
        "STRIPE_PUBLISHABLE_KEY": "pk_test_multihost",
        "STRIPE_WEBHOOK_SECRET": "whsec_multihost",
        "WS_SEND_RATE": "1000000/1s",
        "MESSAGE_SEND_RATE": "1000000/1s",
        "LOG_LEVEL": "WARNING",
    }


def drop_database(base: str, name: str) -> None:
    import psycopg
    from django.db import connections
    from psycopg import sql

    connections.close_all()
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


async def run(args: argparse.Namespace) -> int:
    if os.geteuid() != 0 or not shutil.which("ip") or not shutil.which("redis-server"):
        print("needs root, iproute2 (ip netns) and redis-server")
        return 3
    base = args.database_url.rsplit("/", 1)[0]
    database = f"atelier_multihost_{uuid.uuid4().hex[:6]}"
    os.environ.setdefault(
        "FIELD_ENCRYPTION_KEYS", base64.urlsafe_b64encode(os.urandom(32)).decode()
    )
    setup_env = {
        "DATABASE_URL": f"{base}/{database}",
        "REDIS_URL": "",
        "FIELD_ENCRYPTION_KEYS": os.environ["FIELD_ENCRYPTION_KEYS"],
        # Sessions made here are read by the servers: one secret for both.
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    }
    specs = prepare_database(setup_env, 2 * args.conversations, args.conversations)
    hosts = TestHosts()
    processes: list[subprocess.Popen] = []
    relay_server = None
    try:
        hosts.up()
        shards = [free_port(), free_port()]
        processes += [redis_server(hosts.service_ip, port) for port in shards]
        pg_port = free_port()
        relay_server = start_relay(hosts.service_ip, pg_port, int(args.database_port))
        env = server_env(hosts, shards, pg_port, database)
        servers = {}
        for host, ns in hosts.names.items():
            servers[host] = subprocess.Popen(  # noqa: S603 - our own interpreter and app
                [
                    "ip", "netns", "exec", ns, sys.executable, "-m", "uvicorn",
                    "core.asgi:application", "--host", hosts.ip_of(host),
                    "--port", str(APP_PORT), "--ws", "core.ws_server:SlimSansIOProtocol",
                    "--ws-per-message-deflate", "false", "--lifespan", "off",
                    "--log-level", "warning", "--no-access-log",
                ],
                cwd=ROOT,
                env=env,
            )  # fmt: skip
            processes.append(servers[host])
        for host in hosts.names:
            await asyncio.to_thread(wait_http, hosts.ip_of(host), APP_PORT, servers[host])
        before = [shard_publishes(hosts.service_ip, port) for port in shards]
        stats = [ClientStats() for _ in specs]
        events = [asyncio.Event() for _ in specs]
        all_connected = asyncio.Event()
        handshakes = asyncio.Semaphore(50)
        # Even specs are buyers (host A), odd ones the artisan of the same conversation (B).
        urls = [
            f"ws://{hosts.ip_of('a' if n % 2 == 0 else 'b')}:{APP_PORT}/ws/chat/"
            for n in range(len(specs))
        ]
        tasks = [
            asyncio.create_task(
                run_client(
                    urls[n],
                    spec,
                    stats[n],
                    send_count=args.messages,
                    interval=0.05,
                    connected=events[n],
                    all_connected=all_connected,
                    handshakes=handshakes,
                    drain_seconds=60,
                    # Both sides send: a thread is complete at twice one client's sends.
                    expect_in_conversation=2 * args.messages,
                )
            )
            for n, spec in enumerate(specs)
        ]
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in events)), timeout=120)
        all_connected.set()
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=300)
        published = [
            shard_publishes(hosts.service_ip, port) - b
            for port, b in zip(shards, before, strict=True)
        ]
    finally:
        for process in reversed(processes):  # the servers first, then their Redis shards
            stop(process)
        if relay_server is not None:
            relay_server()
        hosts.down()
    expected = truth(setup_env)
    drop_database(base, database)
    lost = duplicated = 0
    for spec, client in zip(specs, stats, strict=True):
        seqs = client.received.get(spec["conversation"], [])
        want = expected.get(spec["conversation"], [])
        missing = sorted(set(want) - set(seqs))
        lost += len(missing)
        if missing and lost <= 40:
            print(f"  client {spec['user']} conv {spec['conversation']} missed {missing} of {want}")
        duplicated += len(seqs) - len(set(seqs))
    errors = [e for client in stats for e in client.errors]
    sent = sum(len(v) for v in expected.values())
    print(f"host A              {hosts.ip_of('a')} (netns {hosts.names['a']}): buyers")
    print(f"host B              {hosts.ip_of('b')} (netns {hosts.names['b']}): artisans")
    print(f"redis shards        2 at {hosts.service_ip}; publishes {published[0]} / {published[1]}")
    print(f"database            PostgreSQL via relay {hosts.service_ip}:{pg_port} ({database})")
    print(f"connections held    {sum(1 for e in events if e.is_set())}/{len(specs)}")
    print(f"messages stored     {sent} (expected {len(specs) * args.messages})")
    print(f"cross-host          every client checked against all {sent} seqs of its thread")
    print(f"lost                {lost}")
    print(f"duplicated          {duplicated}")
    print(f"errors              {len(errors)} {errors[:3]}")
    ok = (
        lost == 0
        and duplicated == 0
        and not errors
        and sent == len(specs) * args.messages
        and all(p > 0 for p in published)
    )
    print(f"RESULT              {'OK' if ok else 'FAILED'}")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--conversations", type=int, default=40)
    parser.add_argument("--messages", type=int, default=5, help="sent by each client")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/atelier"),
        help="the local PostgreSQL (its server; the bench makes a database of its own)",
    )
    parser.add_argument("--database-port", default="5432")
    args = parser.parse_args()
    if not args.database_url.startswith(("postgres://", "postgresql://")):
        print("needs PostgreSQL (DATABASE_URL=postgres://...)")
        return 3
    return asyncio.run(run(args))


if __name__ == "__main__":
    raise SystemExit(main())
