"""Telegram identities, account linking, update de-duplication and bot dialogue state."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class TelegramAccount(models.Model):
    """A Telegram user known to Atelier: a guest buyer, or linked to a web account."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="telegram_account"
    )
    telegram_user_id = models.BigIntegerField(unique=True)
    # Private chats share the user's id, but Telegram does not promise it: keep both.
    chat_id = models.BigIntegerField()
    username = models.CharField(max_length=64, blank=True)
    first_name = models.CharField(max_length=128, blank=True)
    language_code = models.CharField(max_length=16, blank=True)
    # True while the user is the guest buyer created for this Telegram user.
    is_guest = models.BooleanField(default=True)
    linked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Where the buyer's free text goes: the shop bot or a chat with an artisan.
    active_conversation = models.ForeignKey(
        "conversations.Conversation",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # Set when Telegram answers 403 (the user blocked the bot); cleared on their next update.
    unreachable_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"@{self.username}" if self.username else f"tg:{self.telegram_user_id}"


class LinkCode(models.Model):
    """One-time code shown on the web profile; ``/link <code>`` in Telegram links accounts."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="telegram_link_codes"
    )
    code = models.CharField(max_length=16, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    used_by_telegram_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    @property
    def is_usable(self) -> bool:
        return self.used_at is None and self.expires_at > timezone.now()


class ProcessedUpdate(models.Model):
    """Telegram re-delivers an update until it is acknowledged: handle each id once."""

    update_id = models.BigIntegerField(unique=True)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)


class DeliveryState(models.TextChoices):
    """Where one hub message's push to Telegram stands (``bots.bridge.deliver_message``)."""

    PENDING = "pending", "Pending"  # nobody holds it: the next attempt may claim it
    SENDING = "sending", "Sending"  # claimed under a lease; in a process's outbox
    SENT = "sent", "Sent"
    EMPTY = "empty", "Nothing to send"
    BLOCKED = "blocked", "Blocked by the user"
    CHAT_NOT_FOUND = "chat_not_found", "Chat not found"
    REJECTED = "rejected", "Rejected by Telegram"


class TelegramDelivery(models.Model):
    """A hub message pushed to a Telegram chat: one row per message, claimed atomically
    (``claim_token`` + ``lease_until``) by the one attempt that may send it, so a retry
    never sends what another attempt holds. ``telegram_message_ids`` has one entry per
    part (a long text is split; a card may be a photo and a text); ``None`` marks a part
    not sent yet, which a later attempt sends without repeating the others.
    """

    message = models.OneToOneField(
        "conversations.Message", on_delete=models.CASCADE, related_name="telegram_delivery"
    )
    account = models.ForeignKey(
        TelegramAccount, on_delete=models.CASCADE, related_name="deliveries"
    )
    status = models.CharField(
        max_length=16, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    telegram_message_ids = models.JSONField(default=list, blank=True)
    reason = models.CharField(max_length=255, blank=True)
    claim_token = models.CharField(max_length=32, blank=True)
    # A claim is the holder's until then; the holder renews it while Telegram keeps it
    # waiting, so only an attempt whose process died is ever taken over.
    lease_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    # The language of the text the buyer sees: the original's until the hub's translation
    # into the buyer's language arrives and is edited in (``bridge.show_translation``).
    shown_language = models.CharField(max_length=16, blank=True)
