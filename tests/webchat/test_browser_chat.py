"""Real Chromium against a real ASGI server: the widget, the inbox and live delivery.

Run only these: ``pytest tests/webchat -m browser``. They skip when Chromium is missing
(CI sets ATELIER_REQUIRE_BROWSER=1 so they fail instead).
"""

from __future__ import annotations

import re

import pytest

from conversations.models import Message
from conversations.services import start_conversation
from tests.conftest import enrol_totp
from tests.journeys.harness import assert_accessible
from tests.webchat.browser import (
    UNLABELLED_CONTROLS_JS,
    signed_in_context,
)
from tests.webchat.conftest import say

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Short ping/backoff timings so a lost connection is noticed within a second or two.
FAST_SOCKET = "window.ATELIER_CHAT_TEST = {pingInterval: 1000, pongTimeout: 1500, baseDelay: 300, maxDelay: 1500};"
TIMEOUT = 10_000


def widget_frame(page, *, connected: bool = True):
    """The widget's iframe once its page has loaded (and, by default, its socket is up)."""
    handle = page.wait_for_selector("iframe.atelier-chat-frame", timeout=TIMEOUT)
    frame = handle.content_frame()
    frame.wait_for_load_state()
    frame.wait_for_url(re.compile(r"/widget/\?"), timeout=TIMEOUT)
    if not connected:
        return frame
    frame.wait_for_function(
        "() => window.atelierChat && window.atelierChat.socket.ready", timeout=TIMEOUT
    )
    return frame


def log_texts(frame_or_page) -> list[str]:
    return frame_or_page.locator("[data-chat-log] .msg-text").all_inner_texts()


def test_buyer_and_artisan_chat_live_and_the_buyer_catches_up_after_going_offline(
    browser, server, buyer, artisan
):
    from playwright.sync_api import expect

    buyer_ctx = signed_in_context(browser, buyer, server)
    artisan_ctx = signed_in_context(browser, artisan, server)
    buyer_ctx.add_init_script(FAST_SOCKET)
    artisan_ctx.add_init_script(FAST_SOCKET)
    try:
        # Given the artisan has the inbox open (empty) and the buyer a page with the widget
        inbox = artisan_ctx.new_page()
        inbox.goto("/inbox/")
        expect(inbox.get_by_text("No conversations yet")).to_be_visible()
        inbox.wait_for_function(
            "() => window.atelierInbox && window.atelierInbox.socket.ready", timeout=TIMEOUT
        )
        shop = buyer_ctx.new_page()
        shop.goto("/widget/demo/")

        # When the buyer opens the widget and writes
        shop.get_by_role("button", name="Chat with Ana Artisan").click()
        frame = widget_frame(shop)
        frame.get_by_label("Message Ana Artisan").fill("Hello! Is the blue vase available?")
        frame.get_by_label("Message Ana Artisan").press("Enter")
        expect(frame.locator(".msg-out .msg-status")).to_contain_text("Sent", timeout=TIMEOUT)

        # Then the conversation appears live in the artisan's inbox; the artisan opens it
        item = inbox.locator(".conv-item").first
        expect(item).to_contain_text("Hello! Is the blue vase available?", timeout=TIMEOUT)
        expect(item.locator(".conv-unread")).to_contain_text("1")
        item.locator("a").click()
        expect(inbox.locator("[data-chat-log]")).to_contain_text("Is the blue vase available?")
        inbox.wait_for_function(
            "() => window.atelierChat && window.atelierChat.controller.subscribed", timeout=TIMEOUT
        )

        # …the buyer sees it was read, and the artisan's reply arrives live
        expect(frame.locator(".msg-out .msg-status").last).to_contain_text("Read", timeout=TIMEOUT)
        composer = inbox.get_by_label("Message Bea Buyer")
        composer.fill("Yes, it is! I can ship it tomorrow.")
        composer.press("Enter")
        expect(frame.locator(".msg-in .msg-text").last).to_have_text(
            "Yes, it is! I can ship it tomorrow.", timeout=TIMEOUT
        )
        # typing indicator travels too
        frame.get_by_label("Message Ana Artisan").type("Gre")
        expect(inbox.locator("[data-chat-typing]")).to_contain_text(
            "Bea Buyer is typing", timeout=TIMEOUT
        )
        frame.get_by_label("Message Ana Artisan").fill("")

        # When the buyer goes offline (socket dropped, network down)…
        buyer_ctx.set_offline(True)
        frame.evaluate("() => window.atelierChat.socket.ws && window.atelierChat.socket.ws.close()")
        frame.wait_for_function("() => !window.atelierChat.socket.ready", timeout=TIMEOUT)
        # …and the artisan sends two messages, while the buyer writes one that cannot leave yet
        composer.fill("It is glazed in cobalt.")
        composer.press("Enter")
        composer.fill("Shall I reserve it for you?")
        composer.press("Enter")
        expect(inbox.locator(".msg-out .msg-status").last).to_contain_text("Sent", timeout=TIMEOUT)
        frame.get_by_label("Message Ana Artisan").fill("Written while offline")
        frame.get_by_label("Message Ana Artisan").press("Enter")
        expect(frame.locator(".msg-out .msg-status").last).to_contain_text(
            "Sending", timeout=TIMEOUT
        )
        expect(frame.locator("[data-chat-connection]")).to_be_visible()
        # A message waiting to leave stays readable (it used to be faded below contrast)
        assert_accessible(shop, "a message waiting to be sent")
        shop.wait_for_timeout(1500)  # several reconnect attempts fail while offline
        assert "It is glazed in cobalt." not in log_texts(frame)

        # Then, back online, the buyer resumes and sees both, in order, exactly once
        buyer_ctx.set_offline(False)
        expect(frame.locator(".msg-in .msg-text").last).to_have_text(
            "Shall I reserve it for you?", timeout=TIMEOUT
        )
        texts = log_texts(frame)
        assert texts.count("It is glazed in cobalt.") == 1
        assert texts.index("It is glazed in cobalt.") < texts.index("Shall I reserve it for you?")
        # …and the message written offline is delivered once, with its original client_id
        expect(inbox.locator("[data-chat-log]")).to_contain_text(
            "Written while offline", timeout=TIMEOUT
        )
        assert [m.text for m in Message.objects.all()].count("Written while offline") == 1
        seqs = frame.eval_on_selector_all(
            "[data-chat-log] > li", "els => els.map(e => Number(e.dataset.seq))"
        )
        assert seqs == sorted(seqs) and len(seqs) == len(set(seqs)) == 5
    finally:
        buyer_ctx.close()
        artisan_ctx.close()


