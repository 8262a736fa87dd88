"""Inline keyboards and their callback data.

Telegram caps ``callback_data`` at 64 bytes and hands it back verbatim, so it is both
compact and untrusted: every button's data is built and parsed by an aiogram
``CallbackData`` factory, which validates the fields on the way back in. Handlers
filter with e.g. ``ProductAction.filter(F.action == ProductActionKind.BUY)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from aiogram.filters.callback_data import MAX_CALLBACK_LENGTH, CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder
from pydantic import Field


class ProductActionKind(StrEnum):
    # One letter each: the data travels with every button of every product card.
    DETAILS = "d"
    ASK_ARTISAN = "a"
    BUY = "b"


class ProductAction(CallbackData, prefix="p"):
    """Callback data ``p:<action>:<product_id>``, e.g. ``p:b:42``."""

    action: ProductActionKind
    product_id: int = Field(gt=0)


class BotButton(CallbackData, prefix="b"):
    """A shop-bot reply button: ``b:<payload>``, e.g. ``b:/search_products``.

    The payload is an NLU intent and may carry JSON entities (``/buy{"product_id": 3}``),
    colons included. It is the only field, so everything after the first ``:`` is the payload:
    ``pack``/``unpack`` allow the separator inside it, and the wire format is the one the bot
    sent before these factories existed (buttons already in chats keep working).
    """

    payload: str = Field(min_length=1)

    def pack(self) -> str:
        data = f"{self.__prefix__}{self.__separator__}{self.payload}"
        if len(data.encode()) > MAX_CALLBACK_LENGTH:
            raise ValueError(f"callback data longer than {MAX_CALLBACK_LENGTH} bytes: {data!r}")
        return data

    @classmethod
    def unpack(cls, value: str) -> BotButton:
        prefix, separator, payload = value.partition(cls.__separator__)
        if prefix != cls.__prefix__ or not separator:
            raise ValueError(f"not {cls.__name__} callback data: {value!r}")
        return cls(payload=payload)


class PayInTelegram(CallbackData, prefix="pay"):
    """ "Pay in Telegram" under a checkout card: ``pay:<order reference>``."""

    reference: str = Field(min_length=1)


class SwitchConversation(CallbackData, prefix="c"):
    """ "↩ Reply to …" under a pushed message: ``c:<conversation id>``."""

    conversation_id: int = Field(gt=0)


@dataclass(frozen=True)
class ProductCardLabels:
    """Button captions, passed in already translated for the buyer's language."""

    details: str = "Details"
    ask_artisan: str = "Ask the artisan"
    buy: str = "Buy"


def product_card_keyboard(
    *, product_id: int, labels: ProductCardLabels | None = None
) -> InlineKeyboardMarkup:
    """Buttons under a product card: "Details" and "Ask the artisan", then "Buy" alone."""
    labels = labels or ProductCardLabels()
    builder = InlineKeyboardBuilder()
    for text, action in (
        (labels.details, ProductActionKind.DETAILS),
        (labels.ask_artisan, ProductActionKind.ASK_ARTISAN),
        (labels.buy, ProductActionKind.BUY),
    ):
        builder.button(text=text, callback_data=ProductAction(action=action, product_id=product_id))
    builder.adjust(2, 1)
    return builder.as_markup()


def bot_button_or_none(payload: str) -> BotButton | None:
    """The button's callback data, or None when the payload cannot travel (over 64 bytes)."""
    try:
        button = BotButton(payload=payload)
        button.pack()
    except ValueError:
        return None
    return button


def parse_product_action(callback_data: str) -> ProductAction | None:
    """The decoded action, or ``None`` for data that is not a valid product action."""
    try:
        return ProductAction.unpack(callback_data)
    except (TypeError, ValueError):  # pydantic's ValidationError is a ValueError
        return None


def checkout_link_keyboard(*, checkout_url: str, label: str = "Pay now") -> InlineKeyboardMarkup:
    """A single URL button that opens our checkout page for an offer."""
    builder = InlineKeyboardBuilder()
    builder.button(text=label, url=checkout_url)
    return builder.as_markup()


class CampaignOptOut(CallbackData, prefix="news"):
    """ "Unsubscribe" under a campaign message: ``news:<campaign recipient id>``."""

    recipient_id: int = Field(gt=0)


class CampaignReply(CallbackData, prefix="newsr"):
    """ "Reply to <shop>" under a campaign message: ``newsr:<campaign recipient id>``."""

    recipient_id: int = Field(gt=0)


class CsatScore(CallbackData, prefix="csat"):
    """A CSAT button under the "How did it go with this order?" message:
    ``csat:<order reference>:<score>``, e.g. ``csat:AT-7K2Q9A:4``."""

    reference: str = Field(min_length=1, max_length=32)
    score: int = Field(ge=1, le=5)


def csat_keyboard(
    *, reference: str, labels: dict[int, str], chosen: int | None = None
) -> InlineKeyboardMarkup:
    """Five buttons in one row, 1 to 5, captioned in the buyer's language (``labels``,
    e.g. ``{4: "4 sur 5"}``); the chosen one is ticked, and any other can still be tapped."""
    builder = InlineKeyboardBuilder()
    for score in range(1, 6):
        text = labels.get(score, str(score))
        builder.button(
            text=f"✓ {text}" if score == chosen else text,
            callback_data=CsatScore(reference=reference, score=score),
        )
    builder.adjust(5)
    return builder.as_markup()
