"""Lockout that cannot be abused, the emailed unlock link, HTTP rate limits and the CSP."""

from __future__ import annotations

import re

import pytest
from django.core import mail, signing
from django.test import Client
from django.urls import reverse

from core import security
from core.models import AuditEvent
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


def _client(ip: str) -> Client:
    return Client(REMOTE_ADDR=ip)


def _fail(client: Client, email: str, times: int) -> list[int]:
    return [
        client.post(LOGIN, {"email": email, "password": "wrong-password"}).status_code
        for _ in range(times)
    ]


def _unlock_link() -> str:
    assert len(mail.outbox) == 1
    match = re.search(r"https?://\S+/accounts/login/unlock/\S+/", mail.outbox[0].body)
    assert match, mail.outbox[0].body
    return match.group(0).split("://", 1)[1].split("/", 1)[1].join(["/", ""])


def test_attacker_failing_twenty_times_does_not_lock_the_victim_out_elsewhere(buyer, settings):
    # Given an attacker at address A who fails 20 times on the victim's email
    attacker = _client("203.0.113.7")
    statuses = _fail(attacker, buyer.email, 20)
    assert statuses[:5] == [400] * 5 and set(statuses[5:]) == {429}
    # Then A stays locked, even with the right password
    assert attacker.post(LOGIN, {"email": buyer.email, "password": PASSWORD}).status_code == 429
    # But the victim signs in from address B
    victim = _client("198.51.100.20")
    response = victim.post(LOGIN, {"email": buyer.email, "password": PASSWORD})
    assert response.status_code == 302
    assert victim.session["_auth_user_id"] == str(buyer.pk)


def test_an_address_is_capped_over_all_accounts(db, settings):
    settings.LOGIN_IP_MAX_FAILURES = 6
    sprayer = _client("203.0.113.8")
    statuses = [
        sprayer.post(LOGIN, {"email": f"user{i}@example.com", "password": "x"}).status_code
        for i in range(7)
    ]
    assert statuses == [400] * 6 + [429]


def test_the_locked_out_person_gets_an_unlock_page_and_one_email(buyer, settings):
    settings.LOGIN_MAX_FAILURES = 3
    client = _client("192.0.2.10")
    _fail(client, buyer.email, 3)
    response = client.post(LOGIN, {"email": buyer.email, "password": PASSWORD})
    assert response.status_code == 429
    page = response.content.decode()
    assert "Check your email" in page and "unlock sign-in on this device" in page
    assert "_auth_user_id" not in client.session
    # Trying again does not flood the inbox: one email per lockout window
    client.post(LOGIN, {"email": buyer.email, "password": PASSWORD})
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [buyer.email]
    assert "Unlock sign-in" in mail.outbox[0].subject


def test_an_unknown_email_gets_the_same_page_and_no_email(db, settings):
    settings.LOGIN_MAX_FAILURES = 2
    client = _client("192.0.2.11")
    _fail(client, "nobody@example.com", 2)
    response = client.post(LOGIN, {"email": "nobody@example.com", "password": "x"})
    assert response.status_code == 429
    assert "Check your email" in response.content.decode()
    assert mail.outbox == []


def test_the_unlock_link_works_once_on_the_locked_device(buyer, settings):
    settings.LOGIN_MAX_FAILURES = 3
    client = _client("192.0.2.12")
    _fail(client, buyer.email, 4)
    path = _unlock_link()
    # Opening the link only asks (mail scanners prefetch links); the button unlocks
    assert client.get(path).status_code == 200
    assert client.post(LOGIN, {"email": buyer.email, "password": PASSWORD}).status_code == 429
    response = client.post(path)
    assert response.status_code == 302 and response.url == reverse("core:login")
    response = client.post(LOGIN, {"email": buyer.email, "password": PASSWORD})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(buyer.pk)
    assert AuditEvent.objects.filter(
        kind=AuditEvent.Kind.LOGIN_LOCKED, actor=buyer, detail__unlocked_by_email_link=True
    ).exists()
    # A second use is refused
    again = client.post(path)
    assert again.status_code == 400
    assert "already used" in again.content.decode()


def test_the_unlock_link_is_refused_from_another_address(buyer, settings):
    settings.LOGIN_MAX_FAILURES = 2
    _fail(_client("192.0.2.13"), buyer.email, 3)
    path = _unlock_link()
    response = _client("192.0.2.99").post(path)
    assert response.status_code == 400
    assert "on the device" in response.content.decode()


def test_the_unlock_link_expires(buyer, settings, monkeypatch):
    settings.LOGIN_MAX_FAILURES = 2
    settings.LOGIN_UNLOCK_LINK_MINUTES = 15
    client = _client("192.0.2.14")
    _fail(client, buyer.email, 3)
    path = _unlock_link()
    # When 16 minutes have passed (the signer's clock moves, not the test's)
    real_time = signing.time.time
    monkeypatch.setattr(signing.time, "time", lambda: real_time() + 16 * 60)
    response = client.post(path)
    assert response.status_code == 400
    assert "expired" in response.content.decode()


