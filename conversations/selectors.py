"""Reads of the conversation hub (inbox lists, history pages, resume state)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Case, Count, F, IntegerField, Prefetch, Q, QuerySet, Value, When

from conversations import search
from conversations.models import (
    Attachment,
    Conversation,
    ConversationStatus,
    Message,
    MessageTranslation,
    Participant,
)
from conversations.serializers import serialize_message
from core.models import User


def reads_every_thread(user: User) -> bool:
    """The one rule for who reads a conversation they take no part in: platform admins
    (moderators, read-only). Everyone else reads only the threads they participate in."""
    return bool(user.is_authenticated and user.is_platform_admin)


def readable_conversation(*, user: User, conversation_id: int) -> Conversation | None:
    """The conversation if ``user`` may read it (participants; admins read-only)."""
    if not user.is_authenticated:
        return None
    qs = Conversation.objects.select_related("buyer", "artisan").filter(pk=conversation_id)
    if not reads_every_thread(user):
        qs = qs.filter(participants__user=user)
    return qs.first()


def conversation_for_writer(*, user: User, conversation_id: int) -> Conversation | None:
    """The conversation if ``user`` participates in it (the only people who may write)."""
    return (
        Conversation.objects.select_related("buyer", "artisan")
        .filter(pk=conversation_id, participants__user=user)
        .first()
    )


def is_read_only_observer(*, user: User, conversation_id: int) -> bool:
    """True when ``user`` may read the conversation but not write in it.

    That is a moderator (platform admin) looking at a conversation they do not take part in:
    moderators act through the moderation console, never by posting in the thread. The one
    place the socket and the HTTP API ask this, so both refuse the same people.
    """
    if not reads_every_thread(user):
        return False
    if can_write(user=user, conversation_id=conversation_id):
        return False
    return Conversation.objects.filter(pk=conversation_id).exists()


def can_write(*, user: User, conversation_id: int) -> bool:
    return Participant.objects.filter(conversation_id=conversation_id, user=user).exists()


def message_queryset() -> QuerySet[Message]:
    return Message.objects.select_related("author").prefetch_related(
        "attachments", Prefetch("translations", queryset=MessageTranslation.objects.all())
    )


def serialize_with_translations(message: Message) -> dict[str, Any]:
    return serialize_message(message, translations=list(message.translations.all()))


@dataclass(frozen=True)
class SubscriptionState:
    missed: list[dict[str, Any]]
    last_seq: int
    has_more: bool
    read_markers: dict[int, int]
    # Messages the client already had (seq ≤ after_seq) changed since ``after_update_seq``,
    # oldest change first, and the update_seq the client has seen every change up to.
    changed: list[dict[str, Any]] = field(default_factory=list)
    update_seq: int = 0

    @property
    def participant_ids(self) -> list[int]:
        """Everyone taking part: one read marker each."""
        return list(self.read_markers)


def _marks_of(conversation_id: int) -> tuple[int, int] | None:
    """The conversation's ``last_seq`` and ``last_update_seq`` (None if it does not exist)."""
    return (
        Conversation.objects.filter(pk=conversation_id)
        .values_list("last_seq", "last_update_seq")
        .first()
    )


def _changed_messages(
    conversation_id: int, *, through_seq: int, after_update_seq: int, limit: int
) -> list[Message]:
    """Messages up to ``through_seq`` changed after ``after_update_seq``, oldest change first."""
    return list(
        message_queryset()
        .filter(
            conversation_id=conversation_id,
            update_seq__gt=after_update_seq,
            seq__lte=through_seq,
        )
        .order_by("update_seq")[:limit]
    )


def _subscription_marks(
    *, user: User, conversation_id: int
) -> tuple[int, int, dict[int, int]] | None:
    """One query for a subscription: the conversation's ``last_seq`` and ``last_update_seq``
    and every participant's read marker, or None when ``user`` may not read it (the access
    check is the join on the reader's own participant row; platform admins read any)."""
    if not user.is_authenticated:
        return None
    rows = Participant.objects.filter(conversation_id=conversation_id)
    if not reads_every_thread(user):
        rows = rows.filter(conversation__participants__user=user)
    marks = list(
        rows.values_list(
            "user_id", "last_read_seq", "conversation__last_seq", "conversation__last_update_seq"
        )
    )
    if marks:
        _, _, last_seq, update_seq = marks[0]
        return last_seq, update_seq, {user_id: read for user_id, read, _, _ in marks}
    if reads_every_thread(user):  # a moderator may open a thread nobody takes part in any more
        row = _marks_of(conversation_id)
        if row is not None:
            return row[0], row[1], {}
    return None


