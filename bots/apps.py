from django.apps import AppConfig


class BotsConfig(AppConfig):
    name = "bots"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from bots import follow_ups
        from bots.bridge import notify_on_telegram
        from conversations.notifications import register_notifier
        from conversations.services import register_follow_up

        # Runs after the assistant's reply follow-up (nlu is installed before bots), so the
        # bot's replies reach Telegram after the buyer's message; translation (slow) is last.
        register_follow_up(
            "telegram_delivery",
            applies=follow_ups.goes_to_telegram,
            run=follow_ups.deliver_to_telegram,
        )
        register_notifier("telegram", notify_on_telegram)
        # Delivery never waits for a translation: it is edited in when it arrives.
        from conversations.services import register_translation_listener

        register_translation_listener(follow_ups.on_message_translated)

        from bots import campaigns

        campaigns.register()  # the Telegram channel for commerce's campaigns
