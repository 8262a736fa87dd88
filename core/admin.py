from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from core.models import AuditEvent, Consent, RecoveryCode, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = [
        "email",
        "display_name",
        "role",
        "has_totp",
        "is_active",
        "suspended_at",
        "date_joined",
    ]
    list_filter = ["role", "is_active", "is_staff", "is_guest"]
    search_fields = ["email", "display_name"]
    readonly_fields = ["public_id", "date_joined", "last_login", "totp_confirmed_at", "erased_at"]
    fieldsets = (
        (None, {"fields": ("email", "password", "public_id")}),
        (
            _("Profile"),
            {"fields": ("display_name", "role", "preferred_language", "time_zone", "is_guest")},
        ),
        (_("Status"), {"fields": ("is_active", "suspended_at", "suspension_reason", "erased_at")}),
        (_("Security"), {"fields": ("totp_confirmed_at", "last_login", "date_joined")}),
        (_("Permissions"), {"fields": ("is_staff", "is_superuser", "groups", "user_permissions")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "role", "password1", "password2")}),
    )

    @admin.display(boolean=True, description=_("2FA"))
    def has_totp(self, obj: User) -> bool:
        return obj.has_totp


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kind", "subject_email", "actor", "ip_address"]
    list_filter = ["kind"]
    search_fields = ["subject_email", "actor__email", "ip_address"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in AuditEvent._meta.fields]

    # The trail is append-only: nobody edits or deletes it from the admin.
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Consent)
class ConsentAdmin(admin.ModelAdmin):
    list_display = ["user", "purpose", "granted", "source", "created_at"]
    list_filter = ["purpose", "granted"]
    search_fields = ["user__email"]


@admin.register(RecoveryCode)
class RecoveryCodeAdmin(admin.ModelAdmin):
    list_display = ["user", "created_at", "used_at"]
    search_fields = ["user__email"]
    readonly_fields = ["user", "code_hash", "created_at", "used_at"]
