"""Admin: every commerce record with list views and search; money records are read-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from commerce import models, services
from commerce.errors import CommerceError


class ReadOnlyAdmin(admin.ModelAdmin):
    """Money and history rows change only through services."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class ProcessPhotoInline(admin.TabularInline):
    model = models.ProcessPhoto
    extra = 0


@admin.register(models.ArtisanProfile)
class ArtisanProfileAdmin(admin.ModelAdmin):
    list_display = [
        "shop_name",
        "user",
        "region",
        "country",
        "handmade_declaration",
        "claim_status",
        "is_public",
    ]
    list_filter = ["claim_status", "handmade_declaration", "is_public", "country"]
    search_fields = ["shop_name", "user__email", "region", "materials"]
    readonly_fields = ["claim_reviewed_at", "claim_reviewed_by", "created_at", "updated_at"]
    inlines = [ProcessPhotoInline]
    actions = ["verify_claims"]

    @admin.action(description="Verify the handmade claim")
    def verify_claims(self, request: HttpRequest, queryset: QuerySet) -> None:
        for profile in queryset:
            services.review_authenticity_claim(
                admin=request.user, profile=profile, status="verified"
            )
        messages.success(request, f"{queryset.count()} claim(s) verified.")


@admin.register(models.Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}


class ProductPhotoInline(admin.TabularInline):
    model = models.ProductPhoto
    extra = 0


class CustomizationOptionInline(admin.TabularInline):
    model = models.CustomizationOption
    extra = 0


@admin.register(models.Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "shop",
        "price",
        "currency",
        "stock_quantity",
        "made_to_order",
        "status",
    ]
    list_filter = ["status", "currency", "made_to_order", "category"]
    search_fields = ["title", "description", "tags", "shop__shop_name"]
    inlines = [ProductPhotoInline, CustomizationOptionInline]


@admin.register(models.CustomizationOption)
class CustomizationOptionAdmin(admin.ModelAdmin):
    list_display = ["label", "product", "kind", "required", "max_length"]
    search_fields = ["label", "product__title"]


@admin.register(models.ChoiceValue)
class ChoiceValueAdmin(admin.ModelAdmin):
    list_display = ["label", "option", "price_delta"]
    search_fields = ["label", "option__label"]


@admin.register(models.CustomRequest)
class CustomRequestAdmin(ReadOnlyAdmin):
    list_display = [
        "pk",
        "buyer",
        "artisan",
        "status",
        "budget",
        "budget_currency",
        "deadline",
        "created_at",
    ]
    list_filter = ["status"]
    search_fields = ["buyer__email", "artisan__email"]  # description: encrypted at rest


class OfferLineInline(admin.TabularInline):
    model = models.OfferLine
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class OfferEventInline(admin.TabularInline):
    model = models.OfferEvent
    extra = 0
    can_delete = False
    readonly_fields = ["from_status", "to_status", "actor", "code", "data", "created_at"]

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(models.Offer)
class OfferAdmin(ReadOnlyAdmin):
    list_display = [
        "pk",
        "kind",
        "version",
        "status",
        "total",
        "currency",
        "buyer",
        "artisan",
        "expires_at",
    ]
    list_filter = ["status", "kind", "currency", "personalised"]
    search_fields = ["buyer__email", "artisan__email", "order__reference"]
    inlines = [OfferLineInline, OfferEventInline]


