"""Schemathesis against /api/schema/: every operation, as a signed-in buyer and as an artisan.

Checks for each generated request: no 5xx, the status is one the schema documents, and the
body matches the schema documented for that status (the shared ``ErrorOut`` for errors).
Requests go in-process to Django's WSGI handler (the same middleware stack as production:
sessions, CSRF, throttles) with a real session cookie and the CSRF token a page gave.
"""

from __future__ import annotations

from contextlib import contextmanager

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, settings

from commerce import services as commerce
from conversations.services import post_message, start_conversation
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.response_schema_conformance,
]


# Loaded from the served endpoint (no database needed), once, at collection.
# The coverage phase (hundreds of boundary cases per operation) is off to stay within a
# minute on a small machine; the fuzzing phase below is bounded and seeded.
CONFIG = schemathesis.Config.from_dict(
    {"seed": 20261202, "phases": {"coverage": {"enabled": False}}}
)
schema = schemathesis.openapi.from_wsgi("/api/schema/", WSGIHandler(), config=CONFIG)


@contextmanager
def _keeping_the_test_connection():
    """The WSGI handler closes the database connection when a request starts and ends; in a
    test that connection holds the test's transaction, so (as Django's test client does)
    it must stay open while schemathesis calls the handler."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def marketplace(buyer, artisan):
    """A shop, a conversation with a message, an offer and an order, so that small ids and
    the order reference exist and some requests reach the services, not only 404s."""
    commerce.save_artisan_profile(
        user=artisan,
        shop_name="Casa Barro",
        story="Clay from the river bank.",
        region="Oaxaca",
        country="MX",
        languages=["es", "en"],
        materials="clay",
    )
    conversation = start_conversation(buyer=buyer, artisan=artisan, subject="A bowl")
    post_message(conversation=conversation, author=buyer, text="Hello", client_id="c-1")
    for price in ("120.00", "80.00"):
        offer = commerce.send_offer(
            artisan=artisan,
            conversation=conversation,
            lines=[commerce.OfferLineInput(description="Bowl", unit_price=price, quantity=1)],
            currency="EUR",
            lead_time_days=14,
            valid_days=7,
        )
    commerce.accept_offer(buyer=buyer, offer=offer)
    return conversation


def _session_for(user) -> tuple[dict[str, str], dict[str, str]]:
    """Sign in with the password (a real session row) and take the CSRF token from a page,
    as the web clients do: cookies + the ``X-CSRFToken`` header for unsafe methods."""
    client = Client(enforce_csrf_checks=True)
    assert client.login(email=user.email, password=PASSWORD)
    page = client.get("/")
    assert page.status_code == 200
    token = client.cookies["csrftoken"].value
    cookies = {"sessionid": client.cookies["sessionid"].value, "csrftoken": token}
    return cookies, {"X-CSRFToken": token}


@pytest.mark.slow
@schema.parametrize()
@pytest.mark.parametrize("role", ["buyer", "artisan"])
@settings(
    max_examples=20,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_conforms_to_its_schema(case, role, request, marketplace):
    cookies, headers = _session_for(request.getfixturevalue(role))
    with _keeping_the_test_connection():
        response = case.call_and_validate(cookies=cookies, headers=headers, checks=CHECKS)
    # The session and the CSRF token were accepted: what was checked is the operation itself.
    assert response.status_code != 401, response.text
    assert "CSRF" not in response.text


def test_every_operation_documents_its_errors_with_one_body(client):
    paths = client.get("/api/schema/").json()["paths"]
    for path, operations in paths.items():
        for method, operation in operations.items():
            statuses = set(operation["responses"])
            if path == "/api/health/":
                assert statuses == {"200"}
                continue
            expected = {"401", "422"} | ({"403", "429"} if method != "get" else set())
            assert expected <= statuses, (method, path, statuses)
            for status in statuses - {"200"}:
                body = operation["responses"][status]["content"]["application/json"]["schema"]
                assert body == {"$ref": "#/components/schemas/ErrorOut"}, (method, path, status)


def test_a_write_without_the_csrf_token_is_a_documented_403(marketplace, buyer):
    cookies, _ = _session_for(buyer)
    client = Client(enforce_csrf_checks=True)
    client.cookies.load(cookies)
    response = client.post(
        f"/api/conversations/{marketplace.pk}/read/", {"seq": 1}, content_type="application/json"
    )
    assert response.status_code == 403
    assert response.json() == {"code": "error", "message": "CSRF check Failed"}
    with_token = client.post(
        f"/api/conversations/{marketplace.pk}/read/",
        {"seq": 1},
        content_type="application/json",
        headers={"X-CSRFToken": cookies["csrftoken"]},
    )
    assert with_token.status_code == 200
    assert with_token.json()["last_read_seq"] == 1


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_unmatched_api_path_is_a_json_404(client, buyer, method):
    # An encoded "/" in a path parameter decodes into a path no operation matches.
    client.force_login(buyer)
    response = getattr(client, method)("/api/commerce/orders/ORD%2F1/")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message": "Not found."}


def test_nul_characters_never_reach_the_database(client, buyer):
    # PostgreSQL refuses NUL in text (a DataError, a 500): the API drops it from bodies and
    # queries, and an order reference holding one is simply not found.
    client.force_login(buyer)
    started = client.post(
        "/api/conversations/", {"subject": "A\x00 bowl"}, content_type="application/json"
    )
    listed = client.get("/api/conversations/?label=a%00b&q=x%00")
    order = client.get("/api/commerce/orders/ORD%00-1/")
    assert (started.status_code, started.json()["subject"]) == (200, "A bowl")
    assert listed.status_code == 200
    assert (order.status_code, order.json()["code"]) == (404, "not_found")
