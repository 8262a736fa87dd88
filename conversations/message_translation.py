"""Inline translation of messages: delivered first in the original, translated afterwards.

After a message commits, ``plan_translations`` records one ``MessageTranslation`` per
reader language that differs from the message's language, and the Celery task
``translate_message`` fills them in. A translation is stored per (message, target
language) and never recomputed; identical texts share ``TranslationCacheEntry`` rows.
The provider is never called on the socket path. Without a DeepL key the rows say
"not configured" and readers see the original with that note (no fake translations).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from conversations import translating
from conversations.changes import mark_changed
from conversations.events import broadcast_on_commit, conversation_group
from conversations.glossary import message_translation_options
from conversations.models import (
    ContentTranslation,
    Message,
    MessageKind,
    MessageTranslation,
    Participant,
    TranslationStatus,
)
from conversations.translation.config import normalise_language_code
from conversations.translation.provider import get_translator

logger = logging.getLogger(__name__)

TRANSLATABLE_KINDS = {
    MessageKind.TEXT,
    MessageKind.BOT,
    MessageKind.OFFER,
    MessageKind.ORDER_UPDATE,
}


def _norm(code: str) -> str:
    try:
        return normalise_language_code(code or "")
    except ValueError:
        return ""


def _reader_languages(message: Message) -> set[str]:
    languages = set()
    for participant in Participant.objects.filter(
        conversation_id=message.conversation_id
    ).select_related("user"):
        if message.author_id and participant.user_id == message.author_id:
            continue
        code = _norm(participant.user.preferred_language)
        if code:
            languages.add(code)
    return languages


def all_read_in(source: str, reader_languages: list[str]) -> bool:
    """True when every reader's language is the message's own (no translation to plan)."""
    code = _norm(source)
    return bool(code) and all(_norm(language) in ("", code) for language in reader_languages)


def translatable_text(message: Message) -> str:
    """Free text a reader needs translated (cards: their note; structured fields are UI)."""
    if message.kind in (MessageKind.OFFER, MessageKind.ORDER_UPDATE):
        return str(message.payload.get("note") or message.text or "")
    return message.text


@transaction.atomic
def plan_translations(message: Message) -> list[MessageTranslation]:
    """Create the pending rows for every reader language; return the ones to compute."""
    text = translatable_text(message)
    if message.kind not in TRANSLATABLE_KINDS or not text or message.is_hidden:
        return []
    configured = get_translator().is_configured
    source = _norm(message.language)
    pending: list[MessageTranslation] = []
    for target in sorted(_reader_languages(message)):
        if source and source == target:
            status = TranslationStatus.SAME_LANGUAGE
        elif not configured:
            status = TranslationStatus.NOT_CONFIGURED
        else:
            status = TranslationStatus.PENDING
        row, created = MessageTranslation.objects.get_or_create(
            message=message, target_language=target, defaults={"status": status}
        )
        if not created:
            continue
        if status == TranslationStatus.PENDING:
            pending.append(row)
        elif status == TranslationStatus.NOT_CONFIGURED:
            _announce(row)
    return pending


def _announce(row: MessageTranslation) -> None:
    message = row.message
    broadcast_on_commit(
        conversation_group(message.conversation_id),
        "message.translated",
        {
            "conversation": message.conversation_id,
            "message": message.pk,
            "seq": message.seq,
            "language": row.target_language,
            "status": row.status,
            "text": row.text if row.status == TranslationStatus.DONE else "",
            "source_language": message.language,
        },
    )


@dataclass(frozen=True)
class TranslateOutcome:
    done: int
    retry_later: bool
    retry_in: float | None = None


def translate_pending(message_id: int) -> TranslateOutcome:
    """Fill every pending translation of a message. Retryable failures leave rows pending."""
    message = Message.objects.filter(pk=message_id).first()
    if message is None:
        return TranslateOutcome(0, False)
    text = translatable_text(message)
    rows = list(message.translations.filter(status=TranslationStatus.PENDING))
    translator = get_translator()
    done, retry = 0, False
    retry_in: float | None = None
    source = _norm(message.language)
    for row in rows:
        # Glossary of the pair and the readers' formality (issue 7); part of the cache key.
        options = message_translation_options(message=message, target_language=row.target_language)
        attempt = translating.translate_once(
            translator,
            text=text,
            options=options,
            source=source,
            owner=f"message-translation:{row.pk}",
        )
        # Only calls to the provider count; waiting on another reader's request for the
        # same text does not use up this row's attempts.
        if attempt.called:
            row.attempts += 1
        if attempt.status == translating.RETRY:
            if row.attempts < settings.TRANSLATION_MAX_ATTEMPTS:
                row.error = attempt.error
                row.save(update_fields=["attempts", "error"])
                retry = True
                if attempt.retry_in is not None:
                    retry_in = max(retry_in or 0.0, attempt.retry_in)
            else:
                _finish(row, TranslationStatus.FAILED, error=attempt.error or "Translation failed.")
            continue
        _finish(
            row, attempt.status, text=attempt.text, error=attempt.error, provider=attempt.provider
        )
        if attempt.status == TranslationStatus.DONE:
            done += 1
    return TranslateOutcome(done, retry, retry_in)


_listeners: list[Callable[[int, str], None]] = []


def register_translation_listener(listener: Callable[[int, str], None]) -> None:
    """``listener(message_id, language)`` runs after a translation of a message commits as
    done (e.g. the bot layer edits it into a Telegram message already delivered)."""
    if listener not in _listeners:
        _listeners.append(listener)


def _tell_listeners(message_id: int, language: str) -> None:
    for listener in list(_listeners):
        try:
            listener(message_id, language)
        except Exception:
            logger.exception("translation listener %r failed for message %s", listener, message_id)


@transaction.atomic
def _finish(
    row: MessageTranslation, status: str, *, text: str = "", error: str = "", provider: str = ""
) -> None:
    row.status, row.text, row.error, row.provider = status, text, error, provider
    row.save(update_fields=["status", "text", "error", "provider", "attempts", "updated_at"])
    mark_changed(row.message)  # a reader who is away gets it on their next subscribe
    _announce(row)
    if status == TranslationStatus.DONE and _listeners:
        message_id, language = row.message_id, row.target_language
        transaction.on_commit(lambda: _tell_listeners(message_id, language))


def resume_paused_translations(*, limit: int = 500) -> int:
    """Beat: once the budget allows again (a new month, a raised budget), put paused message
    translations back to pending and requeue their messages' translation follow-up.
    Returns how many messages were requeued."""
    from conversations.outbox import requeue_follow_up

    if not translating.budget_allows(1):
        return 0
    message_ids = list(
        MessageTranslation.objects.filter(status=TranslationStatus.PAUSED)
        .order_by("message_id")
        .values_list("message_id", flat=True)
        .distinct()[:limit]
    )
    requeued = 0
    for message in Message.objects.filter(pk__in=message_ids):
        with transaction.atomic():
            MessageTranslation.objects.filter(
                message=message, status=TranslationStatus.PAUSED
            ).update(status=TranslationStatus.PENDING, error="", updated_at=timezone.now())
            if requeue_follow_up(message=message, name="translation") is not None:
                requeued += 1
    return requeued


RETRYABLE_CONTENT_STATUSES = (TranslationStatus.FAILED, TranslationStatus.PAUSED)


@transaction.atomic
def retry_content_translations(*, row_ids) -> int:
    """Put failed ("dead") or paused listing translations back to pending, due now, with a
    fresh attempt count; the listing sweeper (``commerce.sweep_listing_translations``)
    publishes them on its next run. Other rows and overrides are left alone. Returns how
    many rows were queued again."""
    return ContentTranslation.objects.filter(
        pk__in=list(row_ids),
        status__in=RETRYABLE_CONTENT_STATUSES,
        is_manual_override=False,
    ).update(
        status=TranslationStatus.PENDING,
        attempts=0,
        error="",
        next_attempt_at=timezone.now(),
        updated_at=timezone.now(),
    )
