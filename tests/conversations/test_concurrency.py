"""Two writers never get the same seq: concurrent posts from threads on real connections."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from conversations.models import Message
from conversations.services import post_message


@pytest.mark.django_db(transaction=True)
def test_concurrent_posts_get_distinct_gapless_seqs(conversation, buyer, artisan, settings):
    settings.MESSAGE_SEND_RATE = "1000/10s"  # the race under test, not the send limit
    if connection.vendor == "sqlite":
        # SQLite serialises writers with a database lock; the race only exists on PostgreSQL,
        # where CI runs this same test.
        threads_n, per_thread = 4, 5
    else:
        threads_n, per_thread = 8, 10
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads_n)

    def writer(index: int) -> None:
        try:
            barrier.wait()
            for i in range(per_thread):
                post_message(
                    conversation=conversation,
                    author=buyer if index % 2 else artisan,
                    text=f"t{index}-{i}",
                    client_id=f"t{index}-{i}",
                )
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(threads_n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    seqs = sorted(Message.objects.filter(conversation=conversation).values_list("seq", flat=True))
    assert seqs == list(range(1, threads_n * per_thread + 1))
    conversation.refresh_from_db()
    assert conversation.last_seq == threads_n * per_thread
