"""Sign-up, login, password reset, profile settings, GDPR export and erasure."""

from __future__ import annotations

import json

import pytest
from django.core import mail
from django.urls import reverse

from core.gdpr import erase_personal_data
from core.models import AuditEvent, Consent, Role, User
from core.services import record_consent
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_signup_creates_a_buyer_and_signs_them_in(client):
    response = client.post(
        reverse("core:signup"),
        {
            "email": "Lea@Example.com",
            "display_name": "Léa",
            "password": PASSWORD,
            "role": Role.BUYER,
            "preferred_language": "fr",
            "marketing_consent": "on",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(email="lea@example.com")
    assert user.role == Role.BUYER and user.preferred_language == "fr"
    assert client.session["_auth_user_id"] == str(user.pk)
    assert Consent.objects.get(user=user).granted is True


def test_artisan_signup_goes_to_2fa_setup(client):
    response = client.post(
        reverse("core:signup"),
        {
            "email": "maker@example.com",
            "password": PASSWORD,
            "role": Role.ARTISAN,
            "preferred_language": "es",
        },
    )
    assert response.status_code == 302 and response.url == reverse("core:totp_setup")
    page = client.get(response.url)
    assert page.status_code == 200
    assert "otpauth://totp/" in page.content.decode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"email": "not-an-email", "password": PASSWORD}, "Enter a valid email address"),
        ({"email": "a@example.com", "password": "short"}, "too short"),
        ({"email": "a@example.com", "password": "password123"}, "too common"),
    ],
)
def test_signup_rejects_bad_input_with_a_clear_message(client, data, message):
    response = client.post(
        reverse("core:signup"), {"role": Role.BUYER, "preferred_language": "en", **data}
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not User.objects.exists()


def test_signup_refuses_admin_role_and_duplicate_email(client, buyer):
    response = client.post(
        reverse("core:signup"),
        {
            "email": buyer.email.upper(),
            "password": PASSWORD,
            "role": Role.BUYER,
            "preferred_language": "en",
        },
    )
    assert response.status_code == 400
    assert "already exists" in response.content.decode()
    response = client.post(
        reverse("core:signup"),
        {
            "email": "x@example.com",
            "password": PASSWORD,
            "role": Role.ADMIN,
            "preferred_language": "en",
        },
    )
    assert response.status_code == 400
    assert not User.objects.filter(email="x@example.com").exists()


def test_password_reset_sends_an_email_with_a_working_link(client, buyer):
    response = client.post(reverse("core:password_reset"), {"email": buyer.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    link = next(line for line in body.splitlines() if "/accounts/reset/" in line)
    path = link.split("testserver", 1)[1]
    response = client.get(path, follow=True)
    assert response.status_code == 200
    form_url = response.redirect_chain[-1][0]
    new_password = "a-new-long-passphrase-42"
    response = client.post(form_url, {"new_password1": new_password, "new_password2": new_password})
    assert response.status_code == 302
    buyer.refresh_from_db()
    assert buyer.check_password(new_password)


def test_profile_settings_update_language_and_time_zone(client, buyer):
    client.force_login(buyer)
    response = client.post(
        reverse("core:settings"),
        {"display_name": "Bea B.", "preferred_language": "de", "time_zone": "Europe/Berlin"},
    )
    assert response.status_code == 302
    buyer.refresh_from_db()
    assert (buyer.display_name, buyer.preferred_language, buyer.time_zone) == (
        "Bea B.",
        "de",
        "Europe/Berlin",
    )
    page = client.get(reverse("core:settings"))
    assert page["Content-Language"] == "de"


def test_profile_rejects_unknown_time_zone(client, buyer):
    client.force_login(buyer)
    response = client.post(
        reverse("core:settings"),
        {"display_name": "", "preferred_language": "en", "time_zone": "Mars/Olympus"},
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()


def test_gdpr_export_contains_account_consents_and_security_events(client, buyer):
    record_consent(user=buyer, purpose=Consent.Purpose.MARKETING_EMAIL, granted=True)
    # (the export needs a fresh sign-in: signing in with the password is one)
    client.post(reverse("core:login"), {"email": buyer.email, "password": PASSWORD})
    response = client.get(reverse("core:data_export"))
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    data = json.loads(response.content)
    assert data["account"]["email"] == buyer.email
    assert data["consents"][0]["purpose"] == "marketing_email"
    assert {"account", "consents", "security_events"} <= set(data)
    assert AuditEvent.objects.filter(kind=AuditEvent.Kind.DATA_EXPORT, actor=buyer).exists()


def test_gdpr_erasure_anonymises_the_account(client, buyer):
    record_consent(user=buyer, purpose=Consent.Purpose.MARKETING_EMAIL, granted=True)
    client.force_login(buyer)
    # Erasure is sensitive: the fresh sign-in counts, so it goes straight through.
    from core.security import mark_reauthenticated

    session = client.session
    mark_reauthenticated(session)
    session.save()
    response = client.post(reverse("core:data_erase"), {"confirm": "nope"})
    assert response.status_code == 400
    response = client.post(reverse("core:data_erase"), {"confirm": "ERASE"})
    assert response.status_code == 302
    buyer.refresh_from_db()
    assert buyer.email.endswith("@erased.invalid")
    assert buyer.display_name == "" and not buyer.has_usable_password()
    assert not buyer.is_active and buyer.erased_at is not None
    assert not Consent.objects.filter(user=buyer).exists()
    assert not AuditEvent.objects.filter(subject_email="buyer@example.com").exists()
    assert AuditEvent.objects.filter(kind=AuditEvent.Kind.ERASURE).exists()
    assert "_auth_user_id" not in client.session


def test_erased_person_cannot_sign_in(client, buyer):
    erase_personal_data(user=buyer)
    response = client.post(
        reverse("core:login"), {"email": "buyer@example.com", "password": PASSWORD}
    )
    assert response.status_code == 400


def test_suspended_account_loses_its_session(client, buyer):
    from django.utils import timezone

    client.force_login(buyer)
    buyer.suspended_at = timezone.now()
    buyer.save()
    client.get(reverse("core:settings"))
    assert "_auth_user_id" not in client.session


def test_admin_lists_audit_events(client, admin_user, buyer):
    client.post(reverse("core:login"), {"email": buyer.email, "password": "bad"})
    client.force_login(admin_user)
    response = client.get(reverse("admin:core_auditevent_changelist"))
    assert response.status_code == 200
    assert "buyer@example.com" in response.content.decode()


def test_footer_language_picker_updates_the_profile(client, buyer):
    client.force_login(buyer)
    response = client.post(
        reverse("set_language"), {"language": "de", "next": "/accounts/settings/"}
    )
    assert response.status_code == 302
    buyer.refresh_from_db()
    assert buyer.preferred_language == "de"
    assert client.get(reverse("core:settings"))["Content-Language"] == "de"


def test_language_picker_shows_native_names(client):
    page = client.get(reverse("core:login")).content.decode()
    assert "Deutsch" in page
    assert "日本語" in page
