"""Promo codes: an artisan's discounts, checked on the server and applied to an order before
anything is paid.

A code belongs to one shop and takes a percentage (1–90 %) or a fixed amount off the items
(never the shipping), capped at the items' total. It applies while it is active and inside
its dates, while its uses (orders that are not cancelled or refunded) are under
``max_uses`` overall and ``max_uses_per_buyer`` for this buyer, and when the items reach
``min_order``. One code per order: a second one is refused rather than stacked. Every
refusal is a clear ``InvalidInput`` on the ``code`` field, in the reader's language.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from commerce.errors import InvalidInput, NotAllowed
from commerce.models import (
    ArtisanProfile,
    Order,
    OrderStatus,
    PromoCode,
    PromoKind,
)
from commerce.money import percent_of
from core import l10n
from core.models import User

CODE_FIELD = "code"
NOT_COUNTED = (OrderStatus.CANCELLED, OrderStatus.REFUNDED)
CENT = Decimal("0.01")


def normalise_code(raw: str) -> str:
    return "".join(str(raw or "").split()).upper()


@dataclass(frozen=True)
class PromoInput:
    code: str
    kind: str
    value: Decimal
    currency: str = "EUR"
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    max_uses: int | None = None
    max_uses_per_buyer: int = 1
    min_order: Decimal | None = None


def create_promo_code(*, artisan: User, data: PromoInput) -> PromoCode:
    shop = ArtisanProfile.objects.filter(user=artisan).first()
    if shop is None:
        raise NotAllowed(_("Set up your shop profile first."))
    code = normalise_code(data.code)
    if not 3 <= len(code) <= 32 or not code.replace("-", "").replace("_", "").isalnum():
        raise InvalidInput(
            _("A code is 3 to 32 letters or digits (dashes allowed)."), field=CODE_FIELD
        )
    if PromoCode.objects.filter(shop=shop, code=code).exists():
        raise InvalidInput(
            _("You already have a code “%(code)s”.") % {"code": code}, field=CODE_FIELD
        )
    if data.kind not in PromoKind.values:
        raise InvalidInput(_("Choose a percentage or a fixed amount."), field="kind")
    value = Decimal(data.value)
    if data.kind == PromoKind.PERCENT and not Decimal("1") <= value <= Decimal("90"):
        raise InvalidInput(_("A percentage is between 1 and 90."), field="value")
    if data.kind == PromoKind.FIXED and value <= 0:
        raise InvalidInput(_("The amount off must be more than zero."), field="value")
    starts_at = data.starts_at or timezone.now()
    if data.ends_at is not None and data.ends_at <= starts_at:
        raise InvalidInput(_("The end must be after the start."), field="ends_at")
    if data.max_uses is not None and data.max_uses < 1:
        raise InvalidInput(_("Allow at least one use, or leave it empty."), field="max_uses")
    if data.max_uses_per_buyer < 1:
        raise InvalidInput(_("Allow each buyer at least one use."), field="max_uses_per_buyer")
    if data.min_order is not None and data.min_order < 0:
        raise InvalidInput(_("The minimum order cannot be negative."), field="min_order")
    return PromoCode.objects.create(
        shop=shop,
        code=code,
        kind=data.kind,
        value=value,
        currency=data.currency,
        starts_at=starts_at,
        ends_at=data.ends_at,
        max_uses=data.max_uses,
        max_uses_per_buyer=data.max_uses_per_buyer,
        min_order=data.min_order,
    )


def set_promo_active(*, artisan: User, promo: PromoCode, active: bool) -> PromoCode:
    if promo.shop.user_id != artisan.pk:
        raise NotAllowed(_("This code belongs to another shop."))
    PromoCode.objects.filter(pk=promo.pk).update(is_active=active)
    promo.is_active = active
    return promo


def uses(promo: PromoCode, *, buyer: User | None = None) -> int:
    orders = promo.orders.exclude(status__in=NOT_COUNTED)
    if buyer is not None:
        orders = orders.filter(buyer=buyer)
    return orders.count()


def is_open(promo: PromoCode, *, now: datetime) -> bool:
    """Usable by someone right now: active, started, not ended, not used up (each buyer's own
    limit and the order's minimum are checked when the code is applied)."""
    if not promo.is_active or promo.starts_at > now:
        return False
    if promo.ends_at is not None and promo.ends_at <= now:
        return False
    return promo.max_uses is None or uses(promo) < promo.max_uses


def items_total(order: Order) -> Decimal:
    """What the code applies to: the order's total before discount, less shipping."""
    return order.total + order.discount_amount - order.shipping_amount


def discount_for(promo: PromoCode, *, subtotal: Decimal) -> Decimal:
    if promo.kind == PromoKind.PERCENT:
        amount = (subtotal * promo.value / Decimal("100")).quantize(CENT, rounding=ROUND_HALF_UP)
    else:
        amount = promo.value
    return min(amount, subtotal)


def _check(promo: PromoCode, *, order: Order, buyer: User, now: datetime) -> None:
    code = promo.code
    if not promo.is_active or promo.starts_at > now:
        raise InvalidInput(
            _("The code “%(code)s” is not active.") % {"code": code}, field=CODE_FIELD
        )
    if promo.ends_at is not None and promo.ends_at <= now:
        raise InvalidInput(
            _("The code “%(code)s” expired on %(date)s.")
            % {"code": code, "date": l10n.format_date(promo.ends_at)},
            field=CODE_FIELD,
        )
    if promo.max_uses is not None and uses(promo) >= promo.max_uses:
        raise InvalidInput(_("The code “%(code)s” is used up.") % {"code": code}, field=CODE_FIELD)
    if uses(promo, buyer=buyer) >= promo.max_uses_per_buyer:
        raise InvalidInput(
            _("You have already used the code “%(code)s”.") % {"code": code}, field=CODE_FIELD
        )
    if promo.kind == PromoKind.FIXED and promo.currency != order.currency:
        raise InvalidInput(
            _("The code “%(code)s” is for orders in %(currency)s.")
            % {"code": code, "currency": promo.currency},
            field=CODE_FIELD,
        )
    subtotal = items_total(order)
    if promo.min_order is not None and subtotal < promo.min_order:
        raise InvalidInput(
            _("The code “%(code)s” needs an order of at least %(amount)s (before shipping).")
            % {"code": code, "amount": l10n.format_money(promo.min_order, order.currency)},
            field=CODE_FIELD,
        )


def _lock_open_order(order: Order, buyer: User) -> Order:
    locked = Order.objects.select_for_update().get(pk=order.pk)
    if locked.buyer_id != buyer.pk:
        raise NotAllowed(_("This is not your order."))
    if locked.status != OrderStatus.PENDING_PAYMENT or locked.amount_paid > 0:
        raise InvalidInput(_("A code can only be added before anything is paid."), field=CODE_FIELD)
    return locked


def deposit_for(order: Order) -> Decimal:
    """The deposit the offer agreed, as a share of the order's total after any code."""
    percent = order.offer.deposit_percent if order.offer_id else 0
    if not percent:
        return Decimal("0")
    return percent_of(order.total, percent, order.currency)


def _write_totals(order: Order, discount: Decimal, promo: PromoCode | None) -> None:
    gross = order.total + order.discount_amount
    order.discount_amount = discount
    order.promo_code = promo
    order.total = gross - discount
    # Nothing is paid yet (``_lock_open_order``): the deposit follows the new total, so the
    # buyer's deposit and balance both get their share of the discount.
    order.deposit_amount = deposit_for(order)
    spec = dict(order.spec_snapshot or {})
    spec["total"] = str(order.total)
    spec["discount"] = (
        {"code": promo.code, "amount": str(discount), "kind": promo.kind, "value": str(promo.value)}
        if promo is not None
        else None
    )
    order.spec_snapshot = spec
    order.save(
        update_fields=[
            "discount_amount",
            "promo_code",
            "total",
            "deposit_amount",
            "spec_snapshot",
            "updated_at",
        ]
    )


@transaction.atomic
def apply_promo_code(*, buyer: User, order: Order, code: str) -> Order:
    """Take the code off the order's items, or raise a clear ``InvalidInput``."""
    normalised = normalise_code(code)
    if not normalised:
        raise InvalidInput(_("Enter a code."), field=CODE_FIELD)
    locked = _lock_open_order(order, buyer)
    if locked.promo_code_id is not None:
        current = locked.promo_code
        if current.code == normalised:
            return locked
        raise InvalidInput(
            _("Only one code per order: remove “%(code)s” first.") % {"code": current.code},
            field=CODE_FIELD,
        )
    # The row lock serialises buyers racing for a code's last use.
    promo = (
        PromoCode.objects.select_for_update()
        .filter(shop_id=locked.shop_id, code=normalised)
        .first()
    )
    if promo is None:
        if PromoCode.objects.filter(code=normalised).exclude(shop_id=locked.shop_id).exists():
            raise InvalidInput(
                _("The code “%(code)s” is for another shop.") % {"code": normalised},
                field=CODE_FIELD,
            )
        raise InvalidInput(
            _("There is no code “%(code)s” at this shop.") % {"code": normalised}, field=CODE_FIELD
        )
    _check(promo, order=locked, buyer=buyer, now=timezone.now())
    _write_totals(locked, discount_for(promo, subtotal=items_total(locked)), promo)
    order.total, order.discount_amount, order.deposit_amount, order.promo_code = (
        locked.total,
        locked.discount_amount,
        locked.deposit_amount,
        promo,
    )
    return locked


@transaction.atomic
def remove_promo_code(*, buyer: User, order: Order) -> Order:
    locked = _lock_open_order(order, buyer)
    if locked.promo_code_id is not None:
        _write_totals(locked, Decimal("0"), None)
    return locked


def reprice_discount(order: Order) -> None:
    """After the items or shipping changed (a new address): the code's amount again.

    Called inside the caller's transaction with ``order.total`` already the new gross total
    (items + shipping, before discount) and ``discount_amount`` still the old one.
    """
    if order.promo_code_id is None:
        order.discount_amount = Decimal("0")
        return
    subtotal = order.total - order.shipping_amount
    order.discount_amount = discount_for(order.promo_code, subtotal=subtotal)
    order.total -= order.discount_amount
