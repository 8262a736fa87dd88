"""Conversation hub services. ``post_message`` is the only way a message enters the system.

Every channel (web socket, JSON API, web widget, Telegram bridge, bot replies, commerce
cards) calls ``post_message``. It validates, stores in one transaction, assigns the
per-conversation ``seq`` under a row lock, and after commit fans the message out and
enqueues follow-up work (translation, bot reply, notifications, Telegram delivery).
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from conversations import moderation, outbox, search, send_path
from conversations.changes import mark_changed
from conversations.events import broadcast_on_commit, conversation_group, user_group
from conversations.models import (
    Attachment,
    Block,
    Channel,
    Conversation,
    ConversationStatus,
    FlagWord,
    Message,
    MessageKind,
    MessageRevision,
    ModerationAction,
    Participant,
    ParticipantRole,
    Report,
)
from conversations.ratelimit import RateLimited, consume_token, refund_token
from conversations.serializers import serialize_message
from conversations.translation.detect import detect_language
from core.audit import record_audit_event
from core.models import AuditEvent, User
from core.signals import revoke_sessions_on_commit

logger = logging.getLogger(__name__)

USER_KINDS = {MessageKind.TEXT, MessageKind.IMAGE}
SURFACING_CARD_KINDS = {MessageKind.OFFER, MessageKind.ORDER_UPDATE}


class HubError(Exception):
    """A rejected hub operation, with a stable code and a human message."""

    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.field = field


class NotAParticipant(HubError):
    code = "forbidden"


class Blocked(HubError):
    code = "blocked"


class SendRateLimited(HubError):
    """A person sent more new messages than ``MESSAGE_SEND_RATE`` allows (every channel)."""

    code = "rate_limited"

    def __init__(self, retry_after: float) -> None:
        seconds = max(1, math.ceil(retry_after))
        super().__init__(
            ngettext(
                "You are sending messages too fast. Try again in %(seconds)d second.",
                "You are sending messages too fast. Try again in %(seconds)d seconds.",
                seconds,
            )
            % {"seconds": seconds}
        )
        self.retry_after = retry_after


@dataclass(frozen=True)
class PostResult:
    message: Message
    created: bool  # False when a retry with the same client_id returned the stored message


def register_follow_up(
    name: str,
    *,
    applies: Callable[[Message], bool],
    run: Callable[..., object],
    transactional: bool = False,
    prepare: Callable[[int], object] | None = None,
    slow: bool = False,
    on_change: bool = False,
) -> None:
    """Apps add work to run after a message is committed (e.g. bot reply, Telegram), or,
    with ``on_change``, after a sent message changed (e.g. edit Telegram's copy).

    ``applies(message)`` is a cheap check run inside the message's transaction; when it is
    true an outbox entry is stored with the message and ``run(message_id)`` executes on a
    Celery worker, at least once (so it must be idempotent; see ``conversations.outbox``).
    """
    outbox.register(
        name,
        applies=applies,
        run=run,
        transactional=transactional,
        prepare=prepare,
        slow=slow,
        on_change=on_change,
    )


def register_write_fact(name: str, expression: Callable[[Callable[[str], str]], str]) -> None:
    """Apps have the message write return one boolean their follow-up check needs
    (``message.write_facts[name]``), computed in the same statement instead of a query of
    its own per message. ``expression(column)`` is a SQL boolean over the conversation row
    (``column("buyer")``); see ``conversations.send_path.register_fact``. Facts are absent
    (the check must query) when the message was written by the ORM path (SQLite).
    """
    send_path.register_fact(name, expression)


def register_translation_listener(listener: Callable[[int, str], None]) -> None:
    """Apps hear of each message translation that is done, after it commits."""
    from conversations.message_translation import register_translation_listener as register

    register(listener)


# --- Access rules ------------------------------------------------------------------------


def participant_for(*, conversation: Conversation, user: User) -> Participant | None:
    return Participant.objects.filter(conversation=conversation, user=user).first()


def _participant_ids(conversation: Conversation) -> list[int]:
    return list(
        Participant.objects.filter(conversation=conversation).values_list("user_id", flat=True)
    )


_FLAG_WORDS_TTL = 60.0
_flag_words_cache: tuple[float, list[tuple[str, str]]] = (0.0, [])


def _flag_phrases() -> list[tuple[str, str]]:
    """The admin word list, re-read at most once a minute per process (hot path)."""
    global _flag_words_cache
    loaded_at, phrases = _flag_words_cache
    now = time.monotonic()
    if now - loaded_at > _FLAG_WORDS_TTL:
        phrases = list(FlagWord.objects.filter(active=True).values_list("phrase", "reason"))
        _flag_words_cache = (now, phrases)
    return phrases


def flag_words_changed(**_signal_kwargs: object) -> None:
    """Called when moderators edit the list, so this process sees it at once."""
    global _flag_words_cache
    _flag_words_cache = (0.0, [])


def _detect_language(text: str) -> str:
    detected = detect_language(text)
    return detected.code if detected else ""


# --- Conversations ------------------------------------------------------------------------


def _check_can_start(*, buyer: User, artisan: User | None) -> None:
    if buyer.is_suspended:
        raise HubError(_("This account is suspended."), code="suspended")
    if artisan is not None:
        if not artisan.is_artisan:
            raise HubError(_("You can only start a conversation with an artisan."), field="artisan")
        if artisan.pk == buyer.pk:
            raise HubError(_("You cannot message yourself."), field="artisan")
        if Block.objects.filter(blocker=artisan, blocked=buyer).exists():
            raise Blocked(_("This artisan is not accepting messages from you."))


def _create_conversation(
    *,
    buyer: User,
    artisan: User | None,
    subject: str,
    channel: str,
    context_type: str = "",
    context_id: int | None = None,
) -> Conversation:
    conversation = Conversation.objects.create(
        buyer=buyer,
        artisan=artisan,
        subject=subject[:200],
        channel=channel,
        context_type=context_type,
        context_id=context_id,
        bot_active=artisan is None,
    )
    Participant.objects.create(conversation=conversation, user=buyer, role=ParticipantRole.BUYER)
    if artisan is not None:
        Participant.objects.create(
            conversation=conversation, user=artisan, role=ParticipantRole.ARTISAN
        )
    return conversation


def conversation_between(
    *, buyer: User, artisan: User, subject: str = "", channel: str = Channel.WEB
) -> Conversation:
    """The one open thread of a buyer–artisan pair, created on first contact (Etsy-style).

    Asking about a piece, requesting something custom, buying and the chat widget all land
    here, whatever the channel. An archived thread is reopened rather than duplicated; a
    closed one stays closed and a fresh thread starts. Race-safe: a partial unique
    constraint allows one open thread per pair, and the loser of a concurrent first contact
    reads the winner's row. The thread shows in the artisan's inbox only once it has a
    message from a person or a card (``Conversation.surfaced_at``).
    """
    _check_can_start(buyer=buyer, artisan=artisan)
    for _attempt in range(3):
        with transaction.atomic():
            pair = Conversation.objects.select_for_update().filter(buyer=buyer, artisan=artisan)
            existing = pair.filter(status=ConversationStatus.OPEN).first()
            if existing is not None:
                return existing
            archived = (
                pair.filter(status=ConversationStatus.ARCHIVED)
                .order_by(F("last_message_at").desc(nulls_last=True), "-pk")
                .first()
            )
            if archived is not None:
                archived.status = ConversationStatus.OPEN
                archived.save(update_fields=["status"])
                return archived
        try:
            with transaction.atomic():  # a savepoint: the outer transaction survives a loss
                return _create_conversation(
                    buyer=buyer, artisan=artisan, subject=subject, channel=channel
                )
        except IntegrityError:
            continue  # a concurrent first contact created the thread: read it back
    raise HubError(_("Could not open the conversation. Please try again."), code="conflict")


@transaction.atomic
def start_conversation(
    *,
    buyer: User,
    artisan: User | None,
    subject: str = "",
    channel: str = Channel.WEB,
    context_type: str = "",
    context_id: int | None = None,
) -> Conversation:
    """Open (or continue) a conversation.

    With an artisan this is the pair's one thread (``conversation_between``; the context is
    posted as a card by whoever knows it). Without one (the shop bot), the buyer's open
    bot conversation about that context continues.
    """
    if artisan is not None:
        return conversation_between(buyer=buyer, artisan=artisan, subject=subject, channel=channel)
    _check_can_start(buyer=buyer, artisan=None)
    existing = Conversation.objects.filter(
        buyer=buyer,
        artisan=None,
        status=ConversationStatus.OPEN,
        context_type=context_type,
        context_id=context_id,
    ).first()
    if existing:
        return existing
    return _create_conversation(
        buyer=buyer,
        artisan=None,
        subject=subject,
        channel=channel,
        context_type=context_type,
        context_id=context_id,
    )


@transaction.atomic
def assign_artisan(*, conversation: Conversation, artisan: User) -> Conversation:
    """Hand a bot conversation to a human artisan (the bot stops answering)."""
    if not artisan.is_artisan:
        raise HubError(_("Only an artisan can take over a conversation."))
    conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
    if conversation.artisan_id not in (None, artisan.pk):
        raise HubError(_("This conversation already has an artisan."))
    if conversation.artisan_id is None and conversation.status == ConversationStatus.OPEN:
        # One open thread per pair: the handed-over conversation becomes the pair's thread
        # and an older open one steps aside (archived, still readable, reopened never twice).
        Conversation.objects.filter(
            buyer_id=conversation.buyer_id, artisan=artisan, status=ConversationStatus.OPEN
        ).exclude(pk=conversation.pk).update(status=ConversationStatus.ARCHIVED)
    conversation.artisan = artisan
    conversation.bot_active = False
    conversation.save(update_fields=["artisan", "bot_active"])
    Participant.objects.get_or_create(
        conversation=conversation, user=artisan, defaults={"role": ParticipantRole.ARTISAN}
    )
    return conversation


HANDOVER_REASON_MAX_LENGTH = 32


@transaction.atomic
def hand_over_to_human(
    *, conversation: Conversation, artisan: User, reason_code: str
) -> Conversation:
    """Give a conversation the shop bot is answering to ``artisan``; the bot falls silent.

    A conversation without an artisan is assigned to ``artisan`` (who joins it); one that is
    already ``artisan``'s just has its bot switched off. Any other artisan's conversation is
    refused (``HubError``). ``reason_code`` is a short code (``custom_request``,
    ``talk_to_artisan``), never prose (a bad one is a programming error: ``ValueError``).
    ``conversation`` is updated in place. On commit, every
    participant's inbox gets ``conversation.updated`` with ``handed_over``.
    """
    reason_code = reason_code.strip()
    if not reason_code or len(reason_code) > HANDOVER_REASON_MAX_LENGTH:
        raise ValueError(f"reason_code must be a short code, got {reason_code!r}")
    if conversation.artisan_id is None:
        assigned = assign_artisan(conversation=conversation, artisan=artisan)
    else:
        if conversation.artisan_id != artisan.pk:
            raise HubError(_("This conversation already has an artisan."))
        assigned = Conversation.objects.select_for_update().get(pk=conversation.pk)
        assigned.bot_active = False
        assigned.save(update_fields=["bot_active"])
    conversation.artisan = assigned.artisan
    conversation.bot_active = False
    payload = {
        "conversation": assigned.pk,
        "last_seq": assigned.last_seq,
        "handed_over": {"artisan": artisan.pk, "reason": reason_code},
    }
    for participant_id in _participant_ids(assigned):
        broadcast_on_commit(user_group(participant_id), "conversation.updated", payload)
    return conversation


@transaction.atomic
def set_bot_active(*, conversation: Conversation, active: bool) -> None:
    Conversation.objects.filter(pk=conversation.pk).update(bot_active=active)
    conversation.bot_active = active


@transaction.atomic
def set_conversation_status(*, conversation: Conversation, user: User, status: str) -> Conversation:
    if status not in ConversationStatus.values:
        raise HubError(_("Unknown status."), field="status")
    if participant_for(conversation=conversation, user=user) is None:
        raise NotAParticipant(_("You are not part of this conversation."))
    if (
        status == ConversationStatus.OPEN
        and conversation.artisan_id is not None
        and Conversation.objects.filter(
            buyer_id=conversation.buyer_id,
            artisan_id=conversation.artisan_id,
            status=ConversationStatus.OPEN,
        )
        .exclude(pk=conversation.pk)
        .exists()
    ):
        raise HubError(
            _("You already have an open conversation with this person; continue there."),
            code="conflict",
            field="status",
        )
    conversation.status = status
    conversation.closed_at = timezone.now() if status == ConversationStatus.CLOSED else None
    conversation.save(update_fields=["status", "closed_at"])
    return conversation


# --- Messages -------------------------------------------------------------------------------


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _validate_text(text: str, kind: str, has_attachments: bool) -> str:
    if not isinstance(text, str):
        raise HubError(_("Message text must be a string."), field="text")
    # NUL cannot be stored by PostgreSQL, and a lone surrogate (e.g. "\ud800" from a broken
    # client) cannot be encoded at all: drop the first, mark the second as U+FFFD.
    text = _LONE_SURROGATE.sub("\ufffd", text.replace("\x00", "")).strip()
    if len(text) > settings.MESSAGE_MAX_CHARS:
        raise HubError(
            _("Message is too long (%(length)s characters; the limit is %(limit)s).")
            % {"length": len(text), "limit": settings.MESSAGE_MAX_CHARS},
            code="too_long",
            field="text",
        )
    if kind in USER_KINDS and not text and not has_attachments:
        raise HubError(_("Message is empty."), code="empty", field="text")
    return text


def _validate_client_id(client_id: str | None) -> str | None:
    if client_id is None or client_id == "":
        return None
    if not isinstance(client_id, str) or len(client_id) > 64 or not client_id.isprintable():
        raise HubError(_("client_id must be a string of at most 64 characters."), field="client_id")
    return client_id


def post_message(
    *,
    conversation: Conversation,
    author: User | None,
    text: str = "",
    kind: str = MessageKind.TEXT,
    client_id: str | None = None,
    payload: dict[str, Any] | None = None,
    attachment_ids: Sequence[int] = (),
    channel: str = Channel.WEB,
    language: str | None = None,
    surfaces: bool | None = None,
) -> PostResult:
    """Store a message and fan it out. Idempotent per (author, client_id).

    ``author`` is None for system and bot messages. ``surfaces`` says whether the message
    lists the thread in the artisan's inbox; by default a person's message or an
    offer/order card does, a system note does not. Raises HubError (with ``code``) on
    invalid input, NotAParticipant, Blocked.
    """
    client_id = _validate_client_id(client_id)
    if kind not in MessageKind.values:
        raise HubError(_("Unknown message kind."), field="kind")
    # PostgreSQL without attachments: the access checks ride on the write itself
    # (conversations/send_path.py); otherwise they are read first, as below.
    guarded = _writes_guarded(attachment_ids)
    if author is not None and client_id and not guarded:
        existing = _stored_retry(author=author, client_id=client_id, conversation=conversation)
        if existing is not None:
            return PostResult(existing, created=False)
    text = _validate_text(text, kind, bool(attachment_ids))
    if not isinstance(attachment_ids, list | tuple) or not all(
        isinstance(a, int) for a in attachment_ids
    ):
        raise HubError(_("attachments must be a list of attachment ids."), field="attachments")
    if len(attachment_ids) > 10:
        raise HubError(_("At most 10 images per message."), field="attachments")
    if author is not None:
        if kind not in USER_KINDS:
            raise HubError(_("People can only send text and image messages."), field="kind")
        if author.is_suspended or not author.is_active:
            raise HubError(_("This account is suspended."), code="suspended")
    participant_ids: list[int] = []
    if not guarded:
        participant_ids = _participant_ids(conversation)
        if author is not None:
            _check_can_write(
                conversation=conversation, author=author, participant_ids=participant_ids
            )
    if author is not None:
        try:
            _spend_send_token(author)
        except SendRateLimited:
            # A retry of a stored message is answered, never refused (nor charged).
            existing = (
                _stored_retry(author=author, client_id=client_id, conversation=conversation)
                if client_id
                else None
            )
            if existing is None:
                raise
            return PostResult(existing, created=False)
    flags = moderation.scan_text(text, _flag_phrases()) if author is not None and text else []
    detected = language if language is not None else (_detect_language(text) if text else "")
    kind = MessageKind.IMAGE if (attachment_ids and not text and kind == MessageKind.TEXT) else kind
    surfaces = (
        surfaces if surfaces is not None else (author is not None or kind in SURFACING_CARD_KINDS)
    )
    try:
        with transaction.atomic():
            written = dict(
                conversation=conversation,
                author=author,
                text=text,
                kind=kind,
                client_id=client_id,
                payload=payload or {},
                channel=channel,
                language=detected,
                flags=flags,
                surfaces=surfaces,
            )
            message = (
                _insert_guarded(**written)
                if guarded
                else _insert_message(
                    **written, attachment_ids=attachment_ids, participant_ids=participant_ids
                )
            )
    except _AlreadyStored as stored:
        _refund_send_token(author)
        return PostResult(stored.message, created=False)
    except IntegrityError:
        # A retry with the same client_id (or a concurrent one that won the race): nothing
        # of this attempt was written, not even its seq; answer with the stored message.
        if author is not None and client_id:
            existing = _stored_retry(author=author, client_id=client_id, conversation=conversation)
            if existing is not None:
                _refund_send_token(author)
                return PostResult(existing, created=False)
        raise
    return PostResult(message, created=True)


def post_user_message(
    *,
    conversation_id: int,
    author: User,
    text: str,
    client_id: str | None,
    attachment_ids: Sequence[int] = (),
    channel: str = Channel.WEB,
) -> PostResult:
    """A person's message to a conversation named by id (the socket's hot path).

    Raises NotAParticipant when the conversation does not exist or ``author`` is not in it
    (one answer for both, so ids cannot be probed), and post_message's other errors. On
    PostgreSQL without attachments the write checks access itself; no read comes first.
    """
    if _writes_guarded(attachment_ids):
        conversation = Conversation(pk=conversation_id)
    else:
        conversation = (
            Conversation.objects.select_related("buyer", "artisan")
            .filter(pk=conversation_id, participants__user=author)
            .first()
        )
        if conversation is None:
            raise NotAParticipant(_("You are not part of this conversation."))
    try:
        return post_message(
            conversation=conversation,
            author=author,
            text=text,
            client_id=client_id,
            attachment_ids=attachment_ids,
            channel=channel,
        )
    except Conversation.DoesNotExist:
        raise NotAParticipant(_("You are not part of this conversation.")) from None


def _writes_guarded(attachment_ids: Sequence[int]) -> bool:
    """Whether post_message takes the one-statement write (PostgreSQL, no images)."""
    return send_path.available() and not attachment_ids


class _AlreadyStored(Exception):
    def __init__(self, message: Message) -> None:
        self.message = message


def _stored_retry(*, author: User, client_id: str, conversation: Conversation) -> Message | None:
    """The message ``author`` already stored under ``client_id`` (in this conversation)."""
    existing = Message.objects.filter(author=author, client_id=client_id).first()
    if existing is not None and existing.conversation_id != conversation.pk:
        raise HubError(_("client_id was already used in another conversation."), field="client_id")
    return existing


def _check_can_write(
    *, conversation: Conversation, author: User, participant_ids: list[int]
) -> None:
    if author.pk not in participant_ids:
        raise NotAParticipant(_("You are not part of this conversation."))
    others = [pk for pk in participant_ids if pk != author.pk]
    if others and Block.objects.filter(blocker_id__in=others, blocked=author).exists():
        raise Blocked(_("You can no longer message this person."))
    if conversation.status == ConversationStatus.CLOSED:
        raise HubError(_("This conversation is closed."), code="closed")


def _insert_guarded(
    *,
    conversation: Conversation,
    author: User | None,
    text: str,
    kind: str,
    client_id: str | None,
    payload: dict[str, Any],
    channel: str,
    language: str,
    flags: list[moderation.Flag],
    surfaces: bool,
) -> Message:
    inserted = send_path.insert_message(
        conversation_id=conversation.pk,
        author=author,
        kind=kind,
        text=text,
        language=language,
        client_id=client_id,
        channel=channel,
        payload=payload,
        created_at=timezone.now(),
        flag_reasons=[{"reason": f.reason, "excerpt": f.excerpt} for f in flags],
        digests=sorted(search.index_terms(text)) if text else [],
        surfaces=surfaces,
    )
    if inserted is None:
        _explain_refusal(conversation=conversation, author=author, client_id=client_id)
    # The caller's object now shows the conversation as the write left it.
    for field in Conversation._meta.concrete_fields:
        setattr(conversation, field.attname, getattr(inserted.conversation, field.attname))
    message = inserted.message
    message.conversation = conversation
    # Facts the write read anyway, for the follow-ups' checks (conversations/follow_ups.py).
    message.reader_languages = inserted.reader_languages
    message.artisan_away = inserted.artisan_away
    message.write_facts = inserted.facts
    _fan_out(message=message, participant_ids=inserted.participant_ids, attachments=[])
    return message


def _explain_refusal(
    *, conversation: Conversation, author: User | None, client_id: str | None
) -> None:
    """The guarded write refused: raise what the rule that refused says (nothing was written)."""
    if author is not None and client_id:
        existing = _stored_retry(author=author, client_id=client_id, conversation=conversation)
        if existing is not None:
            raise _AlreadyStored(existing)
    current = Conversation.objects.filter(pk=conversation.pk).first()
    if current is None:
        raise Conversation.DoesNotExist(f"Conversation {conversation.pk} does not exist.")
    if author is None:  # pragma: no cover - the guard only refuses people
        raise HubError(_("This conversation is closed."), code="closed")
    _check_can_write(conversation=current, author=author, participant_ids=_participant_ids(current))
    raise HubError(_("This conversation is closed."), code="closed")  # pragma: no cover


def _spend_send_token(author: User) -> None:
    """One token per new message from a person, whatever the channel.

    Called after the idempotency check, so a retry of a stored ``client_id`` is answered
    without spending (or needing) a token; system and bot messages are not limited.
    """
    try:
        consume_token(f"send:{author.pk}", settings.MESSAGE_SEND_RATE)
    except RateLimited as exc:
        raise SendRateLimited(exc.retry_after) from exc


def _refund_send_token(author: User | None) -> None:
    """Give back the token of an attempt that turned out to be a retry of a stored message."""
    if author is not None:
        refund_token(f"send:{author.pk}", settings.MESSAGE_SEND_RATE)


def _insert_message(
    *,
    conversation: Conversation,
    author: User | None,
    text: str,
    kind: str,
    client_id: str | None,
    payload: dict[str, Any],
    attachment_ids: Sequence[int],
    channel: str,
    language: str,
    flags: list[moderation.Flag],
    participant_ids: list[int],
    surfaces: bool = True,
) -> Message:
    now = timezone.now()
    # The UPDATE takes the conversation's row lock until commit, so concurrent writers
    # queue here and each reads back a distinct seq (PostgreSQL); SQLite serialises writers.
    Conversation.objects.filter(pk=conversation.pk).update(
        last_seq=F("last_seq") + 1, last_message_at=now
    )
    seq = Conversation.objects.values_list("last_seq", flat=True).get(pk=conversation.pk)
    conversation.last_seq, conversation.last_message_at = seq, now
    if surfaces and conversation.surfaced_at is None:
        Conversation.objects.filter(pk=conversation.pk, surfaced_at__isnull=True).update(
            surfaced_at=now
        )
        conversation.surfaced_at = now
    message = Message.objects.create(
        conversation=conversation,
        seq=seq,
        author=author,
        kind=kind,
        text=text,
        language=language,
        client_id=client_id,
        channel=channel,
        payload=payload,
        created_at=now,
        flagged=bool(flags),
        flag_reasons=[{"reason": f.reason, "excerpt": f.excerpt} for f in flags],
    )
    search.index_message(message, new=True)
    if attachment_ids:
        attachments = list(
            Attachment.objects.select_for_update().filter(
                pk__in=attachment_ids,
                uploader=author,
                conversation=conversation,
                message__isnull=True,
            )
        )
        if len(attachments) != len(set(attachment_ids)):
            raise HubError(
                _("An attachment is unknown, not yours, or already sent."), field="attachments"
            )
        Attachment.objects.filter(pk__in=[a.pk for a in attachments]).update(message=message)
    if author is not None:
        # The author has read everything up to their own message.
        Participant.objects.filter(conversation=conversation, user=author).update(last_read_seq=seq)
    _fan_out(
        message=message,
        participant_ids=participant_ids,
        attachments=None if attachment_ids else [],
    )
    return message


def _fan_out(
    *, message: Message, participant_ids: list[int], attachments: list[Attachment] | None
) -> None:
    """Events and follow-ups of a message just written (sent and published on commit)."""
    conversation, seq = message.conversation, message.seq
    data = serialize_message(message, attachments=attachments)
    broadcast_on_commit(conversation_group(conversation.pk), "message.new", {"message": data})
    for participant_id in participant_ids:
        broadcast_on_commit(
            user_group(participant_id),
            "conversation.updated",
            # No preview text: it would be in the author's language. Inbox lists re-render
            # from the server in each reader's language (webchat's _preview_text).
            {"conversation": conversation.pk, "last_seq": seq},
            # A socket showing this thread has message.new already (and refreshes its list
            # on it): half the deliveries of a message in a room of two.
            unless_subscribed=conversation.pk,
        )
    # Same transaction as the message: a committed message always has its follow-ups.
    outbox.record_follow_ups(message=message)


@transaction.atomic
def edit_message(*, message: Message, editor: User, text: str) -> Message:
    """Edit a text message; every previous version is kept. Cards cannot be edited."""
    message = Message.objects.select_for_update().get(pk=message.pk)
    if message.author_id != editor.pk:
        raise NotAParticipant(_("You can only edit your own messages."))
    if message.kind != MessageKind.TEXT:
        raise HubError(_("Only text messages can be edited."), code="not_editable")
    if message.is_hidden:
        raise HubError(_("This message was removed by a moderator."), code="not_editable")
    text = _validate_text(text, MessageKind.TEXT, False)
    if text == message.text:
        return message
    MessageRevision.objects.create(message=message, text=message.text)
    message.text = text
    message.edited_at = timezone.now()
    flags = moderation.scan_text(text, _flag_phrases())
    message.flagged = message.flagged or bool(flags)
    message.flag_reasons = message.flag_reasons + [
        {"reason": f.reason, "excerpt": f.excerpt} for f in flags
    ]
    message.save(update_fields=["text", "edited_at", "flagged", "flag_reasons"])
    search.index_message(message)
    message.translations.all().delete()  # the old translations no longer match
    mark_changed(message)
    broadcast_on_commit(
        conversation_group(message.conversation_id),
        "message.updated",
        {"message": serialize_message(message)},
    )
    outbox.requeue_follow_up(message=message, name="translation")
    return message


CARD_KINDS = {MessageKind.OFFER, MessageKind.ORDER_UPDATE}


@transaction.atomic
def update_card(*, message: Message, payload: dict[str, Any]) -> Message:
    """Replace a system card's stored facts in place (an offer or order changed state).

    The card keeps its id and seq; every client re-renders it from ``message.updated``.
    Only system-authored offer/order cards can be updated; their text stays as it is.
    """
    message = Message.objects.select_for_update().get(pk=message.pk)
    if message.author_id is not None or message.kind not in CARD_KINDS:
        raise HubError("Only offer and order cards can be updated.", code="not_editable")
    if not isinstance(payload, dict):
        raise HubError("A card payload is an object.", field="payload")
    message.payload = payload
    message.save(update_fields=["payload"])
    mark_changed(message)
    broadcast_on_commit(
        conversation_group(message.conversation_id),
        "message.updated",
        {"message": serialize_message(message)},
    )
    return message


def mark_read(*, conversation: Conversation, user: User, seq: int) -> int:
    """Move the reader's read marker forward (never back). Returns the new marker."""
    if not isinstance(seq, int) or seq < 0:
        raise HubError(_("seq must be a non-negative integer."), field="seq")
    seq = min(seq, conversation.last_seq if conversation.last_seq else seq)
    with transaction.atomic():
        updated = Participant.objects.filter(
            conversation=conversation, user=user, last_read_seq__lt=seq
        ).update(last_read_seq=seq)
        if not updated:
            participant = participant_for(conversation=conversation, user=user)
            if participant is None:
                raise NotAParticipant(_("You are not part of this conversation."))
            return participant.last_read_seq
        broadcast_on_commit(
            conversation_group(conversation.pk),
            "read",
            {"conversation": conversation.pk, "user": user.pk, "seq": seq},
        )
        broadcast_on_commit(
            user_group(user.pk),
            "conversation.updated",
            {"conversation": conversation.pk, "last_seq": conversation.last_seq, "read_seq": seq},
        )
    return seq


