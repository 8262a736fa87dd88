"""The shipped serving and compose settings keep the shutdown and backup promises of
docs/operations.md (Docker itself cannot run here)."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _seconds(value: str) -> int:
    assert value.endswith("s"), value
    return int(value[:-1])


def test_web_probes_readiness_and_drains_within_its_grace_period():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    web = compose["services"]["web"]
    assert "/readyz" in " ".join(web["healthcheck"]["test"])
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "--timeout-graceful-shutdown 20" in dockerfile
    # Docker's SIGKILL must come after uvicorn's own drain deadline
    assert _seconds(web["stop_grace_period"]) > 20
    assert "--timeout-graceful-shutdown 20" in (ROOT / "Makefile").read_text()


def test_worker_gets_a_warm_shutdown_grace_period():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert _seconds(compose["services"]["worker"]["stop_grace_period"]) >= 30


def test_uploads_live_on_a_volume_that_the_backup_service_reads():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert "media" in compose["volumes"]
    for name in ("web", "worker", "backup"):
        assert "media:/app/media" in compose["services"][name]["volumes"], name
    assert compose["services"]["backup"]["command"] == ["python", "manage.py", "backup"]
    assert "postgresql-client" in (ROOT / "Dockerfile").read_text()
