from typing import Any

from django.contrib import admin
from django.utils.translation import ngettext

from conversations import search
from conversations.models import (
    Attachment,
    Block,
    Conversation,
    FlagWord,
    FollowUpEntry,
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
    # ``text`` is encrypted at rest: words are found through the blind index instead.
    search_fields = ["author__email"]
    raw_id_fields = ["conversation", "author", "hidden_by"]
    inlines = [TranslationInline, RevisionInline]

    def get_search_results(self, request: Any, queryset: Any, search_term: str) -> Any:
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        in_text = search.matching_message_ids(search_term)
        if in_text is None:
            return results, may_have_duplicates
        return results | queryset.filter(pk__in=in_text), may_have_duplicates

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


# --- Glossaries, translation preferences, translated content (issue 7) ----------------------

from django import forms  # noqa: E402
from django.contrib import messages  # noqa: E402
from django.contrib.contenttypes.admin import GenericTabularInline  # noqa: E402
from django.http import HttpRequest, HttpResponseRedirect  # noqa: E402
from django.urls import path, reverse  # noqa: E402
from django.utils.translation import gettext_lazy as _  # noqa: E402

from conversations.glossary import sync_glossaries, validate_glossary_term  # noqa: E402
from conversations.models import (  # noqa: E402
    ContentTranslation,
    GlossarySync,
    GlossaryTerm,
    TranslationPreference,
    TranslationStatus,
)
from conversations.translation.types import TranslationNotConfigured  # noqa: E402


class GlossaryTermForm(forms.ModelForm):
    class Meta:
        model = GlossaryTerm
        fields = ["source_language", "target_language", "source", "target", "active", "note"]

    def clean(self) -> dict:
        cleaned = super().clean()
        if not self.errors:
            (
                cleaned["source_language"],
                cleaned["target_language"],
                cleaned["source"],
                cleaned["target"],
            ) = validate_glossary_term(
                source_language=cleaned.get("source_language", ""),
                target_language=cleaned.get("target_language", ""),
                source=cleaned.get("source", ""),
                target=cleaned.get("target", ""),
            )
        return cleaned


def _sync_to_deepl(request: HttpRequest) -> None:
    try:
        outcomes = sync_glossaries()
    except TranslationNotConfigured:
        messages.error(request, _("DeepL is not configured (DEEPL_AUTH_KEY is empty)."))
        return
    failed = [o for o in outcomes if o.error]
    uploaded = [o for o in outcomes if o.uploaded and not o.error]
    for outcome in failed:
        messages.error(
            request,
            _("Glossary %(pair)s was not synced: %(error)s")
            % {
                "pair": f"{outcome.source_language}→{outcome.target_language}",
                "error": outcome.error,
            },
        )
    messages.success(
        request,
        _("Glossaries synced: %(uploaded)s uploaded, %(unchanged)s unchanged.")
        % {"uploaded": len(uploaded), "unchanged": len(outcomes) - len(uploaded) - len(failed)},
    )


@admin.register(GlossaryTerm)
class GlossaryTermAdmin(admin.ModelAdmin):
    form = GlossaryTermForm
    list_display = ["source", "target", "source_language", "target_language", "active", "note"]
    list_editable = ["active"]
    list_filter = ["source_language", "target_language", "active"]
    search_fields = ["source", "target", "note"]
    actions = ["sync_to_deepl"]
    change_list_template = "admin/conversations/glossaryterm/change_list.html"

    @admin.action(description=_("Sync to DeepL"))
    def sync_to_deepl(self, request: HttpRequest, queryset) -> None:
        # A glossary holds every active term of its pair, so every pair is synced.
        _sync_to_deepl(request)

    def get_urls(self):
        return [
            path(
                "sync-to-deepl/",
                self.admin_site.admin_view(self.sync_view),
                name="conversations_glossaryterm_sync",
            ),
            *super().get_urls(),
        ]

    def sync_view(self, request: HttpRequest) -> HttpResponseRedirect:
        if request.method == "POST" and self.has_change_permission(request):
            _sync_to_deepl(request)
        return HttpResponseRedirect(reverse("admin:conversations_glossaryterm_changelist"))


@admin.register(GlossarySync)
class GlossarySyncAdmin(admin.ModelAdmin):
    list_display = [
        "source_language",
        "target_language",
        "glossary_id",
        "entry_count",
        "synced_at",
        "last_error",
    ]
    readonly_fields = [f.name for f in GlossarySync._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


admin.site.register(TranslationPreference, list_display=["user", "formality", "updated_at"])


class ContentTranslationForm(forms.ModelForm):
    """Editing a translation by hand makes it an override the machine never replaces."""

    class Meta:
        model = ContentTranslation
        fields = ["field", "language", "text"]

    def save(self, commit: bool = True) -> ContentTranslation:
        row = super().save(commit=False)
        if "text" in self.changed_data:
            row.is_manual_override = bool(row.text.strip())
            row.status = (
                TranslationStatus.DONE if row.is_manual_override else TranslationStatus.PENDING
            )
            source = getattr(row.content_object, row.field, "") if row.content_object else ""
            row.source_hash = ContentTranslation.hash_source(str(source or ""))
            row.error = ""
        if commit:
            row.save()
        return row


class ContentTranslationInline(GenericTabularInline):
    """Add to ProductAdmin / ArtisanProfileAdmin ``inlines`` to review and override."""

    model = ContentTranslation
    form = ContentTranslationForm
    extra = 0
    fields = ["field", "language", "text", "status", "is_manual_override", "updated_at"]
    readonly_fields = ["status", "is_manual_override", "updated_at"]


@admin.register(ContentTranslation)
class ContentTranslationAdmin(admin.ModelAdmin):
    list_display = [
        "content_type",
        "object_id",
        "field",
        "language",
        "status",
        "attempts",
        "error",
        "is_manual_override",
        "updated_at",
    ]
    list_filter = ["content_type", "language", "status", "is_manual_override"]
    search_fields = ["text"]
    readonly_fields = [
        "source_hash",
        "source_language",
        "attempts",
        "next_attempt_at",
        "error",
        "updated_at",
    ]
    actions = ["retry"]

    @admin.action(description=_("Retry the selected failed translations"), permissions=["change"])
    def retry(self, request, queryset) -> None:
        from conversations.message_translation import retry_content_translations

        count = retry_content_translations(row_ids=queryset.values_list("pk", flat=True))
        self.message_user(
            request,
            ngettext(
                "%(count)d translation queued again.",
                "%(count)d translations queued again.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )


@admin.register(FollowUpEntry)
class FollowUpEntryAdmin(admin.ModelAdmin):
    """The follow-up outbox; filter on "dead" to see the dead letters and retry them."""

    list_display = [
        "id",
        "name",
        "message",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error_code",
        "updated_at",
    ]
    list_filter = ["status", "name", "last_error_code"]
    search_fields = ["=message__id", "last_error_code"]
    raw_id_fields = ["message"]
    readonly_fields = [
        "name",
        "message",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error_code",
        "last_error",
        "created_at",
        "updated_at",
    ]
    ordering = ["-id"]
    actions = ["retry"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description=_("Retry the selected follow-ups"), permissions=["change"])
    def retry(self, request, queryset) -> None:
        from conversations.outbox import retry_follow_ups

        count = retry_follow_ups(entry_ids=queryset.values_list("pk", flat=True))
        skipped = queryset.count() - count
        self.message_user(
            request,
            ngettext(
                "%(count)d follow-up queued again.",
                "%(count)d follow-ups queued again.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )
        if skipped > 0:
            self.message_user(
                request,
                ngettext(
                    "%(count)d follow-up was done or running and was left alone.",
                    "%(count)d follow-ups were done or running and were left alone.",
                    skipped,
                )
                % {"count": skipped},
                messages.WARNING,
            )
