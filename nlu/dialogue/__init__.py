"""The shop bot's dialogue for every channel (Telegram and the web widget).

``respond(conversation, message) -> list[BotReply]`` is the entry point; see
:mod:`nlu.dialogue.engine` for how the engine is chosen and :mod:`nlu.dialogue.actions`
for what each intent does. ``reply_to_message(message_id)`` is what the bot-reply
follow-up runs (through a Celery task) after a buyer's message is committed.
"""

from nlu.dialogue.engine import (
    hand_back_to_bot,
    post_bot_replies,
    reply_to_message,
    respond,
    should_answer,
)

__all__ = ["hand_back_to_bot", "post_bot_replies", "reply_to_message", "respond", "should_answer"]
