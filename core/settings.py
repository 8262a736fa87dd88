"""Atelier settings.

Everything comes from environment variables (12-factor) with embedded defaults, so that
with nothing set the project runs on SQLite, the in-memory channel layer, eager Celery,
the embedded NLU engine and the dev payment gateway. Setting ``DATABASE_URL`` switches to
PostgreSQL; setting ``REDIS_URL`` switches the channel layer to channels-redis and Celery
to a real broker on Redis.
"""

from __future__ import annotations

import base64
import hashlib
import sys
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local .env is read when present; real environment variables always win.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

TESTING = "pytest" in sys.modules or env.bool("ATELIER_TESTING", default=False)

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env.str(
    "DJANGO_SECRET_KEY",
    default="dev-only-insecure-key-change-me-4b1f0c2e9d8a7f6e5d4c3b2a1908f7e6",
)
if not DEBUG and SECRET_KEY.startswith("dev-only-"):
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is false.")
# With DEBUG off the ASGI/WSGI entry points run the system checks (deployment checks included)
# before serving and refuse to start on any error: dev payment gateway, missing provider keys.
STARTUP_CHECKS = env.bool("ATELIER_STARTUP_CHECKS", default=not DEBUG)

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# Public base URL used in links we send out (emails, Telegram, checkout links).
SITE_URL = env.str("ATELIER_SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "channels",
    "django_celery_beat",
    "django_countries",
    "core",
    "conversations",
    "commerce",
    "nlu",
    "bots",
    "webchat",
]

MIDDLEWARE = [
    "core.logs.RequestIdMiddleware",  # X-Request-ID in, out and on every log line
    "core.health.ProbeMiddleware",  # /healthz and /readyz, before host checks and redirects
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "core.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "core.middleware.ActiveAccountMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Below XFrameOptionsMiddleware: responses pass through it first, so it sees only the
    # view's own X-Frame-Options choice (frame-ancestors follows it), not the DENY default.
    "core.csp.AtelierCSPMiddleware",
    # Turns django-ratelimit's Ratelimited into RATELIMIT_VIEW's 429 (not a 403).
    "django_ratelimit.middleware.RatelimitMiddleware",
]

ROOT_URLCONF = "core.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "core.context_processors.site",
            ],
        },
    },
]

WSGI_APPLICATION = "core.wsgi.application"
ASGI_APPLICATION = "core.asgi.application"

