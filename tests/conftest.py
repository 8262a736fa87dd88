"""Shared fixtures: people with roles, a per-test cache namespace, TOTP helpers."""

from __future__ import annotations

import os
import shutil
import time
import uuid

import pyotp
import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from core.models import Role, User

PASSWORD = "correct-horse-battery-staple"

# The SQLite test database is a file under var/ (see settings).
os.makedirs(os.path.join(os.path.dirname(os.path.dirname(__file__)), "var"), exist_ok=True)
REQUIRE_REAL_SERVICES = bool(os.environ.get("ATELIER_REQUIRE_REAL_SERVICES"))


def require_or_skip(condition: bool, reason: str) -> None:
    """Skip locally when a real service is absent; in CI the same absence is a failure."""
    if condition:
        return
    if REQUIRE_REAL_SERVICES:
        pytest.fail(f"CI requires this real service: {reason}")
    pytest.skip(reason)


# Modules that use a server .ci/run starts in the background (Rasa loads TensorFlow and its
# model for a minute): run them halfway through, when it has long been ready.
RUN_HALFWAY = ("tests/bots/flows/test_rasa_end_to_end.py",)

# The long modules (browsers, child processes, servers, benches) start first, so that the
# two workers end together instead of one finishing a 50-second module alone while the other
# idles. `make test` passes --no-loadscope-reorder, which keeps this order (xdist would
# otherwise sort files by their number of tests, which puts these single long tests last).
LONG_FIRST = (
    "tests/journeys/",
    "tests/integration/",
    "tests/production/",
    "tests/webchat/test_browser",
    "tests/i18n/test_browser",
    "tests/commerce/test_shipping_browser",
    "tests/commerce/test_campaign_progress_browser",
    "tests/bots/test_telegram_shared_limits.py",
    "tests/core/test_api_schemathesis.py",
    "tests/commerce/test_marketing.py",
)


# The benches run last: at the start the machine is busiest (Rasa loading TensorFlow, both
# workers migrating their databases), and their own timeouts measure the machine.
LONG_LAST = ("tests/bench/",)


def _cost_rank(nodeid: str) -> int:
    if nodeid.startswith(LONG_LAST):
        return len(LONG_FIRST) + 1
    for rank, prefix in enumerate(LONG_FIRST):
        if nodeid.startswith(prefix):
            return rank
    return len(LONG_FIRST)


def pytest_collection_modifyitems(config, items):
    # A stable sort: within a rank, files keep their order and tests stay together.
    items.sort(key=lambda item: _cost_rank(item.nodeid))
    later = [item for item in items if item.nodeid.startswith(RUN_HALFWAY)]
    if later:
        rest = [item for item in items if not item.nodeid.startswith(RUN_HALFWAY)]
        half = len(rest) // 2
        items[:] = rest[:half] + later + rest[half:]


@pytest.fixture(scope="session", autouse=True)
def _channel_layer_per_test_worker(worker_id):
    """Parallel workers (pytest-xdist) each have their own database, so conversation ids
    repeat across them: each worker gets its own channel-layer prefix on the shared Redis."""
    from channels.layers import channel_layers

    # Telegram's shared rate-limit windows too: one bot token, but not one bot.
    django_settings.TELEGRAM_RATE_LIMIT_NAMESPACE = f"test-{worker_id}-{os.getpid()}:telegram"
    config = django_settings.CHANNEL_LAYERS["default"].setdefault("CONFIG", {})
    if "prefix" in config or "hosts" in config:
        config["prefix"] = f"test-{worker_id}-{os.getpid()}"
        channel_layers.backends.clear()


@pytest.fixture(autouse=True)
def _english_in_utc():
    """Every test starts in English and UTC: a test (or a view it called in this thread)
    that activated another language or time zone must not change what the next one reads."""
    from django.utils import timezone, translation

    translation.activate("en")
    timezone.deactivate()
    yield
    translation.deactivate()
    timezone.deactivate()


