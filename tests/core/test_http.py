"""core.http.safe_next_url: "back to where you were" redirects never leave the site."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from core.http import is_same_site_url, safe_next_url

FALLBACK = "/settings/"


@pytest.mark.parametrize(
    ("next_value", "expected"),
    [
        ("/inbox/?c=4", "/inbox/?c=4"),
        ("http://testserver/inbox/", "http://testserver/inbox/"),
        ("https://evil.example/phish", FALLBACK),
        ("//evil.example/phish", FALLBACK),
        ("javascript:alert(1)", FALLBACK),
        ("", FALLBACK),
    ],
)
def test_next_is_followed_only_when_it_stays_on_this_site(rf: RequestFactory, next_value, expected):
    assert safe_next_url(rf.get("/", {"next": next_value}), fallback=FALLBACK) == expected
    assert safe_next_url(rf.post("/", {"next": next_value}), fallback=FALLBACK) == expected


def test_post_next_wins_over_the_query_string(rf: RequestFactory):
    request = rf.post("/?next=/from-query/", {"next": "/from-form/"})
    assert safe_next_url(request, fallback=FALLBACK) == "/from-form/"


def test_a_secure_request_refuses_a_plain_http_next(rf: RequestFactory):
    request = rf.get("/", {"next": "http://testserver/inbox/"}, secure=True)
    assert not is_same_site_url(request, "http://testserver/inbox/")
    assert safe_next_url(request, fallback=FALLBACK) == FALLBACK
    assert is_same_site_url(request, "https://testserver/inbox/")
