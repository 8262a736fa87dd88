"""Template filters for money and dates in the reader's locale and time zone.

``{% load atelier_l10n %}`` then ``{{ order.total|money:order.currency }}``,
``{{ order.created_at|local_datetime }}``, ``{{ shipment.eta|local_date }}``.
"""

from __future__ import annotations

from django import template

from core import l10n

register = template.Library()


@register.filter
def money(amount, currency):
    return l10n.format_money(amount, currency)


@register.filter
def local_datetime(value, style="medium"):
    return l10n.format_datetime(value, format=style)


@register.filter
def local_date(value, style="medium"):
    return l10n.format_date(value, format=style)


@register.filter
def local_time(value):
    return l10n.format_time(value)


@register.filter
def percentage(value):
    return l10n.format_percentage(value)