def test_widget_is_usable_with_the_keyboard_alone(browser, server, buyer, artisan):
    from playwright.sync_api import expect

    ctx = signed_in_context(browser, buyer, server)
    try:
        page = ctx.new_page()
        page.goto("/widget/demo/")
        launcher = page.locator(".atelier-chat-launcher")
        expect(launcher).to_have_attribute("aria-expanded", "false")

        # Tab until the launcher has focus (it is the last control on the page)
        for _ in range(40):
            page.keyboard.press("Tab")
            if page.evaluate(
                "() => document.activeElement.classList.contains('atelier-chat-launcher')"
            ):
                break
        else:
            pytest.fail("The launcher cannot be reached with Tab")

        # Enter opens the panel and puts the cursor in the message box
        page.keyboard.press("Enter")
        expect(launcher).to_have_attribute("aria-expanded", "true")
        frame = widget_frame(page)
        frame.wait_for_function(
            "() => document.activeElement && document.activeElement.id === 'chat-text'",
            timeout=TIMEOUT,
        )

        # Typing and Enter sends; Shift+Enter makes a new line instead
        page.keyboard.type("Hello")
        page.keyboard.press("Shift+Enter")
        page.keyboard.type("from the keyboard")
        page.keyboard.press("Enter")
        expect(frame.locator(".msg-out .msg-text")).to_have_text(
            "Hello\nfrom the keyboard", timeout=TIMEOUT
        )
        expect(frame.locator(".msg-out .msg-status")).to_contain_text("Sent", timeout=TIMEOUT)
        assert Message.objects.get().text == "Hello\nfrom the keyboard"

        # Esc closes the panel and gives focus back to the launcher
        page.keyboard.press("Escape")
        expect(page.locator(".atelier-chat-panel")).to_be_hidden()
        expect(launcher).to_have_attribute("aria-expanded", "false")
        assert page.evaluate(
            "() => document.activeElement.classList.contains('atelier-chat-launcher')"
        )
    finally:
        ctx.close()


