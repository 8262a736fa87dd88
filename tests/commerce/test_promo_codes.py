"""Promo codes: taken off the items (never shipping) before anything is paid, one per order,
every abuse refused with a clear error on the code field, and the pay page adds up."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from commerce import services
from commerce.errors import InvalidInput
from commerce.models import OrderStatus, PromoCode
from commerce.receipt import order_receipt
from commerce.services.promos import (
    PromoInput,
    apply_promo_code,
    create_promo_code,
    remove_promo_code,
    set_promo_active,
)
from commerce.services.shipping import RateInput, save_shipping_profile, set_order_shipping_address
from tests.commerce.conftest import pay_through_dev_gateway, save_address
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def bowl(artisan, shop):
    save_shipping_profile(
        artisan=artisan,
        processing_days=1,
        currency="EUR",
        rates=[
            RateInput("domestic", "5.00", 1, 3),
            RateInput("zone", "12.00", 4, 8, countries=("FR", "DE")),
            RateInput("world", "20.00", 7, 14),
        ],
    )
    return services.create_product(
        artisan=artisan,
        fields=services.ProductInput(
            title="Cobalt bowl", price="40.00", currency="EUR", stock_quantity=20
        ),
    )


def code(artisan, **overrides) -> PromoCode:
    fields = {"code": "winter10", "kind": "percent", "value": Decimal("10")}
    fields.update(overrides)
    return create_promo_code(artisan=artisan, data=PromoInput(**fields))


def order_for(buyer, bowl, quantity: int = 1):
    return services.create_product_order(
        buyer=buyer, product=bowl, selections={}, quantity=quantity
    )


def refused(buyer, order, text: str) -> str:
    with pytest.raises(InvalidInput) as error:
        apply_promo_code(buyer=buyer, order=order, code=text)
    assert error.value.field == "code"
    return error.value.message


def test_a_percentage_comes_off_the_items_not_the_shipping_and_the_receipt_adds_up(
    artisan, buyer, bowl
):
    code(artisan)
    order = order_for(buyer, bowl, quantity=2)  # 80 € of items + shipping
    gross, shipping = order.total, order.shipping_amount

    order = apply_promo_code(buyer=buyer, order=order, code=" Winter10 ")

    assert order.discount_amount == Decimal("8.00")
    assert order.total == gross - Decimal("8.00")
    receipt = order_receipt(order)
    assert receipt.lines_sum == receipt.total == order.total
    assert any(
        line.kind == "discount" and line.amount == Decimal("-8.00") for line in receipt.lines
    )
    assert any(line.kind == "shipping" and line.amount == shipping for line in receipt.lines)


def test_a_fixed_amount_is_capped_at_the_items_and_survives_a_new_address(artisan, buyer, bowl):
    code(artisan, code="BIG", kind="fixed", value=Decimal("50"))
    order = apply_promo_code(buyer=buyer, order=order_for(buyer, bowl), code="BIG")
    assert order.discount_amount == Decimal("40.00")  # never more than the items

    set_order_shipping_address(buyer=buyer, order=order, address=save_address(buyer))

    order.refresh_from_db()
    assert order.shipping_amount == Decimal("12.00")  # Lyon: the European zone
    assert order.discount_amount == Decimal("40.00")
    assert order.total == Decimal("12.00")
    receipt = order_receipt(order)
    assert receipt.lines_sum == receipt.total


def test_the_buyer_pays_the_discounted_total(artisan, buyer, bowl):
    code(artisan)
    order = apply_promo_code(buyer=buyer, order=order_for(buyer, bowl), code="WINTER10")
    pay_through_dev_gateway(buyer, order)
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert (
        order.amount_paid
        == order.total
        == Decimal("40.00") - Decimal("4.00") + order.shipping_amount
    )


def test_every_abuse_is_refused_with_a_clear_error(artisan, buyer, bowl, shop):
    now = timezone.now()
    code(artisan, code="OLD", ends_at=now - timedelta(days=1), starts_at=now - timedelta(days=9))
    code(artisan, code="SOON", starts_at=now + timedelta(days=1))
    code(artisan, code="MIN100", min_order=Decimal("100"))
    code(artisan, code="USD5", kind="fixed", value=Decimal("5"), currency="USD")
    paused = code(artisan, code="PAUSED")
    set_promo_active(artisan=artisan, promo=paused, active=False)
    other = make_user("other-shop@example.com", role="artisan")
    services.save_artisan_profile(user=other, shop_name="Other", story="", region="", country="")
    code(other, code="THEIRS")
    order = order_for(buyer, bowl)

    assert "expired" in refused(buyer, order, "old")
    assert "not active" in refused(buyer, order, "soon")
    assert "not active" in refused(buyer, order, "paused")
    assert "at least" in refused(buyer, order, "min100")
    assert "USD" in refused(buyer, order, "usd5")
    assert "another shop" in refused(buyer, order, "theirs")
    assert "no code" in refused(buyer, order, "nope")
    assert refused(buyer, order, "  ") == "Enter a code."
    order.refresh_from_db()
    assert order.discount_amount == 0 and order.promo_code is None


def test_one_code_per_order_and_limits_per_buyer_and_overall(artisan, buyer, bowl):
    code(artisan, code="ONCE", max_uses=2)
    code(artisan, code="SECOND")
    first = apply_promo_code(buyer=buyer, order=order_for(buyer, bowl), code="ONCE")
    assert "Only one code" in refused(buyer, first, "SECOND")  # no stacking
    assert apply_promo_code(buyer=buyer, order=first, code="once").discount_amount == Decimal(
        "4.00"
    )

    assert "already used" in refused(buyer, order_for(buyer, bowl), "ONCE")  # 1 per buyer
    somebody = make_user("somebody@example.com")
    apply_promo_code(buyer=somebody, order=order_for(somebody, bowl), code="ONCE")
    third = make_user("third@example.com")
    assert "used up" in refused(third, order_for(third, bowl), "ONCE")

    # A cancelled order gives its use back
    services.cancel_order(order=first, actor=buyer)
    assert apply_promo_code(buyer=third, order=order_for(third, bowl), code="ONCE").promo_code


def test_no_code_once_paid_and_removing_restores_the_total(artisan, buyer, bowl):
    code(artisan)
    order = order_for(buyer, bowl)
    gross = order.total
    order = apply_promo_code(buyer=buyer, order=order, code="WINTER10")
    order = remove_promo_code(buyer=buyer, order=order)
    assert order.total == gross and order.discount_amount == 0
    pay_through_dev_gateway(buyer, order)
    order.refresh_from_db()
    assert "before anything is paid" in refused(buyer, order, "WINTER10")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"code": "x"}, "code"),
        ({"code": "no spaces!"}, "code"),
        ({"value": Decimal("95")}, "value"),
        ({"kind": "fixed", "value": Decimal("0")}, "value"),
        ({"kind": "bogof"}, "kind"),
        ({"max_uses": 0}, "max_uses"),
        ({"ends_at": timezone.now() - timedelta(days=1)}, "ends_at"),
    ],
)
def test_bad_codes_are_refused_on_the_right_field(artisan, shop, overrides, field):
    with pytest.raises(InvalidInput) as error:
        code(artisan, **overrides)
    assert error.value.field == field


def test_a_duplicate_code_in_the_same_shop_is_refused(artisan, shop):
    code(artisan)
    with pytest.raises(InvalidInput) as error:
        code(artisan, code="WINTER10")
    assert error.value.field == "code"


def test_the_pay_page_applies_a_code_and_shows_a_refusal_under_the_field(
    artisan, buyer, bowl, client
):
    code(artisan)
    order = order_for(buyer, bowl)
    save_address(buyer)
    client.force_login(buyer)
    client.post(f"/pay/{order.reference}/", {"address": str(buyer.shipping_addresses.get().pk)})

    response = client.post(f"/pay/{order.reference}/code/", {"code": "nope"}, follow=True)
    page = response.content.decode()
    assert 'id="promo-error"' in page and "There is no code" in page and 'value="nope"' in page

    response = client.post(f"/pay/{order.reference}/code/", {"code": "winter10"}, follow=True)
    order.refresh_from_db()
    assert order.discount_amount == Decimal("4.00")
    assert 'id="promo-applied"' in response.content.decode()


def test_a_code_on_an_offer_with_a_deposit_shares_the_discount_between_deposit_and_balance(
    artisan, buyer, conversation
):
    from commerce.services.orders import payable_now
    from tests.commerce.conftest import send

    code(artisan)  # 10 % off the items
    offer = send(artisan, conversation, deposit_percent=30, shipping_amount="20.00")
    order = services.accept_offer(buyer=buyer, offer=offer)  # 120 € + 20 € shipping
    set_order_shipping_address(buyer=buyer, order=order, address=save_address(buyer))
    assert order.deposit_amount == Decimal("42.00")

    order = apply_promo_code(buyer=buyer, order=order, code="WINTER10")

    assert order.discount_amount == Decimal("12.00")  # of the 120 € piece, not the shipping
    assert order.total == Decimal("128.00")
    assert order.deposit_amount == Decimal("38.40")  # still 30 %, of what is now owed
    assert order.balance_amount == Decimal("89.60")
    order.refresh_from_db()
    assert (order.total, order.deposit_amount) == (Decimal("128.00"), Decimal("38.40"))
    assert order.spec_snapshot["discount"]["code"] == "WINTER10"

    # Removed again before paying: the offer's deposit comes back.
    order = remove_promo_code(buyer=buyer, order=order)
    assert (order.total, order.deposit_amount) == (Decimal("140.00"), Decimal("42.00"))

    # Applied and paid: the buyer pays the lower deposit, and the code is then fixed.
    order = apply_promo_code(buyer=buyer, order=order, code="WINTER10")
    due = payable_now(order)
    assert due.amount == Decimal("38.40")
    pay_through_dev_gateway(buyer, order)
    order.refresh_from_db()
    assert order.status == OrderStatus.DEPOSIT_PAID
    assert order.amount_paid == Decimal("38.40")
    message = refused(buyer, order, "WINTER10")
    assert message == "A code can only be added before anything is paid."
    with pytest.raises(InvalidInput):
        remove_promo_code(buyer=buyer, order=order)
