"""Every string the chat JavaScript shows, translated on the server.

Pages embed ``chat_strings()`` with ``json_script``, so the widget and inbox need no extra
request for their catalogue and speak the viewer's language from the first paint.
Placeholders use ``{name}`` and are filled in by the client.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from commerce.card_render import card_strings, card_url_templates


def chat_strings() -> dict[str, Any]:
    """``card`` holds the labels and ``%(name)s`` templates of offer/order cards and
    commerce system lines (``commerce.card_render``), ``card_urls`` their relative links."""
    return {
        "sending": _("Sending…"),
        "sent": _("Sent"),
        "read": _("Read"),
        "failed": _("Not sent"),
        "uploading": _("Uploading photo…"),
        "retry": _("Retry"),
        "discard": _("Remove"),
        "edited": _("edited"),
        "you": _("You"),
        "assistant": _("Atelier assistant"),
        "removed": _("Removed by a moderator"),
        "typing": _("{name} is typing…"),
        "online": _("{name} is online"),
        "offline_usual": _("Usually replies within {hours} hours"),
        "offline_usual_day": _("Usually replies within a day"),
        "offline_usual_hour": _("Usually replies within an hour"),
        "away": _("{name} is away"),
        "connecting": _("Connecting…"),
        "connected": _("Connected"),
        "offline": _("You are offline. Messages will be sent when you reconnect."),
        "reconnecting": _("Connection lost. Reconnecting in {seconds} s…"),
        "reconnect_now": _("Reconnect now"),
        "signed_out": _("Your session ended. Sign in again to keep chatting."),
        "suspended": _("This account is suspended."),
        "translated_from": _("Translated from {language}"),
        "translated": _("Translated"),
        "show_original": _("Show original"),
        "show_translation": _("Show translation"),
        "translating": _("Translating…"),
        "translation_not_configured": _("Translation is not configured on this site."),
        "translation_not_configured_thread": _(
            "Translation is not configured on this site: messages are shown as they were written."
        ),
        "translation_paused": _("Translation paused (monthly budget reached)."),
        "translation_failed": _("Translation failed."),
        "translation_unsupported": _("This language pair cannot be translated."),
        "load_earlier": _("Load earlier messages"),
        "loading": _("Loading…"),
        "no_messages": _("No messages yet. Say hello!"),
        "offer": _("Offer"),
        "order_update": _("Order update"),
        "total": _("Total"),
        "status": _("Status"),
        "open_link": pgettext("button", "Open"),
        "image": _("Image"),
        "open_image": _("Open full-size image"),
        "report": _("Report"),
        "report_message": _("Report this message from {name}"),
        "new_messages": _("New messages"),
        "error_generic": _("Something went wrong. Try again."),
        "rate_limited": _("You are sending too fast. Retrying in {seconds} s."),
        "report_sent": _("Thanks. A moderator will look at this message."),
        "message_from": _("Message from {name}"),
        "card": card_strings(),
        "card_urls": card_url_templates(),
    }
