from django.apps import AppConfig


class ConversationsConfig(AppConfig):
    name = "conversations"
    verbose_name = "Conversations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:

        from conversations import services
        from conversations.models import MessageKind

        def enqueue_translation(message) -> None:
            from conversations import message_translation, tasks

            if message_translation.plan_translations(message):
                tasks.translate_message.delay(message.pk)

        def enqueue_away_reply(message) -> None:
            from conversations import tasks

            if message.author_id and message.kind in (MessageKind.TEXT, MessageKind.IMAGE):
                tasks.send_away_reply.delay(message.pk)

        services.register_follow_up("translation", enqueue_translation)
        services.register_follow_up("away_reply", enqueue_away_reply)
