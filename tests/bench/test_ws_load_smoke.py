"""A tiny run of bench/ws_load.py so the benchmark cannot rot (figures: docs/performance.md)."""

from __future__ import annotations

import pytest

from tests.bench.support import own_database, run_bench

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_ws_load_smoke_delivers_everything_once():
    # Runs its own uvicorn and database; on CI the channel layer is Redis (pub/sub) and the
    # database a PostgreSQL one of its own (SQLite's single writer timed out under CI load).
    result = run_bench(
        "ws_load.py", "--smoke", "--ceiling", *own_database("atelier_bench_smoke"), timeout=240
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr[-3000:]
    assert "connections held    6/6" in out
    assert "lost                0" in out
    assert "duplicated          0" in out
    assert "RESULT              OK" in out
    # The bare websockets ceiling ran under the same load, and the comparison was printed.
    ceiling = out.split("ceiling             bare websockets", 1)[1]
    assert "connections held    6/6" in ceiling
    assert "lost                0" in ceiling
    assert "msg/s sustained" in ceiling
    assert "x the bare server's" in ceiling
