"""Real Chromium at phone width: the sign-in page and the chat widget in fr, de, es, ja show
translated text and never overflow horizontally. Screenshots of ja and de go to
/tmp/atelier-shots/i18n/ for a human look.

Run only these: ``pytest tests/i18n -m browser``. They skip without Chromium (CI fails instead).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.utils import translation

from core.models import Role
from tests.conftest import enrol_totp, make_user
from tests.webchat.browser import signed_in_context

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
TIMEOUT = 10_000
SHOTS = Path("/tmp/atelier-shots/i18n")
SCREENSHOT_LOCALES = {"ja", "de"}
# Horizontal overflow of the page (or the widget frame) at phone width.
OVERFLOW_JS = "() => document.documentElement.scrollWidth - window.innerWidth"


def in_language(msgid: str, language: str, **values: str) -> str:
    with translation.override(language):
        text = translation.gettext(msgid)
    return text % values if values else text


@pytest.fixture
def maker(transactional_db):
    user = make_user("rosa@example.com", Role.ARTISAN, display_name="Rosa Barro")
    enrol_totp(user)
    return user


def shoot(page, language: str, name: str) -> None:
    if language in SCREENSHOT_LOCALES:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{language}-{name}.png"), full_page=True)


@pytest.mark.parametrize("language", ["fr", "de", "es", "ja"])
def test_sign_in_page_is_translated_and_fits_a_phone(browser, server, language):
    from playwright.sync_api import expect

    # given a visitor whose browser speaks ``language`` (Accept-Language from the locale)
    context = browser.new_context(base_url=server, locale=language, viewport=PHONE)
    try:
        page = context.new_page()
        # when
        page.goto("/accounts/login/")
        # then
        assert page.get_attribute("html", "lang") == language
        expect(
            page.get_by_role("link", name=in_language("Forgot your password?", language))
        ).to_be_visible()
        expect(page.get_by_label(in_language("Password", language), exact=True)).to_be_visible()
        expect(page.get_by_text(in_language("New here?", language))).to_be_visible()
        assert page.evaluate(OVERFLOW_JS) <= 0, "the sign-in page scrolls sideways"
        shoot(page, language, "login")
    finally:
        context.close()


@pytest.mark.parametrize("language", ["fr", "de", "es", "ja"])
def test_widget_demo_and_chat_panel_are_translated_and_fit_a_phone(
    browser, server, maker, language
):
    from playwright.sync_api import expect

    # given a signed-in buyer whose profile language is ``language``
    buyer = make_user(
        f"buyer-{language}@example.com", preferred_language=language, display_name="Bea"
    )
    context = signed_in_context(browser, buyer, server, viewport=PHONE, locale="en-US")
    try:
        page = context.new_page()
        # when the demo page loads (host page strings from the catalog)
        page.goto("/widget/demo/")
        # then
        expect(
            page.get_by_role("heading", name=in_language("Add Atelier chat to any page", language))
        ).to_be_visible()
        expect(page.get_by_role("heading", name=in_language("Try it", language))).to_be_visible()
        assert page.evaluate(OVERFLOW_JS) <= 0, "the widget demo scrolls sideways"
        shoot(page, language, "widget-demo")

        # when the buyer opens the chat (full screen on a phone)
        launcher_name = in_language("Chat with %(name)s", language, name="Rosa Barro")
        page.get_by_role("button", name=launcher_name).click()
        handle = page.wait_for_selector("iframe.atelier-chat-frame", timeout=TIMEOUT)
        frame = handle.content_frame()
        frame.wait_for_url(re.compile(r"/widget/\?"), timeout=TIMEOUT)
        frame.wait_for_function(
            "() => window.atelierChat && window.atelierChat.socket.ready", timeout=TIMEOUT
        )
        # then the panel speaks the buyer's language too
        composer = frame.get_by_label(in_language("Message %(name)s", language, name="Rosa Barro"))
        expect(composer).to_be_visible()
        assert composer.get_attribute("placeholder") == in_language("Write a message…", language)
        expect(
            frame.get_by_role("button", name=in_language("Send", language), exact=True)
        ).to_be_visible()
        intro = "Ask %(name)s anything about a piece, a custom order or shipping."
        expect(frame.get_by_text(in_language(intro, language, name="Rosa Barro"))).to_be_visible()
        expect(
            frame.get_by_text(in_language("Usually replies within a day", language))
        ).to_be_visible()
        assert frame.evaluate(OVERFLOW_JS) <= 0, "the chat panel scrolls sideways"
        shoot(page, language, "widget-panel")
    finally:
        context.close()
