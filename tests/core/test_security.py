"""2FA enrolment, verification, replay, recovery codes, lockout and re-auth expiry."""

from __future__ import annotations

import time

import pyotp
import pytest
from django.urls import reverse

from core import security
from core.models import AuditEvent, RecoveryCode, Role
from tests.conftest import PASSWORD, code_at, make_user

pytestmark = pytest.mark.django_db


def test_enrolment_confirms_with_a_valid_code_and_returns_single_use_recovery_codes(buyer):
    # Given a buyer who starts enrolment
    enrolment = security.begin_totp_enrolment(user=buyer)
    assert enrolment.otpauth_uri.startswith("otpauth://totp/Atelier:")
    assert enrolment.qr_svg_data_uri.startswith("data:image/svg+xml")
    # When they confirm with a wrong code, then a right one
    with pytest.raises(security.InvalidCode):
        security.confirm_totp_enrolment(user=buyer, code="000000")
    codes = security.confirm_totp_enrolment(user=buyer, code=pyotp.TOTP(enrolment.secret).now())
    # Then 2FA is on, ten codes exist and none is stored in clear
    buyer.refresh_from_db()
    assert buyer.has_totp
    assert len(codes) == 10 and len(set(codes)) == 10
    stored = list(RecoveryCode.objects.filter(user=buyer).values_list("code_hash", flat=True))
    assert all(code not in stored for code in codes)
    assert AuditEvent.objects.filter(kind=AuditEvent.Kind.TOTP_ENROLLED, actor=buyer).exists()


def test_a_totp_code_cannot_be_replayed_within_its_window(artisan):
    code = code_at(artisan.totp)
    security.verify_totp(user=artisan, code=code)
    with pytest.raises(security.InvalidCode, match="already used"):
        security.verify_totp(user=artisan, code=code)


def test_codes_from_adjacent_steps_are_accepted_but_older_ones_are_not(artisan):
    security.verify_totp(user=artisan, code=code_at(artisan.totp, offset_steps=-1))
    security.verify_totp(user=artisan, code=code_at(artisan.totp, offset_steps=0))
    with pytest.raises(security.InvalidCode):
        security.verify_totp(user=artisan, code=code_at(artisan.totp, offset_steps=-3))


def test_recovery_code_works_once(buyer):
    enrolment = security.begin_totp_enrolment(user=buyer)
    codes = security.confirm_totp_enrolment(user=buyer, code=pyotp.TOTP(enrolment.secret).now())
    security.use_recovery_code(user=buyer, code=codes[3].upper())
    with pytest.raises(security.InvalidCode):
        security.use_recovery_code(user=buyer, code=codes[3])
    assert RecoveryCode.objects.filter(user=buyer, used_at__isnull=False).count() == 1


def test_totp_verification_is_rate_limited(artisan, settings):
    settings.TOTP_MAX_FAILURES = 3
    for _ in range(3):
        with pytest.raises(security.InvalidCode):
            security.verify_totp(user=artisan, code="123456")
    # Even the right code is refused while locked: guessing gains nothing.
    with pytest.raises(security.TooManyAttempts):
        security.verify_totp(user=artisan, code=code_at(artisan.totp))


