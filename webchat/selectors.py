"""Reads the chat pages need beyond ``conversations.selectors`` (kept thin; see report).

Everything here only reads. Writes go through the hub: ``conversations.services`` (flag
words included) and ``conversations.inbox_settings`` (quick replies, labels, notification
settings).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet

from commerce.models import Product
from commerce.selectors import listed_products
from conversations import presence
from conversations.models import (
    Block,
    Conversation,
    ConversationLabel,
    ConversationStatus,
    Message,
    MessageTranslation,
    ModerationAction,
    NotificationSettings,
    Participant,
    QuickReply,
    Report,
)
from conversations.selectors import history_page, serialize_with_translations
from core.models import Role, User

INITIAL_PAGE = 50


def widget_artisan(*, artisan_id: str | int | None) -> User | None:
    """The artisan a widget talks to, or None for a missing/unknown/non-artisan id."""
    try:
        pk = int(artisan_id) if artisan_id not in (None, "") else None
    except (TypeError, ValueError):
        return None
    if pk is None:
        return None
    return User.objects.filter(pk=pk, role=Role.ARTISAN, is_active=True).first()


def open_widget_conversation(
    *, buyer: User, artisan: User | None, context_type: str, context_id: int | None
) -> Conversation | None:
    """The open conversation ``start_conversation`` would continue, without creating one.

    The widget page is a GET: it must not create conversations (an empty conversation
    would appear in the artisan's inbox just because a page with the widget was viewed).
    With an artisan this is the pair's one open thread, whatever page the widget is on.
    """
    if artisan is not None:
        return Conversation.objects.filter(
            buyer=buyer, artisan=artisan, status=ConversationStatus.OPEN
        ).first()
    return Conversation.objects.filter(
        buyer=buyer,
        artisan=artisan,
        status=ConversationStatus.OPEN,
        context_type=context_type,
        context_id=context_id,
    ).first()


def widget_product(*, artisan: User, product_id: int | None) -> Product | None:
    """The listed piece of this artisan a widget sits on (None if unknown or not theirs)."""
    if product_id is None:
        return None
    return (
        listed_products().select_related("shop__user").filter(pk=product_id, shop__user=artisan)
    ).first()


def initial_messages(
    *, conversation: Conversation, limit: int = INITIAL_PAGE
) -> tuple[list[dict[str, Any]], bool]:
    """The latest ``limit`` messages in wire shape (with translations), oldest first."""
    page, has_more = history_page(
        conversation=conversation, before_seq=None, after_seq=None, limit=limit
    )
    return [serialize_with_translations(m) for m in page], has_more


def earlier_messages(
    *, conversation: Conversation, before_seq: int, limit: int = INITIAL_PAGE
) -> tuple[list[dict[str, Any]], bool]:
    page, has_more = history_page(
        conversation=conversation, before_seq=before_seq, after_seq=None, limit=limit
    )
    return [serialize_with_translations(m) for m in page], has_more


def read_markers(*, conversation: Conversation) -> dict[int, int]:
    return dict(
        Participant.objects.filter(conversation=conversation).values_list(
            "user_id", "last_read_seq"
        )
    )


def other_party(*, conversation: Conversation, viewer: User) -> User | None:
    """The person on the other side (None while a buyer talks to the shop bot)."""
    if conversation.buyer_id == viewer.pk:
        return conversation.artisan
    return conversation.buyer


@dataclass(frozen=True)
class ResponseProfile:
    """What a buyer sees about an artisan's availability."""

    online: bool
    usual_response_hours: int
    away: bool
    away_message: str


def response_profile(*, artisan: User | None) -> ResponseProfile | None:
    if artisan is None:
        return None
    prefs = NotificationSettings.objects.filter(user=artisan).first()
    return ResponseProfile(
        online=presence.is_online(artisan.pk),
        usual_response_hours=prefs.usual_response_hours if prefs else 24,
        away=bool(prefs and prefs.away_enabled),
        away_message=prefs.away_message if prefs else "",
    )


def notification_settings_for(*, user: User) -> NotificationSettings:
    """The stored settings, or unsaved defaults (saved on the first form submit)."""
    return NotificationSettings.objects.filter(user=user).first() or NotificationSettings(user=user)


def quick_replies_for(*, owner: User) -> QuerySet[QuickReply]:
    return QuickReply.objects.filter(owner=owner).order_by("title", "pk")


def labels_for(*, conversation: Conversation, owner: User) -> list[str]:
    return list(
        ConversationLabel.objects.filter(conversation=conversation, owner=owner)
        .order_by("name")
        .values_list("name", flat=True)
    )


def label_names(*, owner: User) -> list[str]:
    """Every label this person uses, for the inbox filter."""
    return list(
        ConversationLabel.objects.filter(owner=owner)
        .order_by("name")
        .values_list("name", flat=True)
        .distinct()
    )


def labels_by_conversation(*, owner: User, conversation_ids: list[int]) -> dict[int, list[str]]:
    result: dict[int, list[str]] = {}
    rows = ConversationLabel.objects.filter(
        owner=owner, conversation_id__in=conversation_ids
    ).order_by("name")
    for conversation_id, name in rows.values_list("conversation_id", "name"):
        result.setdefault(conversation_id, []).append(name)
    return result


def last_previews(*, conversation_ids: list[int]) -> dict[int, Message]:
    """The latest message of each conversation: one indexed query, one row per conversation.

    A conversation's ``last_seq`` is the seq of its newest message (the hub assigns seqs
    gaplessly in the same transaction as the insert), so this reads exactly the page's
    previews — not every message of every conversation on the page, each decrypted.
    """
    if not conversation_ids:
        return {}
    rows = Message.objects.filter(
        conversation_id__in=conversation_ids, seq=F("conversation__last_seq")
    ).only("conversation_id", "seq", "text", "kind", "payload", "hidden_at", "author_id")
    return {message.conversation_id: message for message in rows}


def has_blocked(*, blocker: User, blocked: User | None) -> bool:
    if blocked is None:
        return False
    return Block.objects.filter(blocker=blocker, blocked=blocked).exists()


# --- Moderation -----------------------------------------------------------------------------


class QueueState:
    OPEN = "open"
    HIDDEN = "hidden"
    CHOICES = (OPEN, HIDDEN)


def moderation_queue(*, state: str = QueueState.OPEN) -> QuerySet[Message]:
    """Messages needing a moderator: reported (open report) or auto-flagged and visible.

    ``state="hidden"`` lists messages moderators already hid, so they can be restored.
    """
    open_reports = Report.objects.filter(message=OuterRef("pk"), status=Report.Status.OPEN)
    qs = Message.objects.annotate(has_open_report=Exists(open_reports))
    if state == QueueState.HIDDEN:
        qs = qs.filter(hidden_at__isnull=False)
    else:
        qs = qs.filter(Q(has_open_report=True) | Q(flagged=True, hidden_at__isnull=True))
    return (
        qs.select_related("author", "conversation", "conversation__buyer", "conversation__artisan")
        .prefetch_related(
            Prefetch(
                "reports",
                queryset=Report.objects.select_related("reporter").order_by("created_at"),
            ),
            Prefetch(
                "translations", queryset=MessageTranslation.objects.order_by("target_language")
            ),
            "attachments",
        )
        .order_by("-has_open_report", "-created_at", "-pk")
    )


def moderation_conversation(*, conversation_id: int) -> Conversation | None:
    return (
        Conversation.objects.select_related("buyer", "artisan").filter(pk=conversation_id).first()
    )


def moderation_messages(*, conversation: Conversation) -> QuerySet[Message]:
    """Every message with its original text (moderators see what was hidden)."""
    return (
        Message.objects.filter(conversation=conversation)
        .select_related("author", "hidden_by")
        .prefetch_related(
            "attachments",
            Prefetch(
                "translations", queryset=MessageTranslation.objects.order_by("target_language")
            ),
            Prefetch("reports", queryset=Report.objects.select_related("reporter")),
        )
        .order_by("seq")
    )


def moderation_trail(*, conversation: Conversation) -> QuerySet[ModerationAction]:
    """Moderator actions on this conversation and its messages, and on its two people."""
    people = [pk for pk in (conversation.buyer_id, conversation.artisan_id) if pk]
    return (
        ModerationAction.objects.filter(
            Q(conversation=conversation)
            | Q(message__conversation=conversation)
            | Q(target_user_id__in=people)
        )
        .select_related("moderator", "target_user", "message")
        .order_by("-created_at", "-pk")
    )
