"""Conversations between a buyer and an artisan (or the shop bot), and everything said in them."""

from __future__ import annotations

import hashlib
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.crypto import EncryptedTextField


class Channel(models.TextChoices):
    WEB = "web", _("Web")
    WIDGET = "widget", _("Web chat widget")
    TELEGRAM = "telegram", _("Telegram")


class ConversationStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ARCHIVED = "archived", _("Archived")
    CLOSED = "closed", _("Closed")


class Conversation(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="buyer_conversations"
    )
    # Null while the buyer talks to the shop bot and no artisan is involved yet.
    artisan = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="artisan_conversations",
    )
    subject = models.CharField(max_length=200, blank=True)
    # Optional commerce context (product or custom order), as opaque references so the hub
    # does not depend on commerce; commerce resolves them.
    context_type = models.CharField(max_length=32, blank=True)
    context_id = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=ConversationStatus.choices, default=ConversationStatus.OPEN
    )
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.WEB)
    # The bot answers until a human artisan takes over (handover).
    bot_active = models.BooleanField(default=True)
    last_seq = models.BigIntegerField(default=0)
    # Counts changes to messages already sent (an edit, a card's new state, a moderator's
    # hide, a translation arriving); a reconnecting client replays those after the last it
    # was caught up to (``after_update_seq``), as it replays new messages after ``last_seq``.
    last_update_seq = models.BigIntegerField(default=0, db_default=0)
    last_message_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    # Set by the first message from a person or a card: until then the thread is not
    # listed in the artisan's inbox (opening "Ask the artisan" alone is not a message).
    surfaced_at = models.DateTimeField(null=True, blank=True)
    content_purged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_message_at", "-id"]
        indexes = [
            models.Index(fields=["artisan", "status", "-last_message_at"]),
            models.Index(fields=["buyer", "status", "-last_message_at"]),
            models.Index(fields=["context_type", "context_id"]),
        ]
        constraints = [
            # One open thread per buyer–artisan pair (conversation_between relies on it).
            models.UniqueConstraint(
                fields=["buyer", "artisan"],
                condition=Q(status="open", artisan__isnull=False),
                name="uniq_open_conversation_per_pair",
            )
        ]

    def __str__(self) -> str:
        return self.subject or f"Conversation {self.pk}"

    @property
    def group_name(self) -> str:
        return f"conv.{self.pk}"


class ParticipantRole(models.TextChoices):
    BUYER = "buyer", _("Buyer")
    ARTISAN = "artisan", _("Artisan")
    MODERATOR = "moderator", _("Moderator")


class Participant(models.Model):
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="participants"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="participations"
    )
    role = models.CharField(max_length=16, choices=ParticipantRole.choices)
    last_read_seq = models.BigIntegerField(default=0)
    # Highest seq a notification (email/Telegram) already covered: one per burst.
    last_notified_seq = models.BigIntegerField(default=0)
    muted = models.BooleanField(default=False)
    joined_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation", "user"], name="uniq_participant")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.conversation_id}"


class MessageKind(models.TextChoices):
    TEXT = "text", _("Text")
    IMAGE = "image", _("Image")
    SYSTEM = "system", _("System")
    OFFER = "offer", _("Offer card")
    ORDER_UPDATE = "order_update", _("Order update")
    BOT = "bot", _("Bot")