def test_pages_have_labelled_controls_and_a_live_message_log(browser, server, buyer, artisan):
    conversation = start_conversation(buyer=buyer, artisan=artisan, subject="Vase")
    say(conversation, buyer, "Hello")
    ctx = signed_in_context(browser, artisan, server)
    buyer_ctx = signed_in_context(browser, buyer, server)
    try:
        page = ctx.new_page()
        page.goto(f"/inbox/{conversation.pk}/")
        log = page.locator("[role=log]")
        assert log.get_attribute("aria-live") == "polite"
        assert page.evaluate(UNLABELLED_CONTROLS_JS) == []
        assert page.locator("html").get_attribute("lang")

        shop = buyer_ctx.new_page()
        shop.goto("/widget/demo/")
        assert shop.evaluate(UNLABELLED_CONTROLS_JS) == []
        shop.locator(".atelier-chat-launcher").click()
        frame = widget_frame(shop)
        assert frame.evaluate(UNLABELLED_CONTROLS_JS) == []
        assert frame.locator("[role=log]").get_attribute("aria-live") == "polite"
        assert shop.locator("iframe.atelier-chat-frame").get_attribute("title")
    finally:
        ctx.close()
        buyer_ctx.close()


def test_signed_out_visitor_gets_a_sign_in_prompt_in_the_widget(browser, server, artisan):
    from playwright.sync_api import expect

    ctx = signed_in_context(browser, None, server)
    try:
        page = ctx.new_page()
        page.goto("/widget/demo/")
        page.locator(".atelier-chat-launcher").click()
        frame = widget_frame(page, connected=False)
        link = frame.get_by_role("link", name="Sign in")
        expect(link).to_be_visible(timeout=TIMEOUT)
        assert link.get_attribute("target") == "_top"
        assert "next=%2Fwidget%2Fdemo%2F" in link.get_attribute("href")
    finally:
        ctx.close()


def test_widget_is_full_screen_on_a_phone(browser, server, buyer, artisan):
    from playwright.sync_api import expect

    ctx = signed_in_context(browser, buyer, server, viewport={"width": 390, "height": 844})
    try:
        page = ctx.new_page()
        page.goto("/widget/demo/")
        page.locator(".atelier-chat-launcher").click()
        widget_frame(page)
        box = page.locator(".atelier-chat-panel").bounding_box()
        assert box == {"x": 0, "y": 0, "width": 390, "height": 844}
        # the panel's own close button is reachable and closes it
        frame = widget_frame(page, connected=False)
        frame.get_by_role("button", name="Close chat").click()
        # The close travels by postMessage from the iframe: wait for it, don't sample.
        expect(page.locator(".atelier-chat-panel")).to_be_hidden()
    finally:
        ctx.close()


def test_a_photo_is_uploaded_and_shown_as_a_thumbnail_on_both_sides(
    browser, server, buyer, artisan, tmp_path
):
    from PIL import Image
    from playwright.sync_api import expect

    photo = tmp_path / "vase.png"
    Image.new("RGB", (640, 480), (40, 90, 200)).save(photo)
    conversation = start_conversation(buyer=buyer, artisan=artisan, subject="Vase")
    buyer_ctx = signed_in_context(browser, buyer, server)
    artisan_ctx = signed_in_context(browser, artisan, server)
    try:
        inbox = artisan_ctx.new_page()
        inbox.goto(f"/inbox/{conversation.pk}/")
        inbox.wait_for_function(
            "() => window.atelierChat && window.atelierChat.controller.subscribed", timeout=TIMEOUT
        )
        page = buyer_ctx.new_page()
        page.goto(f"/messages/{conversation.pk}/")
        page.wait_for_function(
            "() => window.atelierChat && window.atelierChat.controller.subscribed", timeout=TIMEOUT
        )

        page.locator("[data-chat-file]").set_input_files(str(photo))

        # Sent, or already Read: the artisan's open inbox may read it before we look.
        expect(page.locator(".msg-out .msg-status")).to_contain_text(
            re.compile("Sent|Read"), timeout=TIMEOUT
        )
        thumb = inbox.locator(".msg-in .msg-images img")
        expect(thumb).to_be_visible(timeout=TIMEOUT)
        assert "/private-media/attachments/" in thumb.get_attribute("src")
        message = Message.objects.get()
        assert message.kind == "image" and message.attachments.count() == 1
    finally:
        buyer_ctx.close()
        artisan_ctx.close()


