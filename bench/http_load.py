"""HTTP page benchmark: req/s and latency per page through the real server, production way.

Builds a catalogue of its own (SHOPS public shops, PRODUCTS listed pieces with photos and
options, categories) and a chat history (MESSAGES messages over artisan–buyer threads, via
bench/generate_dataset.py), runs ``collectstatic``, starts uvicorn with the production
settings (DEBUG off, the psycopg pool, Redis cache when REDIS_URL is set) as a separate
process, then for each page drives CONNECTIONS keep-alive connections in a closed loop for
SECONDS and prints, per page:

  requests, errors (anything but 200), req/s, p50/p95/p99 latency, page-cache hits,
  server CPU per request (all server processes), and this client's own CPU (a warning
  when the client, not the server, was the limit).

Signed-out pages pick their URL from a Zipf-like popularity over shops and products and
rotate the reader's language (en, fr, de, es); signed-in pages use the sessions of the
generated artisans (inbox) and buyers (history API). Targets (issue 14) are printed
against the figures.

Examples:
  python bench/http_load.py --smoke                      # tiny, SQLite, in-process cache
  REDIS_URL=redis://127.0.0.1:6379/0 \\
  python bench/http_load.py --database-url postgres://postgres@127.0.0.1:5432/atelier_http \\
      --workers 2 --connections 100 --seconds 15
  ... --page-cache-seconds 0                             # the same run with the cache off
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ws_load import (  # noqa: E402 - after the path set-up above
    cpu_seconds,
    ensure_database,
    free_port,
    percentile,
    session_for,
    setup_django,
    stop,
    wait_for_port,
)

LANGUAGES = ("en", "fr", "de", "es")
ANONYMOUS_PAGES = ("home", "catalogue", "shop", "product")
SIGNED_IN_PAGES = ("inbox", "history")
TARGETS = {"anonymous_rps": 600.0, "anonymous_p95_ms": 200.0, "signed_in_rps": 200.0}
MARKER_SLUG = "bench-shop-0"


@dataclass
class Dataset:
    shops: list[str]
    products: list[tuple[str, str]]
    artisan_sessions: list[str]
    threads: list[tuple[int, str]]  # (conversation id, its buyer's session)


@dataclass
class PageFigures:
    name: str
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    hits: int = 0
    misses: int = 0
    seconds: float = 0.0
    server_cpu: float = 0.0
    client_cpu: float = 0.0

    @property
    def requests(self) -> int:
        return len(self.latencies) + self.errors

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0


# --- Data ---------------------------------------------------------------------------------


def build_catalogue(*, shops: int, products: int) -> None:
    from django.contrib.auth.hashers import make_password

    from commerce.models import (
        ArtisanProfile,
        Category,
        ChoiceValue,
        CustomizationOption,
        OptionKind,
        Product,
        ProductPhoto,
        ProductStatus,
    )
    from core.models import Role, User

    password = make_password(None)
    categories = [
        Category.objects.get_or_create(slug=f"bench-{name.lower()}", defaults={"name": name})[0]
        for name in ("Ceramics", "Textiles", "Woodwork", "Jewellery", "Glass", "Paper")
    ]
    countries = ("MX", "FR", "DE", "ES", "PE", "JP", "IT", "PT")
    users = User.objects.bulk_create(
        [
            User(
                email=f"bench-artisan-{i}@bench.invalid",
                display_name=f"Maker {i}",
                password=password,
                role=Role.ARTISAN,
            )
            for i in range(shops)
        ],
        batch_size=2000,
    )
    profiles = ArtisanProfile.objects.bulk_create(
        [
            ArtisanProfile(
                user=user,
                shop_name=f"Bench workshop {i}",
                slug=f"bench-shop-{i}",
                tagline="Small batches, made by hand.",
                story="We fire our kiln twice a week and glaze every piece by hand.",
                region="Oaxaca",
                country=countries[i % len(countries)],
                languages=["en", "es"],
                materials="clay, glaze",
            )
            for i, user in enumerate(users)
        ],
        batch_size=2000,
    )
    rows = Product.objects.bulk_create(
        [
            Product(
                shop=profiles[i % shops],
                title=f"Glazed piece {i}",
                slug=f"glazed-piece-{i}",
                description="Wheel-thrown stoneware, food safe, dishwasher safe. " * 3,
                price=f"{18 + i % 160}.00",
                currency="EUR",
                stock_quantity=1 + i % 7,
                category=categories[i % len(categories)],
                status=ProductStatus.ACTIVE,
            )
            for i in range(products)
        ],
        batch_size=2000,
    )
    ProductPhoto.objects.bulk_create(
        [ProductPhoto(product=p, image=f"products/bench-{p.pk}.png") for p in rows],
        batch_size=2000,
    )
    options = CustomizationOption.objects.bulk_create(
        [
            CustomizationOption(product=p, kind=OptionKind.CHOICE, label="Glaze", position=0)
            for p in rows[::3]
        ],
        batch_size=2000,
    )
    ChoiceValue.objects.bulk_create(
        [
            ChoiceValue(option=o, label=label, price_delta=delta, position=n)
            for o in options
            for n, (label, delta) in enumerate((("Blue", 0), ("Green", 2), ("Ash", 4)))
        ],
        batch_size=5000,
    )


def prepare(env: dict[str, str], args: argparse.Namespace) -> Dataset:
    """Migrate and build the dataset once (a later run on the same database reuses it)."""
    ensure_database(env["DATABASE_URL"])
    setup_django(env)
    import pyotp
    from django.core.management import call_command
    from django.utils import timezone
    from generate_dataset import generate

    from commerce.models import ArtisanProfile, Product
    from conversations.models import Conversation
    from core.models import User

    call_command("migrate", verbosity=0)
    if not ArtisanProfile.objects.filter(slug=MARKER_SLUG).exists():
        started = time.monotonic()
        build_catalogue(shops=args.shops, products=args.products)
        orders = max(1, args.messages // 25)
        generate(messages=args.messages, orders=orders, buyers=200, artisans=20)
        print(f"dataset built       in {time.monotonic() - started:.0f} s")
    # Inbox artisans need 2FA enrolled, as every selling artisan does.
    drill_artisans = list(User.objects.filter(email__startswith="drill-artisan-"))
    for user in drill_artisans:
        if not user.totp_secret:
            user.totp_secret = pyotp.random_base32()
            user.totp_confirmed_at = timezone.now()
            user.save(update_fields=["totp_secret", "totp_confirmed_at"])
    shops = list(
        ArtisanProfile.objects.filter(slug__startswith="bench-shop-").values_list("slug", flat=True)
    )
    products = list(
        Product.objects.filter(shop__slug__startswith="bench-shop-").values_list(
            "shop__slug", "slug"
        )
    )
    threads = []
    buyer_sessions: dict[int, str] = {}
    for conversation in Conversation.objects.filter(status="open", subject__startswith="Order ")[
        :200
    ]:
        if conversation.buyer_id not in buyer_sessions:
            buyer_sessions[conversation.buyer_id] = session_for(conversation.buyer)
        threads.append((conversation.pk, buyer_sessions[conversation.buyer_id]))
    rng = random.Random(7)
    rng.shuffle(shops)
    rng.shuffle(products)
    return Dataset(
        shops=shops,
        products=products,
        artisan_sessions=[session_for(user) for user in drill_artisans],
        threads=threads,
    )


# --- Load ---------------------------------------------------------------------------------


def zipf_picker(items: list, rng: random.Random, s: float = 1.1):
    """Popular items first: item k is chosen with weight 1/(k+1)^s."""
    weights = [1.0 / (k + 1) ** s for k in range(len(items))]
    cumulative, total = [], 0.0
    for weight in weights:
        total += weight
        cumulative.append(total)

    def pick():
        return rng.choices(items, cum_weights=cumulative, k=1)[0]

    return pick


def url_source(page: str, data: Dataset, rng: random.Random):
    """A function giving (path, cookie) for the next request of this page."""
    if page == "home":
        return lambda: ("/", "")
    if page == "catalogue":
        slugs = ["", "?page=2", "?page=3", "?category=bench-ceramics", "?category=bench-glass"]
        return lambda: (f"/shop/{rng.choice(slugs)}", "")
    if page == "shop":
        pick = zipf_picker(data.shops, rng)
        return lambda: (f"/shop/{pick()}/", "")
    if page == "product":
        pick = zipf_picker(data.products, rng)

        def product():
            shop, slug = pick()
            return f"/shop/{shop}/{slug}/", ""

        return product
    if page == "inbox":
        return lambda: ("/inbox/", f"sessionid={rng.choice(data.artisan_sessions)}")
    if page == "history":

        def history():
            conversation, session = rng.choice(data.threads)
            return f"/api/conversations/{conversation}/messages/?limit=50", f"sessionid={session}"

        return history
    raise ValueError(page)


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readline()).strip().split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status, headers


async def _connection(port: int, next_url, language_of, deadline: float, out: PageFigures):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    n = 0
    try:
        while time.monotonic() < deadline:
            path, cookie = next_url()
            request = (
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Forwarded-Proto: https\r\n"
                f"Accept-Language: {language_of(n)}\r\nAccept: text/html,application/json\r\n"
                + (f"Cookie: {cookie}\r\n" if cookie else "")
                + "Connection: keep-alive\r\n\r\n"
            )
            n += 1
            started = time.perf_counter()
            writer.write(request.encode())
            status, headers = await _read_response(reader)
            elapsed = time.perf_counter() - started
            out.statuses[status] = out.statuses.get(status, 0) + 1
            if status == 200:
                out.latencies.append(elapsed)
            else:
                out.errors += 1
            cache = headers.get("x-page-cache")
            if cache == "hit":
                out.hits += 1
            elif cache == "miss":
                out.misses += 1
            if headers.get("connection", "").lower() == "close":
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
    finally:
        writer.close()


async def drive_page(
    page: str, port: int, data: Dataset, args: argparse.Namespace, pid: int
) -> PageFigures:
    rng = random.Random(hash(page) & 0xFFFF)
    next_url = url_source(page, data, rng)
    # Warm-up: templates compiled, pool connections open, the most popular pages cached.
    warm = PageFigures(page)
    await asyncio.gather(
        *(
            _connection(port, next_url, lambda n: LANGUAGES[n % 4], time.monotonic() + 1.0, warm)
            for _ in range(min(args.connections, 10))
        )
    )
    figures = PageFigures(page)
    server_before, client_before = cpu_seconds(pid), time.process_time()
    started = time.monotonic()
    deadline = started + args.seconds
    offsets = range(args.connections)
    await asyncio.gather(
        *(
            _connection(port, next_url, lambda n, k=k: LANGUAGES[(n + k) % 4], deadline, figures)
            for k in offsets
        )
    )
    figures.seconds = time.monotonic() - started
    figures.server_cpu = cpu_seconds(pid) - server_before
    figures.client_cpu = time.process_time() - client_before
    return figures


# --- Report -------------------------------------------------------------------------------


def report(pages: list[PageFigures]) -> bool:
    print()
    print(
        f"{'page':<11}{'requests':>9}{'errors':>8}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}"
        f"{'p99 ms':>9}{'cache hit':>11}{'server µs/req':>15}{'client CPU':>12}"
    )
    ok = True
    for f in pages:
        ms = [x * 1000 for x in f.latencies]
        cached = f.hits + f.misses
        hit = f"{100 * f.hits / cached:.0f}%" if cached else "-"
        per_request = f.server_cpu / max(1, f.requests) * 1e6
        client = f.client_cpu / f.seconds if f.seconds else 0.0
        print(
            f"{f.name:<11}{f.requests:>9}{f.errors:>8}{f.rps:>9.0f}{percentile(ms, 50):>9.1f}"
            f"{percentile(ms, 95):>9.1f}{percentile(ms, 99):>9.1f}{hit:>11}{per_request:>15.0f}"
            f"{client:>11.0%}"
        )
        if f.errors:
            ok = False
            print(f"  statuses: {dict(sorted(f.statuses.items()))}")
        if client > 0.85:
            print(f"  WARNING: the load client used {client:.0%} of a core: it may be the limit")
    anonymous = [f for f in pages if f.name in ANONYMOUS_PAGES]
    signed_in = [f for f in pages if f.name in SIGNED_IN_PAGES]
    print()
    print("targets (issue 14, 100 connections)")
    for f in anonymous:
        p95 = percentile([x * 1000 for x in f.latencies], 95)
        met = f.rps >= TARGETS["anonymous_rps"] and p95 < TARGETS["anonymous_p95_ms"]
        print(
            f"  {f.name:<10} >= {TARGETS['anonymous_rps']:.0f} req/s, p95 < "
            f"{TARGETS['anonymous_p95_ms']:.0f} ms: {f.rps:.0f} req/s, p95 {p95:.0f} ms "
            f"-> {'met' if met else 'NOT met'}"
        )
    for f in signed_in:
        met = f.rps >= TARGETS["signed_in_rps"]
        print(
            f"  {f.name:<10} >= {TARGETS['signed_in_rps']:.0f} req/s: {f.rps:.0f} req/s "
            f"-> {'met' if met else 'NOT met'}"
        )
    print(f"RESULT              {'OK' if ok else 'ERRORS'}")
    return ok


# --- Main ---------------------------------------------------------------------------------


def server_env(args: argparse.Namespace, workdir: Path, database_url: str) -> dict[str, str]:
    env = {
        "DATABASE_URL": database_url,
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        # A fixed bench key, so a database built by an earlier run stays readable.
        "FIELD_ENCRYPTION_KEYS": base64.urlsafe_b64encode(
            hashlib.sha256(b"atelier http bench").digest()
        ).decode(),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PAYMENT_GATEWAY": "stripe",
        "STRIPE_SECRET_KEY": "sk_test_bench",
        "STRIPE_PUBLISHABLE_KEY": "pk_test_bench",
        "STRIPE_WEBHOOK_SECRET": "whsec_bench",
        "STATIC_ROOT": str(workdir / "static"),
        "MEDIA_ROOT": str(workdir / "media"),
        "LOG_LEVEL": "WARNING",
        "PAGE_CACHE_SECONDS": str(args.page_cache_seconds),
        "RATE_LIMIT_API_WRITE": "",
        "CELERY_TASK_ALWAYS_EAGER": "true",
        "REDIS_URL": os.environ.get("REDIS_URL", "") if not args.smoke else "",
        "CACHE_PREFIX": f"httpbench{uuid.uuid4().hex[:6]}",
        "DB_POOL": "true" if database_url.startswith("postgres") else "false",
    }
    if env["REDIS_URL"]:
        env["CHANNEL_LAYER_PREFIX"] = f"httpbench{uuid.uuid4().hex[:6]}"
    return env


async def main_async(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="atelier-http-") as tmp:
        workdir = Path(tmp)
        database_url = args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
        env = server_env(args, workdir, database_url)
        data = prepare(env, args)
        child_env = {**os.environ, **env}
        child_env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        collected = subprocess.run(  # noqa: S603 - our own interpreter and manage.py
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
            cwd=ROOT,
            env=child_env,
            capture_output=True,
            text=True,
            check=False,
        )
        if collected.returncode:
            print(collected.stderr[-3000:])
            return 2
        port = free_port()
        if args.server == "gunicorn":
            # HTTP under WSGI (the sockets stay on uvicorn; docs/scaling.md).
            command = [
                sys.executable, "-m", "gunicorn", "core.wsgi:application",
                "--bind", f"127.0.0.1:{port}", "--workers", str(args.workers),
                "--worker-class", "gthread", "--threads", str(args.threads),
                "--log-level", "warning", "--keep-alive", "75",
            ]  # fmt: skip
        else:
            command = [
                sys.executable, "-m", "uvicorn", "core.asgi:application",
                "--host", "127.0.0.1", "--port", str(port), "--workers", str(args.workers),
                "--lifespan", "off", "--log-level", "warning", "--no-access-log",
                "--ws", "core.ws_server:SlimSansIOProtocol",
            ]  # fmt: skip
        server = subprocess.Popen(command, cwd=ROOT, env=child_env)  # noqa: S603 - our app
        try:
            wait_for_port(port, server)
            await asyncio.sleep(0.5)
            pages = [
                await drive_page(page, port, data, args, server.pid)
                for page in args.pages.split(",")
            ]
        finally:
            stop(server)
        print(f"database            {database_url.split('@')[-1].split('/')[-1]}")
        print(f"cache               {'Redis' if env['REDIS_URL'] else 'in-process memory'}")
        print(f"page cache          {args.page_cache_seconds} s")
        print(
            f"server              {args.server}, {args.workers} workers"
            + (f" x {args.threads} threads" if args.server == "gunicorn" else "")
        )
        print(f"connections         {args.connections}, {args.seconds:g} s per page")
        print(
            f"dataset             {len(data.shops)} shops, {len(data.products)} products, "
            f"{len(data.threads)} threads sampled"
        )
        return 0 if report(pages) else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--smoke", action="store_true", help="tiny run for the test suite")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument(
        "--server",
        choices=("uvicorn", "gunicorn"),
        default="uvicorn",
        help="uvicorn (ASGI, as `make run`) or gunicorn gthread workers (WSGI)",
    )
    parser.add_argument("--threads", type=int, default=8, help="gunicorn threads per worker")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--shops", type=int, default=200)
    parser.add_argument("--products", type=int, default=5000)
    parser.add_argument("--messages", type=int, default=50000)
    parser.add_argument("--page-cache-seconds", type=int, default=300)
    parser.add_argument("--pages", default=",".join(ANONYMOUS_PAGES + SIGNED_IN_PAGES))
    args = parser.parse_args()
    if args.smoke:
        args.workers, args.connections, args.seconds = 1, 4, 1.5
        args.shops, args.products, args.messages = 4, 20, 100
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    raise SystemExit(main())
