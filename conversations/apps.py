from django.apps import AppConfig


class ConversationsConfig(AppConfig):
    name = "conversations"
    verbose_name = "Conversations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:

        from conversations import services
        from conversations.models import MessageKind

        TRANSLATABLE_OR_PEOPLE_KINDS = {
            MessageKind.TEXT,
            MessageKind.IMAGE,
            MessageKind.BOT,
            MessageKind.OFFER,
            MessageKind.ORDER_UPDATE,
        }

        def enqueue_hub_work(message) -> None:
            # One task per message keeps the request path to a single broker publish;
            # the worker plans translations and the away auto-reply.
            from conversations import tasks

            if message.kind in TRANSLATABLE_OR_PEOPLE_KINDS:
                tasks.after_message.delay(message.pk)

        # Cache invalidation only (the word list is read on the hot path).
        from django.db.models.signals import post_delete, post_save

        from conversations.models import FlagWord

        post_save.connect(services.flag_words_changed, sender=FlagWord)
        post_delete.connect(services.flag_words_changed, sender=FlagWord)

        services.register_follow_up("translation", enqueue_hub_work)

        # A serving process loads the language-detection model before it is needed.
        from conversations.translation.detect import warm_up
        from core.startup import register_warm_up

        register_warm_up(warm_up)

        # Sockets close when their sessions end (logout, password change, suspension, ...).
        from django.contrib.auth.signals import user_logged_out

        from conversations import session_revocation
        from core.signals import sessions_revoked

        sessions_revoked.connect(
            session_revocation.on_sessions_revoked, dispatch_uid="hub.sessions_revoked"
        )
        user_logged_out.connect(
            session_revocation.on_user_logged_out, dispatch_uid="hub.user_logged_out"
        )

        # Attachments are private: only people who may read the conversation see them.
        from conversations.selectors import attachment_readable
        from core.media import register_private_media

        register_private_media(prefix="attachments/", can_access=attachment_readable)