# --- Database -------------------------------------------------------------------------
DATABASE_URL = env.str("DATABASE_URL", default="")
if DATABASE_URL:
    DATABASES = {"default": env.db_url_config(DATABASE_URL)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Under ASGI every sync view runs on a fresh thread, so persistent connections
        # (CONN_MAX_AGE > 0) stay open after their thread is gone and pile up past the server's
        # max_connections (10 concurrent page loads did it). Instead each process borrows from
        # one bounded psycopg pool and returns the connection at the end of each request/task:
        # a process never holds more than DB_POOL_MAX_SIZE connections (docs/scaling.md sizes
        # it: processes × max_size + workers + reserve < max_connections).
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        options = DATABASES["default"].setdefault("OPTIONS", {})
        # The test process is not a server: its own threads (concurrency tests, in-process
        # live servers) hold connections for a test's length, so the suite runs unpooled and
        # the production-profile tests boot real server processes with the pool on.
        if env.bool("DB_POOL", default=not TESTING):
            options["pool"] = {
                "min_size": env.int("DB_POOL_MIN_SIZE", default=2),
                "max_size": env.int("DB_POOL_MAX_SIZE", default=16),
                # Waiting longer than this for a free connection is an error, not a hang.
                "timeout": env.float("DB_POOL_TIMEOUT", default=10.0),
                "max_idle": env.float("DB_POOL_MAX_IDLE", default=300.0),
            }
        # Never hang on an unreachable server or a runaway query.
        options.setdefault("connect_timeout", env.int("DB_CONNECT_TIMEOUT", default=5))
        statement_ms = env.int("DB_STATEMENT_TIMEOUT_MS", default=15_000)
        if statement_ms:
            options["options"] = (
                f"{options.get('options', '')} -c statement_timeout={statement_ms}".strip()
            )
    else:
        DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=0))
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env.str("SQLITE_PATH", default=str(BASE_DIR / "db.sqlite3")),
            # WAL + a busy timeout so the dev server and a worker thread can share the file.
            "OPTIONS": {
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
            },
            # A file (not shared-cache memory) so concurrent test threads get SQLite's busy
            # timeout instead of "table is locked".
            "TEST": {
                "NAME": env.str("SQLITE_TEST_PATH", default=str(BASE_DIR / "var" / "test.sqlite3"))
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer, cache, Celery broker --------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CHANNEL_LAYER_BACKEND = env.str(
        # Chosen by bench/ws_load.py (docs/performance.md): with 1,000 sockets per process
        # RedisChannelLayer's single per-process receive loop and shared capacity dropped
        # nearly every fan-out; the pub/sub layer delivered them all. Ours adds a `resync`
        # hint to sockets when the layer re-subscribes after losing Redis.
        "CHANNEL_LAYER_BACKEND",
        default="conversations.channel_layer.ResyncingPubSubChannelLayer",
    )
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": CHANNEL_LAYER_BACKEND,
            "CONFIG": {
                # redis-py's async pool raises (not waits) past max_connections (default
                # 100); a burst of reconnecting sockets needs more (bench/ws_load.py).
                # Several Redis servers shard the layer (channels-redis hashes each channel
                # and group name onto one of them; every process must list them in the same
                # order): CHANNEL_LAYER_HOSTS, comma-separated. Default: REDIS_URL alone.
                "hosts": [
                    {
                        "address": address,
                        "max_connections": env.int("CHANNEL_LAYER_MAX_CONNECTIONS", default=2000),
                    }
                    for address in env.list("CHANNEL_LAYER_HOSTS", default=[REDIS_URL])
                ],
                "prefix": env.str("CHANNEL_LAYER_PREFIX", default="atelier"),
                **(
                    {"capacity": env.int("CHANNEL_LAYER_CAPACITY", default=1500), "expiry": 60}
                    if CHANNEL_LAYER_BACKEND.endswith("RedisChannelLayer")
                    else {}
                ),
            },
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_PREFIX", default="atelier"),
            # A Redis that drops packets must fail a request fast, not hang it.
            "OPTIONS": {
                "socket_connect_timeout": env.float("REDIS_CONNECT_TIMEOUT", default=2.0),
                "socket_timeout": env.float("REDIS_SOCKET_TIMEOUT", default=2.0),
                # Under ASGI each concurrent sync request has its own thread, and every page
                # reads the cache (page cache, rate limits): redis-py's default pool raises
                # past 100 connections; this one makes a request wait up to
                # CACHE_POOL_TIMEOUT for a free connection instead.
                "pool_class": "redis.BlockingConnectionPool",
                "max_connections": env.int("CACHE_MAX_CONNECTIONS", default=200),
                "timeout": env.float("CACHE_POOL_TIMEOUT", default=5.0),
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Rate-limit counters: the default cache (shared Redis across processes in production), with a
# fall-back to this process's memory while it is unreachable (core/ratelimits.py).
CACHES["ratelimit"] = {"BACKEND": "core.ratelimits.ResilientCache", "LOCATION": "default"}
RATELIMIT_USE_CACHE = "ratelimit"
# Signed-out storefront, catalogue, shop and product pages, cached per language in the
# default cache for this many seconds (core/pagecache.py; invalidated when a listing
# changes, the TTL is only a safety net). 0 turns it off; off by default while developing,
# so a template edit shows at once.
PAGE_CACHE_SECONDS = env.int("PAGE_CACHE_SECONDS", default=0 if DEBUG else 300)
RATELIMIT_VIEW = "core.ratelimits.too_many_requests"
# Requests per address (or per person) in django-ratelimit's notation; "" turns one off.
RATE_LIMITS = {
    "login_ip": env.str("RATE_LIMIT_LOGIN_IP", default="30/m"),
    "login_2fa_ip": env.str("RATE_LIMIT_LOGIN_2FA_IP", default="30/m"),
    "signup_ip": env.str("RATE_LIMIT_SIGNUP_IP", default="10/h"),
    "password_reset_ip": env.str("RATE_LIMIT_PASSWORD_RESET_IP", default="10/h"),
    "password_reset_email": env.str("RATE_LIMIT_PASSWORD_RESET_EMAIL", default="5/h"),
    "api_write": env.str("RATE_LIMIT_API_WRITE", default="300/m"),
}

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=REDIS_URL or "cache+memory://")
# Without a broker, tasks run inline so `make run` needs no worker process.
# Tests run tasks inline too; the integration suite starts a real worker on the broker.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL or TESTING)
CELERY_TASK_EAGER_PROPAGATES = env.bool("CELERY_TASK_EAGER_PROPAGATES", default=TESTING)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": env.float("REDIS_CONNECT_TIMEOUT", default=2.0),
    "socket_timeout": env.float("REDIS_SOCKET_TIMEOUT", default=2.0),
}
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=4.0)
# Publishing a follow-up never waits long for a broker that is down (the message itself is
# already committed; see conversations.services._run_follow_ups).
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="default")