# --- Safety: reports, blocks, moderation --------------------------------------------------------


@transaction.atomic
def report_message(*, message: Message, reporter: User, reason: str) -> Report:
    if participant_for(conversation=message.conversation, user=reporter) is None:
        raise NotAParticipant(_("You can only report messages in your conversations."))
    if message.author_id == reporter.pk:
        raise HubError(_("You cannot report your own message."))
    reason = (reason or "").strip()
    if not reason:
        raise HubError(_("Tell us briefly what is wrong."), field="reason")
    report, _created = Report.objects.get_or_create(
        message=message, reporter=reporter, defaults={"reason": reason[:500]}
    )
    return report


@transaction.atomic
def block_user(*, blocker: User, blocked: User) -> Block:
    if blocker.pk == blocked.pk:
        raise HubError(_("You cannot block yourself."))
    block, _created = Block.objects.get_or_create(blocker=blocker, blocked=blocked)
    return block


@transaction.atomic
def unblock_user(*, blocker: User, blocked: User) -> None:
    Block.objects.filter(blocker=blocker, blocked=blocked).delete()


def _require_moderator(user: User) -> None:
    if not user.is_platform_admin:
        raise PermissionDenied(_("Only moderators can do this."))


def _moderation_record(**kwargs: Any) -> ModerationAction:
    action = ModerationAction.objects.create(**kwargs)
    record_audit_event(
        kind=AuditEvent.Kind.MODERATION,
        actor=kwargs.get("moderator"),
        action=action.kind,
        message=getattr(kwargs.get("message"), "pk", None),
        conversation=getattr(kwargs.get("conversation"), "pk", None),
        target=getattr(kwargs.get("target_user"), "pk", None),
        note=kwargs.get("note", ""),
    )
    return action


