from django.contrib import admin

from bots.models import (
    LinkCode,
    ProcessedUpdate,
    TelegramAccount,
    TelegramDelivery,
)


@admin.register(TelegramAccount)
class TelegramAccountAdmin(admin.ModelAdmin):
    list_display = ["telegram_user_id", "username", "user", "is_guest", "linked_at", "created_at"]
    list_filter = ["is_guest"]
    search_fields = ["telegram_user_id", "username", "user__email"]
    raw_id_fields = ["user", "active_conversation"]
    readonly_fields = ["created_at", "linked_at", "unreachable_since"]


@admin.register(LinkCode)
class LinkCodeAdmin(admin.ModelAdmin):
    list_display = ["user", "created_at", "expires_at", "used_at"]
    raw_id_fields = ["user"]
    # The code itself is a credential until used: not shown in lists.
    exclude = ["code"]


@admin.register(ProcessedUpdate)
class ProcessedUpdateAdmin(admin.ModelAdmin):
    list_display = ["update_id", "received_at"]


@admin.register(TelegramDelivery)
class TelegramDeliveryAdmin(admin.ModelAdmin):
    list_display = ["message", "account", "status", "attempts", "reason", "delivered_at"]
    list_filter = ["status"]
    raw_id_fields = ["message", "account"]
    readonly_fields = ["claim_token", "lease_until", "attempts", "telegram_message_ids"]
