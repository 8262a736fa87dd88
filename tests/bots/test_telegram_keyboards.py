"""Inline keyboards and their compact, validated callback data."""

from __future__ import annotations

import pytest

from bots.telegram.keyboards import (
    ProductAction,
    ProductActionKind,
    ProductCardLabels,
    checkout_link_keyboard,
    parse_product_action,
    product_card_keyboard,
)


def test_product_card_has_details_and_ask_then_buy() -> None:
    keyboard = product_card_keyboard(product_id=42)

    assert [[(b.text, b.callback_data) for b in row] for row in keyboard.inline_keyboard] == [
        [("Details", "p:d:42"), ("Ask the artisan", "p:a:42")],
        [("Buy", "p:b:42")],
    ]


def test_labels_can_be_translated() -> None:
    keyboard = product_card_keyboard(
        product_id=1,
        labels=ProductCardLabels(details="Détails", ask_artisan="Demander", buy="Acheter"),
    )

    assert [b.text for row in keyboard.inline_keyboard for b in row] == [
        "Détails",
        "Demander",
        "Acheter",
    ]


@pytest.mark.parametrize("kind", list(ProductActionKind))
def test_callback_data_round_trips(kind: ProductActionKind) -> None:
    packed = ProductAction(action=kind, product_id=987654321).pack()

    assert len(packed.encode()) <= 64
    assert parse_product_action(packed) == ProductAction(action=kind, product_id=987654321)


@pytest.mark.parametrize(
    "forged",
    ["p:x:1", "p:b:0", "p:b:-5", "p:b:abc", "p:b", "p:b:1:2", "q:b:1", "", "p::"],
)
def test_forged_callback_data_is_rejected(forged: str) -> None:
    assert parse_product_action(forged) is None


def test_non_positive_product_ids_cannot_be_packed() -> None:
    with pytest.raises(ValueError):
        ProductAction(action=ProductActionKind.BUY, product_id=0)


def test_checkout_link_is_a_url_button() -> None:
    keyboard = checkout_link_keyboard(checkout_url="https://atelier.example/pay/abc")

    [[button]] = keyboard.inline_keyboard
    assert (button.text, button.url, button.callback_data) == (
        "Pay now",
        "https://atelier.example/pay/abc",
        None,
    )
