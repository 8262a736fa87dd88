"""Rasa custom actions (rasa-sdk), one class per action declared in ``domain.yml``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections
from django.utils import translation
from django.utils.translation import gettext as _
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from nlu.dialogue.actions import DialogueContext, entities_from_rasa, run_action
from nlu.dialogue.engine import conversation_from_sender_id
from nlu.interface import BotReply


def replies_for_tracker(
    action_name: str,
    *,
    sender_id: str,
    slots: dict[str, Any],
    latest_message: dict[str, Any],
) -> list[BotReply]:
    """Run ``action_name`` for the conversation behind ``sender_id`` (sync: Django ORM)."""
    try:
        return _replies_for_tracker(
            action_name, sender_id=sender_id, slots=slots, latest_message=latest_message
        )
    finally:
        close_old_connections()  # pool threads keep connections; honour CONN_MAX_AGE


def _replies_for_tracker(
    action_name: str,
    *,
    sender_id: str,
    slots: dict[str, Any],
    latest_message: dict[str, Any],
) -> list[BotReply]:
    conversation = conversation_from_sender_id(sender_id or "")
    if conversation is None:
        return [BotReply(text=_("Sorry, I lost track of this conversation. Please write again."))]
    buyer = conversation.buyer
    with translation.override(buyer.preferred_language or settings.LANGUAGE_CODE):
        ctx = DialogueContext(
            conversation=conversation,
            buyer=buyer,
            text=str(latest_message.get("text") or ""),
            intent=str((latest_message.get("intent") or {}).get("name") or ""),
            entities=entities_from_rasa(slots or {}, latest_message.get("entities") or []),
        )
        return run_action(action_name, ctx)


def utter(dispatcher: CollectingDispatcher, replies: list[BotReply]) -> None:
    for reply in replies:
        dispatcher.utter_message(
            text=reply.text,
            buttons=[{"title": b.title, "payload": b.payload} for b in reply.buttons],
            image=reply.image,
            json_message=reply.custom,
        )


class AtelierAction(Action, ABC):
    """Runs the shared action code named like the Rasa action."""

    @abstractmethod
    def name(self) -> str: ...

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        # A worker thread per call (not Django's single "thread-sensitive" thread): the
        # caller of Rasa may itself be waiting in that thread when both share a process.
        replies = await sync_to_async(replies_for_tracker, thread_sensitive=False)(
            self.name(),
            sender_id=tracker.sender_id,
            slots=dict(tracker.slots),
            latest_message=dict(tracker.latest_message or {}),
        )
        utter(dispatcher, replies)
        return []


class ActionSearchProducts(AtelierAction):
    def name(self) -> str:
        return "action_search_products"


class ActionShowArtisan(AtelierAction):
    def name(self) -> str:
        return "action_show_artisan"


class ActionCustomRequest(AtelierAction):
    def name(self) -> str:
        return "action_custom_request"


class ActionOrderStatus(AtelierAction):
    def name(self) -> str:
        return "action_order_status"


class ActionCheckoutLink(AtelierAction):
    def name(self) -> str:
        return "action_checkout_link"


class ActionSubscribeCampaigns(AtelierAction):
    def name(self) -> str:
        return "action_subscribe_campaigns"


class ActionUnsubscribeCampaigns(AtelierAction):
    def name(self) -> str:
        return "action_unsubscribe_campaigns"


class ActionTalkToArtisan(AtelierAction):
    def name(self) -> str:
        return "action_talk_to_artisan"
