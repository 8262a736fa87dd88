"""Inline keyboards and their compact, validated callback data."""

from __future__ import annotations

import pytest

from bots.telegram.keyboards import (
    BotButton,
    PayInTelegram,
    ProductAction,
    ProductActionKind,
    ProductCardLabels,
    SwitchConversation,
    bot_button_or_none,
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


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # the exact strings the bot sent before the factories existed (buttons still in chats)
        ("b:/search_products", BotButton(payload="/search_products")),
        ('b:/choose{"product_id": "3"}', BotButton(payload='/choose{"product_id": "3"}')),
        ("pay:ATL-7K3Q9", PayInTelegram(reference="ATL-7K3Q9")),
        ("c:17", SwitchConversation(conversation_id=17)),
    ],
)
def test_old_prefix_strings_unpack_and_pack_back_unchanged(data, expected) -> None:
    unpacked = type(expected).unpack(data)
    assert unpacked == expected
    assert unpacked.pack() == data


@pytest.mark.parametrize(
    ("factory", "data"),
    [
        (BotButton, "b:"),
        (BotButton, "bx:/help"),
        (BotButton, "p:b:42"),
        (SwitchConversation, "c:abc"),
        (SwitchConversation, "c:0"),
        (SwitchConversation, "c:1:2"),
        (PayInTelegram, "pay:"),
    ],
)
def test_forged_or_foreign_data_is_refused_by_each_factory(factory, data) -> None:
    with pytest.raises((TypeError, ValueError)):
        factory.unpack(data)


def test_a_bot_button_payload_over_64_bytes_cannot_travel() -> None:
    assert bot_button_or_none("/" + "x" * 61) is not None  # "b:" + 62 bytes = 64
    assert bot_button_or_none("/" + "x" * 62) is None
    assert bot_button_or_none("") is None
    with pytest.raises(ValueError, match="64 bytes"):
        BotButton(payload="/" + "é" * 40).pack()
