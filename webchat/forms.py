"""Forms of the chat pages: they only parse and validate input; services do the writes."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from conversations.models import ConversationStatus


class InboxFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All"))] + list(ConversationStatus.choices),
    )
    label = forms.CharField(label=_("Label"), required=False, max_length=40)


class QuickReplyForm(forms.Form):
    title = forms.CharField(
        label=_("Title"),
        max_length=60,
        help_text=_("Only you see the title, e.g. “Shipping times”."),
    )
    text = forms.CharField(
        label=_("Text"), max_length=2000, widget=forms.Textarea(attrs={"rows": 4})
    )


class NotificationSettingsForm(forms.Form):
    email_enabled = forms.BooleanField(label=_("Email me about unread messages"), required=False)
    telegram_enabled = forms.BooleanField(
        label=_("Notify me on Telegram (when linked)"), required=False
    )
    quiet_start = forms.TimeField(
        label=_("Quiet hours start"),
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text=_("No notifications between these times (your time zone). Leave empty for none."),
    )
    quiet_end = forms.TimeField(
        label=_("Quiet hours end"),
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )

    def clean(self) -> dict:
        data = super().clean()
        if (data.get("quiet_start") is None) != (data.get("quiet_end") is None):
            self.add_error("quiet_end", _("Set both the start and the end, or leave both empty."))
        return data


class AwaySettingsForm(forms.Form):
    """Artisans only: the auto-reply itself is sent by the hub backend."""

    away_enabled = forms.BooleanField(label=_("Send an away reply"), required=False)
    away_message = forms.CharField(
        label=_("Away message"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Sent once to a buyer who writes while you are away."),
    )
    usual_response_hours = forms.IntegerField(
        label=_("Usual response time (hours)"),
        min_value=1,
        max_value=168,
        help_text=_("Shown to buyers when you are offline."),
    )

    def clean(self) -> dict:
        data = super().clean()
        if data.get("away_enabled") and not (data.get("away_message") or "").strip():
            self.add_error("away_message", _("Write the message buyers will receive."))
        return data


class LabelForm(forms.Form):
    name = forms.CharField(label=_("Label"), max_length=40)


class StatusForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=ConversationStatus.choices)


class ReportForm(forms.Form):
    reason = forms.CharField(
        label=_("What is wrong with this message?"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ModerationNoteForm(forms.Form):
    note = forms.CharField(label=_("Note for the audit trail"), required=False, max_length=500)


class SuspendForm(forms.Form):
    reason = forms.CharField(label=_("Reason (the person sees it)"), max_length=255)


class FlagWordForm(forms.Form):
    phrase = forms.CharField(label=_("Word or phrase"), max_length=100)
    reason = forms.CharField(label=_("Reason shown to moderators"), max_length=100, required=False)
