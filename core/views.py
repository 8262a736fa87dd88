"""Account pages: thin views that parse a form, call one service and render."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django_ratelimit.decorators import ratelimit

from core import security, services
from core.audit import record_audit_event
from core.decorators import recently_authenticated, sensitive_action
from core.forms import (
    CodeForm,
    EmailChangeForm,
    EraseForm,
    LoginForm,
    PasswordChangeForm,
    ProfileForm,
    ReauthForm,
    SignUpForm,
)
from core.gdpr import erase_personal_data, export_personal_data
from core.http import safe_next_url
from core.models import AuditEvent, Consent, User
from core.pagecache import cache_public_page
from core.ratelimits import ip_key, rate

PENDING_2FA_KEY = "atelier_pending_2fa_user"
PENDING_NEXT_KEY = "atelier_pending_next"


def _landing_for(user: User) -> str:
    """Where someone lands after signing in when no page asked for it: artisans on their
    inbox, admins on the moderation console, buyers on the home page. (URL names, not
    imports: core stays below the apps.)"""
    if user.is_artisan:
        return reverse("webchat:inbox")
    if user.is_platform_admin:
        return reverse("webchat:moderation_queue")
    return reverse("core:home")


def _add_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """The footer picker: also the signed-in person's profile language (which wins later)."""
    from django.conf import settings
    from django.views.i18n import set_language as django_set_language

    code = request.POST.get("language", "")
    if request.user.is_authenticated and code in dict(settings.LANGUAGES):
        services.update_profile(
            user=request.user,
            display_name=request.user.display_name,
            preferred_language=code,
            time_zone=request.user.time_zone,
        )
    return django_set_language(request)


@cache_public_page()  # the newest pieces: catalogue-wide
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "core/home.html")


