"""A reconnecting client gets the changes it missed to messages it already had: an edit, a
card's new state, a moderator's hide, a translation — replayed as ``message.updated`` after
the ``update_seq`` of its last ``subscribed`` frame, as ``after_seq`` replays new messages.
Also what commits between a subscription's query and its joining the live group."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from conversations import selectors
from conversations.models import Conversation, Message, MessageKind
from conversations.protocol import validate_server_frame
from conversations.services import edit_message, hide_message, post_message, update_card
from tests.conversations.conftest import connect, receive_type, ws_client

pytestmark = [pytest.mark.django_db(transaction=True)]


def _card(conversation) -> Message:
    return post_message(
        conversation=conversation,
        author=None,
        kind=MessageKind.ORDER_UPDATE,
        text="",
        payload={"card": "csat", "order_id": 1, "score": None},
    ).message


async def _frames_until_subscribed(ws) -> list[dict]:
    frames = []
    while True:
        frame = await ws.receive_json_from(timeout=5)
        if frame["type"] in ("presence",):
            continue
        validate_server_frame(frame)  # every frame matches docs/protocol.md's schema
        frames.append(frame)
        if frame["type"] == "subscribed":
            return frames


async def _subscribe(ws, conversation, **fields) -> list[dict]:
    await ws.send_json_to({"type": "subscribe", "conversation": conversation.pk, **fields})
    return await _frames_until_subscribed(ws)


async def test_changes_made_while_away_are_replayed_in_order_then_subscribed(
    conversation, buyer, artisan, admin_user
):
    sync = database_sync_to_async
    hello = await sync(post_message)(conversation=conversation, author=artisan, text="Hola")
    card = await sync(_card)(conversation)
    rude = await sync(post_message)(conversation=conversation, author=artisan, text="rude")
    async with ws_client(buyer) as b:
        await connect(b)
        first = await _subscribe(b, conversation, after_seq=0, after_update_seq=0)
        mark = first[-1]["update_seq"]
        assert [f["type"] for f in first] == ["message.new"] * 3 + ["subscribed"]

    # While the buyer is away: an edit, the card's new state, a moderator's hide
    await sync(edit_message)(message=hello.message, editor=artisan, text="¡Hola, Léa!")
    await sync(update_card)(
        message=card, payload={"card": "csat", "order_id": 1, "score": 5, "closed": True}
    )
    await sync(hide_message)(message=rude.message, moderator=admin_user, note="insult")

    async with ws_client(buyer) as b:
        await connect(b)
        frames = await _subscribe(b, conversation, after_seq=3, after_update_seq=mark)
    changes, subscribed = frames[:-1], frames[-1]
    assert [f["type"] for f in changes] == ["message.updated"] * 3
    assert all(f["replay"] is True for f in changes)
    assert [f["message"]["seq"] for f in changes] == [1, 2, 3]  # in the order they happened
    assert changes[0]["message"]["text"] == "¡Hola, Léa!"
    assert changes[1]["message"]["payload"]["closed"] is True
    assert changes[2]["message"]["hidden"] is True and changes[2]["message"]["text"] == ""
    seqs = [f["message"]["update_seq"] for f in changes]
    assert seqs == sorted(seqs) and subscribed["update_seq"] == seqs[-1]
    assert subscribed["last_seq"] == 3

    # Caught up: resuming from the new mark replays nothing
    async with ws_client(buyer) as b:
        await connect(b)
        again = await _subscribe(b, conversation, after_seq=3, after_update_seq=seqs[-1])
    assert [f["type"] for f in again] == ["subscribed"]


async def test_without_after_update_seq_no_change_is_replayed(conversation, buyer, artisan):
    sync = database_sync_to_async
    sent = await sync(post_message)(conversation=conversation, author=artisan, text="Hola")
    await sync(edit_message)(message=sent.message, editor=artisan, text="Hola de nuevo")
    async with ws_client(buyer) as b:
        await connect(b)
        frames = await _subscribe(b, conversation, after_seq=1)
    assert [f["type"] for f in frames] == ["subscribed"]
    assert frames[0]["update_seq"] >= 1


async def test_a_change_committed_while_subscribing_is_not_lost(
    conversation, buyer, artisan, monkeypatch
):
    """The subscription's query has run, the socket has not yet joined the group: an edit
    and a new message committed in that window reach the client before ``subscribed``."""
    sync = database_sync_to_async
    sent = await sync(post_message)(conversation=conversation, author=artisan, text="Hola")
    real = selectors.subscription_state

    def state_then_changes(**kwargs):
        state = real(**kwargs)
        edit_message(message=Message.objects.get(pk=sent.message.pk), editor=artisan, text="Hi")
        post_message(conversation=conversation, author=artisan, text="new meanwhile")
        return state

    monkeypatch.setattr(selectors, "subscription_state", state_then_changes)
    async with ws_client(buyer) as b:
        await connect(b)
        frames = await _subscribe(b, conversation, after_seq=1, after_update_seq=0)
    kinds = [(f["type"], f.get("message", {}).get("seq")) for f in frames]
    assert ("message.updated", 1) in kinds and ("message.new", 2) in kinds
    updated = next(f for f in frames if f["type"] == "message.updated")
    assert updated["message"]["text"] == "Hi" and updated["replay"] is True
    assert kinds[-1][0] == "subscribed"


async def test_a_finished_translation_counts_as_a_change(conversation, buyer, artisan):
    from conversations.message_translation import _finish
    from conversations.models import MessageTranslation, TranslationStatus

    sync = database_sync_to_async
    sent = await sync(post_message)(conversation=conversation, author=artisan, text="Hola")

    def translate():
        row, _ = MessageTranslation.objects.get_or_create(
            message=sent.message,
            target_language="fr",
            defaults={"status": TranslationStatus.PENDING},
        )
        _finish(row, TranslationStatus.DONE, text="Bonjour", provider="test")

    before = await sync(lambda: Conversation.objects.get(pk=conversation.pk).last_update_seq)()
    await sync(translate)()
    async with ws_client(buyer) as b:
        await connect(b)
        frames = await _subscribe(b, conversation, after_seq=1, after_update_seq=before)
    [change] = [f for f in frames if f["type"] == "message.updated"]
    assert change["message"]["translations"]["fr"] == {"status": "done", "text": "Bonjour"}


async def test_a_negative_after_update_seq_is_refused_with_a_clear_error(conversation, buyer):
    async with ws_client(buyer) as b:
        await connect(b)
        await b.send_json_to(
            {"type": "subscribe", "conversation": conversation.pk, "after_update_seq": -1}
        )
        error = await receive_type(b, "error")
    assert error["code"] == "invalid"
    assert "after_update_seq" in error["message"]
