"""The inbox list's previews read one message per conversation, however long the threads are
(the first version walked every message of every listed thread, each one decrypted)."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conversations.models import Message
from conversations.services import start_conversation
from tests.conftest import make_user
from tests.webchat.conftest import say
from webchat.selectors import last_previews

pytestmark = pytest.mark.django_db


def test_one_query_one_row_per_conversation_with_the_newest_message(buyer, artisan, settings):
    settings.MESSAGE_SEND_RATE = "1000/1s"  # many messages from one person in one test
    threads = [start_conversation(buyer=buyer, artisan=artisan, subject="A blue vase")]
    for n in range(2):
        other = make_user(f"other-{n}@example.com")
        threads.append(start_conversation(buyer=other, artisan=artisan, subject=f"Cup {n}"))
    for index, thread in enumerate(threads):
        for seq in range(12):
            say(thread, thread.buyer if seq % 2 else artisan, f"thread {index} message {seq}")
    empty = start_conversation(
        buyer=make_user("quiet@example.com"), artisan=artisan, subject="Nothing yet"
    )
    ids = [t.pk for t in threads] + [empty.pk]

    built = []
    original = Message.from_db.__func__

    def counting(cls, *args, **kwargs):
        built.append(1)
        return original(cls, *args, **kwargs)

    with (
        CaptureQueriesContext(connection) as queries,
        mock.patch.object(Message, "from_db", classmethod(counting)),
    ):
        previews = last_previews(conversation_ids=ids)

    assert len(queries.captured_queries) == 1
    assert len(built) == len(threads), "only the newest message of each thread is read"
    assert set(previews) == {t.pk for t in threads}  # the empty thread has no preview
    for index, thread in enumerate(threads):
        assert previews[thread.pk].text == f"thread {index} message 11"
    assert last_previews(conversation_ids=[]) == {}
