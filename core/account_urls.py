from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy
from django_ratelimit.decorators import ratelimit

from core import views
from core.ratelimits import email_key, ip_key, rate


def _limit_password_reset(view):
    """Reset emails per address and per email (each limit counts every request)."""
    view = ratelimit(
        key=email_key, rate=rate("password_reset_email"), method="POST", group="reset-email"
    )(view)
    return ratelimit(key=ip_key, rate=rate("password_reset_ip"), method="POST", group="reset-ip")(
        view
    )


app_name = "core"

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/login/", views.login_view, name="login"),
    path("accounts/login/2fa/", views.login_2fa, name="login_2fa"),
    path("accounts/login/unlock/<str:token>/", views.login_unlock, name="login_unlock"),
    path("accounts/logout/", views.logout_view, name="logout"),
    path("accounts/reauth/", views.reauth, name="reauth"),
    path("accounts/settings/", views.account_settings, name="settings"),
    path("accounts/settings/consents/", views.update_consents, name="consents"),
    path("accounts/settings/email/", views.change_email, name="change_email"),
    path("accounts/settings/password/", views.change_password, name="change_password"),
    path("accounts/2fa/setup/", views.totp_setup, name="totp_setup"),
    path("accounts/2fa/", views.totp_manage, name="totp_manage"),
    path("accounts/2fa/disable/", views.totp_disable, name="totp_disable"),
    path("accounts/2fa/recovery-codes/", views.recovery_codes_regenerate, name="recovery_codes"),
    path("accounts/privacy/", views.privacy, name="privacy"),
    path("accounts/privacy/export/", views.data_export, name="data_export"),
    path("accounts/privacy/erase/", views.data_erase, name="data_erase"),
    path(
        "accounts/password-reset/",
        _limit_password_reset(
            auth_views.PasswordResetView.as_view(
                template_name="core/password_reset.html",
                email_template_name="core/email/password_reset.txt",
                subject_template_name="core/email/password_reset_subject.txt",
                success_url=reverse_lazy("core:password_reset_done"),
            )
        ),
        name="password_reset",
    ),
    path(
        "accounts/password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="core/password_reset_done.html"),
        name="password_reset_done",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="core/password_reset_confirm.html",
            success_url=reverse_lazy("core:login"),
        ),
        name="password_reset_confirm",
    ),
]
