"""Orchestrator probes: /healthz says the process answers, /readyz that it can serve."""

from __future__ import annotations

import pytest
from django.test import Client

from core import health

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_a_session_or_an_allowed_host(settings):
    settings.ALLOWED_HOSTS = ["shop.example"]
    response = Client(HTTP_HOST="10.0.0.7:8000").get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "sessionid" not in response.cookies


def test_readyz_reports_every_dependency():
    response = Client().get("/readyz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"database", "cache", "channel_layer", "broker"}
    assert all(check["ok"] for check in body["checks"].values())


def test_readyz_is_503_and_names_the_failing_dependency(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    response = Client().get("/readyz")
    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "unavailable"
    assert body["checks"]["cache"]["ok"] is False
    # "Connection refused…", or the probe's own timeout on a loaded machine: either names it
    assert body["checks"]["cache"]["error"]
    assert body["checks"]["database"] == {"ok": True}


def test_a_hanging_dependency_is_reported_within_the_timeout(monkeypatch):
    import threading

    release = threading.Event()
    monkeypatch.setitem(health.CHECKS, "broker", lambda: release.wait(10))
    monkeypatch.setattr(health, "CHECK_TIMEOUT", 0.3)
    try:
        body = Client().get("/readyz").json()
    finally:
        release.set()
    assert body["checks"]["broker"] == {"ok": False, "error": "no answer within 0.3 s"}
