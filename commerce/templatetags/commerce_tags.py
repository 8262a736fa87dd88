"""Template helpers for commerce pages."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import template

from commerce.money import format_money

register = template.Library()
_COUNTRY_OPTIONS: dict[str, str] = {}


@register.simple_tag
def country_options(selected: str = "") -> str:
    """The ``<option>`` list of every country, in the active language, with ``selected`` on.

    Built once per language and process: its ~250 options were most of the product page's
    template work (docs/performance.md).
    """
    from django.utils.html import format_html, format_html_join
    from django.utils.safestring import mark_safe
    from django.utils.translation import get_language

    from commerce.forms import country_choices

    language = get_language() or ""
    options = _COUNTRY_OPTIONS.get(language)
    if options is None:
        options = format_html_join("", '<option value="{}">{}</option>', country_choices()[1:])
        _COUNTRY_OPTIONS[language] = options
    if selected:
        plain = format_html('<option value="{}">', selected)
        chosen = format_html('<option value="{}" selected>', selected)
        options = mark_safe(options.replace(plain, chosen, 1))  # noqa: S308 - both escaped
    return options


@register.filter
def money(amount: Any, currency: str) -> str:
    """``{{ order.total|money:order.currency }}`` → "€120.00"."""
    if amount in (None, ""):
        return ""
    try:
        return format_money(Decimal(str(amount)), currency)
    except (InvalidOperation, ValueError):
        return ""


@register.filter
def status_badge(status: str) -> str:
    """Badge modifier for a status: success, warning, danger or neutral."""
    if status in {"paid", "delivered", "accepted", "approved", "verified", "succeeded"}:
        return "badge-success"
    if status in {"cancelled", "refunded", "declined", "expired", "rejected", "failed"}:
        return "badge-danger"
    if status in {
        "pending_payment",
        "awaiting_balance",
        "sent",
        "changes_requested",
        "pending",
        "requested",
    }:
        return "badge-warning"
    return ""


@register.inclusion_tag("commerce/_featured.html")
def featured_products(count: int = 6) -> dict[str, Any]:
    """The newest listed pieces, for the home page."""
    from commerce.selectors import listed_products

    return {"products": list(listed_products().order_by("-created_at")[:count])}


@register.filter
def with_localized_titles(products: Any) -> list[Any]:
    """A grid's pieces, each with ``display_title`` in the active language (one query)."""
    from django.utils.translation import get_language

    from commerce.translation import localize_titles

    return localize_titles(list(products), get_language() or "")


@register.simple_tag
def localized_text(obj: Any, field: str) -> Any:
    """``obj.field`` in the active language (machine or artisan translation), with the
    original kept for "Show original"."""
    from django.utils.translation import get_language

    from commerce.translation import localized

    return localized(obj, field, get_language() or "")


@register.inclusion_tag("commerce/_localized.html")
def show_localized(obj: Any, field: str, multiline: bool = False) -> dict[str, Any]:
    return {"loc": localized_text(obj, field), "multiline": multiline}
