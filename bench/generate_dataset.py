"""Generate a large, realistic-shaped dataset fast, for the recovery drill (and other benches).

Writes people, shops, one conversation per order, MESSAGES chat messages spread over those
conversations (gapless seq), ORDERS paid orders, one succeeded payment per order and two
ledger entries per order (sale credit, platform fee) with ``bulk_create`` in batches. This
bypasses the services on purpose: it is bulk test data, not a business operation, and going
through ``post_message`` would take an hour for 100,000 messages.

  DATABASE_URL=postgres://postgres@127.0.0.1:5432/atelier_ops_drill \\
      python bench/generate_dataset.py --messages 100000 --orders 10000

The database must be migrated first. Deterministic: the same arguments give the same rows.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASE_TIME = datetime(2026, 1, 1, tzinfo=UTC)
BATCH = 5000
PHRASES = [
    "Bonjour, is the blue bowl still available?",
    "Could you engrave our initials on the lid?",
    "Ich hätte gern die Tasse in Grün.",
    "¿Cuánto tarda el envío a Madrid?",
    "ありがとうございます。楽しみにしています。",
    "The glaze looks lovely, thank you for the photos!",
]


def generate(*, messages: int, orders: int, buyers: int = 200, artisans: int = 20) -> dict:
    """Create the dataset in the configured database; returns the row counts written."""
    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    from commerce.models import ArtisanProfile, LedgerEntry, Order, Payment
    from conversations.models import Conversation, Message, Participant
    from core.models import Role, User

    if orders < 1:
        raise SystemExit("--orders must be at least 1 (each order has its conversation).")
    password = make_password(None)  # unusable: these people never sign in
    with transaction.atomic():
        people = User.objects.bulk_create(
            [
                User(
                    email=f"drill-buyer-{i}@example.test",
                    display_name=f"Buyer {i}",
                    password=password,
                    role=Role.BUYER,
                    date_joined=BASE_TIME,
                )
                for i in range(buyers)
            ]
            + [
                User(
                    email=f"drill-artisan-{i}@example.test",
                    display_name=f"Artisan {i}",
                    password=password,
                    role=Role.ARTISAN,
                    date_joined=BASE_TIME,
                )
                for i in range(artisans)
            ],
            batch_size=BATCH,
        )
        buyer_rows, artisan_rows = people[:buyers], people[buyers:]
        shops = ArtisanProfile.objects.bulk_create(
            [
                ArtisanProfile(user=a, shop_name=f"Drill shop {i}", slug=f"drill-shop-{i}")
                for i, a in enumerate(artisan_rows)
            ]
        )
        per_conversation, extra = divmod(messages, orders)
        pairs = buyers * artisans
        shop_of = {shop.user_id: shop for shop in shops}
        conversations = Conversation.objects.bulk_create(
            [
                Conversation(
                    buyer=buyer_rows[i % buyers],
                    artisan=artisan_rows[(i // buyers) % artisans],
                    # One open thread per buyer-artisan pair: older repeats are closed.
                    status="open" if i < pairs else "closed",
                    closed_at=None if i < pairs else BASE_TIME + timedelta(minutes=i, days=30),
                    subject=f"Order {i}",
                    bot_active=False,
                    last_seq=per_conversation + (1 if i < extra else 0),
                    created_at=BASE_TIME + timedelta(minutes=i),
                    surfaced_at=BASE_TIME + timedelta(minutes=i),
                )
                for i in range(orders)
            ],
            batch_size=BATCH,
        )
        Participant.objects.bulk_create(
            [
                Participant(conversation=c, user_id=user_id, role=role)
                for c in conversations
                for user_id, role in ((c.buyer_id, "buyer"), (c.artisan_id, "artisan"))
            ],
            batch_size=BATCH,
        )
        batch: list[Message] = []
        written = 0
        for index, conversation in enumerate(conversations):
            for seq in range(1, conversation.last_seq + 1):
                author = conversation.buyer_id if seq % 2 else conversation.artisan_id
                batch.append(
                    Message(
                        conversation=conversation,
                        seq=seq,
                        author_id=author,
                        text=f"{PHRASES[(index + seq) % len(PHRASES)]} (#{seq})",
                        language="en",
                        client_id=f"drill-{index}-{seq}",
                        created_at=conversation.created_at + timedelta(seconds=seq),
                    )
                )
                if len(batch) >= BATCH:
                    Message.objects.bulk_create(batch)
                    written += len(batch)
                    batch = []
        Message.objects.bulk_create(batch)
        written += len(batch)

        order_rows = Order.objects.bulk_create(
            [
                Order(
                    reference=f"D{i:09d}",
                    buyer_id=c.buyer_id,
                    artisan_id=c.artisan_id,
                    shop=shop_of[c.artisan_id],
                    conversation=c,
                    title=f"Drill piece {i}",
                    total=Decimal(20 + i % 180) + Decimal("0.50"),
                    currency="EUR",
                    amount_paid=Decimal(20 + i % 180) + Decimal("0.50"),
                    status="paid",
                    created_at=c.created_at,
                    paid_at=c.created_at + timedelta(minutes=5),
                )
                for i, c in enumerate(conversations)
            ],
            batch_size=BATCH,
        )
        payments = Payment.objects.bulk_create(
            [
                Payment(
                    order=o,
                    provider="stripe",
                    provider_payment_id=f"pi_drill_{o.reference}",
                    amount=o.total,
                    currency=o.currency,
                    purpose="full",
                    status="succeeded",
                    idempotency_key=f"drill:{o.reference}",
                    applied_to_order=True,
                    created_at=o.created_at,
                    succeeded_at=o.paid_at,
                )
                for o in order_rows
            ],
            batch_size=BATCH,
        )
        entries = LedgerEntry.objects.bulk_create(
            [
                LedgerEntry(
                    artisan_id=p.order.artisan_id,
                    kind=kind,
                    amount=amount,
                    currency=p.currency,
                    order=p.order,
                    payment=p,
                    created_at=p.succeeded_at,
                )
                for p in payments
                for kind, amount in (
                    ("sale_credit", p.amount),
                    ("platform_fee", -(p.amount / 10).quantize(Decimal("0.01"))),
                )
            ],
            batch_size=BATCH,
        )
    return {
        "users": len(people),
        "conversations": len(conversations),
        "messages": written,
        "orders": len(order_rows),
        "payments": len(payments),
        "ledger_entries": len(entries),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=10_000)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings")
    import django

    django.setup()
    started = time.perf_counter()
    counts = generate(messages=args.messages, orders=args.orders)
    print(f"generated {counts} in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
