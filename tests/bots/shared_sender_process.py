"""One sending process for tests/bots/test_telegram_shared_limits.py: its own aiogram Bot
and Outbox, Redis-shared limits, messages to the chats it is given. Prints one JSON line:
the statuses of its reports.

    python -m tests.bots.shared_sender_process --api-base URL --token T --redis URL \\
        --namespace NS --chats 1,2,3 --label A [--no-shared]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from bots.telegram.client import TelegramConfig, bot_deliverer, create_bot
from bots.telegram.outbox import OutboundText, Outbox, OutboxPolicy
from bots.telegram.shared_limits import RedisSharedLimits, SharedPolicy


async def main(args: argparse.Namespace) -> None:
    policy = OutboxPolicy()
    shared = (
        None
        if args.no_shared
        else RedisSharedLimits(
            url=args.redis,
            namespace=args.namespace,
            policy=SharedPolicy(
                overall=policy.overall, per_chat=policy.per_chat, per_group=policy.per_group
            ),
        )
    )
    bot = create_bot(config=TelegramConfig(bot_token=args.token, api_base=args.api_base))
    outbox = Outbox(deliver=bot_deliverer(bot), policy=policy, shared=shared)
    # Both processes start sending at the same wall-clock moment.
    await asyncio.sleep(max(0.0, args.start_at - time.time()))
    futures = [
        await outbox.send(OutboundText(chat_id=int(chat), text=f"{args.label}-{index}"))
        for index, chat in enumerate(args.chats.split(","))
    ]
    reports = await asyncio.gather(*futures)
    await outbox.close()
    await outbox.close_shared()
    await bot.session.close()
    print(json.dumps([report.status.value for report in reports]))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--api-base", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--redis", required=True)
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--chats", required=True)
    parser.add_argument("--label", required=True)
    parser.add_argument("--start-at", type=float, default=0.0)
    parser.add_argument("--no-shared", action="store_true")
    asyncio.run(main(parser.parse_args()))