@transaction.atomic
def hide_message(*, message: Message, moderator: User, note: str = "") -> Message:
    """Both sides then see "removed by moderator"; the original stays for the record."""
    _require_moderator(moderator)
    message = Message.objects.select_for_update().get(pk=message.pk)
    if not message.is_hidden:
        message.hidden_at = timezone.now()
        message.hidden_by = moderator
        message.save(update_fields=["hidden_at", "hidden_by"])
        search.index_message(message)  # a removed message is no longer findable
    message.reports.filter(status=Report.Status.OPEN).update(
        status=Report.Status.ACTIONED, resolved_at=timezone.now(), resolved_by=moderator
    )
    return _record_visibility_change(message=message, moderator=moderator, kind="hide", note=note)


@transaction.atomic
def unhide_message(*, message: Message, moderator: User, note: str = "") -> Message:
    _require_moderator(moderator)
    message = Message.objects.select_for_update().get(pk=message.pk)
    message.hidden_at = None
    message.hidden_by = None
    message.save(update_fields=["hidden_at", "hidden_by"])
    search.index_message(message)
    return _record_visibility_change(message=message, moderator=moderator, kind="unhide", note=note)


def _record_visibility_change(
    *, message: Message, moderator: User, kind: str, note: str
) -> Message:
    """Audit the moderator's act and show both sides the message's new state."""
    _moderation_record(
        moderator=moderator,
        kind=kind,
        message=message,
        conversation=message.conversation,
        note=note[:500],
    )
    mark_changed(message)
    broadcast_on_commit(
        conversation_group(message.conversation_id),
        "message.updated",
        {"message": serialize_message(message)},
    )
    return message


