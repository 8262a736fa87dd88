"""The assistant's hook on ``post_message``: a buyer's message it may answer → an outbox entry."""

from __future__ import annotations

from collections.abc import Callable

from django.db import connection

from conversations.models import Message, MessageKind

# The name under which the message write returns "a person took over; the bot may return".
HANDED_OVER = "bot_handed_over"


def handed_over_sql(column: Callable[[str], str]) -> str:
    """SQL for ``HANDED_OVER``, evaluated by the message write itself (no lookup of its own
    per buyer message in a conversation the bot does not answer)."""
    from nlu.models import BotConversationState

    quote = connection.ops.quote_name
    state = BotConversationState._meta
    field = lambda name: quote(state.get_field(name).column)  # noqa: E731
    return (
        f"EXISTS (SELECT 1 FROM {quote(state.db_table)} bs"  # noqa: S608 - model metadata only
        f" WHERE bs.{field('conversation')} = {column('id')}"
        f" AND bs.{field('handed_over_at')} IS NOT NULL"
        f" AND bs.{field('handed_back_at')} IS NULL)"
    )


def may_reply_as_bot(message: Message) -> bool:
    """A buyer's message in a conversation the bot may answer (cheap pre-check, inside the
    message's transaction); the worker decides (handover, idle reactivation) with fresh
    data."""
    conversation = message.conversation
    if message.author_id is None or message.author_id != conversation.buyer_id:
        return False
    if message.kind not in (MessageKind.TEXT, MessageKind.IMAGE):
        return False
    if conversation.bot_active:
        return True
    known = getattr(message, "write_facts", {}).get(HANDED_OVER)
    if known is not None:
        return known
    from nlu.models import BotConversationState

    return BotConversationState.objects.filter(
        conversation_id=conversation.pk, handed_over_at__isnull=False, handed_back_at__isnull=True
    ).exists()


def compute_bot_replies(message_id: int) -> list | None:
    """Outside any transaction (may call Rasa, whose actions write to our database): the
    replies the bot gives to the message, or None when the bot does not answer it."""
    from nlu.dialogue import respond, should_answer

    message = Message.objects.select_related("conversation__buyer").filter(pk=message_id).first()
    if message is None or not should_answer(conversation=message.conversation, message=message):
        return None
    return respond(message.conversation, message)


def post_bot_replies(message_id: int, replies: list | None) -> int:
    """Post the computed replies. Registered ``transactional``: the replies and the outbox
    entry's done mark commit together, so a retry never answers twice."""
    if not replies:
        return 0
    from nlu.dialogue import post_bot_replies as post

    conversation = Message.objects.select_related("conversation").get(pk=message_id).conversation
    return len(post(conversation=conversation, replies=replies))