class Message(models.Model):
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    seq = models.BigIntegerField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="messages",
    )
    kind = models.CharField(max_length=16, choices=MessageKind.choices, default=MessageKind.TEXT)
    # Encrypted at rest (core/crypto.py); found by the blind index below, not by SQL LIKE.
    text = EncryptedTextField(blank=True)
    language = models.CharField(max_length=8, blank=True)
    # Client-generated id: a retry with the same id returns the same message.
    client_id = models.CharField(max_length=64, null=True, blank=True)
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.WEB)
    # Structured content of cards (offer, order update, bot buttons).
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    hidden_at = models.DateTimeField(null=True, blank=True)
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    flagged = models.BooleanField(default=False, db_index=True)
    flag_reasons = models.JSONField(default=list, blank=True)
    # The conversation's ``last_update_seq`` at this message's latest change (0: unchanged).
    update_seq = models.BigIntegerField(default=0, db_default=0)  # raw inserts: send_path

    class Meta:
        ordering = ["conversation_id", "seq"]
        indexes = [
            models.Index(
                fields=["conversation", "update_seq"],
                condition=Q(update_seq__gt=0),
                name="message_changed_idx",
            )
        ]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "seq"], name="uniq_message_seq"),
            models.UniqueConstraint(
                fields=["author", "client_id"],
                condition=Q(client_id__isnull=False),
                name="uniq_message_client_id",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} in {self.conversation_id}"

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None


class MessageRevision(models.Model):
    """A previous text of an edited message (every version is kept)."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="revisions")
    text = EncryptedTextField()
    replaced_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["replaced_at", "id"]


class MessageSearchTerm(models.Model):
    """The inbox's blind index: one row per distinct normalised word (and short prefix) of a
    message, stored as a keyed HMAC digest (conversations/search.py), so the encrypted text
    stays searchable without the database ever holding its words."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="search_terms")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="+")
    digest = models.CharField(max_length=32)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message", "digest"], name="uniq_message_term")
        ]
        indexes = [models.Index(fields=["digest", "conversation"], name="search_term_digest")]


def attachment_path(instance: Attachment, filename: str) -> str:
    return f"attachments/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.{instance.extension}"


def thumbnail_path(instance: Attachment, filename: str) -> str:
    return f"attachments/{timezone.now():%Y/%m}/thumb-{uuid.uuid4().hex}.jpg"


class Attachment(models.Model):
    """An image uploaded into a conversation: type sniffed, EXIF stripped, thumbnailed."""

    uploader = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="attachments"
    )
    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, null=True, blank=True, related_name="attachments"
    )
    file = models.ImageField(upload_to=attachment_path)
    thumbnail = models.ImageField(upload_to=thumbnail_path, blank=True)
    content_type = models.CharField(max_length=32)
    extension = models.CharField(max_length=8)
    size = models.PositiveIntegerField()
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)


class TranslationStatus(models.TextChoices):
    PENDING = "pending", _("Translating…")
    DONE = "done", _("Translated")
    SAME_LANGUAGE = "same_language", _("Same language")
    NOT_CONFIGURED = "not_configured", _("Translation not configured")
    PAUSED = "paused", _("Translation paused (monthly budget reached)")
    FAILED = "failed", _("Translation failed")
    UNSUPPORTED = "unsupported", _("Language pair not supported")