@transaction.atomic
def dismiss_reports(*, message: Message, moderator: User, note: str = "") -> None:
    _require_moderator(moderator)
    message.reports.filter(status=Report.Status.OPEN).update(
        status=Report.Status.DISMISSED, resolved_at=timezone.now(), resolved_by=moderator
    )
    Message.objects.filter(pk=message.pk).update(flagged=False)
    _moderation_record(
        moderator=moderator,
        kind="dismiss",
        message=message,
        conversation=message.conversation,
        note=note[:500],
    )


@transaction.atomic
def suspend_user(*, user: User, moderator: User, reason: str) -> User:
    _require_moderator(moderator)
    if user.pk == moderator.pk:
        raise HubError(_("You cannot suspend yourself."))
    user.suspended_at = timezone.now()
    user.suspension_reason = reason[:255]
    user.save(update_fields=["suspended_at", "suspension_reason"])
    _moderation_record(moderator=moderator, kind="suspend", target_user=user, note=reason[:500])
    record_audit_event(kind=AuditEvent.Kind.SUSPENDED, actor=moderator, subject_email=user.email)
    revoke_sessions_on_commit(user=user, reason="suspended")
    return user


@transaction.atomic
def unsuspend_user(*, user: User, moderator: User, note: str = "") -> User:
    _require_moderator(moderator)
    user.suspended_at = None
    user.suspension_reason = ""
    user.save(update_fields=["suspended_at", "suspension_reason"])
    _moderation_record(moderator=moderator, kind="unsuspend", target_user=user, note=note[:500])
    return user


