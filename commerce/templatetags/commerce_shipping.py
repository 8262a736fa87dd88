"""Template helpers for addresses, delivery estimates and order history rows."""

from __future__ import annotations

from typing import Any

from django import template

from commerce.history import describe_event
from commerce.services.shipping import address_lines as _address_lines

register = template.Library()


@register.filter
def address_lines(snapshot: Any) -> list[str]:
    """``{% for line in order.shipping_address|address_lines %}`` (country in the reader's
    language)."""
    if hasattr(snapshot, "country") and not isinstance(snapshot, dict):
        from commerce.services.shipping import address_snapshot

        snapshot = address_snapshot(snapshot)
    return _address_lines(snapshot or {})


@register.filter
def event_text(event: Any) -> str:
    """An order history row in the reader's language, rendered from its code."""
    return describe_event(event)


@register.simple_tag
def receipt_for(order: Any) -> Any:
    """``{% receipt_for order as receipt %}``: the price lines that add up to the total."""
    from commerce.receipt import order_receipt

    return order_receipt(order)