class MessageTranslation(models.Model):
    """A message rendered in one target language; computed once, never recomputed."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="translations")
    target_language = models.CharField(max_length=8)
    text = EncryptedTextField(blank=True)
    status = models.CharField(
        max_length=16, choices=TranslationStatus.choices, default=TranslationStatus.PENDING
    )
    error = models.CharField(max_length=255, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    provider = models.CharField(max_length=16, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["message", "target_language"], name="uniq_message_translation"
            )
        ]


class TranslationCacheEntry(models.Model):
    """Identical texts share one translation per language pair."""

    source_hash = models.CharField(max_length=64)
    source_language = models.CharField(max_length=8, blank=True)
    target_language = models.CharField(max_length=8)
    text = EncryptedTextField()
    detected_source_language = models.CharField(max_length=8, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source_hash", "source_language", "target_language"],
                name="uniq_translation_cache",
            )
        ]


class TranslationUsage(models.Model):
    """Characters sent to the translation provider per calendar month (budget)."""

    month = models.DateField(unique=True)
    characters = models.BigIntegerField(default=0)
    # Set when the provider answered 456 (its quota is used up): nothing more is sent
    # this month; the next month's row starts clear, so translation resumes by itself.
    quota_exhausted_at = models.DateTimeField(null=True, blank=True)


class Report(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ACTIONED = "actioned", _("Action taken")
        DISMISSED = "dismissed", _("Dismissed")

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="reports")
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    reason = models.CharField(max_length=500)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["message", "reporter"], name="uniq_report_per_person")
        ]


class ModerationAction(models.Model):
    """Audit trail of every moderator action, shown beside the conversation."""

    class Kind(models.TextChoices):
        HIDE = "hide", _("Hid message")
        UNHIDE = "unhide", _("Restored message")
        DISMISS = "dismiss", _("Dismissed report")
        SUSPEND = "suspend", _("Suspended user")
        UNSUSPEND = "unsuspend", _("Lifted suspension")
        VIEW = "view", _("Opened conversation")

    moderator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    target_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]


class FlagWord(models.Model):
    """Configurable word/phrase list for automatic flagging (in addition to built-in rules)."""

    phrase = models.CharField(max_length=100, unique=True)
    reason = models.CharField(max_length=100, default="word list")
    active = models.BooleanField(default=True)

    def __str__(self) -> str:
        return self.phrase


class Block(models.Model):
    """``blocker`` no longer receives messages from ``blocked``, on any channel."""

    blocker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blocks_made"
    )
    blocked = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blocks_received"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["blocker", "blocked"], name="uniq_block")]


class QuickReply(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="quick_replies"
    )
    title = models.CharField(max_length=60)
    text = models.TextField(max_length=2000)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class ConversationLabel(models.Model):
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="labels")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=40)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation", "owner", "name"], name="uniq_label")
        ]


class NotificationSettings(models.Model):
    """Per-person notification preferences, away auto-reply and quiet hours."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_settings"
    )
    email_enabled = models.BooleanField(default=True)
    telegram_enabled = models.BooleanField(default=True)
    # Quiet hours in the person's own time zone; None disables.
    quiet_start = models.TimeField(null=True, blank=True)
    quiet_end = models.TimeField(null=True, blank=True)
    # Artisans: away auto-reply and usual response time shown to buyers.
    away_enabled = models.BooleanField(default=False)
    away_message = models.CharField(max_length=500, blank=True)
    usual_response_hours = models.PositiveSmallIntegerField(default=24)


# --- Translation preferences, glossaries and translated content (issue 7) -------------------

from django.contrib.contenttypes.fields import GenericForeignKey  # noqa: E402


class Formality(models.TextChoices):
    """How formally a reader wants to be addressed in machine translations."""

    DEFAULT = "default", _("No preference")
    MORE = "more", _("Formal (vous, Sie, usted)")
    LESS = "less", _("Informal (tu, du, tú)")


