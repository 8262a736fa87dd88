"""Embedded defaults vs real services, and a CI guard that real services are in use."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection

REAL = bool(os.environ.get("ATELIER_REQUIRE_REAL_SERVICES"))


def _settings_in_subprocess(env: dict[str, str]) -> dict:
    code = (
        "import json, django, os; os.environ['DJANGO_SETTINGS_MODULE']='core.settings';"
        "from django.conf import settings as s;"
        "print(json.dumps({'db': s.DATABASES['default']['ENGINE'],"
        "'layer': s.CHANNEL_LAYERS['default']['BACKEND'], 'broker': s.CELERY_BROKER_URL,"
        "'eager': s.CELERY_TASK_ALWAYS_EAGER, 'nlu': s.NLU_ENGINE, 'pay': s.PAYMENT_GATEWAY}))"
    )
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "ATELIER_TESTING"}
    }
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
        cwd=settings.BASE_DIR,
    )
    import json

    return json.loads(result.stdout.strip().splitlines()[-1])


def test_nothing_set_means_embedded_defaults():
    conf = _settings_in_subprocess({})
    assert conf == {
        "db": "django.db.backends.sqlite3",
        "layer": "channels.layers.InMemoryChannelLayer",
        "broker": "memory://",
        "eager": True,
        "nlu": "embedded",
        "pay": "dev",
    }


def test_urls_switch_to_postgres_redis_and_a_real_broker():
    conf = _settings_in_subprocess(
        {"DATABASE_URL": "postgres://u@127.0.0.1:5432/x", "REDIS_URL": "redis://127.0.0.1:6379/0"}
    )
    assert conf["db"] == "django.db.backends.postgresql"
    assert conf["layer"] == "conversations.channel_layer.ResyncingPubSubChannelLayer"
    assert conf["broker"] == "redis://127.0.0.1:6379/0"
    assert conf["eager"] is False


@pytest.mark.skipif(
    not REAL, reason="only CI requires real services (ATELIER_REQUIRE_REAL_SERVICES)"
)
@pytest.mark.django_db
async def test_ci_really_uses_postgres_and_redis():
    # Fails loudly if CI silently fell back to SQLite or the in-memory layer.
    assert connection.vendor == "postgresql"
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    # channels_redis's pub/sub layer (through our thin resyncing subclass by default)
    assert any(cls.__module__.startswith("channels_redis") for cls in type(layer).__mro__)
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "ping", "n": 1})
    assert (await layer.receive(channel)) == {"type": "ping", "n": 1}
    import redis

    assert redis.Redis.from_url(settings.REDIS_URL).ping() is True
