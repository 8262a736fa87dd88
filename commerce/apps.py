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

        # Request images, stage photos and proofs are private to the parties (and admins);
        # product and process photos stay public.
        from commerce import selectors
        from core.media import register_private_media

        register_private_media(
            prefix="commerce/requests/", can_access=selectors.request_image_readable
        )
        register_private_media(prefix="commerce/stages/", can_access=selectors.stage_photo_readable)
        register_private_media(prefix="commerce/proofs/", can_access=selectors.proof_image_readable)

        from commerce.campaign_delivery import register_commerce_channels

        register_commerce_channels()

        # Anonymous pages cached per language forget a shop when its listing changes.
        from commerce import page_cache

        page_cache.connect()
