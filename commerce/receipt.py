"""The lines of an order's price, each an amount, so that what a page lists visibly adds up
to the total: unit price × quantity, each option surcharge, each offer line, accepted change
orders, shipping. Built from the order's frozen snapshot and its stored amounts."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from commerce.models import Order


@dataclass(frozen=True)
class ReceiptLine:
    label: str
    amount: Decimal
    detail: str = ""  # e.g. "2 × €42.00"
    kind: str = "item"  # item | option | change | shipping


@dataclass(frozen=True)
class Receipt:
    lines: list[ReceiptLine]
    total: Decimal
    currency: str

    @property
    def lines_sum(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0"))


def _dec(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return Decimal("0")


def order_receipt(order: Order) -> Receipt:
    from core.l10n import format_money

    snapshot: dict[str, Any] = order.spec_snapshot or {}
    currency = order.currency
    lines: list[ReceiptLine] = []
    if snapshot.get("source") == "offer":
        for line in (snapshot.get("offer") or {}).get("lines", []):
            quantity = int(line.get("quantity") or 1)
            detail = (
                f"{quantity} × {format_money(_dec(line.get('unit_price')), currency)}"
                if quantity > 1
                else ""
            )
            lines.append(ReceiptLine(line.get("description", ""), _dec(line.get("total")), detail))
    else:
        quantity = int(snapshot.get("quantity") or 1)
        base = _dec((snapshot.get("product") or {}).get("base_price"))
        title = (snapshot.get("product") or {}).get("title") or order.title
        detail = f"{quantity} × {format_money(base, currency)}" if quantity > 1 else ""
        lines.append(ReceiptLine(title, base * quantity, detail))
        for option in snapshot.get("options", []):
            delta = _dec(option.get("price_delta"))
            label = f"{option.get('option', '')}: {option.get('value', '')}"
            detail = (
                f"{quantity} × {format_money(delta, currency)}" if delta and quantity > 1 else ""
            )
            lines.append(ReceiptLine(label, delta * quantity, detail, kind="option"))
    for change in snapshot.get("change_orders", []):
        label = _("Change order v%(version)s") % {"version": change.get("version", "")}
        descriptions = " — ".join(ln.get("description", "") for ln in change.get("lines", []))
        lines.append(
            ReceiptLine(
                f"{label}: {descriptions}" if descriptions else label,
                _dec(change.get("total")),
                kind="change",
            )
        )
    if order.discount_amount:
        code = (snapshot.get("discount") or {}).get("code") or ""
        lines.append(
            ReceiptLine(
                _("Promo code %(code)s") % {"code": code},
                -order.discount_amount,
                kind="discount",
            )
        )
    lines.append(
        ReceiptLine(
            _("Shipping") if order.shipping_amount else _("Shipping (free)"),
            order.shipping_amount,
            kind="shipping",
        )
    )
    return Receipt(lines=lines, total=order.total, currency=currency)
