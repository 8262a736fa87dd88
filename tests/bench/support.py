"""Running a bench script from a test: its own process, the test run's services, none of the
test settings (the script boots its own configuration)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_TEST_ONLY = ("ATELIER_TESTING", "DJANGO_SETTINGS_MODULE", "DATABASE_URL")


def own_database(name: str) -> list[str]:
    """``--database-url`` for a PostgreSQL database of the script's own, on CI's server."""
    database_url = os.environ.get("DATABASE_URL", "")
    if database_url.startswith(("postgres://", "postgresql://")):
        return ["--database-url", database_url.rsplit("/", 1)[0] + f"/{name}"]
    return []


def run_bench(script: str, *args: str, timeout: float) -> subprocess.CompletedProcess:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("PYTEST") and k not in _TEST_ONLY
    }
    return subprocess.run(  # noqa: S603 - our own interpreter and bench script
        [sys.executable, f"bench/{script}", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
