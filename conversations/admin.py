from django.contrib import admin

from conversations.models import (
    Attachment,
    Block,
    Conversation,
    FlagWord,
    Message,
    MessageRevision,
    MessageTranslation,
    ModerationAction,
    NotificationSettings,
    Participant,
    QuickReply,
    Report,
    TranslationCacheEntry,
    TranslationUsage,
)


class ParticipantInline(admin.TabularInline):
    model = Participant
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "subject",
        "buyer",
        "artisan",
        "status",
        "channel",
        "bot_active",
        "last_seq",
        "last_message_at",
    ]
    list_filter = ["status", "channel", "bot_active"]
    search_fields = ["subject", "buyer__email", "artisan__email"]
    raw_id_fields = ["buyer", "artisan"]
    inlines = [ParticipantInline]


class TranslationInline(admin.TabularInline):
    model = MessageTranslation
    extra = 0
    readonly_fields = [
        "target_language",
        "status",
        "text",
        "error",
        "attempts",
        "provider",
        "updated_at",
    ]


class RevisionInline(admin.TabularInline):
    model = MessageRevision
    extra = 0
    readonly_fields = ["text", "replaced_at"]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "conversation",
        "seq",
        "kind",
        "author",
        "language",
        "translation_status",
        "flagged",
        "hidden_at",
        "created_at",
    ]
    list_filter = ["kind", "flagged", "channel", "language"]
    search_fields = ["text", "author__email"]
    raw_id_fields = ["conversation", "author", "hidden_by"]
    inlines = [TranslationInline, RevisionInline]

    @admin.display(description="Translations")
    def translation_status(self, obj: Message) -> str:
        return ", ".join(f"{t.target_language}:{t.status}" for t in obj.translations.all()) or "—"


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ["id", "message", "reporter", "reason", "status", "created_at"]
    list_filter = ["status"]
    raw_id_fields = ["message", "reporter", "resolved_by"]


@admin.register(ModerationAction)
class ModerationActionAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "moderator",
        "kind",
        "conversation",
        "message",
        "target_user",
        "note",
    ]
    list_filter = ["kind"]
    readonly_fields = [f.name for f in ModerationAction._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(FlagWord)
class FlagWordAdmin(admin.ModelAdmin):
    list_display = ["phrase", "reason", "active"]
    list_editable = ["active"]
    search_fields = ["phrase"]


admin.site.register(
    Block, list_display=["blocker", "blocked", "created_at"], raw_id_fields=["blocker", "blocked"]
)
admin.site.register(
    QuickReply, list_display=["owner", "title"], search_fields=["title", "owner__email"]
)
admin.site.register(
    NotificationSettings, list_display=["user", "email_enabled", "telegram_enabled", "away_enabled"]
)
admin.site.register(
    Attachment,
    list_display=["id", "conversation", "uploader", "content_type", "size", "created_at"],
)
admin.site.register(
    TranslationCacheEntry, list_display=["source_language", "target_language", "created_at"]
)
admin.site.register(TranslationUsage, list_display=["month", "characters"])