# The follow-up outbox (conversations.outbox): an entry not done FOLLOW_UP_GRACE_SECONDS
# after its message committed, or FOLLOW_UP_LEASE_SECONDS after it was published/claimed,
# is published again by the sweeper (beat, every 30 s); failures back off from
# FOLLOW_UP_RETRY_BASE_SECONDS doubling up to FOLLOW_UP_RETRY_MAX_SECONDS, and after
# FOLLOW_UP_MAX_ATTEMPTS attempts the entry is dead (admin: Follow-ups → Retry).
FOLLOW_UP_GRACE_SECONDS = env.float("FOLLOW_UP_GRACE_SECONDS", default=60.0)
FOLLOW_UP_LEASE_SECONDS = env.float("FOLLOW_UP_LEASE_SECONDS", default=300.0)
FOLLOW_UP_RETRY_BASE_SECONDS = env.float("FOLLOW_UP_RETRY_BASE_SECONDS", default=30.0)
FOLLOW_UP_RETRY_MAX_SECONDS = env.float("FOLLOW_UP_RETRY_MAX_SECONDS", default=3600.0)
FOLLOW_UP_MAX_ATTEMPTS = env.int("FOLLOW_UP_MAX_ATTEMPTS", default=8)
FOLLOW_UP_SWEEP_BATCH = env.int("FOLLOW_UP_SWEEP_BATCH", default=500)
# Follow-up name → Celery queue, e.g. "telegram_delivery=telegram" (others: the default queue).
FOLLOW_UP_QUEUES = env.dict("FOLLOW_UP_QUEUES", default={})
# Without a worker (eager Celery: `make run`), slow follow-ups (translation) run on a small
# thread pool after the sender's request, never in it (conversations.inline_worker); the
# suite keeps them inline by default so tests can read their results at once.
FOLLOW_UP_SLOW_IN_BACKGROUND = env.bool("FOLLOW_UP_SLOW_IN_BACKGROUND", default=not TESTING)
FOLLOW_UP_BACKGROUND_THREADS = env.int("FOLLOW_UP_BACKGROUND_THREADS", default=2)
FOLLOW_UP_BACKGROUND_MAX_DELAY = env.float("FOLLOW_UP_BACKGROUND_MAX_DELAY", default=900.0)

