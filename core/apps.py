from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Accounts & security"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from core.logs import configure_structlog

        configure_structlog()
        # Each app's gdpr.py registers its exporters/erasers (see core/gdpr.py).
        autodiscover_modules("gdpr")
