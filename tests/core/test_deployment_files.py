"""docker-compose.yml describes the production shape (Docker itself cannot run here)."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_compose_file_has_every_service_with_healthchecks_and_env():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "web", "worker", "beat", "bot", "rasa", "actions"} <= set(services)
    for name in ("postgres", "redis", "web", "worker", "rasa", "actions"):
        assert "healthcheck" in services[name], name
    for name in ("web", "worker", "beat", "bot", "actions"):
        assert services[name]["env_file"] == ".env", name
    assert services["rasa"]["image"].startswith("rasa/rasa:3.6")
    assert "./nlu/rasa:/app" in services["rasa"]["volumes"]


def test_env_example_names_every_provider_setting():
    text = (ROOT / ".env.example").read_text()
    for name in (
        "DATABASE_URL",
        "REDIS_URL",
        "DEEPL_AUTH_KEY",
        "STRIPE_SECRET_KEY",
        "TELEGRAM_BOT_TOKEN",
        "NLU_ENGINE",
        "PAYMENT_GATEWAY",
    ):
        assert name in text, name


def test_uploads_have_a_volume_and_proxies_are_trusted_only_explicitly():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert "media" in compose["volumes"]
    for name in ("web", "worker"):
        assert "media:/app/media" in compose["services"][name]["volumes"], name
    assert "FORWARDED_ALLOW_IPS" in compose["services"]["web"]["environment"]
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert '--forwarded-allow-ips \\"$FORWARDED_ALLOW_IPS\\"' in dockerfile
    assert "ENV FORWARDED_ALLOW_IPS=127.0.0.1" in dockerfile
    assert "--no-proxy-headers" in (ROOT / "Makefile").read_text()  # `make run`: no proxy
