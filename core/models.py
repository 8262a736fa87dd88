"""Accounts, roles, second factor, audit trail and consent records."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.crypto import EncryptedTextField


class Role(models.TextChoices):
    BUYER = "buyer", _("Buyer")
    ARTISAN = "artisan", _("Artisan")
    ADMIN = "admin", _("Admin")
    LOGISTICS = "logistics", _("Logistics partner")


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **extra: Any) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("role", Role.BUYER)
        return self._create(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.update(role=Role.ADMIN, is_staff=True, is_superuser=True)
        return self._create(email, password, **extra)

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email__iexact=username or "")


class User(AbstractBaseUser, PermissionsMixin):
    """A person (or a guest Telegram buyer) using Atelier. Email is the login."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    email = models.EmailField(_("email"), unique=True)
    display_name = models.CharField(_("display name"), max_length=80, blank=True)
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.BUYER)
    preferred_language = models.CharField(
        _("preferred language"), max_length=8, default="en", choices=settings.LANGUAGES
    )
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC")
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    # Suspension is a moderation act; the account still exists for records.
    suspended_at = models.DateTimeField(null=True, blank=True)
    suspension_reason = models.CharField(max_length=255, blank=True)
    is_guest = models.BooleanField(
        default=False, help_text=_("Created for a Telegram buyer without a web account.")
    )
    erased_at = models.DateTimeField(null=True, blank=True)
    date_joined = models.DateTimeField(default=timezone.now)

    # TOTP second factor. The secret is encrypted at rest when FIELD_ENCRYPTION_KEYS is set.
    totp_secret = EncryptedTextField(blank=True, default="")
    totp_confirmed_at = models.DateTimeField(null=True, blank=True)
    # Highest TOTP time-step accepted so far: a code is never accepted twice.
    totp_last_step = models.BigIntegerField(default=0)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.display_name or self.email

    @property
    def name(self) -> str:
        return self.display_name or self.email.split("@", 1)[0]

    @property
    def is_artisan(self) -> bool:
        return self.role == Role.ARTISAN

    @property
    def is_buyer(self) -> bool:
        return self.role == Role.BUYER

    @property
    def is_platform_admin(self) -> bool:
        return self.role == Role.ADMIN or self.is_superuser

    @property
    def is_logistics(self) -> bool:
        return self.role == Role.LOGISTICS

    @property
    def has_totp(self) -> bool:
        return bool(self.totp_secret and self.totp_confirmed_at)

    @property
    def is_suspended(self) -> bool:
        return self.suspended_at is not None

    @property
    def can_sell(self) -> bool:
        """Artisans may only sell once they have enrolled a second factor."""
        return self.is_artisan and self.has_totp and not self.is_suspended


class RecoveryCode(models.Model):
    """Single-use 2FA recovery code, stored hashed like a password."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_codes")
    code_hash = models.CharField(max_length=128)
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["user", "used_at"])]


class AuditEvent(models.Model):
    """Append-only security and moderation trail, visible to admins."""

    class Kind(models.TextChoices):
        LOGIN = "login", _("Login")
        LOGIN_FAILED = "login_failed", _("Failed login")
        LOGIN_LOCKED = "login_locked", _("Login locked out")
        LOGOUT = "logout", _("Logout")
        SIGNUP = "signup", _("Sign-up")
        PASSWORD_CHANGED = "password_changed", _("Password changed")
        PASSWORD_RESET = "password_reset", _("Password reset")
        EMAIL_CHANGED = "email_changed", _("Email changed")
        TOTP_ENROLLED = "totp_enrolled", _("2FA enrolled")
        TOTP_DISABLED = "totp_disabled", _("2FA disabled")
        TOTP_FAILED = "totp_failed", _("2FA code rejected")
        RECOVERY_CODE_USED = "recovery_code_used", _("Recovery code used")
        RECOVERY_CODES_REGENERATED = "recovery_codes_regenerated", _("Recovery codes regenerated")
        REAUTH = "reauth", _("Re-authenticated")
        REAUTH_FAILED = "reauth_failed", _("Re-authentication failed")
        SENSITIVE_ACTION = "sensitive_action", _("Sensitive action")
        DATA_EXPORT = "data_export", _("Data exported")
        ERASURE = "erasure", _("Personal data erased")
        MODERATION = "moderation", _("Moderation action")
        SUSPENDED = "suspended", _("Account suspended")

    kind = models.CharField(max_length=32, choices=Kind.choices, db_index=True)
    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_events"
    )
    subject_email = models.CharField(max_length=254, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=255, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.subject_email} {self.created_at:%Y-%m-%d %H:%M}"


class Consent(models.Model):
    """A person's consent decision for a purpose; every change is a new row (evidence)."""

    class Purpose(models.TextChoices):
        MARKETING_EMAIL = "marketing_email", _("Marketing emails")
        MARKETING_TELEGRAM = "marketing_telegram", _("Marketing messages in Telegram")
        MARKETING_WEB = "marketing_web", _("News from shops I follow on my Atelier updates page")
        EMAIL_TRACKING = "email_tracking", _("Let shops see when I open their emails")
        TRANSLATION = "translation", _("Machine translation of my messages")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="consents")
    purpose = models.CharField(max_length=32, choices=Purpose.choices)
    granted = models.BooleanField()
    source = models.CharField(max_length=32, default="web")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "purpose", "-created_at"])]
