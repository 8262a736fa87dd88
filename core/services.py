"""Account services: sign-up, sign-in with throttling, profile and account changes, consent."""

from __future__ import annotations

import zoneinfo
from collections.abc import Collection

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from core.audit import client_ip, record_audit_event
from core.models import AuditEvent, Consent, Role, User
from core.security import (
    InvalidCode,
    TooManyAttempts,
    is_pair_unlocked,
    login_account_throttle,
    login_ip_throttle,
    login_pair_ident,
    login_pair_throttle,
    make_unlock_token,
    redeem_unlock_token,
    unlock_mail_throttle,
)
from core.signals import revoke_sessions_on_commit

SELF_SERVICE_ROLES = (Role.BUYER, Role.ARTISAN)


def _validate_language(code: str) -> str:
    codes = {c for c, _name in settings.LANGUAGES}
    if code not in codes:
        raise ValidationError(
            {
                "preferred_language": _("Choose one of: %(codes)s.")
                % {"codes": ", ".join(sorted(codes))}
            }
        )
    return code


def _validate_time_zone(name: str) -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(
            {"time_zone": _("Unknown time zone “%(name)s”.") % {"name": name}}
        ) from exc
    return name


@transaction.atomic
def sign_up(
    *,
    email: str,
    password: str,
    display_name: str = "",
    role: str = Role.BUYER,
    preferred_language: str = "en",
    time_zone: str = "UTC",
    marketing_consent: bool = False,
    request: HttpRequest | None = None,
) -> User:
    """Create a buyer or artisan account. Admin and logistics accounts are created by admins."""
    email = email.strip().lower()
    validate_email(email)
    if role not in SELF_SERVICE_ROLES:
        raise ValidationError({"role": _("Choose buyer or artisan.")})
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": _("An account with this email already exists.")})
    _validate_language(preferred_language)
    _validate_time_zone(time_zone)
    candidate = User(email=email, display_name=display_name.strip())
    validate_password(password, user=candidate)
    user = User.objects.create_user(
        email=email,
        password=password,
        display_name=display_name.strip()[:80],
        role=role,
        preferred_language=preferred_language,
        time_zone=time_zone,
    )
    Consent.objects.create(
        user=user, purpose=Consent.Purpose.MARKETING_EMAIL, granted=marketing_consent
    )
    record_audit_event(kind=AuditEvent.Kind.SIGNUP, actor=user, request=request, role=role)
    return user


class LoginLocked(TooManyAttempts):
    """Sign-in from this address is locked for this account (or this address is capped)."""


def check_login(*, request: HttpRequest, email: str, password: str) -> User:
    """Verify email + password with lockout after repeated failures.

    Failures count per (address, account), per address and per account (core.security).
    Raises LoginLocked while locked (even for the right password, so guessing gains
    nothing) and InvalidCode for wrong credentials. An (address, account) pair whose owner
    followed an unlock link passes the address and account caps. Does not log in: the
    caller does, after the second factor when the account has one.
    """
    email = (email or "").strip().lower()
    ip = client_ip(request) or "unknown"
    pair = login_pair_ident(ip=ip, email=email)
    pair_throttle, ip_throttle, account_throttle = (
        login_pair_throttle(),
        login_ip_throttle(),
        login_account_throttle(),
    )
    capped = not is_pair_unlocked(pair) and (
        ip_throttle.is_locked(ip) or account_throttle.is_locked(email)
    )
    if capped or pair_throttle.is_locked(pair):
        record_audit_event(kind=AuditEvent.Kind.LOGIN_LOCKED, subject_email=email, request=request)
        raise LoginLocked(
            _(
                "Too many failed sign-in attempts. Try again in a few minutes or reset your password."
            ),
            retry_after=pair_throttle.window_seconds,
        )
    user = authenticate(request, username=email, password=password)
    if user is None or user.is_suspended or user.erased_at:
        for throttle, ident in (
            (pair_throttle, pair),
            (ip_throttle, ip),
            (account_throttle, email),
        ):
            throttle.record_failure(ident)
        record_audit_event(kind=AuditEvent.Kind.LOGIN_FAILED, subject_email=email, request=request)
        if user is not None and user.is_suspended:
            raise InvalidCode(_("This account is suspended. Contact support."))
        raise InvalidCode(_("Email or password is not correct."))
    pair_throttle.reset(pair)
    return user


