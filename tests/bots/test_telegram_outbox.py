"""The outbound queue: Telegram's limits, retry_after, drops, bounds and shutdown.

Scheduling tests run on a manual clock (virtual time) with a recording transport, so
their timings are exact; the last tests drive the real aiogram Bot against the stand-in.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Iterable

import pytest
from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
)
from aiogram.methods import SendMessage

from bots.telegram.client import bot_deliverer
from bots.telegram.keyboards import product_card_keyboard
from bots.telegram.outbox import (
    DeliveryReport,
    DeliveryStatus,
    OutboundPhoto,
    OutboundRequest,
    OutboundText,
    Outbox,
    OutboxClosed,
    OutboxFull,
    OutboxPolicy,
    SentMessage,
)
from bots.telegram.ratelimit import RateLimit
from tests.standins.telegram_server import TelegramBotApiStandIn

EPSILON = 1e-9


def _method(chat_id: int) -> SendMessage:
    return SendMessage(chat_id=chat_id, text="x")


def retry_after(chat_id: int, seconds: int) -> TelegramRetryAfter:
    return TelegramRetryAfter(
        method=_method(chat_id),
        message=f"Too Many Requests: retry after {seconds}",
        retry_after=seconds,
    )


class RecordingTransport:
    """Stands in for the Bot: records (virtual time, chat, text) of each attempt."""

    def __init__(self, clock) -> None:
        self.clock = clock
        self.failures: dict[int | str, list[Exception]] = defaultdict(list)
        self.attempts: list[tuple[float, int | str, str]] = []
        self.delivered: list[tuple[float, int | str, str]] = []
        self.gate: asyncio.Event | None = None

    def fail_next(self, chat_id: int, *errors: Exception) -> None:
        self.failures[chat_id].extend(errors)

    async def __call__(self, request: OutboundRequest) -> SentMessage:
        text = request.text if isinstance(request, OutboundText) else request.photo_url
        self.attempts.append((self.clock.now(), request.chat_id, text))
        if self.gate is not None:
            await self.gate.wait()
        await asyncio.sleep(0)  # a real send yields to the loop too
        if self.failures[request.chat_id]:
            raise self.failures[request.chat_id].pop(0)
        self.delivered.append((self.clock.now(), request.chat_id, text))
        return SentMessage(chat_id=request.chat_id, message_id=len(self.delivered))

    def times_for(self, chat_id: int | str) -> list[float]:
        return [at for at, chat, _ in self.delivered if chat == chat_id]


@pytest.fixture
def transport(manual_clock) -> RecordingTransport:
    return RecordingTransport(manual_clock)


@pytest.fixture
def make_outbox(manual_clock, transport) -> Callable[..., Outbox]:
    def make(**policy: object) -> Outbox:
        return Outbox(deliver=transport, policy=OutboxPolicy(**policy), clock=manual_clock)

    return make


async def send_all(outbox: Outbox, requests: Iterable[OutboundRequest]) -> list[DeliveryReport]:
    futures = [await outbox.send(request) for request in requests]
    return list(await asyncio.wait_for(asyncio.gather(*futures), timeout=5))


def gaps(times: list[float]) -> list[float]:
    return [later - earlier for earlier, later in zip(times, times[1:], strict=False)]


# --------------------------------------------------------------- rate limits


async def test_one_message_per_second_per_chat_without_blocking_other_chats(
    make_outbox, transport, manual_clock
) -> None:
    # Given three chats with three messages each
    outbox = make_outbox()
    requests = [
        OutboundText(chat_id=chat, text=f"{chat}-{n}") for n in range(3) for chat in (1, 2, 3)
    ]

    # When they are all queued at once
    reports = await send_all(outbox, requests)

    # Then every message goes out, in order per chat, at least 1 s apart per chat
    assert all(report.status is DeliveryStatus.SENT for report in reports)
    for chat in (1, 2, 3):
        assert [text for _, c, text in transport.delivered if c == chat] == [
            f"{chat}-0",
            f"{chat}-1",
            f"{chat}-2",
        ]
        assert all(gap >= 1.0 - EPSILON for gap in gaps(transport.times_for(chat)))
    # ...and the chats share each second: 2 s in all, not 8 s one chat after another.
    assert manual_clock.elapsed() == pytest.approx(2.0)
    await outbox.close()


async def test_overall_limit_of_thirty_per_second(make_outbox, transport, manual_clock) -> None:
    outbox = make_outbox()

    reports = await send_all(outbox, [OutboundText(chat_id=c, text="sale!") for c in range(1, 96)])

    assert all(report.delivered for report in reports)
    times = sorted(at for at, _, _ in transport.delivered)
    # No window of one second holds more than 30 sends...
    assert all(times[i + 30] - times[i] >= 1.0 - EPSILON for i in range(len(times) - 30))
    # ...and 95 sends need exactly four windows: 0 s, 1 s, 2 s, 3 s.
    assert times[-1] - times[0] == pytest.approx(3.0)
    await outbox.close()


async def test_groups_get_twenty_messages_per_minute(make_outbox, transport) -> None:
    outbox = make_outbox()
    group = -100_777

    reports = await send_all(outbox, [OutboundText(chat_id=group, text=f"{n}") for n in range(22)])

    assert all(report.delivered for report in reports)
    times = transport.times_for(group)
    assert all(gap >= 1.0 - EPSILON for gap in gaps(times))  # 1/s applies to groups too
    assert times[20] - times[0] >= 60.0 - EPSILON
    await outbox.close()


async def test_rate_limit_config_is_respected(make_outbox, transport) -> None:
    outbox = make_outbox(per_chat=RateLimit(max_events=2, per_seconds=1.0))

    await send_all(outbox, [OutboundText(chat_id=5, text=f"{n}") for n in range(4)])

    times = transport.times_for(5)
    assert times[1] - times[0] == pytest.approx(0.0)
    assert times[2] - times[0] == pytest.approx(1.0)


# --------------------------------------------------------------- retry_after


async def test_retry_after_pauses_only_that_chat_and_delivers_once(
    make_outbox, transport, manual_clock
) -> None:
    # Given chat 1 whose first send is answered with "retry after 30"
    outbox = make_outbox()
    transport.fail_next(1, retry_after(1, 30))
    started = manual_clock.now()

    # When chat 1 and chat 2 have messages queued
    reports = await send_all(
        outbox,
        [OutboundText(chat_id=1, text="flooded")]
        + [OutboundText(chat_id=2, text=f"b{n}") for n in range(3)],
    )

    # Then chat 2 is served during chat 1's pause, and chat 1 is delivered exactly once
    assert all(report.delivered for report in reports)
    assert reports[0].attempts == 2
    assert [text for _, chat, text in transport.delivered if chat == 1] == ["flooded"]
    assert transport.times_for(1)[0] - started >= 30.0 - EPSILON
    assert max(transport.times_for(2)) - started < 30.0
    await outbox.close()


async def test_retry_after_keeps_order_within_the_chat(make_outbox, transport) -> None:
    outbox = make_outbox()
    transport.fail_next(1, retry_after(1, 3))

    await send_all(outbox, [OutboundText(chat_id=1, text=t) for t in ("first", "second")])

    assert [text for _, _, text in transport.delivered] == ["first", "second"]


async def test_a_sustained_429_storm_loses_nothing(make_outbox, transport, manual_clock) -> None:
    # Given a chat that Telegram answers with "retry after 2" ten times in a row,
    # far more often than max_attempts (which bounds network errors, not flood waits)
    outbox = make_outbox(max_attempts=3)
    transport.fail_next(1, *(retry_after(1, 2) for _ in range(10)))

    # When a message is sent to it
    [report] = await send_all(outbox, [OutboundText(chat_id=1, text="patience")])

    # Then it is delivered once, after waiting every pause it was asked to
    assert report.status is DeliveryStatus.SENT
    assert report.attempts == 11
    assert [text for _, _, text in transport.delivered] == ["patience"]
    tries = [at for at, _, _ in transport.attempts]
    assert all(gap >= 2.0 - EPSILON for gap in gaps(tries))


async def test_a_chat_stays_paused_for_the_asked_time_behind_a_flood_wait(
    make_outbox, transport
) -> None:
    # Given a chat whose first message gets two "retry after 2" answers
    outbox = make_outbox()
    transport.fail_next(1, retry_after(1, 2), retry_after(1, 2))

    # When a second message is queued behind it
    reports = await send_all(outbox, [OutboundText(chat_id=1, text=t) for t in ("a", "b")])

    # Then both go out in order, the first no sooner than the last 429 asked
    assert [report.status for report in reports] == [DeliveryStatus.SENT, DeliveryStatus.SENT]
    assert [text for _, _, text in transport.delivered] == ["a", "b"]
    last_429_at = transport.attempts[1][0]
    assert transport.times_for(1)[0] - last_429_at >= 2.0 - EPSILON


async def test_a_long_flood_wait_holds_the_message_instead_of_dropping_it(
    make_outbox, transport, manual_clock
) -> None:
    outbox = make_outbox()
    transport.fail_next(1, retry_after(1, 3600))

    [report] = await send_all(outbox, [OutboundText(chat_id=1, text="later")])

    assert report.status is DeliveryStatus.SENT
    assert transport.times_for(1)[0] >= 3600.0 - EPSILON


async def test_429s_for_several_chats_at_once_pause_the_whole_bot(
    make_outbox, transport, manual_clock
) -> None:
    # Given two chats told to wait 5 s at the same moment (the bot is over its limit)
    outbox = make_outbox()
    transport.fail_next(1, retry_after(1, 5))
    transport.fail_next(2, retry_after(2, 5))
    started = manual_clock.now()

    # When a third chat has two messages queued (the second due 1 s after the first)
    await send_all(
        outbox,
        [OutboundText(chat_id=chat, text=f"to {chat}") for chat in (1, 2)]
        + [OutboundText(chat_id=3, text=text) for text in ("a", "b")],
    )

    # Then the third chat's second message waits out the bot-wide pause too
    assert {chat for _, chat, _ in transport.delivered} == {1, 2, 3}
    second_to_3 = next(at for at, chat, text in transport.delivered if text == "b")
    assert second_to_3 - started >= 5.0 - EPSILON


async def test_a_429_for_one_chat_alone_does_not_pause_the_others(
    make_outbox, transport, manual_clock
) -> None:
    outbox = make_outbox()
    transport.fail_next(1, retry_after(1, 5))
    started = manual_clock.now()

    await send_all(
        outbox,
        [OutboundText(chat_id=1, text="to 1")]
        + [OutboundText(chat_id=3, text=text) for text in ("a", "b")],
    )

    second_to_3 = next(at for at, chat, text in transport.delivered if text == "b")
    assert second_to_3 - started < 5.0


async def test_network_errors_are_bounded(make_outbox, transport) -> None:
    outbox = make_outbox(max_attempts=3, network_backoff=0.5)
    transport.fail_next(
        1, *(TelegramNetworkError(method=_method(1), message="down") for _ in range(10))
    )

    [report] = await send_all(outbox, [OutboundText(chat_id=1, text="never")])

    assert report.status is DeliveryStatus.GAVE_UP
    assert report.attempts == 3
    assert len(transport.attempts) == 3
    assert "down" in report.reason


async def test_network_errors_are_retried_with_backoff(
    make_outbox, transport, manual_clock
) -> None:
    outbox = make_outbox(network_backoff=2.0)
    transport.fail_next(1, TelegramNetworkError(method=_method(1), message="timeout"))

    [report] = await send_all(outbox, [OutboundText(chat_id=1, text="hi")])

    assert report.status is DeliveryStatus.SENT
    assert report.attempts == 2
    assert manual_clock.elapsed() >= 2.0 - EPSILON


# ------------------------------------------------------------------ drops


async def test_blocked_chat_is_dropped_without_stopping_others(make_outbox, transport) -> None:
    # Given a buyer who blocked the bot, with three messages queued for them
    outbox = make_outbox()
    transport.fail_next(
        1,
        TelegramForbiddenError(method=_method(1), message="Forbidden: bot was blocked by the user"),
    )

    reports = await send_all(
        outbox,
        [OutboundText(chat_id=1, text=f"a{n}") for n in range(3)]
        + [OutboundText(chat_id=2, text="b0")],
    )

    # Then all three are reported BLOCKED after a single attempt; chat 2 still gets its message
    assert [r.status for r in reports[:3]] == [DeliveryStatus.BLOCKED] * 3
    assert all("blocked by the user" in r.reason for r in reports[:3])
    assert [chat for _, chat, _ in transport.attempts].count(1) == 1
    assert reports[3].status is DeliveryStatus.SENT


async def test_chat_not_found_is_dropped(make_outbox, transport) -> None:
    outbox = make_outbox()
    transport.fail_next(
        9, TelegramBadRequest(method=_method(9), message="Bad Request: chat not found")
    )

    [report] = await send_all(outbox, [OutboundText(chat_id=9, text="hello")])

    assert report.status is DeliveryStatus.CHAT_NOT_FOUND


async def test_rejected_content_does_not_poison_the_chat(make_outbox, transport) -> None:
    outbox = make_outbox()
    transport.fail_next(
        1, TelegramBadRequest(method=_method(1), message="Bad Request: message is too long")
    )

    reports = await send_all(
        outbox, [OutboundText(chat_id=1, text="huge"), OutboundText(chat_id=1, text="fine")]
    )

    assert [r.status for r in reports] == [DeliveryStatus.REJECTED, DeliveryStatus.SENT]
    assert reports[0].reason == "Bad Request: message is too long"


# ------------------------------------------------------- bounds and shutdown


async def test_full_outbox_rejects_with_a_clear_error(make_outbox, transport) -> None:
    # Given an outbox that holds two messages and a transport that is stuck
    outbox = make_outbox(max_pending=2)
    transport.gate = asyncio.Event()
    first = await outbox.send(OutboundText(chat_id=1, text="1"))
    second = await outbox.send(OutboundText(chat_id=2, text="2"))

    # When a third arrives, it is refused
    with pytest.raises(OutboxFull, match="max_pending=2"):
        await outbox.send(OutboundText(chat_id=3, text="3"))

    # Then once the transport recovers the queue drains and accepts again
    transport.gate.set()
    assert (await first).delivered and (await second).delivered
    assert (await outbox.send_and_wait(OutboundText(chat_id=3, text="3"))).delivered
    await outbox.close()


async def test_close_drains_then_refuses(make_outbox, transport) -> None:
    outbox = make_outbox()
    futures = [await outbox.send(OutboundText(chat_id=1, text=f"{n}")) for n in range(3)]

    await outbox.close()

    assert [f.result().status for f in futures] == [DeliveryStatus.SENT] * 3
    with pytest.raises(OutboxClosed):
        await outbox.send(OutboundText(chat_id=1, text="late"))


async def test_close_without_drain_cancels_what_is_left(make_outbox, transport) -> None:
    outbox = make_outbox()
    transport.gate = asyncio.Event()  # the first send hangs
    futures = [await outbox.send(OutboundText(chat_id=1, text=f"{n}")) for n in range(2)]
    await asyncio.sleep(0)

    await outbox.close(drain=False)

    assert [f.result().status for f in futures] == [DeliveryStatus.CANCELLED] * 2
    assert outbox.pending == 0


async def test_cancelled_caller_future_is_not_sent(make_outbox, transport) -> None:
    outbox = make_outbox()
    first = await outbox.send(OutboundText(chat_id=1, text="keep"))
    second = await outbox.send(OutboundText(chat_id=1, text="withdrawn"))
    second.cancel()

    await first
    await outbox.close()

    assert [text for _, _, text in transport.delivered] == ["keep"]
    assert outbox.pending == 0


# ------------------------------------------------- against the Bot API stand-in


async def test_outbox_keeps_the_standin_free_of_429s(
    telegram_bot: Bot, telegram_standin: TelegramBotApiStandIn
) -> None:
    # Given a stand-in enforcing Telegram's limits (1/s per chat, 30/s overall)
    telegram_standin.set_rate_limits(enforce=True)
    outbox = Outbox(deliver=bot_deliverer(telegram_bot))
    busy_chats = (101, 102, 103)
    requests = [
        OutboundText(chat_id=chat, text=f"{chat}-{n}") for n in range(2) for chat in busy_chats
    ]
    requests += [OutboundText(chat_id=chat, text="sale") for chat in range(201, 231)]

    # When 36 messages are queued at once (more than one second's worth overall)
    reports = await send_all(outbox, requests)
    await outbox.close()

    # Then all arrive, none was refused, and the server-side timestamps obey the limits
    assert all(report.delivered for report in reports), [r.reason for r in reports]
    assert [c for c in telegram_standin.calls if c.status == 429] == []
    for chat in busy_chats:
        assert [m["text"] for m in telegram_standin.sent_messages(chat)] == [
            f"{chat}-0",
            f"{chat}-1",
        ]
        [first, second] = [
            c.at for c in telegram_standin.calls_to("sendMessage") if c.params["chat_id"] == chat
        ]
        assert second - first >= 1.0
    accepted = sorted(c.at for c in telegram_standin.calls_to("sendMessage"))
    assert accepted[30] - accepted[0] >= 1.0


async def test_outbox_honours_standin_retry_after_and_delivers_exactly_once(
    telegram_bot: Bot, telegram_standin: TelegramBotApiStandIn, manual_clock
) -> None:
    # Given a stand-in that answers the next two sends with "retry after 5"
    telegram_standin.force_retry_after(2, retry_after=5)
    outbox = Outbox(deliver=bot_deliverer(telegram_bot), clock=manual_clock)

    # When one message is sent through the outbox
    report = await outbox.send_and_wait(OutboundText(chat_id=77, text="Your order shipped"))
    await outbox.close()

    # Then it is delivered on the third attempt, after waiting 2 × 5 s, exactly once
    assert report.status is DeliveryStatus.SENT
    assert report.attempts == 3
    assert manual_clock.elapsed() >= 10.0 - EPSILON
    assert [c.status for c in telegram_standin.calls_to("sendMessage")] == [429, 429, 200]
    assert [m["text"] for m in telegram_standin.sent_messages(77)] == ["Your order shipped"]
    assert report.message_id == telegram_standin.sent_messages(77)[0]["message_id"]


async def test_outbox_drops_blocked_standin_chat_and_serves_others(
    telegram_bot: Bot, telegram_standin: TelegramBotApiStandIn, manual_clock
) -> None:
    telegram_standin.block_chat(7)
    outbox = Outbox(deliver=bot_deliverer(telegram_bot), clock=manual_clock)

    reports = await send_all(
        outbox,
        [
            OutboundText(chat_id=7, text="one"),
            OutboundText(chat_id=7, text="two"),
            OutboundPhoto(
                chat_id=8,
                photo_url="https://atelier.example/media/mug.jpg",
                caption="Speckled mug",
                reply_markup=product_card_keyboard(product_id=3),
            ),
        ],
    )
    await outbox.close()

    assert [r.status for r in reports] == [
        DeliveryStatus.BLOCKED,
        DeliveryStatus.BLOCKED,
        DeliveryStatus.SENT,
    ]
    assert len(telegram_standin.calls_to("sendMessage")) == 1  # the second was never tried
    [photo] = telegram_standin.sent_messages(8)
    assert photo["caption"] == "Speckled mug"
    assert photo["reply_markup"]["inline_keyboard"][1] == [
        {"text": "Buy", "callback_data": "p:b:3"}
    ]


# --------------------------------------------------------------- paid broadcasts


async def test_paid_broadcasts_skip_the_free_window_and_free_sends_still_keep_it(
    make_outbox, transport, manual_clock
) -> None:
    # Given 60 paid campaign messages and 60 ordinary ones, each to its own chat, at once
    outbox = make_outbox(
        overall=RateLimit(max_events=30, per_seconds=1.0),
        paid_overall=RateLimit(max_events=100, per_seconds=1.0),
        max_in_flight=200,
    )
    paid = [OutboundText(chat_id=n, text=f"paid-{n}", paid_broadcast=True) for n in range(60)]
    free = [OutboundText(chat_id=1000 + n, text=f"free-{n}") for n in range(60)]

    reports = await send_all(outbox, [*paid, *free])

    assert all(report.status is DeliveryStatus.SENT for report in reports)
    start = transport.delivered[0][0]
    sent_at = {text: at - start for at, _chat, text in transport.delivered}
    # The paid ones all went out in the first instant, past the free 30/s...
    assert max(sent_at[f"paid-{n}"] for n in range(60)) == pytest.approx(0.0)
    # ...the ordinary ones stayed within 30 in any second, and all of them within 100/s.
    free_times = sorted(sent_at[f"free-{n}"] for n in range(60))
    every = sorted(sent_at.values())
    for times, limit in ((free_times, 30), (every, 100)):
        for index, start in enumerate(times):
            in_window = [t for t in times[index:] if t < start + 1.0 - EPSILON]
            assert len(in_window) <= limit
    assert manual_clock.elapsed() == pytest.approx(1.0)


async def test_without_the_paid_flag_a_broadcast_keeps_to_thirty_a_second(
    make_outbox, transport, manual_clock
) -> None:
    outbox = make_outbox(max_in_flight=200)
    await send_all(outbox, [OutboundText(chat_id=n, text=f"m-{n}") for n in range(90)])
    assert manual_clock.elapsed() == pytest.approx(2.0)  # 30 at 0 s, 1 s and 2 s