# --- Auth -------------------------------------------------------------------------------
AUTH_USER_MODEL = "core.User"
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
LOGIN_URL = "core:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "core:home"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    # Hashing cost is not what the tests measure.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Re-authentication window for high-sensitivity actions (minutes).
REAUTH_WINDOW_MINUTES = env.int("REAUTH_WINDOW_MINUTES", default=10)
# Buyers must re-authenticate to see their order history when this is true.
REAUTH_FOR_ORDER_HISTORY = env.bool("REAUTH_FOR_ORDER_HISTORY", default=False)
# Login brute-force protection (docs/security.md), counted in windows of LOGIN_LOCKOUT_MINUTES.
LOGIN_MAX_FAILURES = env.int("LOGIN_MAX_FAILURES", default=5)
LOGIN_LOCKOUT_MINUTES = env.int("LOGIN_LOCKOUT_MINUTES", default=15)
# Failures are counted per (address, account): LOGIN_MAX_FAILURES locks that pair only, so
# nobody can lock a known email out from elsewhere. An address is capped over all accounts
# (LOGIN_IP_MAX_FAILURES), an account over all addresses (LOGIN_ACCOUNT_MAX_FAILURES, against
# guessing from many addresses). The locked-out person is emailed a one-time link (valid
# LOGIN_UNLOCK_LINK_MINUTES) that unlocks sign-in for their address and that account.
LOGIN_IP_MAX_FAILURES = env.int("LOGIN_IP_MAX_FAILURES", default=20)
LOGIN_ACCOUNT_MAX_FAILURES = env.int("LOGIN_ACCOUNT_MAX_FAILURES", default=50)
LOGIN_UNLOCK_LINK_MINUTES = env.int("LOGIN_UNLOCK_LINK_MINUTES", default=15)
TOTP_MAX_FAILURES = env.int("TOTP_MAX_FAILURES", default=5)
TOTP_ISSUER = env.str("TOTP_ISSUER", default="Atelier")
# Keys for data at rest (chat bodies, custom requests, offer notes, addresses, TOTP secrets):
# comma-separated Fernet keys, newest first (core/crypto.py; rotation: manage.py
# rotate_encryption_keys). Production refuses to start without them (core.E010); with DEBUG
# on, a development key is derived from the embedded SECRET_KEY so the embedded setup
# encrypts exactly as production does.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
if not FIELD_ENCRYPTION_KEYS and DEBUG:
    FIELD_ENCRYPTION_KEYS = [
        base64.urlsafe_b64encode(
            hashlib.sha256(f"atelier-dev-field-key:{SECRET_KEY}".encode()).digest()
        ).decode()
    ]
# Key for the inbox's blind search index (HMAC of normalised words, conversations/search.py);
# changing it needs `manage.py rebuild_search_index`.
SEARCH_INDEX_KEY = env.str("SEARCH_INDEX_KEY", default=f"search-index:{SECRET_KEY}")

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if not DEBUG else None
SECURE_CONTENT_TYPE_NOSNIFF = True
# Production is HTTPS only: redirect plain HTTP (behind the proxy that sets X-Forwarded-Proto)
# and tell browsers to stay on HTTPS for a year, subdomains included.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
# Health probes come from the orchestrator over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^api/health/$"]  # /healthz, /readyz: core.health.ProbeMiddleware
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp 4; core/csp.py adds ws(s)://<host>, Stripe.js when it is
# the gateway, and frame-ancestors 'self' for views that allow same-origin framing). No inline
# script anywhere: every script is a static file. style-src-attr allows the templates' style=""
# attributes (layout tweaks such as margin:0); <style> elements and foreign stylesheets stay
# blocked. Enforced by default, in development too, so what works locally works in production;
# CSP_REPORT_ONLY=true sends it as Content-Security-Policy-Report-Only instead.
_CSP = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "style-src-elem": ["'self'"],
        "style-src-attr": ["'unsafe-inline'"],
        # data: for the QR code SVG (2FA), blob: for previews of images being attached.
        "img-src": ["'self'", "data:", "blob:"],
        "connect-src": ["'self'"],
        "frame-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
if env.bool("CSP_REPORT_ONLY", default=False):
    CONTENT_SECURITY_POLICY_REPORT_ONLY = _CSP
    CONTENT_SECURITY_POLICY = None
else:
    CONTENT_SECURITY_POLICY = _CSP

# --- GDPR / retention -------------------------------------------------------------------
# Chat content of conversations closed more than N days ago is purged (0 disables).
CHAT_RETENTION_DAYS = env.int("CHAT_RETENTION_DAYS", default=730)

