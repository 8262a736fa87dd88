"""Where people land after signing in, moderation behind admin 2FA, errors in the reader's language."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.conftest import PASSWORD, code_at, enrol_totp

pytestmark = pytest.mark.django_db


def _sign_in(client, user, **extra):
    return client.post(reverse("core:login"), {"email": user.email, "password": PASSWORD, **extra})


def test_artisan_lands_on_the_inbox_after_2fa(client, artisan):
    # Given an artisan with 2FA who signs in from the plain sign-in link
    assert _sign_in(client, artisan).url == reverse("core:login_2fa")
    # When they pass the second step
    response = client.post(reverse("core:login_2fa"), {"code": code_at(artisan.totp)})
    # Then they land on their inbox, not the buyer home page
    assert response.status_code == 302 and response.url == reverse("webchat:inbox")
    assert client.get(response.url).status_code == 200


def test_artisan_still_returns_where_a_page_sent_them(client, artisan):
    _sign_in(client, artisan, next="/studio/orders/")
    response = client.post(reverse("core:login_2fa"), {"code": code_at(artisan.totp)})
    assert response.url == "/studio/orders/"


def test_buyer_lands_home_or_where_they_came_from(client, buyer):
    assert _sign_in(client, buyer).url == reverse("core:home")
    client.logout()
    assert _sign_in(client, buyer, next="/shop/").url == "/shop/"


def test_admin_with_2fa_lands_on_the_moderation_console(client, admin_user):
    totp = enrol_totp(admin_user)
    _sign_in(client, admin_user)
    response = client.post(reverse("core:login_2fa"), {"code": code_at(totp)})
    assert response.url == reverse("webchat:moderation_queue")
    assert client.get(response.url).status_code == 200


def test_admin_without_2fa_is_sent_to_enrol_from_moderation(client, admin_user):
    # Given an admin who never set up 2FA
    client.force_login(admin_user)
    # When they open the moderation console (or act on a message)
    for url in (reverse("webchat:moderation_queue"), reverse("webchat:flag_words")):
        response = client.get(url)
        # Then they are sent to enrol, with a way back
        assert response.status_code == 302
        assert response.url.startswith(reverse("core:totp_setup"))
        assert "next=%2Fmoderation%2F" in response.url
    json = client.get(reverse("webchat:moderation_queue"), HTTP_ACCEPT="application/json")
    assert json.status_code == 403 and json.json()["code"] == "two_factor_required"


def test_buyer_cannot_open_moderation(client, buyer):
    client.force_login(buyer)
    assert client.get(reverse("webchat:moderation_queue")).status_code == 403


def test_french_sign_in_error_is_in_french(client, buyer):
    response = client.post(
        reverse("core:login"),
        {"email": buyer.email, "password": "wrong-password"},
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "Email or password is not correct." not in page
    assert "L’adresse e-mail ou le mot de passe est incorrect." in page


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("de", "E-Mail-Adresse oder Passwort ist nicht korrekt."),
        ("es", "El correo electrónico o la contraseña no son correctos."),
        ("ja", "メールアドレスまたはパスワードが正しくありません。"),
    ],
)
def test_sign_in_error_in_other_languages(client, buyer, language, expected):
    response = client.post(
        reverse("core:login"),
        {"email": buyer.email, "password": "wrong-password"},
        HTTP_ACCEPT_LANGUAGE=language,
    )
    assert expected in response.content.decode()


def test_hub_errors_are_translated(buyer):
    from django.utils import translation

    from conversations import services as hub

    with translation.override("fr"), pytest.raises(hub.HubError) as error:
        hub.start_conversation(buyer=buyer, artisan=buyer)
    assert error.value.message == "Vous ne pouvez démarrer une conversation qu’avec un artisan."


def _sign_up(client, **extra):
    return client.post(
        reverse("core:signup"),
        {
            "email": "new@example.com",
            "password": "a-long-enough-password-42",
            "role": "buyer",
            "preferred_language": "en",
            **extra,
        },
    )


def test_sign_up_takes_the_browsers_time_zone(client):
    from core.models import User

    page = client.get(reverse("core:signup")).content.decode()
    assert "data-browser-time-zone" in page and "browser-time-zone.js" in page
    response = _sign_up(client, time_zone="Asia/Tokyo")
    assert response.status_code == 302
    assert User.objects.get(email="new@example.com").time_zone == "Asia/Tokyo"


def test_sign_up_with_an_unknown_time_zone_falls_back_to_utc(client):
    from core.models import User

    assert _sign_up(client, time_zone="Mars/Olympus_Mons").status_code == 302
    assert User.objects.get(email="new@example.com").time_zone == "UTC"


def test_sign_up_returns_where_the_buyer_came_from(client):
    page = client.get(reverse("core:signup"), {"next": "/shop/"}).content.decode()
    assert 'name="next" value="/shop/"' in page
    assert _sign_up(client, next="/shop/").url == "/shop/"