@pytest.fixture(autouse=True)
def _isolated_cache(settings):
    """Each test gets its own cache key space (throttles live there), on Redis too."""
    caches = {name: dict(conf) for name, conf in django_settings.CACHES.items()}
    for conf in caches.values():
        conf["KEY_PREFIX"] = f"test-{uuid.uuid4().hex[:8]}"
    settings.CACHES = caches
    # The signed-out page cache is on in every test (it is off in DEBUG development), so
    # each page test also proves that what it changed reaches the next signed-out reader.
    settings.PAGE_CACHE_SECONDS = 300


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def make_user(email: str, role: str = Role.BUYER, **extra) -> User:
    return User.objects.create_user(email=email, password=PASSWORD, role=role, **extra)


def message_with_text(text: str, **filters):
    """The one message with this text. Bodies are encrypted at rest, so the database cannot
    compare them: the candidates are decrypted and compared here."""
    from conversations.models import Message

    [message] = [m for m in Message.objects.filter(**filters) if m.text == text]
    return message


def enrol_totp(user: User) -> pyotp.TOTP:
    secret = pyotp.random_base32()
    user.totp_secret = secret
    user.totp_confirmed_at = timezone.now()
    user.save()
    return pyotp.TOTP(secret)


def code_at(totp: pyotp.TOTP, offset_steps: int = 0) -> str:
    return totp.at(time.time() + offset_steps * 30)


@pytest.fixture
def buyer(db) -> User:
    return make_user("buyer@example.com", display_name="Bea Buyer")


@pytest.fixture
def artisan(db) -> User:
    user = make_user("artisan@example.com", Role.ARTISAN, display_name="Ana Artisan")
    user.totp = enrol_totp(user)
    return user


@pytest.fixture
def artisan_without_2fa(db) -> User:
    return make_user("new-artisan@example.com", Role.ARTISAN, display_name="Nico New")


@pytest.fixture
def admin_user(db) -> User:
    return User.objects.create_superuser(email="admin@example.com", password=PASSWORD)


@pytest.fixture
def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        if os.environ.get("ATELIER_REQUIRE_BROWSER"):
            pytest.fail("Chromium is required in CI but was not found on PATH.")
        pytest.skip("Debian chromium is not installed (apt-get install chromium); CI installs it.")
    return path


@pytest.fixture
def browser(chromium_path, monkeypatch):
    """Debian Chromium driven by Playwright's sync API (one browser per test)."""
    # Playwright's sync API keeps an event loop in this thread; the test's own ORM calls
    # (data set-up, final assertions) are plain sync code Django cannot tell apart.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    from tests.webchat.browser import CHROMIUM_ARGS

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
        )
        violations = _record_csp_violations(browser)
        try:
            yield browser
        finally:
            browser.close()
        # Any Content-Security-Policy violation on any page fails the test.
        assert not violations, "Content-Security-Policy violations:\n" + "\n".join(violations)


# Every page reports CSP violations to the console, where the listener below collects them.
_CSP_VIOLATION_JS = """
document.addEventListener('securitypolicyviolation', (e) => {
  console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`
    + ` at ${e.sourceFile || document.location.href}:${e.lineNumber}`);
});
"""


def _record_csp_violations(browser) -> list[str]:
    violations: list[str] = []
    new_context = browser.new_context

    def on_console(message) -> None:
        text = message.text
        if message.type == "error" and (
            "CSP violation" in text or "Content Security Policy" in text
        ):
            violations.append(text)

    def new_context_recording(*args, **kwargs):
        context = new_context(*args, **kwargs)
        context.add_init_script(_CSP_VIOLATION_JS)
        context.on("console", on_console)
        return context

    browser.new_context = new_context_recording
    return violations


@pytest.fixture
def server(transactional_db):
    """The real ASGI app (uvicorn) on a free port, against the test database."""
    from tests.webchat.browser import running_asgi_server

    with running_asgi_server() as base_url:
        yield base_url
