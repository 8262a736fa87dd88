"""SIGTERM to the ASGI server (uvicorn, flags as shipped): in-flight HTTP requests finish,
every WebSocket gets a close frame with code 1012 (Service Restart: reconnect and resume,
docs/protocol.md), and the process exits cleanly.

A real uvicorn child process on the test database (SQLite file locally, PostgreSQL in CI).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from urllib.parse import quote

import httpx
import pytest
import websockets
from django.conf import settings
from django.db import connection

from tests.conftest import make_user
from tests.conversations.conftest import session_cookie_for
from tests.production.support import ROOT
from tests.webchat.browser import free_port

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# The serving flags of the Dockerfile and `make run` (see docs/operations.md).
UVICORN_FLAGS = [
    "--ws", "core.ws_server:SlimSansIOProtocol", "--ws-per-message-deflate", "false",
    "--lifespan", "off", "--timeout-graceful-shutdown", "20",
]  # fmt: skip


def _server_env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PYTEST") and k not in ("ATELIER_TESTING", "DJANGO_SETTINGS_MODULE")
    }
    conf = connection.settings_dict
    if connection.vendor == "postgresql":
        password = f":{quote(conf['PASSWORD'])}" if conf.get("PASSWORD") else ""
        env["DATABASE_URL"] = (
            f"postgres://{quote(conf.get('USER') or 'postgres')}{password}@"
            f"{conf.get('HOST') or '127.0.0.1'}:{conf.get('PORT') or 5432}/{conf['NAME']}"
        )
    else:
        env.pop("DATABASE_URL", None)
        env["SQLITE_PATH"] = str(conf["NAME"])
    env.update(
        DJANGO_DEBUG="true",
        DJANGO_SECRET_KEY=settings.SECRET_KEY,  # the session made here verifies there
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        LOG_FORMAT="json",
        LOG_LEVEL="INFO",
        CHANNEL_LAYER_PREFIX=f"shutdown{os.getpid()}",
    )
    return env


class Output(threading.Thread):
    """Collects the server's output lines as they come."""

    def __init__(self, stream) -> None:
        super().__init__(daemon=True)
        self.stream, self.lines = stream, []

    def run(self) -> None:
        for line in self.stream:
            self.lines.append(line)

    def wait_for(self, text: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in self.lines):
                return True
            time.sleep(0.05)
        return False


@pytest.fixture
def server():
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - our own server
        [sys.executable, "-m", "uvicorn", "core.asgi:application", "--host", "127.0.0.1",
         "--port", str(port), *UVICORN_FLAGS],
        cwd=ROOT, env=_server_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    output = Output(process.stdout)
    output.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            httpx.get(f"{base}/healthz", timeout=2)
            break
        except httpx.HTTPError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail("server did not start:\n" + "".join(output.lines)[-4000:])
            time.sleep(0.2)
    yield port, process, output
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)


async def _drain(socket) -> None:
    """Read frames (presence and the like) until the server closes the socket."""
    while True:
        await asyncio.wait_for(socket.recv(), 30)


async def _shutdown_scenario(port: int, process: subprocess.Popen, output: Output, cookie: str):
    url = f"ws://127.0.0.1:{port}/ws/chat/"
    async with websockets.connect(
        url,
        additional_headers={"Cookie": f"sessionid={cookie}"},
        origin=f"http://127.0.0.1:{port}",
        open_timeout=30,
    ) as socket:
        assert '"hello"' in await asyncio.wait_for(socket.recv(), 30)

        # An HTTP request in flight: headers sent, half of its body still to come
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            b"POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
            b"Content-Length: 10\r\n\r\n12345"
        )
        await writer.drain()
        await asyncio.sleep(0.3)  # let the server read the headers (ordering, not timing)

        # When the orchestrator stops the container
        process.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(output.wait_for, "Shutting down", 30)

        # Then the socket gets a close frame with 1012 (Service Restart)
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await _drain(socket)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1012

        # And the in-flight request is still served to the end, then the connection closes
        writer.write(b"67890")
        await writer.drain()
        response = await asyncio.wait_for(reader.read(), 30)
        writer.close()
    return response


def test_sigterm_closes_sockets_with_1012_and_finishes_in_flight_requests(server):
    port, process, output = server
    buyer = make_user("shutdown@example.com")
    cookie = session_cookie_for(buyer)

    response = asyncio.run(_shutdown_scenario(port, process, output, cookie))

    status_line, _, rest = response.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 405 Method Not Allowed"  # /healthz answers GET only
    assert b"connection: close" in rest.lower()
    # And the server finishes its shutdown once nothing is in flight; uvicorn then re-raises
    # the signal it caught, so the exit status is "terminated by SIGTERM" (143 in a shell),
    # which orchestrators treat as a normal stop
    assert process.wait(timeout=30) == -signal.SIGTERM
    assert output.wait_for("Finished server process", 5)
    assert not any("Cancel" in line and "graceful shutdown" in line for line in output.lines)
