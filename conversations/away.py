"""Artisan away auto-reply: tells a buyer when to expect an answer (once per 12 hours)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from conversations.models import Message, MessageKind, NotificationSettings
from conversations.presence import is_online

AWAY_REPEAT = timedelta(hours=12)


def reply_if_away(message_id: int) -> bool:
    from conversations.services import post_message

    message = Message.objects.select_related("conversation", "author").filter(pk=message_id).first()
    if message is None or message.author_id is None:
        return False
    conversation = message.conversation
    if conversation.artisan_id is None or message.author_id != conversation.buyer_id:
        return False
    prefs = NotificationSettings.objects.filter(user_id=conversation.artisan_id).first()
    if prefs is None or not prefs.away_enabled or is_online(conversation.artisan_id):
        return False
    recent = Message.objects.filter(
        conversation=conversation,
        kind=MessageKind.SYSTEM,
        payload__away=True,
        created_at__gte=timezone.now() - AWAY_REPEAT,
    ).exists()
    if recent:
        return False
    with override(message.author.preferred_language or "en"):
        hours = prefs.usual_response_hours
        note = _("%(name)s is away and usually answers within %(hours)s hours.") % {
            "name": conversation.artisan.name,
            "hours": hours,
        }
    text = f"{prefs.away_message}\n\n{note}".strip() if prefs.away_message else note
    post_message(
        conversation=conversation,
        author=None,
        kind=MessageKind.SYSTEM,
        text=text,
        payload={"away": True, "usual_response_hours": prefs.usual_response_hours},
    )
    return True
