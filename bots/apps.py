from django.apps import AppConfig


class BotsConfig(AppConfig):
    name = "bots"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from bots import follow_ups
        from bots.bridge import notify_on_telegram
        from conversations.notifications import register_notifier
        from conversations.services import register_follow_up

        # Order matters: the bot's replies are posted (and delivered) after the buyer's
        # message; both follow-ups run after the translation one registered earlier.
        register_follow_up("bot_reply", follow_ups.enqueue_bot_reply)
        register_follow_up("telegram_delivery", follow_ups.enqueue_telegram_delivery)
        register_notifier("telegram", notify_on_telegram)
