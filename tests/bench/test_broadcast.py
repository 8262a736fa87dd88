"""The CI run of bench/broadcast.py: a campaign to 1,000 people over the updates page, email
and Telegram (the Bot API stand-in with its flood limits on), two worker processes, one of
them SIGKILLed while Telegram sends are under way and replaced, and a 429 storm in the
middle. Each person gets it exactly once per channel they agreed to (or, for a row the killed
worker had sent but not yet recorded, at most once more — the one window no sender can close);
nothing is lost; the 100 people who withdrew or never gave consent get nothing; the two
workers together never go over Telegram's limits (no 429 outside the storm).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.conftest import require_or_skip

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def figure(out: str, name: str) -> int:
    match = re.search(rf"^{re.escape(name)}\s+(\d+)", out, re.MULTILINE)
    assert match, (name, out)
    return int(match.group(1))


def test_a_campaign_to_1000_people_with_a_killed_worker_and_a_429_storm():
    database_url = os.environ.get("DATABASE_URL", "")
    require_or_skip(bool(os.environ.get("REDIS_URL")), "Redis (shared Telegram limits)")
    require_or_skip(database_url.startswith("postgres"), "PostgreSQL (row locks)")
    # A database of its own beside the test database, dropped and created by the bench.
    bench_db = f"{database_url.rsplit('/', 1)[0]}/atelier_broadcast_{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.pop("DATABASE_URL")
    try:
        result = subprocess.run(
            [
                sys.executable,
                "bench/broadcast.py",
                "--recipients", "1000",
                "--workers", "2",
                "--lease", "5",
                "--kill",
                "--storm", "2",
                "--timeout", "240",
                "--database-url", bench_db,
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )  # fmt: skip
    finally:
        _drop(bench_db)
    out = result.stdout
    assert result.returncode == 0, out + result.stderr[-3000:]
    assert "recipients          1834 rows" in out  # 1,000 web, 500 email, 334 Telegram
    assert figure(out, "lost") == 0
    assert figure(out, "to unsubscribed") == 0
    assert figure(out, "duplicated") <= figure(out, "in doubt at kill")
    assert figure(out, "429 over limits") == 0
    assert figure(out, "429 in storm") > 0  # the storm happened while Telegram was sending
    assert figure(out, "telegram peak/1s") <= 30
    assert "RESULT              OK" in out


def _drop(url: str) -> None:
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