class OrderEventInline(admin.TabularInline):
    model = models.OrderEvent
    extra = 0
    can_delete = False
    readonly_fields = ["type", "old_status", "new_status", "actor", "note", "data", "created_at"]

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(models.Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = [
        "reference",
        "title",
        "buyer",
        "artisan",
        "status",
        "total",
        "amount_paid",
        "currency",
        "created_at",
    ]
    list_filter = ["status", "currency", "is_custom", "personalised"]
    search_fields = ["reference", "title", "buyer__email", "artisan__email"]
    inlines = [OrderEventInline]
    actions = ["refund_in_full"]

    @admin.action(description="Refund in full through the payment provider")
    def refund_in_full(self, request: HttpRequest, queryset: QuerySet) -> None:
        for order in queryset:
            try:
                services.refund_order(
                    actor=request.user, order=order, reason="Refunded by an admin"
                )
            except CommerceError as error:
                messages.error(request, f"{order.reference}: {error.message}")


@admin.register(models.OrderEvent)
class OrderEventAdmin(ReadOnlyAdmin):
    list_display = ["order", "type", "old_status", "new_status", "actor", "created_at"]
    list_filter = ["type"]
    search_fields = ["order__reference", "note"]


@admin.register(models.ProductionStage)
class ProductionStageAdmin(ReadOnlyAdmin):
    list_display = ["order", "stage", "created_by", "created_at"]
    search_fields = ["order__reference"]


@admin.register(models.Proof)
class ProofAdmin(ReadOnlyAdmin):
    list_display = ["order", "status", "sha256", "decided_at", "approved_sha256"]
    list_filter = ["status"]
    search_fields = ["order__reference", "sha256"]


class PaymentEventInline(admin.TabularInline):
    model = models.PaymentEvent
    extra = 0
    can_delete = False
    readonly_fields = ["from_status", "to_status", "actor", "code", "data", "created_at"]

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(models.Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = [
        "order",
        "provider",
        "provider_payment_id",
        "purpose",
        "amount",
        "currency",
        "status",
        "amount_refunded",
        "applied_to_order",
        "needs_refund",
    ]
    list_filter = ["provider", "status", "purpose", "needs_refund"]
    search_fields = ["order__reference", "provider_payment_id", "idempotency_key"]
    inlines = [PaymentEventInline]
    actions = ["refund_payments"]

    @admin.action(description="Refund (e.g. a duplicate payment)")
    def refund_payments(self, request: HttpRequest, queryset: QuerySet) -> None:
        for payment in queryset:
            try:
                services.refund_payment(
                    actor=request.user, payment=payment, reason="Refunded by an admin"
                )
            except CommerceError as error:
                messages.error(request, f"{payment}: {error.message}")


@admin.register(models.ProcessedWebhookEvent)
class ProcessedWebhookEventAdmin(ReadOnlyAdmin):
    list_display = ["provider", "event_id", "event_type", "outcome", "received_at"]
    list_filter = ["provider", "outcome"]
    search_fields = ["event_id"]


@admin.register(models.Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = [
        "order",
        "payment",
        "amount",
        "currency",
        "status",
        "provider_refund_id",
        "created_at",
    ]
    list_filter = ["status"]
    search_fields = ["order__reference", "provider_refund_id"]


@admin.register(models.LedgerAccount)
class LedgerAccountAdmin(ReadOnlyAdmin):
    list_display = ["artisan", "created_at"]
    search_fields = ["artisan__email"]


@admin.register(models.LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["artisan", "kind", "amount", "currency", "order", "payout", "created_at"]
    list_filter = ["kind", "currency"]
    search_fields = ["artisan__email", "order__reference", "note"]


@admin.register(models.PayoutRequest)
class PayoutRequestAdmin(ReadOnlyAdmin):
    list_display = [
        "artisan",
        "amount",
        "currency",
        "status",
        "requested_at",
        "decided_at",
        "admin",
    ]
    list_filter = ["status", "currency"]
    search_fields = ["artisan__email"]
    actions = ["approve", "reject", "mark_paid"]

    def _apply(self, request: HttpRequest, queryset: QuerySet, service, label: str) -> None:
        for payout in queryset:
            try:
                service(admin=request.user, payout=payout)
            except CommerceError as error:
                messages.error(request, f"Payout #{payout.pk}: {error.message}")
            else:
                messages.success(request, f"Payout #{payout.pk} {label}.")

    @admin.action(description="Approve (debits the artisan's ledger)")
    def approve(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._apply(request, queryset, services.approve_payout, "approved")

    @admin.action(description="Reject")
    def reject(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._apply(request, queryset, services.reject_payout, "rejected")

    @admin.action(description="Mark paid out")
    def mark_paid(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._apply(request, queryset, services.mark_payout_paid, "marked paid")


@admin.register(models.LogisticsProvider)
class LogisticsProviderAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "tracking_url_template"]
    search_fields = ["name", "slug"]
    filter_horizontal = ["members"]


class ShipmentEventInline(admin.TabularInline):
    model = models.ShipmentEvent
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(models.Shipment)
class ShipmentAdmin(ReadOnlyAdmin):
    list_display = ["tracking_number", "carrier", "order", "provider", "status", "updated_at"]
    list_filter = ["status", "provider"]
    search_fields = ["tracking_number", "order__reference"]
    inlines = [ShipmentEventInline]


class ShippingRateInline(admin.TabularInline):
    model = models.ShippingRate
    extra = 0


@admin.register(models.ShippingProfile)
class ShippingProfileAdmin(admin.ModelAdmin):
    list_display = ("shop", "processing_days", "currency", "free_shipping_threshold")
    inlines = [ShippingRateInline]


@admin.register(models.ShippingAddress)
class ShippingAddressAdmin(admin.ModelAdmin):
    # Personal data: support looks one up by buyer, nobody browses the list.
    list_display = ("buyer", "city", "country", "is_default")
    search_fields = ("buyer__email",)
    raw_id_fields = ("buyer",)


# --- Marketing ------------------------------------------------------------------------------


class CampaignEventInline(admin.TabularInline):
    model = models.CampaignEvent
    extra = 0
    can_delete = False
    readonly_fields = ["from_status", "to_status", "actor", "code", "data", "created_at"]

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(models.Campaign)
class CampaignAdmin(ReadOnlyAdmin):
    """Moderation: read every campaign, stop one before or during sending."""

    list_display = ["title", "shop", "status", "segment", "channels", "scheduled_for", "started_at"]
    list_filter = ["status", "segment"]
    search_fields = ["title", "body", "shop__shop_name"]
    readonly_fields = ["delivery"]
    inlines = [CampaignEventInline]
    actions = ["stop_campaigns"]

    @admin.display(description="Delivery")
    def delivery(self, obj: models.Campaign) -> str:
        from commerce.services.marketing import delivery_counts

        counts = delivery_counts(obj.pk)
        return ", ".join(
            f"{key} {counts[key]}" for key in ("sent", "pending", "sending", "failed", "skipped")
        )

    @admin.action(description="Stop (nobody still waiting gets it)")
    def stop_campaigns(self, request: HttpRequest, queryset: QuerySet) -> None:
        from commerce.services.marketing import cancel_campaign

        for campaign in queryset:
            try:
                cancel_campaign(campaign=campaign, actor=request.user, by_moderator=True)
            except CommerceError as error:
                messages.error(request, f"{campaign}: {error.message}")
            else:
                messages.success(request, f"{campaign}: stopped.")


@admin.register(models.CampaignRecipient)
class CampaignRecipientAdmin(ReadOnlyAdmin):
    list_display = ["campaign", "user", "channel", "state", "reason", "attempts", "sent_at"]
    list_filter = ["channel", "state"]
    search_fields = ["campaign__title", "user__email"]


@admin.register(models.PromoCode)
class PromoCodeAdmin(ReadOnlyAdmin):
    list_display = ["code", "shop", "kind", "value", "currency", "ends_at", "max_uses", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["code", "shop__shop_name"]


@admin.register(models.Follow)
class FollowAdmin(ReadOnlyAdmin):
    list_display = ["user", "shop", "created_at"]
    search_fields = ["user__email", "shop__shop_name"]


class ReviewPhotoInline(admin.TabularInline):
    """The buyer's photos; a moderator can delete one (the file goes with it) or hide the
    whole review."""

    model = models.ReviewPhoto
    extra = 0
    fields = ["preview", "position"]
    readonly_fields = ["preview", "position"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("Photo"))
    def preview(self, photo: models.ReviewPhoto) -> str:
        return format_html('<img src="{}" alt="" width="120">', photo.image.url)


@admin.register(models.Review)
class ReviewAdmin(admin.ModelAdmin):
    """Moderation: read reviews, hide one (it leaves the pages and the averages)."""

    inlines = [ReviewPhotoInline]

    list_display = ["order", "shop", "piece_rating", "shop_rating", "is_hidden", "created_at"]
    list_filter = ["is_hidden", "piece_rating", "shop_rating"]
    search_fields = ["order__reference", "shop__shop_name", "text"]
    readonly_fields = [
        "order", "shop", "product", "buyer", "piece_rating", "shop_rating", "text",
        "reply", "replied_at", "created_at",
    ]  # fmt: skip
    fields = [*readonly_fields, "is_hidden"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(models.CsatRating)
class CsatRatingAdmin(ReadOnlyAdmin):
    """The buyers' in-chat answers (1–5) once an order is delivered; read-only: only the
    buyer's tap (commerce/services/csat.py) writes them, and erasure deletes them."""

    list_display = ["order", "shop", "score", "channel", "created_at", "updated_at"]
    list_filter = ["score", "channel"]
    search_fields = ["order__reference", "shop__shop_name"]
    list_select_related = ["order", "shop"]
    date_hierarchy = "created_at"
    fields = ["order", "shop", "buyer", "score", "channel", "created_at", "updated_at"]
    readonly_fields = fields
