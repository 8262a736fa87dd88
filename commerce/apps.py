from django.apps import AppConfig
from django.core import checks


class CommerceConfig(AppConfig):
    name = "commerce"
    verbose_name = "Commerce"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from commerce.payments.registry import check_payment_gateway

        # Every `manage.py check` (and the production entry points, core/startup.py) refuses
        # the dev gateway with DEBUG off and a selected but unconfigured payment provider.
        checks.register(check_payment_gateway, "commerce")