class TranslationPreference(models.Model):
    """A reader's wishes for machine translation (core.User stays language-only)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="translation_preference"
    )
    formality = models.CharField(
        _("formality"), max_length=8, choices=Formality.choices, default=Formality.DEFAULT
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("translation preference")
        verbose_name_plural = _("translation preferences")

    def __str__(self) -> str:
        return f"{self.user}: {self.formality}"


class GlossaryTerm(models.Model):
    """Craft vocabulary DeepL must render one way for a language pair ("raku" stays "raku")."""

    source_language = models.CharField(_("source language"), max_length=8)
    target_language = models.CharField(_("target language"), max_length=8)
    source = models.CharField(_("term"), max_length=200)
    target = models.CharField(_("translation"), max_length=200)
    active = models.BooleanField(_("active"), default=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["source_language", "target_language", "source"]
        verbose_name = _("glossary term")
        verbose_name_plural = _("glossary terms")
        constraints = [
            # DeepL rejects a glossary with the same source term twice.
            models.UniqueConstraint(
                fields=["source_language", "target_language", "source"],
                name="uniq_glossary_term_per_pair",
            )
        ]

    def __str__(self) -> str:
        return f"{self.source_language}→{self.target_language}: {self.source} → {self.target}"


class GlossarySync(models.Model):
    """The DeepL glossary currently holding the active terms of one language pair."""

    source_language = models.CharField(max_length=8)
    target_language = models.CharField(max_length=8)
    # Empty when the pair has no active terms (translations then use no glossary).
    glossary_id = models.CharField(max_length=64, blank=True)
    # sha256 of the entries DeepL holds: unchanged terms are not uploaded again, and the
    # message cache key uses it so a changed glossary gives new translations.
    entries_hash = models.CharField(max_length=64, blank=True)
    entry_count = models.PositiveIntegerField(default=0)
    synced_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["source_language", "target_language"]
        verbose_name = _("glossary sync")
        verbose_name_plural = _("glossary syncs")
        constraints = [
            models.UniqueConstraint(
                fields=["source_language", "target_language"], name="uniq_glossary_sync_pair"
            )
        ]

    def __str__(self) -> str:
        return f"{self.source_language}→{self.target_language}: {self.glossary_id or '—'}"


class ContentTranslation(models.Model):
    """One field of one object (a product title, a shop story) in one language.

    Machine translations are recomputed only when the source text's hash changes; an
    artisan's manual override is never overwritten by the machine.
    """

    content_type = models.ForeignKey("contenttypes.ContentType", on_delete=models.CASCADE)
    object_id = models.PositiveBigIntegerField()
    content_object = GenericForeignKey("content_type", "object_id")
    field = models.CharField(max_length=64)
    language = models.CharField(max_length=8)
    source_language = models.CharField(max_length=8, blank=True)
    text = models.TextField(blank=True)
    status = models.CharField(
        max_length=16, choices=TranslationStatus.choices, default=TranslationStatus.PENDING
    )
    # sha256 of the source text this row was computed from (or overrode).
    source_hash = models.CharField(max_length=64)
    is_manual_override = models.BooleanField(default=False)
    error = models.CharField(max_length=255, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Durable retry state of a pending row (commerce.translation's sweeper): when it is due
    # to be published again (past the grace after the save, a lease, or a backoff). Null
    # once settled, failed for good ("dead") or paused.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("content translation")
        verbose_name_plural = _("content translations")
        constraints = [
            models.UniqueConstraint(
                fields=["content_type", "object_id", "field", "language"],
                name="uniq_content_translation",
            )
        ]
        indexes = [
            models.Index(fields=["content_type", "object_id"]),
            models.Index(fields=["status", "next_attempt_at"], name="content_translation_due"),
        ]

    def __str__(self) -> str:
        return f"{self.content_type_id}:{self.object_id}.{self.field} [{self.language}]"

    @staticmethod
    def hash_source(text: str) -> str:
        """The fingerprint of a source text a translation was made from."""
        return hashlib.sha256(text.strip().encode("utf-8")).hexdigest()


class FollowUpStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    ENQUEUED = "enqueued", _("Enqueued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    DEAD = "dead", _("Dead")


class FollowUpEntry(models.Model):
    """The transactional outbox: one follow-up of one message (translation, bot reply, …).

    Written in the message's own transaction, so a committed message always has its
    follow-ups on record; the relay publishes them on commit and the sweeper
    (``conversations.tasks.sweep_follow_ups``) re-publishes whatever is still not done once
    its ``next_attempt_at`` has passed. One row per follow-up (not per message) so each one
    has its own attempts, backoff and dead-letter state.
    """

    name = models.CharField(max_length=64)
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="follow_ups")
    status = models.CharField(
        max_length=16, choices=FollowUpStatus.choices, default=FollowUpStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    # When the sweeper may (re-)publish the entry: the grace period after commit, the lease
    # of a published/running attempt, or the backoff after a failure.
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error_code = models.CharField(max_length=64, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        constraints = [
            models.UniqueConstraint(fields=["message", "name"], name="one_follow_up_per_message")
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="follow_up_due")]

    def __str__(self) -> str:
        return f"{self.name} #{self.message_id} ({self.status})"
