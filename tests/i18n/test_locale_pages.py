"""The UI in every locale: catalogs complete and valid, pages rendered in the language
picked from the profile first, then Accept-Language."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from core.models import Role
from tests.conftest import enrol_totp, make_user

LOCALES = ["fr", "de", "es", "ja"]
LOCALE_DIR = Path(settings.BASE_DIR) / "locale"

# (url name, who is signed in, msgids the page must show in the viewer's language)
PAGES = [
    (
        "core:home",
        None,
        [
            "Handmade goods, made for you by artisans you can talk to.",
            "How it works",
            "Talk to the maker",
            "Sign in",
        ],
    ),
    ("core:login", None, ["Forgot your password?", "New here?", "Password"]),
    ("core:settings", "buyer", ["Your account", "Save profile", "Sign-in and security"]),
    ("webchat:inbox", "artisan", ["Inbox", "Search conversations", "Quick replies"]),
    ("webchat:messages", "buyer", ["Your conversations with artisans appear here.", "Messages"]),
]


def in_language(msgid: str, language: str) -> str:
    with translation.override(language):
        return translation.gettext(msgid)


@pytest.mark.parametrize("language", LOCALES)
def test_catalog_is_complete_and_valid(language):
    """msgfmt --check: placeholders and plural forms match; nothing untranslated or fuzzy."""
    msgfmt = shutil.which("msgfmt")
    assert msgfmt, "GNU gettext (msgfmt) is needed to compile catalogs"
    po = LOCALE_DIR / language / "LC_MESSAGES" / "django.po"
    result = subprocess.run(  # noqa: S603 - fixed arguments
        [msgfmt, "--check", "--statistics", "-o", "/dev/null", str(po)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    statistics = result.stderr.strip().splitlines()[-1]
    assert re.fullmatch(r"\d+ translated messages\.", statistics), statistics


def test_japanese_has_one_plural_form_and_spanish_three():
    ja = (LOCALE_DIR / "ja/LC_MESSAGES/django.po").read_text(encoding="utf-8")
    es = (LOCALE_DIR / "es/LC_MESSAGES/django.po").read_text(encoding="utf-8")
    assert "Plural-Forms: nplurals=1; plural=0;" in ja
    assert "msgstr[1]" not in ja
    assert "nplurals=3;" in es
    with translation.override("ja"):
        assert translation.ngettext("%(n)s report", "%(n)s reports", 5) % {"n": 5} == "報告5件"
    with translation.override("fr"):
        # French: 0 and 1 are singular.
        assert translation.ngettext("%(n)s report", "%(n)s reports", 0) % {"n": 0} == (
            "0 signalement"
        )


@pytest.fixture
def people(db):
    buyer = make_user("buyer@example.com", display_name="Bea")
    artisan = make_user("artisan@example.com", Role.ARTISAN, display_name="Ana")
    enrol_totp(artisan)
    return {"buyer": buyer, "artisan": artisan}


def fetch(people, url_name: str, who: str | None, **headers) -> str:
    client = Client()
    if who is not None:
        client.force_login(people[who])
    response = client.get(reverse(url_name), **headers)
    assert response.status_code == 200, (url_name, response.status_code)
    return response.content.decode()


@pytest.mark.parametrize("language", LOCALES)
@pytest.mark.parametrize(("url_name", "who", "msgids"), PAGES, ids=[p[0] for p in PAGES])
def test_pages_follow_accept_language(people, language, url_name, who, msgids):
    # given a browser that asks for the language and a profile that does not choose one
    if who is not None:
        people[who].preferred_language = ""
        people[who].save(update_fields=["preferred_language"])
    # when
    html = fetch(people, url_name, who, HTTP_ACCEPT_LANGUAGE=f"{language},en;q=0.5")
    # then the page is in that language
    assert f'<html lang="{language}"' in html
    # (the first msgid of each page reads differently in every locale, so English can't pass)
    assert in_language(msgids[0], language) != msgids[0]
    for msgid in msgids:
        translated = in_language(msgid, language)
        assert escape(translated) in html, f"{language}: {translated!r} missing from {url_name}"


@pytest.mark.parametrize("language", LOCALES)
@pytest.mark.parametrize(
    ("url_name", "who", "msgids"), [p for p in PAGES if p[1]], ids=[p[0] for p in PAGES if p[1]]
)
def test_the_profile_language_wins_over_accept_language(people, language, url_name, who, msgids):
    # given a profile in ``language`` and a browser asking for English
    people[who].preferred_language = language
    people[who].save(update_fields=["preferred_language"])
    # when
    client = Client()
    client.force_login(people[who])
    response = client.get(reverse(url_name), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    # then
    html = response.content.decode()
    assert f'<html lang="{language}"' in html
    assert response["Content-Language"] == language
    for msgid in msgids:
        assert escape(in_language(msgid, language)) in html


def test_an_unsupported_language_falls_back_to_english(people):
    html = fetch(people, "core:login", None, HTTP_ACCEPT_LANGUAGE="it-IT,it;q=0.9")
    assert '<html lang="en"' in html
    assert "Forgot your password?" in html


def test_a_regional_variant_uses_the_base_language(people):
    html = fetch(people, "core:login", None, HTTP_ACCEPT_LANGUAGE="es-MX,es;q=0.9")
    assert '<html lang="es"' in html
    assert escape(in_language("Forgot your password?", "es")) in html


@pytest.mark.parametrize("language", LOCALES)
def test_chat_widget_strings_are_served_in_the_viewers_language(people, language):
    # given a signed-in buyer whose profile language is ``language``
    people["buyer"].preferred_language = language
    people["buyer"].save(update_fields=["preferred_language"])
    client = Client()
    client.force_login(people["buyer"])
    # when the widget frame loads (its JS reads the strings from a json_script block)
    html = client.get(reverse("webchat:widget_frame")).content.decode()
    raw = re.search(r'<script id="chat-strings" type="application/json">(.*?)</script>', html, re.S)
    strings = json.loads(raw.group(1))
    # then the translation UI speaks the viewer's language, placeholders intact
    assert strings["show_original"] == in_language("Show original", language)
    assert strings["show_original"] != "Show original"
    assert "{name}" in strings["typing"]
    assert "{language}" in strings["translated_from"]