def test_moderator_hides_from_the_console_and_the_buyer_sees_it_removed_live(
    browser, server, buyer, artisan, admin_user
):
    from playwright.sync_api import expect

    from conversations.services import report_message

    conversation = start_conversation(buyer=buyer, artisan=artisan)
    bad = say(conversation, artisan, "Pay me outside Atelier, it is cheaper")
    report_message(message=bad, reporter=buyer, reason="Wants payment outside")
    enrol_totp(admin_user)  # the moderation console needs an admin with 2FA
    buyer_ctx = signed_in_context(browser, buyer, server)
    admin_ctx = signed_in_context(browser, admin_user, server)
    try:
        page = buyer_ctx.new_page()
        page.goto(f"/messages/{conversation.pk}/")
        page.wait_for_function(
            "() => window.atelierChat && window.atelierChat.controller.subscribed", timeout=TIMEOUT
        )
        expect(page.locator(".msg-in .msg-text")).to_have_text(
            "Pay me outside Atelier, it is cheaper"
        )

        console = admin_ctx.new_page()
        console.goto("/moderation/")
        expect(console.get_by_text("Wants payment outside")).to_be_visible()
        console.get_by_role("button", name="Hide message").click()
        expect(console.get_by_text("Message hidden.")).to_be_visible()

        expect(page.locator(".msg-in .msg-removed")).to_have_text(
            "Removed by a moderator", timeout=TIMEOUT
        )
        assert page.locator(".msg-in .msg-text").count() == 0
    finally:
        buyer_ctx.close()
        admin_ctx.close()


def test_translation_events_show_the_translation_with_a_toggle(browser, server, buyer, artisan):
    from django.utils import translation
    from playwright.sync_api import expect

    buyer.preferred_language = "fr"
    buyer.save()
    conversation = start_conversation(buyer=buyer, artisan=artisan)
    message = say(conversation, artisan, "¿Quieres el jarrón en azul?", language="es")
    other = say(conversation, artisan, "Tengo dos tamaños.", language="es")
    ctx = signed_in_context(browser, buyer, server)
    try:
        page = ctx.new_page()
        page.goto(f"/messages/{conversation.pk}/")
        page.wait_for_function(
            "() => window.atelierChat && window.atelierChat.controller.subscribed", timeout=TIMEOUT
        )
        # The frames exactly as docs/protocol.md documents them
        page.evaluate(
            """([conv, id, seq, otherId, otherSeq]) => {
              const c = window.atelierChat.controller;
              c._onFrame({type: 'message.translated', conversation: conv, message: id, seq, language: 'fr',
                          status: 'done', text: 'Voulez-vous le vase en bleu ?', source_language: 'es'});
              c._onFrame({type: 'message.translated', conversation: conv, message: otherId, seq: otherSeq,
                          language: 'fr', status: 'not_configured', text: '', source_language: 'es'});
            }""",
            [conversation.pk, message.pk, message.seq, other.pk, other.seq],
        )
        # The buyer reads the UI in French (her profile language), so the labels are French.
        with translation.override("fr"):
            translated_from = translation.gettext("Translated from {language}").split("{")[0]
            show_original = translation.gettext("Show original")
            not_configured = translation.gettext(
                "Translation is not configured on this site: messages are shown as they were written."
            )
        first = page.locator(f'[data-seq="{message.seq}"]')
        expect(first.locator(".msg-text")).to_have_text("Voulez-vous le vase en bleu ?")
        expect(first.locator(".msg-translation")).to_contain_text(translated_from.strip())
        first.get_by_role("button", name=show_original).click()
        expect(first.locator(".msg-text")).to_have_text("¿Quieres el jarrón en azul?")
        # "Not configured" is a state of the site: said once for the thread, not per message
        second = page.locator(f'[data-seq="{other.seq}"]')
        expect(second.locator(".msg-text")).to_have_text("Tengo dos tamaños.")
        expect(second.locator(".msg-translation")).to_have_count(0)
        expect(page.locator("[data-chat-translation-state]")).to_have_text(not_configured)
        expect(page.get_by_text(not_configured)).to_have_count(1)
    finally:
        ctx.close()
