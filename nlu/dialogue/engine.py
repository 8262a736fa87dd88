"""``respond(conversation, message)``: the shop bot's answer to one buyer message.

Two engines, chosen by ``NLU_ENGINE`` (as for NLU):

- **embedded**: the embedded NLU gives intent + entities, a fixed policy maps each intent
  to one action (the same mapping as ``nlu/rasa/data/rules.yml``), and the action code in
  :mod:`nlu.dialogue.actions` builds the replies;
- **rasa**: the message goes to Rasa's REST channel (``rasa_rest_webhook``) with the
  conversation id as sender; Rasa runs its stories/rules and calls our action server,
  which runs the very same action code. If Rasa is unreachable the embedded engine
  answers instead, so a buyer is never left without a reply.

Button clicks arrive as ``/intent{"entity": value}`` (as text, or in the message payload
under ``intent_payload``) and skip NLU in both engines.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import replace
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation

from conversations.models import Conversation, Message, MessageKind
from conversations.services import post_message, set_bot_active
from core.models import User
from nlu.dialogue.actions import (
    INTENT_ACTIONS,
    LOCAL_INTENTS,
    DialogueContext,
    run_action,
)
from nlu.dialogue.cards import reply_to_payload
from nlu.interface import (
    ENGINE_RASA,
    BotReply,
    NLUUnavailable,
    ParseResult,
    get_nlu_engine,
    get_shared_embedded_nlu,
)
from nlu.models import BotConversationState

logger = logging.getLogger(__name__)

DEFAULT_HANDOVER_IDLE_MINUTES = 60
# Entities declared in nlu/rasa/domain.yml; a click carrying others is answered locally.
RASA_DOMAIN_ENTITIES = frozenset(
    {
        "product_type",
        "material",
        "colour",
        "region",
        "price_min",
        "price_max",
        "artisan_name",
        "order_ref",
    }
)
INTENT_PAYLOAD = re.compile(r"^/(?P<intent>[a-z_]{2,40})(?P<entities>\{.*\})?$", re.DOTALL)


def handover_idle_minutes() -> int:
    return int(getattr(settings, "BOT_HANDOVER_IDLE_MINUTES", DEFAULT_HANDOVER_IDLE_MINUTES))


def rasa_sender_id(conversation: Conversation) -> str:
    """The Rasa tracker id of a conversation; the action server maps it back."""
    return f"conversation-{conversation.pk}"


def conversation_from_sender_id(sender_id: str) -> Conversation | None:
    prefix = "conversation-"
    if not sender_id.startswith(prefix) or not sender_id[len(prefix) :].isdigit():
        return None
    return (
        Conversation.objects.select_related("buyer")
        .filter(pk=int(sender_id[len(prefix) :]))
        .first()
    )


def parse_intent_payload(text: str) -> tuple[str, dict[str, list[str]]] | None:
    """``/order_status{"order_ref":"AT-1"}`` → ("order_status", {"order_ref": ["AT-1"]})."""
    match = INTENT_PAYLOAD.match((text or "").strip())
    if match is None:
        return None
    entities: dict[str, list[str]] = {}
    if match.group("entities"):
        try:
            raw = json.loads(match.group("entities"))
        except ValueError:
            return None
        if not isinstance(raw, dict):
            return None
        for name, value in raw.items():
            values = value if isinstance(value, list) else [value]
            entities[str(name)] = [str(v) for v in values if v is not None]
    return match.group("intent"), entities


def _language_of(buyer: User) -> str:
    return buyer.preferred_language or settings.LANGUAGE_CODE


# --- handover gate ---------------------------------------------------------------------------


def should_answer(*, conversation: Conversation, message: Message) -> bool:
    """True when the bot answers this message: a buyer's text while the bot is active.

    A handed-over conversation that stayed quiet for ``BOT_HANDOVER_IDLE_MINUTES`` is
    handed back to the bot by the buyer's next message.
    """
    if message.author_id is None or message.author_id != conversation.buyer_id:
        return False
    if message.kind not in (MessageKind.TEXT, MessageKind.IMAGE) or message.is_hidden:
        return False
    conversation.refresh_from_db(fields=["bot_active", "artisan", "status"])
    if conversation.bot_active:
        return True
    return _reactivate_if_idle(conversation=conversation, message=message)


def _reactivate_if_idle(*, conversation: Conversation, message: Message) -> bool:
    state = BotConversationState.objects.filter(
        conversation=conversation, handed_over_at__isnull=False, handed_back_at__isnull=True
    ).first()
    if state is None:
        return False  # a conversation that began with an artisan never had the bot
    previous = (
        Message.objects.filter(conversation=conversation, seq__lt=message.seq)
        .order_by("-seq")
        .values_list("created_at", flat=True)
        .first()
    )
    last_activity = max(filter(None, [previous, state.handed_over_at]))
    if message.created_at - last_activity < timedelta(minutes=handover_idle_minutes()):
        return False
    hand_back_to_bot(conversation=conversation, reason="idle")
    return True


@transaction.atomic
def hand_back_to_bot(
    *, conversation: Conversation, artisan: User | None = None, reason: str = "artisan"
) -> None:
    """The artisan (or the idle timeout) gives the conversation back to the shop bot."""
    set_bot_active(conversation=conversation, active=True)
    BotConversationState.objects.update_or_create(
        conversation=conversation,
        defaults={"handed_back_at": timezone.now(), "handover_reason": reason},
    )


# --- respond -----------------------------------------------------------------------------------


def respond(conversation: Conversation, message: Message) -> list[BotReply]:
    """The bot's replies to ``message`` in ``conversation`` (empty while handed over)."""
    if not conversation.bot_active:
        return []
    buyer = conversation.buyer
    text = (message.text or "").strip()
    payload_text = str((message.payload or {}).get("intent_payload") or "")
    clicked = parse_intent_payload(payload_text) or parse_intent_payload(text)
    with translation.override(_language_of(buyer)):
        if clicked is not None and _handled_locally(*clicked):
            return _run_intent(conversation, buyer, text, clicked[0], clicked[1])
        if _engine_name() == ENGINE_RASA:
            replies = _respond_with_rasa(conversation, message, payload_text or text)
            if replies is not None:
                return replies
        if clicked is not None:
            return _run_intent(conversation, buyer, text, clicked[0], clicked[1])
        if not text:
            return []  # a photo without caption: nothing to understand, no reply
        parsed = _parse_embedded(text, message.language)
        intent = "nlu_fallback" if parsed.is_fallback else parsed.intent
        return _run_intent(conversation, buyer, text, intent, parsed.entity_values())


