from __future__ import annotations

import zoneinfo

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from core.models import Role

COMMON_TIME_ZONES = sorted(
    z for z in zoneinfo.available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/"))
)
TZ_CHOICES = [("UTC", "UTC")] + [(z, z.replace("_", " ")) for z in COMMON_TIME_ZONES]


class SignUpForm(forms.Form):
    email = forms.EmailField(
        label=_("Email"), widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    display_name = forms.CharField(label=_("Display name"), max_length=80, required=False)
    password = forms.CharField(
        label=_("Password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 10 characters; not a common password."),
    )
    role = forms.ChoiceField(
        label=_("I want to"),
        choices=[(Role.BUYER, _("Buy handmade goods")), (Role.ARTISAN, _("Sell my work"))],
        widget=forms.RadioSelect,
        initial=Role.BUYER,
    )
    preferred_language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    marketing_consent = forms.BooleanField(
        label=_("Send me news and offers from artisans I follow"), required=False
    )
    # Filled by static/js/browser-time-zone.js from the browser's own setting; the person
    # can change it later in their account settings.
    time_zone = forms.CharField(
        required=False,
        max_length=64,
        widget=forms.HiddenInput(attrs={"data-browser-time-zone": True}),
    )

    def clean_time_zone(self) -> str:
        """A known IANA zone, else UTC (a hidden field must never block signing up)."""
        name = (self.cleaned_data.get("time_zone") or "").strip()
        try:
            zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return "UTC"
        return name if name in zoneinfo.available_timezones() else "UTC"


class LoginForm(forms.Form):
    email = forms.EmailField(
        label=_("Email"),
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )
    password = forms.CharField(
        label=_("Password"), widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Authentication code"),
        max_length=32,
        help_text=_("The 6-digit code from your app, or one of your recovery codes."),
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


class ReauthForm(forms.Form):
    password = forms.CharField(
        label=_("Password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )
    code = forms.CharField(
        label=_("Authentication code"),
        max_length=32,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class ProfileForm(forms.Form):
    display_name = forms.CharField(label=_("Display name"), max_length=80, required=False)
    preferred_language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    time_zone = forms.ChoiceField(label=_("Time zone"), choices=TZ_CHOICES)


class EmailChangeForm(forms.Form):
    email = forms.EmailField(label=_("New email"))


class PasswordChangeForm(forms.Form):
    new_password = forms.CharField(
        label=_("New password"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )


class EraseForm(forms.Form):
    confirm = forms.CharField(
        label=_("Type ERASE to confirm"),
        help_text=_(
            "This cannot be undone. Orders the law requires us to keep stay, without your name."
        ),
    )

    def clean_confirm(self) -> str:
        value = self.cleaned_data["confirm"].strip()
        if value != "ERASE":
            raise forms.ValidationError(_("Type ERASE in capitals to confirm."))
        return value