@ratelimit(key=ip_key, rate=rate("signup_ip"), method="POST", group="signup-ip")
@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    form = SignUpForm(request.POST or None, initial={"preferred_language": request.LANGUAGE_CODE})
    if request.method == "POST" and form.is_valid():
        try:
            user = services.sign_up(request=request, **form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            security.mark_reauthenticated(request.session)
            if user.is_artisan:
                messages.info(
                    request, _("Welcome! Set up two-factor authentication to start selling.")
                )
                return redirect("core:totp_setup")
            messages.success(request, _("Welcome to Atelier!"))
            return redirect(safe_next_url(request, fallback=reverse("core:home")))
    return render(request, "core/signup.html", {"form": form}, status=400 if form.errors else 200)


@ratelimit(key=ip_key, rate=rate("login_ip"), method="POST", group="login-ip")
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    form = LoginForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            user = services.check_login(
                request=request,
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
            )
        except services.LoginLocked as exc:
            # The same page whether or not the account exists: no enumeration.
            services.send_login_unlock_email(request=request, email=form.cleaned_data["email"])
            return render(
                request,
                "core/login_locked.html",
                {"message": exc.message, "minutes": settings.LOGIN_UNLOCK_LINK_MINUTES},
                status=429,
            )
        except security.InvalidCode as exc:
            form.add_error(None, exc.message)
            status = 400
        else:
            next_url = safe_next_url(request, fallback=_landing_for(user))
            if user.has_totp:
                request.session[PENDING_2FA_KEY] = user.pk
                request.session[PENDING_NEXT_KEY] = next_url
                return redirect("core:login_2fa")
            return _complete_login(request, user, next_url)
    elif request.method == "POST":
        status = 400
    return render(
        request,
        "core/login.html",
        {"form": form, "next": request.GET.get("next", "")},
        status=status,
    )


@ratelimit(key=ip_key, rate=rate("login_ip"), method="POST", group="login-ip")
@require_http_methods(["GET", "POST"])
def login_unlock(request: HttpRequest, token: str) -> HttpResponse:
    """The emailed unlock link: GET asks (mail scanners prefetch links), POST unlocks."""
    if request.method == "POST":
        try:
            services.unlock_login(request=request, token=token)
        except security.InvalidCode as exc:
            return render(request, "core/login_unlock.html", {"error": exc.message}, status=400)
        messages.success(request, _("Sign-in is unlocked on this device. Sign in now."))
        return redirect("core:login")
    return render(request, "core/login_unlock.html")


def _complete_login(request: HttpRequest, user: User, next_url: str) -> HttpResponse:
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    # Signing in with all factors counts as a fresh authentication.
    security.mark_reauthenticated(request.session)
    record_audit_event(kind=AuditEvent.Kind.LOGIN, actor=user, request=request)
    if user.is_artisan and not user.has_totp:
        messages.info(request, _("Set up two-factor authentication to sell on Atelier."))
        return redirect(f"{reverse('core:totp_setup')}?{urlencode({'next': next_url})}")
    return redirect(next_url)


@ratelimit(key=ip_key, rate=rate("login_2fa_ip"), method="POST", group="login-2fa-ip")
@require_http_methods(["GET", "POST"])
def login_2fa(request: HttpRequest) -> HttpResponse:
    user_id = request.session.get(PENDING_2FA_KEY)
    user = User.objects.filter(pk=user_id, is_active=True).first() if user_id else None
    if user is None:
        return redirect("core:login")
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            security.verify_second_factor(
                user=user, code=form.cleaned_data["code"], request=request
            )
        except security.TooManyAttempts as exc:
            form.add_error("code", exc.message)
            status = 429
        except security.SecurityError as exc:
            form.add_error("code", exc.message)
            status = 400
        else:
            next_url = request.session.pop(PENDING_NEXT_KEY, None) or _landing_for(user)
            request.session.pop(PENDING_2FA_KEY, None)
            return _complete_login(request, user, next_url)
    return render(request, "core/login_2fa.html", {"form": form}, status=status)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        record_audit_event(kind=AuditEvent.Kind.LOGOUT, actor=request.user, request=request)
    logout(request)
    return redirect("core:home")


@login_required
@require_http_methods(["GET", "POST"])
def reauth(request: HttpRequest) -> HttpResponse:
    form = ReauthForm(request.POST or None)
    if not request.user.has_totp:
        del form.fields["code"]
    status = 200
    next_url = safe_next_url(request, fallback=reverse("core:settings"))
    if request.method == "POST" and form.is_valid():
        try:
            security.reauthenticate(
                request=request,
                password=form.cleaned_data["password"],
                code=form.cleaned_data.get("code") or "",
            )
        except security.TooManyAttempts as exc:
            form.add_error(None, exc.message)
            status = 429
        except security.TwoFactorRequired as exc:
            form.add_error("code", exc.message)
            status = 400
        except security.SecurityError as exc:
            form.add_error(None, exc.message)
            status = 400
        else:
            return redirect(next_url)
    return render(
        request,
        "core/reauth.html",
        {"form": form, "next": next_url, "needs_code": request.user.has_totp},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def account_settings(request: HttpRequest) -> HttpResponse:
    user: User = request.user
    form = ProfileForm(
        request.POST or None,
        initial={
            "display_name": user.display_name,
            "preferred_language": user.preferred_language,
            "time_zone": user.time_zone,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.update_profile(user=user, **form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Your profile is saved."))
            return redirect("core:settings")
    consents = {
        purpose: services.has_consent(user=user, purpose=purpose)
        for purpose in Consent.Purpose.values
    }
    return render(
        request,
        "core/settings.html",
        {
            "form": form,
            "consents": consents,
            "consent_labels": dict(Consent.Purpose.choices),
            "reauth_fresh": security.is_recently_authenticated(request.session),
        },
    )


@login_required
@require_POST
def update_consents(request: HttpRequest) -> HttpResponse:
    granted = {purpose for purpose in Consent.Purpose.values if request.POST.get(purpose) == "on"}
    services.update_consents(user=request.user, granted=granted)
    messages.success(request, _("Your choices are saved."))
    return redirect("core:settings")


@sensitive_action
@require_http_methods(["GET", "POST"])
def change_email(request: HttpRequest) -> HttpResponse:
    form = EmailChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.change_email(
                user=request.user, new_email=form.cleaned_data["email"], request=request
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Your email address is changed."))
            return redirect("core:settings")
    return render(
        request, "core/change_email.html", {"form": form}, status=400 if form.errors else 200
    )


@sensitive_action
@require_http_methods(["GET", "POST"])
def change_password(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.change_password(
                user=request.user, new_password=form.cleaned_data["new_password"], request=request
            )
        except ValidationError as exc:
            form.add_error("new_password", exc.messages)
        else:
            # Keep this session signed in after the hash changed.
            from django.contrib.auth import update_session_auth_hash

            update_session_auth_hash(request, request.user)
            messages.success(request, _("Your password is changed."))
            return redirect("core:settings")
    return render(
        request, "core/change_password.html", {"form": form}, status=400 if form.errors else 200
    )


@recently_authenticated
@require_http_methods(["GET", "POST"])
def totp_setup(request: HttpRequest) -> HttpResponse:
    user: User = request.user
    if user.has_totp:
        return redirect("core:totp_manage")
    enrolment = security.begin_totp_enrolment(user=user)
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            codes = security.confirm_totp_enrolment(
                user=user, code=form.cleaned_data["code"], request=request
            )
        except security.TooManyAttempts as exc:
            form.add_error("code", exc.message)
            status = 429
        except security.SecurityError as exc:
            form.add_error("code", exc.message)
            status = 400
        else:
            security.mark_reauthenticated(request.session)
            return render(
                request,
                "core/recovery_codes.html",
                {"codes": codes, "next": safe_next_url(request, fallback=reverse("core:settings"))},
            )
    return render(
        request,
        "core/totp_setup.html",
        {"form": form, "enrolment": enrolment, "next": request.GET.get("next", "")},
        status=status,
    )


@login_required
def totp_manage(request: HttpRequest) -> HttpResponse:
    remaining = request.user.recovery_codes.filter(used_at__isnull=True).count()
    return render(request, "core/totp_manage.html", {"remaining_codes": remaining})


@sensitive_action
@require_POST
def totp_disable(request: HttpRequest) -> HttpResponse:
    security.disable_totp(user=request.user, request=request)
    messages.warning(
        request,
        _("Two-factor authentication is off.")
        + (
            " " + _("You cannot sell until you set it up again.") if request.user.is_artisan else ""
        ),
    )
    return redirect("core:settings")


@sensitive_action
@require_POST
def recovery_codes_regenerate(request: HttpRequest) -> HttpResponse:
    codes = security.regenerate_recovery_codes(user=request.user, request=request)
    return render(
        request, "core/recovery_codes.html", {"codes": codes, "next": reverse("core:settings")}
    )


@login_required
def privacy(request: HttpRequest) -> HttpResponse:
    return render(request, "core/privacy.html", {"erase_form": EraseForm()})


@recently_authenticated
def data_export(request: HttpRequest) -> HttpResponse:
    data = export_personal_data(user=request.user, request=request)
    response = HttpResponse(
        json.dumps(data, indent=2, ensure_ascii=False, default=str),
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = 'attachment; filename="atelier-my-data.json"'
    return response


@sensitive_action
@require_POST
def data_erase(request: HttpRequest) -> HttpResponse:
    form = EraseForm(request.POST)
    if not form.is_valid():
        return render(request, "core/privacy.html", {"erase_form": form}, status=400)
    user = request.user
    logout(request)
    erase_personal_data(user=user, request=request)
    messages.success(request, _("Your personal data has been erased. Goodbye."))
    return redirect("core:home")