# --- i18n -------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", _("English")),
    ("fr", _("French")),
    ("de", _("German")),
    ("es", _("Spanish")),
    ("ja", _("Japanese")),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static & media ----------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "media")))
# Public uploads (product and process photos) under MEDIA_URL: Django serves them itself only
# in development (DEBUG as read at load time, so browser tests, which run with settings.DEBUG
# flipped off, still show their images); in production the web server does. Private uploads
# (chat attachments, custom-request images, stage photos, proofs) are never served from
# MEDIA_URL: core/media.py serves them to the parties only, at /private-media/, always.
SERVE_MEDIA = DEBUG
# With nginx in front: the `internal` location that maps to MEDIA_ROOT (e.g. "/protected-media/");
# the authorised view then answers with X-Accel-Redirect instead of streaming the file itself.
MEDIA_ACCEL_REDIRECT = env.str("MEDIA_ACCEL_REDIRECT", default="")
# Links to private media that leave the site (photos Telegram fetches) carry a signed token
# valid this long.
MEDIA_SIGNED_URL_HOURS = env.int("MEDIA_SIGNED_URL_HOURS", default=24)
STORAGES = {
    "default": {"BACKEND": "core.media.MediaStorage"},
    "staticfiles": {
        "BACKEND": (
            # whitenoise's compressed manifest + hashed names in ES module imports
            "core.staticfiles.ModuleAwareManifestStaticFilesStorage"
            if not DEBUG
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024

# --- Backups (core/backup.py, `make backup` / `make restore`, docs/operations.md) ----------
BACKUP_DIR = Path(env.str("BACKUP_DIR", default=str(BASE_DIR / "var" / "backups")))
BACKUP_KEEP = env.int("BACKUP_KEEP", default=14)  # newest complete sets kept

# --- Email -------------------------------------------------------------------------------
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
# Only for the file backend (django.core.mail.backends.filebased): one .log per connection.
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default="")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Atelier <no-reply@atelier.local>")
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))

# --- Conversation hub ------------------------------------------------------------------
MESSAGE_MAX_CHARS = env.int("MESSAGE_MAX_CHARS", default=4000)
ATTACHMENT_MAX_BYTES = env.int("ATTACHMENT_MAX_BYTES", default=8 * 1024 * 1024)
# New messages a person may send per window, all channels together (socket, JSON API,
# widget, Telegram); WS_SEND_RATE is its former name, still read.
MESSAGE_SEND_RATE = env.str("MESSAGE_SEND_RATE", default=env.str("WS_SEND_RATE", default="20/10s"))
WS_ALLOWED_ORIGINS = env.list("WS_ALLOWED_ORIGINS", default=[])
# Each socket re-checks that its session is still valid this often (seconds) before a frame;
# logout, password change, suspension and erasure also close sockets at once by event.
WS_SESSION_RECHECK_SECONDS = env.float("WS_SESSION_RECHECK_SECONDS", default=30.0)
NOTIFY_AFTER_MINUTES = env.int("NOTIFY_AFTER_MINUTES", default=5)
# Threads per ASGI process for the hub's database work (each may hold a DB connection).
HUB_THREADS = env.int("HUB_THREADS", default=16)

# --- Providers (each has an embedded default; see docs/architecture.md) -------------------
NLU_ENGINE = env.str("NLU_ENGINE", default="embedded")  # embedded | rasa
RASA_URL = env.str("RASA_URL", default="http://127.0.0.1:5005")
RASA_TIMEOUT = env.float("RASA_TIMEOUT", default=8.0)

