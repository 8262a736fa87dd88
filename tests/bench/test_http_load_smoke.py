"""A tiny run of bench/http_load.py so the page benchmark cannot rot (figures:
docs/performance.md). It boots the production settings in uvicorn, serves every measured page
with no error, and the signed-out pages come from the page cache after their first visit."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_http_load_smoke_serves_every_page_without_errors():
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("PYTEST") and k != "DATABASE_URL"
    }
    env.pop("ATELIER_TESTING", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    command = [sys.executable, "bench/http_load.py", "--smoke"]
    database_url = os.environ.get("DATABASE_URL", "")
    if database_url.startswith(("postgres://", "postgresql://")):
        command += ["--database-url", database_url.rsplit("/", 1)[0] + "/atelier_http_smoke"]
    result = subprocess.run(  # noqa: S603 - our own interpreter and bench script
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr[-3000:]
    assert "RESULT              OK" in out
    rows = {
        match["page"]: match
        for match in re.finditer(
            r"^(?P<page>home|catalogue|shop|product|inbox|history)\s+(?P<requests>\d+)\s+"
            r"(?P<errors>\d+)\s+\d+\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+(?P<hit>\d+%|-)",
            out,
            re.MULTILINE,
        )
    }
    assert set(rows) == {"home", "catalogue", "shop", "product", "inbox", "history"}, out
    for page, row in rows.items():
        assert int(row["requests"]) > 0 and row["errors"] == "0", (page, out)
    # Repeated signed-out visits are served from the cache; signed-in pages never are.
    assert int(rows["home"]["hit"].rstrip("%")) >= 50, out
    assert rows["inbox"]["hit"] == "-" and rows["history"]["hit"] == "-", out
    assert "targets (issue 14, 100 connections)" in out
