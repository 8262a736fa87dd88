from django.apps import AppConfig


class NluConfig(AppConfig):
    name = "nlu"
    default_auto_field = "django.db.models.BigAutoField"
