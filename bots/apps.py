from importlib import import_module
from typing import Any

from django.apps import AppConfig


def _lazy(module: str, name: str) -> Any:
    """``module.name``, imported on first call: the Telegram side (aiogram builds hundreds
    of pydantic models, seconds of start-up) loads only in a process that uses it, not in
    every ``manage.py`` command."""

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(import_module(module), name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    return call


def _warm_up() -> None:
    import_module("bots.bridge")
    import_module("bots.campaigns")


class BotsConfig(AppConfig):
    name = "bots"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from bots import follow_ups
        from commerce.campaign_channels import CampaignChannelSpec, register_campaign_channel
        from commerce.models import CampaignChannel
        from conversations.notifications import register_notifier
        from conversations.services import (
            register_follow_up,
            register_translation_listener,
            register_write_fact,
        )
        from core.models import Consent
        from core.startup import register_warm_up

        # Runs after the assistant's reply follow-up (nlu is installed before bots), so the
        # bot's replies reach Telegram after the buyer's message; translation (slow) is last.
        register_write_fact(follow_ups.BUYER_ON_TELEGRAM, follow_ups.buyer_on_telegram_sql)
        register_follow_up(
            "telegram_delivery",
            applies=follow_ups.goes_to_telegram,
            run=follow_ups.deliver_to_telegram,
        )
        # A card the buyer has in Telegram follows its changes there (a CSAT answer given
        # on the web, the question closed by a refund, an offer replaced).
        register_follow_up(
            "telegram_card_refresh",
            applies=follow_ups.card_changed_applies,
            run=follow_ups.refresh_card_on_telegram,
            on_change=True,
        )
        register_notifier("telegram", _lazy("bots.bridge", "notify_on_telegram"))
        # Delivery never waits for a translation: it is edited in when it arrives.
        register_translation_listener(follow_ups.on_message_translated)
        # A serving process loads the Telegram side at start, before it is needed.
        register_warm_up(_warm_up, imports_only=True)
        # The Telegram channel for commerce's campaigns (bots.campaigns).
        register_campaign_channel(
            CampaignChannelSpec(
                name=CampaignChannel.TELEGRAM,
                consent_purpose=Consent.Purpose.MARKETING_TELEGRAM,
                send=_lazy("bots.campaigns", "send_one"),
                reachable=_lazy("bots.campaigns", "reachable"),
                batch=_lazy("bots.campaigns", "send_batch"),
            )
        )
