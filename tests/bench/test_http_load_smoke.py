"""A tiny run of bench/http_load.py so the page benchmark cannot rot (figures:
docs/performance.md). It boots the production settings in uvicorn, serves every measured page
with no error, and the signed-out pages come from the page cache after their first visit."""

from __future__ import annotations

import re

import pytest

from tests.bench.support import own_database, run_bench

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_http_load_smoke_serves_every_page_without_errors():
    result = run_bench("http_load.py", "--smoke", *own_database("atelier_http_smoke"), timeout=300)
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
