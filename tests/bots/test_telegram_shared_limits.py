"""Telegram's limits held by every process together, through Redis (real Redis server).

The last test runs two separate sending processes against one strict Bot API stand-in
(30 msg/s per bot, 1 msg/s per chat, 429 beyond): together they must earn no 429 at all.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings

from bots.telegram.ratelimit import RateLimit
from bots.telegram.shared_limits import RedisSharedLimits, SharedPolicy
from tests.conftest import require_or_skip
from tests.standins.telegram_server import TelegramBotApiStandIn

ROOT = Path(__file__).resolve().parents[2]
POLICY = SharedPolicy(
    overall=RateLimit(max_events=3, per_seconds=10.0),
    per_chat=RateLimit(max_events=1, per_seconds=10.0),
    per_group=RateLimit(max_events=2, per_seconds=60.0),
)


@pytest.fixture
def redis_url() -> str:
    url = settings.REDIS_URL or os.environ.get("REDIS_URL", "")
    require_or_skip(bool(url), "Redis (REDIS_URL) for the shared Telegram rate limits")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError as error:
        require_or_skip(False, f"Redis at {url} does not answer: {error}")
    return url


def _pair(url: str) -> tuple[RedisSharedLimits, RedisSharedLimits]:
    """Two limiters on one namespace: what two processes of one bot see."""
    namespace = f"test-shared-{uuid.uuid4().hex}"
    return (
        RedisSharedLimits(url=url, namespace=namespace, policy=POLICY),
        RedisSharedLimits(url=url, namespace=namespace, policy=POLICY),
    )


async def test_the_bot_wide_window_is_shared_by_two_processes(redis_url) -> None:
    first, second = _pair(redis_url)

    grants = [
        await first.acquire(1, group=False),
        await second.acquire(2, group=False),
        await first.acquire(3, group=False),
    ]
    fourth = await second.acquire(4, group=False)

    assert all(verdict.granted for verdict in grants)
    assert not fourth.granted
    assert fourth.scope == "bot"
    assert 9.0 < fourth.wait <= 10.0
    await first.close()
    await second.close()


async def test_one_chat_gets_one_message_per_window_whichever_process_sends(redis_url) -> None:
    first, second = _pair(redis_url)

    assert (await first.acquire(42, group=False)).granted
    held = await second.acquire(42, group=False)
    other_chat = await second.acquire(43, group=False)

    assert not held.granted
    assert held.scope == "chat"
    assert other_chat.granted
    await first.close()
    await second.close()


async def test_groups_also_get_their_per_minute_window(redis_url) -> None:
    limits, _ = _pair(redis_url)
    policy = SharedPolicy(
        overall=POLICY.overall,
        per_chat=RateLimit(max_events=10, per_seconds=1.0),
        per_group=POLICY.per_group,
    )
    limits.policy = policy

    verdicts = [await limits.acquire(-100123, group=True) for _ in range(3)]

    assert [verdict.granted for verdict in verdicts] == [True, True, False]
    assert verdicts[2].scope == "chat"
    assert verdicts[2].wait > 50.0
    await limits.close()


async def test_a_pause_reaches_every_process_and_is_never_shortened(redis_url) -> None:
    first, second = _pair(redis_url)

    await first.pause(7, 30.0)
    await second.pause(7, 2.0)  # a shorter wait asked later does not cut the first one
    held = await second.acquire(7, group=False)
    await first.pause(None, 5.0)
    bot_wide = await second.acquire(8, group=False)

    assert not held.granted
    assert held.scope == "chat"
    assert held.wait > 25.0
    assert not bot_wide.granted
    assert bot_wide.scope == "bot"
    await first.close()
    await second.close()


async def test_without_redis_the_process_goes_on_with_its_own_limits() -> None:
    # Nothing listens on port 1: every Redis call fails at once.
    limits = RedisSharedLimits(url="redis://127.0.0.1:1/0", namespace="down", policy=POLICY)

    verdicts = [await limits.acquire(1, group=False) for _ in range(5)]
    await limits.pause(1, 10.0)
    await limits.settle(verdicts[0])

    assert all(verdict.granted for verdict in verdicts)
    await limits.close()


def _run_two_senders(
    standin: TelegramBotApiStandIn, redis_url: str, *, shared: bool, chats_each: int = 40
) -> list[list[str]]:
    namespace = f"test-two-{uuid.uuid4().hex}"
    start_at = time.time() + 4.0  # both are up and connected before the first send
    # ``chats_each`` chats each, and 3 messages each to one chat both of them write to.
    chats = {
        "A": [*range(1000, 1000 + chats_each), 999, 999, 999],
        "B": [*range(3000, 3000 + chats_each), 999, 999, 999],
    }
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.bots.shared_sender_process",
                "--api-base",
                standin.base_url,
                "--token",
                standin.token,
                "--redis",
                redis_url,
                "--namespace",
                namespace,
                "--chats",
                ",".join(str(chat) for chat in chat_ids),
                "--label",
                label,
                "--start-at",
                str(start_at),
                *([] if shared else ["--no-shared"]),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for label, chat_ids in chats.items()
    ]
    outputs = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        outputs.append(json.loads(out.strip().splitlines()[-1]))
    return outputs


def test_two_worker_processes_together_stay_inside_telegrams_limits(redis_url) -> None:
    # Given a stand-in that answers 429 to anything beyond 30 msg/s or 1 msg/s per chat
    with TelegramBotApiStandIn(enforce_rate_limits=True) as standin:
        # When two processes each send 43 messages at full speed, from the same moment
        reports = _run_two_senders(standin, redis_url, shared=True)
        sends = [call for call in standin.calls if call.method.lower() == "sendmessage"]

        # Then everything is delivered, exactly once, without a single 429
        assert [Counter(statuses) for statuses in reports] == [Counter(sent=43)] * 2
        assert Counter(call.status for call in sends) == Counter({200: 86})
        texts = [message["text"] for chat in standin._state.messages.values() for message in chat]
        assert sorted(texts) == sorted(
            [f"A-{n}" for n in range(43)] + [f"B-{n}" for n in range(43)]
        )
        # The chat both wrote to got its six messages at least a second apart
        shared_chat = sorted(
            call.at for call in sends if int(call.params["chat_id"]) == 999 and call.ok
        )
        assert len(shared_chat) == 6
        assert all(
            later - earlier >= 0.99
            for earlier, later in zip(shared_chat, shared_chat[1:], strict=False)
        )


def test_two_worker_processes_pacing_alone_would_earn_429s(redis_url) -> None:
    # The control for the test above: the same load, each process with only its own
    # limits, goes over Telegram's 30 msg/s (and the outbox then waits out the 429s).
    with TelegramBotApiStandIn(enforce_rate_limits=True) as standin:
        # 3 s of sending each at 30 msg/s: they overlap even if one starts late
        reports = _run_two_senders(standin, redis_url, shared=False, chats_each=90)
        statuses = Counter(
            call.status for call in standin.calls if call.method.lower() == "sendmessage"
        )

    assert [Counter(r) for r in reports] == [Counter(sent=93)] * 2
    assert statuses[429] > 0


async def test_paid_broadcasts_share_their_own_window_and_leave_the_free_one_alone(
    redis_url,
) -> None:
    policy = SharedPolicy(
        overall=RateLimit(max_events=2, per_seconds=10.0),
        per_chat=RateLimit(max_events=1, per_seconds=10.0),
        per_group=RateLimit(max_events=2, per_seconds=60.0),
        paid_overall=RateLimit(max_events=5, per_seconds=10.0),
    )
    namespace = f"test-shared-{uuid.uuid4().hex}"
    first, second = (
        RedisSharedLimits(url=redis_url, namespace=namespace, policy=policy) for _ in range(2)
    )

    # Two free sends fill the free window; paid sends from the other process still pass...
    free = [await first.acquire(chat, group=False) for chat in (1, 2)]
    third_free = await first.acquire(3, group=False)
    paid = [await second.acquire(chat, group=False, paid=True) for chat in (11, 12, 13)]
    # ...until every send together reaches the paid window's five
    sixth = await second.acquire(14, group=False, paid=True)

    assert all(verdict.granted for verdict in free)
    assert not third_free.granted and third_free.scope == "bot"
    assert all(verdict.granted for verdict in paid)
    assert not sixth.granted and sixth.scope == "bot"
    # A paid send is recorded in the every-send window, never in the free one
    assert not any(key.endswith(":window:bot") for key in paid[0].keys)
    assert any(key.endswith(":window:bot-all") for key in free[0].keys)
    await first.close()
    await second.close()
