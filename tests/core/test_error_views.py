"""The 500 handler: API clients get JSON, and 503 + Retry-After when the database is out."""

from __future__ import annotations

import json

from django.db import OperationalError
from django.urls import get_resolver

from core.error_views import server_error


def _handled(request, error: Exception):
    # Django calls handler500 while it handles the exception, so sys.exc_info() is set.
    try:
        raise error
    except Exception:
        return server_error(request)


def test_the_handler_is_installed():
    assert get_resolver().urlconf_module.handler500 == "core.error_views.server_error"


def test_an_api_request_failing_on_the_database_gets_a_coded_503(rf):
    request = rf.post("/api/conversations/1/messages/")
    response = _handled(request, OperationalError("couldn't get a connection after 3.00 sec"))
    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert json.loads(response.content) == {
        "code": "unavailable",
        "message": "Something went wrong. Try again.",
        "retry_after": 1,
    }


def test_another_api_failure_is_a_coded_500(rf):
    response = _handled(rf.get("/api/conversations/"), ValueError("bug"))
    assert response.status_code == 500
    assert json.loads(response.content)["code"] == "server_error"


def test_pages_keep_the_html_500(rf):
    response = _handled(rf.get("/shop/"), OperationalError("down"))
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")


def test_a_database_error_inside_an_api_view_is_the_same_503(client, db, monkeypatch):
    from conversations import selectors
    from conversations.services import start_conversation
    from core.models import Role
    from tests.conftest import make_user

    artisan, buyer = make_user("a@example.com", Role.ARTISAN), make_user("b@example.com")
    conversation = start_conversation(buyer=buyer, artisan=artisan, subject="A bowl")
    client.force_login(buyer)

    def statement_timeout(**_kwargs):
        raise OperationalError("canceling statement due to statement timeout")

    monkeypatch.setattr(selectors, "conversation_for_writer", statement_timeout)
    response = client.post(
        f"/api/conversations/{conversation.pk}/messages/",
        {"client_id": "c-1", "text": "Hello"},
        content_type="application/json",
    )
    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert response.json()["code"] == "unavailable"
