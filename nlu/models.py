"""What the shop assistant remembers per conversation. The dialogue (nlu/) owns this state;
the channels (web widget, Telegram) only deliver what it says."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class BotConversationState(models.Model):
    """What the shop bot remembers about one conversation (focus, handover)."""

    conversation = models.OneToOneField(
        "conversations.Conversation", on_delete=models.CASCADE, related_name="bot_state"
    )
    # The artisan/product the buyer last looked at: "talk to the artisan" means this one.
    focus_artisan = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    focus_product_id = models.BigIntegerField(null=True, blank=True)
    # Set when the bot handed the conversation to a human; the idle timeout counts from
    # the last message after it.
    handed_over_at = models.DateTimeField(null=True, blank=True)
    handover_reason = models.CharField(max_length=32, blank=True)
    handed_back_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