@transaction.atomic
def add_flag_word(*, moderator: User, phrase: str, reason: str) -> FlagWord:
    """Add a phrase to the automatic-flagging word list (moderators only)."""
    _require_moderator(moderator)
    phrase = " ".join(phrase.split()).lower()[:100]
    if not phrase:
        raise HubError(_("Type a word or phrase."), field="phrase")
    word, created = FlagWord.objects.get_or_create(
        phrase=phrase, defaults={"reason": (reason.strip() or "word list")[:100]}
    )
    if not created:
        raise HubError(_("This phrase is already on the list."), field="phrase")
    return word


@transaction.atomic
def set_flag_word_active(*, moderator: User, flag_word: FlagWord, active: bool) -> FlagWord:
    _require_moderator(moderator)
    flag_word.active = active
    flag_word.save(update_fields=["active"])
    return flag_word


@transaction.atomic
def delete_flag_word(*, moderator: User, flag_word: FlagWord) -> None:
    _require_moderator(moderator)
    flag_word.delete()


def record_moderator_view(*, conversation: Conversation, moderator: User) -> None:
    _require_moderator(moderator)
    _moderation_record(moderator=moderator, kind="view", conversation=conversation)


# --- Retention ---------------------------------------------------------------------------------


@transaction.atomic
def purge_closed_conversation_content(*, older_than_days: int) -> int:
    """Blank chat content of conversations closed long ago; cards (offers/orders) stay."""
    if older_than_days <= 0:
        return 0
    cutoff = timezone.now() - timedelta(days=older_than_days)
    conversations = Conversation.objects.filter(
        status=ConversationStatus.CLOSED, closed_at__lt=cutoff, content_purged_at__isnull=True
    )
    ids = list(conversations.values_list("pk", flat=True))
    if not ids:
        return 0
    chat = Message.objects.filter(
        conversation_id__in=ids, kind__in=[MessageKind.TEXT, MessageKind.IMAGE, MessageKind.BOT]
    )
    MessageRevision.objects.filter(message__in=chat).delete()
    for attachment in Attachment.objects.filter(conversation_id__in=ids):
        attachment.file.delete(save=False)
        if attachment.thumbnail:
            attachment.thumbnail.delete(save=False)
        attachment.delete()
    search.forget_messages(chat.values("pk"))
    chat.update(text="", payload={})
    from conversations.models import MessageTranslation

    MessageTranslation.objects.filter(
        message__conversation_id__in=ids,
        message__kind__in=[MessageKind.TEXT, MessageKind.IMAGE, MessageKind.BOT],
    ).delete()
    Conversation.objects.filter(pk__in=ids).update(content_purged_at=timezone.now())
    return len(ids)