def _handled_locally(intent: str, entities: dict[str, list[str]]) -> bool:
    """Button payloads Rasa's domain cannot express (our card ids) skip Rasa."""
    return intent in LOCAL_INTENTS or not set(entities) <= RASA_DOMAIN_ENTITIES


def _engine_name() -> str:
    return str(getattr(settings, "NLU_ENGINE", "embedded") or "embedded").lower()


def _parse_embedded(text: str, language: str) -> ParseResult:
    engine = get_nlu_engine() if _engine_name() != ENGINE_RASA else get_shared_embedded_nlu()
    return engine.parse(text, language or None)


def _run_intent(
    conversation: Conversation,
    buyer: User,
    text: str,
    intent: str,
    entities: dict[str, list[str]],
) -> list[BotReply]:
    action = INTENT_ACTIONS.get(intent, "utter_default")
    ctx = DialogueContext(
        conversation=conversation, buyer=buyer, text=text, intent=intent, entities=entities
    )
    return run_action(action, ctx)


def _respond_with_rasa(
    conversation: Conversation, message: Message, text: str
) -> list[BotReply] | None:
    engine = get_nlu_engine()
    webhook = getattr(engine, "rasa_rest_webhook", None)
    if webhook is None:
        return None
    try:
        replies = webhook(
            rasa_sender_id(conversation),
            text,
            metadata={
                "conversation_id": conversation.pk,
                "message_id": message.pk,
                "language": _language_of(conversation.buyer),
                "channel": conversation.channel,
            },
        )
    except NLUUnavailable as error:
        logger.warning("Rasa unavailable, the embedded dialogue answers instead: %s", error)
        return None
    return merge_split_replies(replies)


def merge_split_replies(replies: list[BotReply]) -> list[BotReply]:
    """Rasa's REST channel splits one ``utter_message(text=..., json_message=...)`` into a
    text item and a ``custom`` item; put them back together as one reply."""
    merged: list[BotReply] = []
    for item in replies:
        custom_only = item.custom and not item.text and not item.buttons and not item.image
        if custom_only and merged and merged[-1].custom is None:
            merged[-1] = replace(merged[-1], custom=item.custom)
        else:
            merged.append(item)
    return merged


# --- posting replies -------------------------------------------------------------------------------


def post_bot_replies(*, conversation: Conversation, replies: list[BotReply]) -> list[Message]:
    """Store the replies as bot messages (each fans out like any message, e.g. to Telegram)."""
    posted = []
    for bot_reply in replies:
        payload = reply_to_payload(bot_reply)
        if not bot_reply.text and not payload:
            continue
        result = post_message(
            conversation=conversation,
            author=None,
            kind=MessageKind.BOT,
            text=bot_reply.text or "",
            payload=payload,
            channel=conversation.channel,
        )
        posted.append(result.message)
    return posted


def reply_to_message(message_id: int) -> list[Message]:
    """Celery entry: answer one buyer message if the bot is in charge of its conversation."""
    message = Message.objects.select_related("conversation__buyer").filter(pk=message_id).first()
    if message is None:
        return []
    conversation = message.conversation
    if not should_answer(conversation=conversation, message=message):
        return []
    replies = respond(conversation, message)
    return post_bot_replies(conversation=conversation, replies=replies)