def test_login_locks_after_repeated_failures(client, buyer, settings):
    settings.LOGIN_MAX_FAILURES = 3
    url = reverse("core:login")
    for _ in range(3):
        response = client.post(url, {"email": buyer.email, "password": "wrong-password"})
        assert response.status_code == 400
        assert "not correct" in response.content.decode()
    response = client.post(url, {"email": buyer.email, "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(kind=AuditEvent.Kind.LOGIN_FAILED).count() == 3
    assert AuditEvent.objects.filter(kind=AuditEvent.Kind.LOGIN_LOCKED).exists()


def test_login_with_2fa_needs_the_second_step(client, artisan):
    response = client.post(reverse("core:login"), {"email": artisan.email, "password": PASSWORD})
    assert response.status_code == 302 and response.url == reverse("core:login_2fa")
    assert "_auth_user_id" not in client.session
    response = client.post(reverse("core:login_2fa"), {"code": "111111"})
    assert response.status_code == 400
    response = client.post(reverse("core:login_2fa"), {"code": code_at(artisan.totp)})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(artisan.pk)
    assert AuditEvent.objects.filter(kind=AuditEvent.Kind.LOGIN, actor=artisan).exists()


def test_artisan_without_2fa_is_sent_to_enrol_before_selling(client, artisan_without_2fa):
    assert not artisan_without_2fa.can_sell
    client.force_login(artisan_without_2fa)
    security_url = reverse("core:change_email")
    response = client.get(security_url)
    assert response.status_code == 302
    assert response.url.startswith(reverse("core:totp_setup"))


def test_sensitive_action_requires_fresh_reauthentication_and_returns_there(
    client, buyer, settings
):
    # Given a buyer whose session is signed in but never re-authenticated
    client.force_login(buyer)
    target = reverse("core:change_email")
    response = client.get(target)
    assert response.status_code == 302
    assert response.url == f"{reverse('core:reauth')}?next=%2Faccounts%2Fsettings%2Femail%2F"
    # When they re-authenticate with a wrong, then the right password
    assert (
        client.post(reverse("core:reauth"), {"password": "nope", "next": target}).status_code == 400
    )
    response = client.post(reverse("core:reauth"), {"password": PASSWORD, "next": target})
    # Then they return to where they were and may act
    assert response.status_code == 302 and response.url == target
    response = client.post(target, {"email": "bea@example.org"})
    assert response.status_code == 302
    buyer.refresh_from_db()
    assert buyer.email == "bea@example.org"


def test_reauthentication_expires_after_the_window(client, buyer, settings):
    settings.REAUTH_WINDOW_MINUTES = 10
    client.force_login(buyer)
    session = client.session
    security.mark_reauthenticated(session, at=time.time() - 11 * 60)
    session.save()
    response = client.get(reverse("core:change_password"))
    assert response.status_code == 302 and response.url.startswith(reverse("core:reauth"))
    session = client.session
    security.mark_reauthenticated(session, at=time.time() - 9 * 60)
    session.save()
    assert client.get(reverse("core:change_password")).status_code == 200


def test_artisan_reauth_needs_totp_too(client, artisan):
    client.force_login(artisan)
    url = reverse("core:reauth")
    response = client.post(url, {"password": PASSWORD})
    assert response.status_code == 400
    assert "authenticator" in response.content.decode()
    response = client.post(url, {"password": PASSWORD, "code": code_at(artisan.totp)})
    assert response.status_code == 302
    assert security.is_recently_authenticated(client.session)


def test_sensitive_json_endpoint_gets_a_coded_error(client, buyer):
    client.force_login(buyer)
    response = client.get(reverse("core:change_email"), HTTP_ACCEPT="application/json")
    assert response.status_code == 403
    assert response.json()["code"] == "reauth_required"


def test_roles_are_distinct(db):
    people = {role: make_user(f"{role}@example.com", role) for role in Role.values}
    assert people[Role.ARTISAN].is_artisan and not people[Role.ARTISAN].is_buyer
    assert people[Role.ADMIN].is_platform_admin
    assert people[Role.LOGISTICS].is_logistics
    assert not people[Role.BUYER].can_sell


UNREACHABLE_REDIS = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    },
    "ratelimit": {"BACKEND": "core.ratelimits.ResilientCache", "LOCATION": "default"},
}


def test_sign_in_works_while_redis_is_down(client, buyer, settings):
    # Regression: with Redis down, sign-in answered HTTP 500 (the throttles live in Redis).
    settings.CACHES = UNREACHABLE_REDIS
    response = client.post(reverse("core:login"), {"email": buyer.email, "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("core:settings")).status_code == 200


def test_lockout_still_applies_in_this_process_while_redis_is_down(client, buyer, settings):
    settings.CACHES = UNREACHABLE_REDIS
    settings.LOGIN_MAX_FAILURES = 2
    for _ in range(2):
        bad = client.post(reverse("core:login"), {"email": buyer.email, "password": "wrong"})
        assert bad.status_code == 400
    locked = client.post(reverse("core:login"), {"email": buyer.email, "password": PASSWORD})
    assert locked.status_code == 429


@pytest.mark.parametrize("url_name", ["core:totp_setup", "core:data_export"])
def test_enrolment_and_export_need_a_fresh_reauthentication(client, buyer, settings, url_name):
    # Regression: a stolen session could attach its own authenticator or take the data.
    client.force_login(buyer)  # a session, but no recent password entry
    response = client.get(reverse(url_name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("core:reauth"))
    # After re-authenticating, the page opens
    client.post(f"{reverse('core:reauth')}?next={reverse(url_name)}", {"password": PASSWORD})
    assert client.get(reverse(url_name)).status_code == 200


def test_signing_in_counts_as_a_fresh_authentication_for_enrolment(client, buyer):
    client.post(reverse("core:login"), {"email": buyer.email, "password": PASSWORD})
    assert client.get(reverse("core:totp_setup")).status_code == 200