# The dev gateway marks an order paid from a local page: a development tool that must never
# exist in production. It is allowed only when DEBUG is on (read here, at load time, so test
# runners that flip settings.DEBUG later change nothing), and only then is it the default.
DEV_GATEWAY_ALLOWED = DEBUG
PAYMENT_GATEWAY = env.str(  # dev | stripe | paypal
    "PAYMENT_GATEWAY", default="dev" if DEV_GATEWAY_ALLOWED else ""
)
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_PUBLISHABLE_KEY = env.str("STRIPE_PUBLISHABLE_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="")
STRIPE_JS_URL = env.str("STRIPE_JS_URL", default="https://js.stripe.com/v3/")
PAYPAL_CLIENT_ID = env.str("PAYPAL_CLIENT_ID", default="")
PAYPAL_CLIENT_SECRET = env.str("PAYPAL_CLIENT_SECRET", default="")
PAYPAL_API_BASE = env.str("PAYPAL_API_BASE", default="https://api-m.sandbox.paypal.com")
PAYPAL_WEBHOOK_ID = env.str("PAYPAL_WEBHOOK_ID", default="")
DEV_GATEWAY_SECRET = env.str("DEV_GATEWAY_SECRET", default=f"dev-gateway:{SECRET_KEY}")
PLATFORM_FEE_PERCENT = Decimal(env.str("PLATFORM_FEE_PERCENT", default="10"))

DEEPL_AUTH_KEY = env.str("DEEPL_AUTH_KEY", default="")
DEEPL_SERVER_URL = env.str("DEEPL_SERVER_URL", default="")
# Longer than DeepL's slow answers (seconds, not minutes): a request that times out while
# DeepL is still translating may be billed, so it is never resent at once (deepl_client).
DEEPL_TIMEOUT = env.float("DEEPL_TIMEOUT", default=20.0)
DEEPL_MONTHLY_CHAR_BUDGET = env.int("DEEPL_MONTHLY_CHAR_BUDGET", default=500_000)
TRANSLATION_MAX_ATTEMPTS = env.int("TRANSLATION_MAX_ATTEMPTS", default=5)
DEEPL_MAX_RETRIES = env.int("DEEPL_MAX_RETRIES", default=2)
DEEPL_ENGLISH_VARIANT = env.str("DEEPL_ENGLISH_VARIANT", default="EN-GB")
DEEPL_PORTUGUESE_VARIANT = env.str("DEEPL_PORTUGUESE_VARIANT", default="PT-PT")
# Languages detected and translated between (a wider set than the UI's LANGUAGES).
SUPPORTED_LANGUAGES = env.list(
    "SUPPORTED_LANGUAGES",
    default=["en", "fr", "de", "es", "it", "pt", "nl", "ja", "zh", "ko", "pl"],
)
LANGUAGE_DETECTION_MIN_CONFIDENCE = env.float("LANGUAGE_DETECTION_MIN_CONFIDENCE", default=0.8)

TELEGRAM_BOT_TOKEN = env.str("TELEGRAM_BOT_TOKEN", default="")
TELEGRAM_API_BASE = env.str("TELEGRAM_API_BASE", default="")
TELEGRAM_WEBHOOK_SECRET = env.str("TELEGRAM_WEBHOOK_SECRET", default="")
TELEGRAM_BOT_USERNAME = env.str("TELEGRAM_BOT_USERNAME", default="atelier_shop_bot")
TELEGRAM_PAYMENT_PROVIDER_TOKEN = env.str("TELEGRAM_PAYMENT_PROVIDER_TOKEN", default="")
TELEGRAM_REQUEST_TIMEOUT = env.float("TELEGRAM_REQUEST_TIMEOUT", default=10.0)
# Telegram's rate limits (30/s per bot, 1/s per chat, retry_after pauses) shared by every
# process through Redis (bots.telegram.shared_limits); empty: each process paces itself.
TELEGRAM_RATE_LIMIT_REDIS_URL = env.str("TELEGRAM_RATE_LIMIT_REDIS_URL", default=REDIS_URL)
TELEGRAM_RATE_LIMIT_NAMESPACE = env.str("TELEGRAM_RATE_LIMIT_NAMESPACE", default="atelier:telegram")
# Paid broadcasts (Bot API allow_paid_broadcast): campaign messages may go out at up to
# 1,000 msg/s instead of 30, each charged 0.1 Telegram Star to the bot's balance. Off by
# default; chat replies and notifications never pay.
TELEGRAM_PAID_BROADCAST = env.bool("TELEGRAM_PAID_BROADCAST", default=False)
TELEGRAM_PAID_BROADCAST_IN_FLIGHT = env.int("TELEGRAM_PAID_BROADCAST_IN_FLIGHT", default=200)
# A delivery is claimed for this long and renewed while its outbox waits on Telegram; a
# claim whose process died is taken over once it runs out (bots.bridge.deliver_message).
# Campaigns (commerce/services/marketing.py): rows claimed per batch, how long a claim
# holds before another worker may take it over (longer than a batch's slowest send), and
# how often a retryable failure is tried again before the row is marked failed.
CAMPAIGN_BATCH_SIZE = env.int("CAMPAIGN_BATCH_SIZE", default=100)
CAMPAIGN_DELIVERY_LEASE_SECONDS = env.float("CAMPAIGN_DELIVERY_LEASE_SECONDS", default=900.0)
CAMPAIGN_DELIVERY_MAX_ATTEMPTS = env.int("CAMPAIGN_DELIVERY_MAX_ATTEMPTS", default=5)
# How long a campaign batch waits for Telegram (flood waits included) before it lets the
# answer be written when it comes; below CAMPAIGN_DELIVERY_LEASE_SECONDS.
CAMPAIGN_TELEGRAM_WAIT_SECONDS = env.float("CAMPAIGN_TELEGRAM_WAIT_SECONDS", default=600.0)
# An order from the shop by a reached person within this many days counts as a conversion.
CAMPAIGN_ATTRIBUTION_DAYS = env.int("CAMPAIGN_ATTRIBUTION_DAYS", default=7)
# Email and Telegram campaigns wait while it is night for the recipient: "21-9" is 21:00 to
# 09:00 in each person's own time zone (empty: no quiet hours). The updates page never waits.
# Off under tests, whose outcome must not depend on the hour they run at.
CAMPAIGN_QUIET_HOURS = env.str("CAMPAIGN_QUIET_HOURS", default="" if TESTING else "21-9")
CAMPAIGN_RETRY_SECONDS = env.float("CAMPAIGN_RETRY_SECONDS", default=30.0)
EMAIL_MESSAGE_ID_DOMAIN = env.str(
    "EMAIL_MESSAGE_ID_DOMAIN", default=urlsplit(SITE_URL).hostname or "atelier.local"
)
TELEGRAM_DELIVERY_LEASE_SECONDS = env.float("TELEGRAM_DELIVERY_LEASE_SECONDS", default=120.0)
# How long a follow-up waits for Telegram's answer before it looks again later (the
# message stays queued in the outbox meanwhile).
TELEGRAM_DELIVERY_WAIT_SECONDS = env.float("TELEGRAM_DELIVERY_WAIT_SECONDS", default=60.0)
# The shop bot answers again after the artisan has been silent this long.
BOT_HANDOVER_IDLE_MINUTES = env.int("BOT_HANDOVER_IDLE_MINUTES", default=60)

# --- Logging -----------------------------------------------------------------------------
# One config for every logger (ours, Django's, Celery's, uvicorn's) through structlog's
# formatter (core/logs.py): JSON lines in production, readable lines in development, each
# carrying the request_id / task_id / ws_connection_id bound where it was logged.
from core.logs import formatter as _log_formatter  # noqa: E402

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="console" if DEBUG else "json")  # json | console
_console = {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"structured": _log_formatter(LOG_FORMAT)},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "daphne": {"level": "WARNING"},
        "celery.app.trace": {"level": "WARNING"},
        "kombu.connection": {"level": "ERROR"},
        # uvicorn configured its own plain handlers before Django started: replace them so
        # its lines are JSON too.
        "uvicorn": dict(_console),
        "uvicorn.error": dict(_console),
        "uvicorn.access": dict(_console),
    },
}
# Celery workers keep this config instead of installing their own root handler.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# In development whitenoise serves straight from the app folders (no collectstatic step).
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