def send_login_unlock_email(*, request: HttpRequest, email: str) -> bool:
    """Email the account's owner a one-time link that unlocks sign-in from this address.

    Says nothing about whether the account exists (the caller shows the same page either
    way); at most one email per account per lockout window. Returns whether one was sent.
    """
    email = (email or "").strip().lower()
    user = User.objects.filter(email__iexact=email, is_active=True).first()
    if user is None or user.erased_at or user.is_suspended:
        return False
    mail_throttle = unlock_mail_throttle()
    if mail_throttle.is_locked(user.email):
        return False
    mail_throttle.record_failure(user.email)
    token = make_unlock_token(user=user, ip=client_ip(request) or "unknown")
    link = settings.SITE_URL + reverse("core:login_unlock", kwargs={"token": token})
    with translation.override(user.preferred_language or settings.LANGUAGE_CODE):
        context = {
            "user": user,
            "link": link,
            "minutes": settings.LOGIN_UNLOCK_LINK_MINUTES,
            "address": client_ip(request) or "",
        }
        subject = render_to_string("core/email/login_unlock_subject.txt", context).strip()
        body = render_to_string("core/email/login_unlock.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])
    return True


def unlock_login(*, request: HttpRequest, token: str) -> User:
    """Redeem an emailed unlock link from the address it was sent for (once, in time)."""
    return redeem_unlock_token(token=token, ip=client_ip(request) or "unknown")


@transaction.atomic
def update_profile(
    *, user: User, display_name: str, preferred_language: str, time_zone: str
) -> User:
    user.display_name = display_name.strip()[:80]
    user.preferred_language = _validate_language(preferred_language)
    user.time_zone = _validate_time_zone(time_zone)
    user.save(update_fields=["display_name", "preferred_language", "time_zone"])
    return user


@transaction.atomic
def change_email(*, user: User, new_email: str, request: HttpRequest | None = None) -> User:
    """Sensitive: the caller enforces a fresh re-authentication."""
    new_email = new_email.strip().lower()
    validate_email(new_email)
    if User.objects.filter(email__iexact=new_email).exclude(pk=user.pk).exists():
        raise ValidationError({"email": _("An account with this email already exists.")})
    old = user.email
    user.email = new_email
    user.save(update_fields=["email"])
    record_audit_event(
        kind=AuditEvent.Kind.EMAIL_CHANGED, actor=user, request=request, old=old, new=new_email
    )
    return user


@transaction.atomic
def change_password(*, user: User, new_password: str, request: HttpRequest | None = None) -> User:
    """Sensitive: the caller enforces a fresh re-authentication."""
    validate_password(new_password, user=user)
    user.set_password(new_password)
    user.save(update_fields=["password"])
    record_audit_event(kind=AuditEvent.Kind.PASSWORD_CHANGED, actor=user, request=request)
    # Every open socket closes; the browser that changed it reconnects with its new session.
    revoke_sessions_on_commit(user=user, reason="password_changed")
    return user


def record_consent(*, user: User, purpose: str, granted: bool, source: str = "web") -> Consent:
    if purpose not in Consent.Purpose.values:
        raise ValidationError({"purpose": _("Unknown consent purpose.")})
    return Consent.objects.create(user=user, purpose=purpose, granted=granted, source=source)


@transaction.atomic
def update_consents(*, user: User, granted: Collection[str], source: str = "web") -> list[Consent]:
    """Set every consent purpose at once: the purposes in ``granted`` on, all others off.

    Only changed purposes get a new evidence row, and all of them in one transaction, so a
    failure records none of the choices rather than some. The user row is locked so two
    submissions at once cannot both see "unchanged" and skip, or both record the same change.
    """
    unknown = set(granted) - set(Consent.Purpose.values)
    if unknown:
        raise ValidationError({"purpose": _("Unknown consent purpose.")})
    User.objects.select_for_update().filter(pk=user.pk).first()
    recorded = []
    for purpose in Consent.Purpose.values:
        wanted = purpose in granted
        if wanted != has_consent(user=user, purpose=purpose):
            recorded.append(
                record_consent(user=user, purpose=purpose, granted=wanted, source=source)
            )
    return recorded


def has_consent(*, user: User, purpose: str) -> bool:
    latest = Consent.objects.filter(user=user, purpose=purpose).first()
    return bool(latest and latest.granted)