def test_a_tampered_unlock_token_is_not_valid(buyer):
    token = security.make_unlock_token(user=buyer, ip="192.0.2.15")
    with pytest.raises(security.InvalidCode, match="not valid"):
        security.redeem_unlock_token(token=token[:-2] + "xx", ip="192.0.2.15")


def test_an_unlocked_device_passes_the_account_cap(buyer, settings):
    # Given the account is under a distributed attack that hit the account-wide cap
    settings.LOGIN_ACCOUNT_MAX_FAILURES = 4
    for index in range(4):
        _fail(_client(f"203.0.113.{20 + index}"), buyer.email, 1)
    owner = _client("198.51.100.30")
    assert owner.post(LOGIN, {"email": buyer.email, "password": PASSWORD}).status_code == 429
    # When the owner follows the emailed link on their device
    owner.post(_unlock_link())
    # Then they sign in there, while the account stays capped elsewhere
    assert owner.post(LOGIN, {"email": buyer.email, "password": PASSWORD}).status_code == 302
    other = _client("203.0.113.50")
    assert other.post(LOGIN, {"email": buyer.email, "password": PASSWORD}).status_code == 429


# --- django-ratelimit ------------------------------------------------------------------------


def test_login_posts_are_rate_limited_per_address_with_a_translated_429(buyer, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login_ip": "3/m"}
    client = _client("192.0.2.30")
    for _ in range(3):
        client.post(LOGIN, {"email": "someone@example.com", "password": "x"})
    response = client.post(LOGIN, {"email": buyer.email, "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many requests" in response.content.decode()
    # In French for a French reader
    response = client.post(
        LOGIN, {"email": buyer.email, "password": PASSWORD}, HTTP_ACCEPT_LANGUAGE="fr"
    )
    assert response.status_code == 429
    assert "Trop de requêtes" in response.content.decode()
    # Another address is not affected
    assert (
        _client("192.0.2.31").post(LOGIN, {"email": buyer.email, "password": PASSWORD}).status_code
        == 302
    )


def test_sign_up_is_rate_limited_per_address(db, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "signup_ip": "2/h"}
    client = _client("192.0.2.32")
    for _ in range(2):
        assert client.post(reverse("core:signup"), {"email": "x"}).status_code == 400
    assert client.post(reverse("core:signup"), {"email": "x"}).status_code == 429


def test_password_reset_is_rate_limited_per_email(buyer, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "password_reset_email": "2/h"}
    url = reverse("core:password_reset")
    for index in range(2):
        response = _client(f"192.0.2.{40 + index}").post(url, {"email": buyer.email})
        assert response.status_code == 302
    assert _client("192.0.2.45").post(url, {"email": buyer.email}).status_code == 429
    assert len(mail.outbox) == 2


def test_two_factor_step_is_rate_limited_per_address(artisan, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login_2fa_ip": "2/m"}
    client = _client("192.0.2.50")
    client.post(LOGIN, {"email": artisan.email, "password": PASSWORD})
    for _ in range(2):
        assert client.post(reverse("core:login_2fa"), {"code": "000000"}).status_code == 400
    assert client.post(reverse("core:login_2fa"), {"code": "000000"}).status_code == 429


def test_api_writes_are_rate_limited_per_person_with_a_coded_json_429(buyer, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "api_write": "2/m"}
    client = Client()
    client.force_login(buyer)
    url = "/api/conversations/users/999999/block/"
    statuses = [client.post(url, content_type="application/json").status_code for _ in range(3)]
    assert statuses[:2] != [429, 429] and statuses[2] == 429
    body = client.post(url, content_type="application/json").json()
    assert body["code"] == "rate_limited" and "Too many requests" in body["message"]
    # Reads are not counted
    assert client.get("/api/conversations/").status_code == 200


def test_rate_limits_keep_counting_in_memory_while_redis_is_down(buyer, settings):
    from tests.core.test_security import UNREACHABLE_REDIS

    settings.CACHES = UNREACHABLE_REDIS
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login_ip": "2/m"}
    client = _client("192.0.2.60")
    assert client.post(LOGIN, {"email": buyer.email, "password": PASSWORD}).status_code == 302
    client.post(LOGIN, {"email": buyer.email, "password": PASSWORD})
    assert client.post(LOGIN, {"email": buyer.email, "password": PASSWORD}).status_code == 429


# --- Content-Security-Policy -----------------------------------------------------------------


def test_pages_carry_a_strict_enforced_policy(client):
    policy = client.get("/").headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert "unsafe-inline" not in directives["style-src-elem"]
    assert directives["img-src"] == "'self' data: blob:"
    assert directives["connect-src"] == "'self' ws://testserver wss://testserver"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"


def test_the_widget_frame_may_be_framed_by_the_site_only(client):
    response = client.get(reverse("webchat:widget_frame"))
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in response.headers["Content-Security-Policy"]


def test_stripe_origins_are_allowed_only_when_stripe_is_the_gateway(client, settings):
    assert "stripe" not in client.get("/").headers["Content-Security-Policy"]
    settings.PAYMENT_GATEWAY = "stripe"
    policy = client.get("/").headers["Content-Security-Policy"]
    assert "script-src 'self' https://js.stripe.com" in policy
    assert "https://api.stripe.com" in policy and "https://hooks.stripe.com" in policy
