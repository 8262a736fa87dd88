"""The bot's side of a handover: the hub gives the conversation to the artisan, and the
bot's per-conversation state remembers when and why (for the idle hand-back)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from conversations.models import Conversation
from conversations.services import hand_over_to_human
from core.models import User
from nlu.models import BotConversationState


@transaction.atomic
def record_handover(*, conversation: Conversation, artisan: User, reason: str) -> None:
    """Hand ``conversation`` to ``artisan`` (hub service) and record it in the bot state,
    both in one transaction: the idle hand-back relies on ``handed_over_at``."""
    hand_over_to_human(conversation=conversation, artisan=artisan, reason_code=reason)
    BotConversationState.objects.update_or_create(
        conversation=conversation,
        defaults={
            "focus_artisan_id": artisan.pk,
            "handed_over_at": timezone.now(),
            "handover_reason": reason,
            "handed_back_at": None,
        },
    )
