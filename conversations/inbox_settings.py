"""Inbox settings people keep for themselves: quick replies, private labels, notification
and away preferences. Writes only, keyword-only, each in its own transaction (the reads
the pages need are in ``webchat.selectors``)."""

from __future__ import annotations

from datetime import time

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from conversations.models import (
    Conversation,
    ConversationLabel,
    NotificationSettings,
    Participant,
    QuickReply,
)
from conversations.services import HubError
from core.models import User

MAX_LABELS_PER_CONVERSATION = 10


@transaction.atomic
def save_quick_reply(
    *, owner: User, title: str, text: str, quick_reply: QuickReply | None = None
) -> QuickReply:
    """Create a quick reply, or update ``quick_reply`` (which must belong to ``owner``)."""
    if quick_reply is None:
        quick_reply = QuickReply(owner=owner)
    elif quick_reply.owner_id != owner.pk:
        raise PermissionDenied("This quick reply is not yours.")
    quick_reply.title = title.strip()[:60]
    quick_reply.text = text.strip()[:2000]
    if not quick_reply.title or not quick_reply.text:
        raise HubError(_("A quick reply needs a title and a text."), field="title")
    quick_reply.save()
    return quick_reply


@transaction.atomic
def delete_quick_reply(*, owner: User, quick_reply: QuickReply) -> None:
    if quick_reply.owner_id != owner.pk:
        raise PermissionDenied("This quick reply is not yours.")
    quick_reply.delete()


def _require_participant(conversation: Conversation, user: User) -> None:
    if not Participant.objects.filter(conversation=conversation, user=user).exists():
        raise PermissionDenied("You are not part of this conversation.")


@transaction.atomic
def add_label(*, conversation: Conversation, owner: User, name: str) -> ConversationLabel:
    """Labels are private to their owner; the other person never sees them."""
    _require_participant(conversation, owner)
    name = " ".join(name.split())[:40]
    if not name:
        raise HubError(_("Type a label name."), field="name")
    existing = ConversationLabel.objects.filter(conversation=conversation, owner=owner)
    if not existing.filter(name=name).exists() and existing.count() >= MAX_LABELS_PER_CONVERSATION:
        raise HubError(
            _("A conversation can have at most %(count)d labels.")
            % {"count": MAX_LABELS_PER_CONVERSATION},
            field="name",
        )
    label, _created = ConversationLabel.objects.get_or_create(
        conversation=conversation, owner=owner, name=name
    )
    return label


@transaction.atomic
def remove_label(*, conversation: Conversation, owner: User, name: str) -> None:
    _require_participant(conversation, owner)
    ConversationLabel.objects.filter(conversation=conversation, owner=owner, name=name).delete()


@transaction.atomic
def update_notification_settings(
    *,
    user: User,
    email_enabled: bool,
    telegram_enabled: bool,
    quiet_start: time | None,
    quiet_end: time | None,
    away_enabled: bool | None = None,
    away_message: str | None = None,
    usual_response_hours: int | None = None,
) -> NotificationSettings:
    """Save preferences; the away fields are only changed when given (artisans only)."""
    if (quiet_start is None) != (quiet_end is None):
        raise HubError(
            _("Set both the start and the end of quiet hours, or neither."), field="quiet_end"
        )
    prefs, _created = NotificationSettings.objects.select_for_update(of=("self",)).get_or_create(
        user=user
    )
    prefs.email_enabled = email_enabled
    prefs.telegram_enabled = telegram_enabled
    prefs.quiet_start, prefs.quiet_end = quiet_start, quiet_end
    if away_enabled is not None or away_message is not None or usual_response_hours is not None:
        if not user.is_artisan:
            raise PermissionDenied("Only artisans have an away reply.")
        if away_enabled is not None:
            prefs.away_enabled = away_enabled
        if away_message is not None:
            prefs.away_message = away_message.strip()[:500]
        if usual_response_hours is not None:
            prefs.usual_response_hours = usual_response_hours
        if prefs.away_enabled and not prefs.away_message:
            raise HubError(_("Write the away message buyers will receive."), field="away_message")
    prefs.save()
    return prefs
