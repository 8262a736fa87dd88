from django.apps import AppConfig
from django.core import checks


class ConversationsConfig(AppConfig):
    name = "conversations"
    verbose_name = "Conversations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:

        # Cache invalidation only (the word list is read on the hot path).
        from django.db.models.signals import post_delete, post_save

        from conversations import follow_ups, services
        from conversations.models import FlagWord

        post_save.connect(services.flag_words_changed, sender=FlagWord)
        post_delete.connect(services.flag_words_changed, sender=FlagWord)

        # Each follow-up is an outbox entry written with the message (conversations.outbox).
        services.register_follow_up(
            "translation", applies=follow_ups.needs_translation, run=follow_ups.translate, slow=True
        )
        services.register_follow_up(
            "away_reply",
            applies=follow_ups.may_need_away_reply,
            run=follow_ups.away_reply,
            transactional=True,
        )

        # A serving process loads the language-detection model before it is needed.
        from conversations.translation.detect import warm_up
        from core.startup import register_warm_up

        register_warm_up(warm_up)

        # A send rate that does not parse refuses start-up instead of failing every send.
        from conversations.ratelimit import check_send_rate

        checks.register(check_send_rate, "conversations")

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
