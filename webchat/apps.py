from django.apps import AppConfig


class WebchatConfig(AppConfig):
    name = "webchat"
    default_auto_field = "django.db.models.BigAutoField"
