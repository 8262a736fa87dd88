"""The scale-out path of docs/scaling.md, proved on this machine by bench/multihost.py: two
ASGI hosts (network namespaces of the bench's own), the channel layer sharded over two Redis
servers, buyers on one host and artisans on the other, and every message of every thread
delivered exactly once across them."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from tests.bench.support import run_bench
from tests.conftest import require_or_skip

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_two_hosts_and_two_redis_shards_lose_and_repeat_nothing():
    database_url = os.environ.get("DATABASE_URL", "")
    require_or_skip(database_url.startswith(("postgres://", "postgresql://")), "needs PostgreSQL")
    require_or_skip(
        os.geteuid() == 0 and bool(shutil.which("ip")) and bool(shutil.which("redis-server")),
        "needs root, iproute2 (ip netns) and redis-server",
    )
    result = run_bench("multihost.py", "--conversations", "12", "--messages", "3", timeout=300)
    out = result.stdout
    assert result.returncode == 0, out + result.stderr[-3000:]
    assert "connections held    24/24" in out
    assert "messages stored     72 (expected 72)" in out
    assert "lost                0" in out
    assert "duplicated          0" in out
    # Both Redis servers carried part of the traffic: the layer really was sharded.
    shards = re.search(r"publishes (\d+) / (\d+)", out)
    assert shards and int(shards[1]) > 0 and int(shards[2]) > 0, out
    assert "RESULT              OK" in out
    # The bench removed the namespaces it made.
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout  # noqa: S607
    host = re.search(r"netns (atl\w+)\)", out)
    assert host and host[1] not in namespaces