def subscription_state(
    *,
    user: User,
    conversation_id: int,
    after_seq: int,
    limit: int,
    after_update_seq: int | None = None,
) -> SubscriptionState | None:
    """What a (re)subscribing client lacks. A client already caught up costs one query: the
    access check, the marks and the read markers; messages and changes are read only when
    the marks say there are some."""
    found = _subscription_marks(user=user, conversation_id=conversation_id)
    if found is None:
        return None
    # The marks are read before the pages below: a change committed meanwhile is in a page
    # or comes after these marks (replayed by ``changes_after``), never lost between the two.
    last_seq, update_seq, read_markers = found
    missed: list[Message] = []
    if last_seq > after_seq:
        missed = list(
            message_queryset()
            .filter(conversation_id=conversation_id, seq__gt=after_seq)
            .order_by("seq")[: limit + 1]
        )
    has_more = len(missed) > limit
    changed: list[Message] = []
    if after_update_seq is not None and update_seq > after_update_seq:
        changed = _changed_messages(
            conversation_id,
            through_seq=after_seq,
            after_update_seq=after_update_seq,
            limit=limit + 1,
        )
        if len(changed) > limit:  # a long absence: resume from the last change replayed
            changed = changed[:limit]
            update_seq, has_more = changed[-1].update_seq, True
    return SubscriptionState(
        missed=[serialize_with_translations(m) for m in missed[:limit]],
        last_seq=last_seq,
        has_more=has_more,
        read_markers=read_markers,
        changed=[serialize_with_translations(m) for m in changed],
        update_seq=update_seq,
    )


@dataclass(frozen=True)
class LateChanges:
    """What was committed between a subscription's query and its joining the live group."""

    missed: list[dict[str, Any]]
    changed: list[dict[str, Any]]


def changes_after(
    *, conversation_id: int, last_seq: int, update_seq: int, limit: int
) -> LateChanges:
    """New messages after ``last_seq`` and changes after ``update_seq`` (one cheap query when
    there are none, which is nearly always)."""
    row = _marks_of(conversation_id)
    if row is None or (row[0] <= last_seq and row[1] <= update_seq):
        return LateChanges(missed=[], changed=[])
    missed = list(
        message_queryset()
        .filter(conversation_id=conversation_id, seq__gt=last_seq)
        .order_by("seq")[:limit]
    )
    changed = _changed_messages(
        conversation_id, through_seq=last_seq, after_update_seq=update_seq, limit=limit
    )
    return LateChanges(
        missed=[serialize_with_translations(m) for m in missed],
        changed=[serialize_with_translations(m) for m in changed],
    )


def history_page(
    *, conversation: Conversation, before_seq: int | None, after_seq: int | None, limit: int
) -> tuple[list[Message], bool]:
    """Up to ``limit`` messages, oldest first; ``has_more`` tells if the page was cut."""
    qs = message_queryset().filter(conversation=conversation)
    if after_seq is not None:
        page = list(qs.filter(seq__gt=after_seq).order_by("seq")[: limit + 1])
        return page[:limit], len(page) > limit
    if before_seq is not None:
        qs = qs.filter(seq__lt=before_seq)
    page = list(qs.order_by("-seq")[: limit + 1])
    has_more = len(page) > limit
    return list(reversed(page[:limit])), has_more


def inbox(
    *,
    user: User,
    status: str | None = None,
    query: str = "",
    label: str = "",
) -> QuerySet[Conversation]:
    """The user's conversations, unread first, then most recent; annotated with unread."""
    qs = (
        Conversation.objects.filter(participants__user=user)
        # The artisan sees a thread once the buyer wrote or a card arrived, not before.
        .exclude(artisan=user, surfaced_at__isnull=True)
        .select_related("buyer", "artisan")
        .annotate(
            my_read_seq=F("participants__last_read_seq"),
            unread=F("last_seq") - F("participants__last_read_seq"),
            has_unread=Case(
                When(last_seq__gt=F("participants__last_read_seq"), then=Value(1)),
                default=Value(0),
                output_field=IntegerField(),
            ),
        )
    )
    if status in ConversationStatus.values:
        qs = qs.filter(status=status)
    # PostgreSQL refuses NUL in a string literal; it never matches anything anyway.
    query = query.replace("\x00", "").strip()
    if query:
        matches = (
            Q(subject__icontains=query)
            | Q(buyer__display_name__icontains=query)
            | Q(buyer__email__icontains=query)
            | Q(artisan__display_name__icontains=query)
            # Cards hold facts, not text: an order reference finds its order's thread.
            | Q(messages__payload__order__iexact=query.strip())
        )
        # Message bodies are encrypted at rest: they are found through the blind index.
        in_messages = search.matching_conversation_ids(query)
        if in_messages is not None:
            matches |= Q(pk__in=in_messages)
        qs = qs.filter(matches).distinct()
    if label:
        qs = qs.filter(labels__owner=user, labels__name=label)
    return qs.order_by("-has_unread", F("last_message_at").desc(nulls_last=True), "-id")


def unread_total(*, user: User) -> int:
    rows = (
        Participant.objects.filter(user=user)
        .exclude(conversation__artisan=user, conversation__surfaced_at__isnull=True)
        .aggregate(n=Count("pk", filter=Q(conversation__last_seq__gt=F("last_read_seq"))))
    )
    return rows["n"] or 0


def attachment_readable(user: User, name: str) -> bool:
    """Private media check (core.media): an attachment's image or thumbnail is visible to
    whoever may read its conversation (participants; admins, read-only)."""
    attachment = Attachment.objects.filter(Q(file=name) | Q(thumbnail=name)).first()
    return attachment is not None and (
        readable_conversation(user=user, conversation_id=attachment.conversation_id) is not None
    )
