"""Structured logs: request ids in and out, JSON lines that carry them, tasks and sockets."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import structlog

from core.celery import app as celery_app
from core.logs import formatter
from tests.conftest import make_user

HEX_ID = re.compile(r"^[0-9a-f]{32}$")


@contextmanager
def json_lines(logger_name: str = "") -> Iterator[list[dict]]:
    """Capture what a logger writes through the production (JSON) formatter."""
    config = formatter("json")
    factory = config.pop("()")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(factory(**config))
    target = logging.getLogger(logger_name)
    previous_level, previous_disabled = target.level, target.disabled
    # A dictConfig elsewhere in the run (disable_existing_loggers) may have disabled it.
    target.disabled = False
    target.addHandler(handler)
    target.setLevel(logging.DEBUG)
    lines: list[dict] = []
    try:
        yield lines
    finally:
        target.removeHandler(handler)
        target.setLevel(previous_level)
        target.disabled = previous_disabled
        lines.extend(json.loads(line) for line in stream.getvalue().splitlines() if line)


@pytest.fixture(autouse=True)
def _clean_log_context():
    structlog.contextvars.clear_contextvars()
    yield
    structlog.contextvars.clear_contextvars()


def test_a_valid_request_id_from_the_proxy_is_echoed(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="lb-7f3a.92_x")
    assert response.status_code == 200
    assert response["X-Request-ID"] == "lb-7f3a.92_x"


def test_a_request_without_an_id_gets_a_fresh_one(client):
    first = client.get("/healthz")["X-Request-ID"]
    second = client.get("/healthz")["X-Request-ID"]
    assert HEX_ID.match(first)
    assert HEX_ID.match(second)
    assert first != second


@pytest.mark.parametrize(
    "bad",
    ["has spaces", "x" * 65, 'quote"inject', "new\\nline", "ünïcode", "a;b=c"],
)
def test_an_invalid_request_id_is_replaced(client, bad):
    response = client.get("/healthz", HTTP_X_REQUEST_ID=bad)
    assert response["X-Request-ID"] != bad
    assert HEX_ID.match(response["X-Request-ID"])


@pytest.mark.django_db
def test_a_log_line_of_the_request_is_json_with_its_request_id(client):
    # Given a request Django logs (a 404 is logged by django.request as a warning)
    with json_lines("django.request") as lines:
        response = client.get("/no-such-page/", HTTP_X_REQUEST_ID="req-123")
    # Then the line is one JSON object carrying the request's id, level and logger
    assert response.status_code == 404
    assert response["X-Request-ID"] == "req-123"
    (line,) = [line for line in lines if "no-such-page" in line["event"]]
    assert line["request_id"] == "req-123"
    assert line["level"] == "warning"
    assert line["logger"] == "django.request"
    assert line["timestamp"].endswith("Z")


def test_the_next_request_does_not_inherit_the_previous_id(client):
    client.get("/healthz", HTTP_X_REQUEST_ID="first-one")
    with json_lines("probe") as lines:
        response = client.get("/healthz")
        logging.getLogger("probe").warning("after")
    assert lines[0]["request_id"] == response["X-Request-ID"] != "first-one"


def test_exceptions_are_rendered_inside_the_json_line():
    with json_lines("boom") as lines:
        try:
            raise ValueError("bad thing")
        except ValueError:
            logging.getLogger("boom").exception("it failed")
    assert lines[0]["event"] == "it failed"
    assert "ValueError: bad thing" in lines[0]["exception"]


@celery_app.task(name="tests.core.log_something")
def log_something() -> str:
    logging.getLogger("tests.task").warning("inside the task")
    return "done"


def test_a_celery_task_logs_its_task_id_and_name():
    with json_lines("tests.task") as lines:
        result = log_something.apply()
    # The eager result's value (``.get()`` refuses to run where another test's eager task
    # left Celery's "inside a task" marker on this thread).
    assert result.successful() and result.result == "done"
    assert lines[0]["task_id"] == result.id
    assert lines[0]["task"] == "tests.core.log_something"
    # And nothing of the task stays bound afterwards
    assert "task_id" not in structlog.contextvars.get_contextvars()


@pytest.mark.django_db(transaction=True)
async def test_websocket_log_lines_carry_a_connection_id():
    from channels.db import database_sync_to_async

    from tests.conversations.conftest import connect, ws_client

    buyer = await database_sync_to_async(make_user)("logs@example.com")
    with json_lines("core.logs") as lines:
        async with ws_client(buyer) as ws:
            await connect(ws)
    (line,) = [line for line in lines if line["event"] == "websocket connected"]
    assert re.match(r"^[0-9a-f]{16}$", line["ws_connection_id"])
    assert line["user_id"] == buyer.pk
    assert line["path"] == "/ws/chat/"


def test_log_format_must_be_json_or_console():
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        formatter("xml")
