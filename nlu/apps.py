from django.apps import AppConfig


class NluConfig(AppConfig):
    name = "nlu"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from conversations.services import register_follow_up, register_write_fact
        from nlu import follow_ups

        register_write_fact(follow_ups.HANDED_OVER, follow_ups.handed_over_sql)
        # After the hub's translation follow-up; before the channels' delivery ones.
        register_follow_up(
            "bot_reply",
            applies=follow_ups.may_reply_as_bot,
            prepare=follow_ups.compute_bot_replies,
            run=follow_ups.post_bot_replies,
            transactional=True,
        )
