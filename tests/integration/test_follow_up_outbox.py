"""Fault tests of the follow-up outbox on PostgreSQL + Redis + a real Celery worker.

- kill -9 the worker in the middle of a batch of slow follow-ups, start a new one, let the
  sweeper (beat's job, run here by the test) catch up: every follow-up ran exactly once;
- two sweepers in parallel never publish the same entry (``FOR UPDATE SKIP LOCKED``).

CI runs these against PostgreSQL + Redis (ATELIER_REQUIRE_REAL_SERVICES=1 turns a missing
service into a failure); locally they need DATABASE_URL (PostgreSQL) and REDIS_URL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from conversations import outbox
from conversations.models import FollowUpEntry, FollowUpStatus, MessageTranslation
from conversations.models import TranslationStatus as TS
from conversations.services import post_message, start_conversation
from core.celery import app
from tests.conftest import make_user, require_or_skip
from tests.standins.deepl_server import DeepLStandIn

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

KEY = "outbox-worker-key:fx"
LEASE_SECONDS = 8


def start_worker(settings, env: dict[str, str], queue: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "core",
            "worker",
            "--pool",
            "solo",
            "--loglevel",
            "WARNING",
            "-Q",
            queue,
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ],
        env=env,
        cwd=settings.BASE_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        worker.terminate()
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


@pytest.fixture
def real_worker(settings):
    require_or_skip(bool(settings.REDIS_URL), "needs REDIS_URL (a real broker) for a worker")
    require_or_skip(connection.vendor == "postgresql", "needs PostgreSQL shared with the worker")
    with DeepLStandIn(auth_key=KEY) as deepl_api:
        settings.DEEPL_AUTH_KEY = KEY
        settings.DEEPL_SERVER_URL = deepl_api.url
        settings.FOLLOW_UP_GRACE_SECONDS = 2
        settings.FOLLOW_UP_LEASE_SECONDS = LEASE_SECONDS
        settings.FOLLOW_UP_RETRY_BASE_SECONDS = 1
        db = connection.settings_dict
        queue = f"outbox-test-{os.getpid()}"
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("PYTEST")},
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "REDIS_URL": settings.REDIS_URL,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "CELERY_TASK_DEFAULT_QUEUE": queue,
            "DEEPL_AUTH_KEY": KEY,
            "DEEPL_SERVER_URL": deepl_api.url,
            "DB_CONN_MAX_AGE": "0",
            "FOLLOW_UP_LEASE_SECONDS": str(LEASE_SECONDS),
            "FOLLOW_UP_RETRY_BASE_SECONDS": "1",
        }
        previous = (app.conf.task_always_eager, app.conf.task_default_queue)
        app.conf.task_always_eager = False
        app.conf.task_default_queue = queue
        workers: list[subprocess.Popen] = []

        def spawn() -> subprocess.Popen:
            worker = start_worker(settings, env, queue)
            workers.append(worker)
            return worker

        try:
            yield deepl_api, spawn
        finally:
            app.conf.task_always_eager, app.conf.task_default_queue = previous
            for worker in workers:
                stop(worker)


def wait_for(condition, *, seconds: float, what: str, every=None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if every is not None:
            every()
        if condition():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out after {seconds:.0f}s waiting for {what}")


def test_kill_9_of_the_worker_mid_batch_loses_no_follow_up_and_runs_none_twice(real_worker):
    deepl_api, spawn = real_worker
    count = 50
    lea = make_user("lea@example.fr", preferred_language="fr")
    jonas = make_user("jonas@example.de", role="artisan", preferred_language="de")
    conversation = start_conversation(buyer=lea, artisan=jonas)
    deepl_api.set_mode("slow", delay=0.25)  # each follow-up takes a while: a real backlog
    worker = spawn()
    messages = [
        post_message(
            conversation=conversation, author=lea, text=f"Message {i}", language="fr"
        ).message
        for i in range(count)
    ]
    entries = FollowUpEntry.objects.filter(message__in=messages)
    assert entries.count() == count  # one translation entry per message, with the message

    def done() -> int:
        return entries.filter(status=FollowUpStatus.DONE).count()

    wait_for(lambda: done() >= 8, seconds=90, what="the first worker to get going")
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    done_at_kill = done()
    running_at_kill = entries.filter(status=FollowUpStatus.RUNNING).count()
    calls_at_kill = len(deepl_api.translate_calls)

    spawn()
    swept: list[int] = []
    wait_for(
        lambda: done() == count,
        seconds=240,
        what="every follow-up to be done after the restart",
        every=lambda: swept.extend(outbox.sweep_due()),  # what beat does every 30 s
    )

    translations = MessageTranslation.objects.filter(message__in=messages)
    per_message = {m.pk: 0 for m in messages}
    for row in translations:
        per_message[row.message_id] += 1
    calls = len(deepl_api.translate_calls)
    print(
        f"\ninjected: kill -9 of the worker after {done_at_kill}/{count} follow-ups "
        f"({running_at_kill} running, {calls_at_kill} DeepL calls at the kill); "
        f"after restart: {done()}/{count} entries done, {translations.count()} translations "
        f"stored, {calls} DeepL calls, {len(swept)} re-publications by the sweeper, "
        f"{entries.filter(status=FollowUpStatus.DEAD).count()} dead"
    )
    assert set(per_message.values()) == {1}, "a message has no or several translations"
    assert translations.filter(status=TS.DONE).count() == count
    assert all(row.text.startswith("[DE]") for row in translations)
    # the provider is asked once per message, plus at most the one call in flight at the kill
    assert count <= calls <= count + running_at_kill
    assert entries.filter(attempts__gt=2).count() == 0


def test_two_sweepers_in_parallel_never_publish_the_same_entry(settings, monkeypatch):
    require_or_skip(
        connection.vendor == "postgresql", "needs PostgreSQL (row locks with SKIP LOCKED)"
    )
    lea = make_user("lea@example.fr", preferred_language="fr")
    jonas = make_user("jonas@example.de", role="artisan", preferred_language="de")
    message = post_message(
        conversation=start_conversation(buyer=lea, artisan=jonas), author=lea, text="Hi"
    ).message
    due = timezone.now() - timedelta(minutes=5)
    FollowUpEntry.objects.bulk_create(
        FollowUpEntry(name=f"probe-{i}", message=message, next_attempt_at=due) for i in range(300)
    )
    wanted = set(
        FollowUpEntry.objects.filter(name__startswith="probe-").values_list("pk", flat=True)
    )
    published: list[tuple[str, int]] = []
    lock = threading.Lock()

    def record(entry_id: int, _name: str) -> None:
        with lock:
            published.append((threading.current_thread().name, entry_id))

    monkeypatch.setattr(outbox, "_publish_one", record)
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def sweeper() -> None:
        try:
            start.wait(timeout=10)
            while outbox.sweep_due(limit=7):
                pass
        except BaseException as error:  # reported by the main thread
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sweeper, name=f"sweeper-{n}") for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors, errors
    ids = [entry_id for _name, entry_id in published if entry_id in wanted]
    by_sweeper = {
        name: sum(1 for n, _ in published if n == name) for name in ("sweeper-1", "sweeper-2")
    }
    print(f"\npublished {len(ids)} of {len(wanted)} entries, by sweeper: {by_sweeper}")
    assert len(ids) == len(set(ids)), "an entry was published twice"
    assert set(ids) == wanted


def test_a_sweeper_skips_the_rows_another_sweeper_holds(settings, monkeypatch):
    require_or_skip(
        connection.vendor == "postgresql", "needs PostgreSQL (row locks with SKIP LOCKED)"
    )
    lea = make_user("lea@example.fr", preferred_language="fr")
    jonas = make_user("jonas@example.de", role="artisan", preferred_language="de")
    message = post_message(
        conversation=start_conversation(buyer=lea, artisan=jonas), author=lea, text="Hi"
    ).message
    due = timezone.now() - timedelta(minutes=5)
    held, free = FollowUpEntry.objects.bulk_create(
        [
            FollowUpEntry(name="probe-held", message=message, next_attempt_at=due),
            FollowUpEntry(name="probe-free", message=message, next_attempt_at=due),
        ]
    )
    published: list[int] = []
    monkeypatch.setattr(outbox, "_publish_one", lambda entry_id, _name: published.append(entry_id))
    locked, release = threading.Event(), threading.Event()

    def other_sweeper() -> None:
        try:
            with transaction.atomic():
                list(FollowUpEntry.objects.select_for_update(skip_locked=True).filter(pk=held.pk))
                locked.set()
                release.wait(timeout=30)
        finally:
            connections.close_all()

    thread = threading.Thread(target=other_sweeper)
    thread.start()
    try:
        assert locked.wait(timeout=10)
        swept = outbox.sweep_due()
    finally:
        release.set()
        thread.join(timeout=30)

    assert free.pk in swept
    assert held.pk not in swept
    assert held.pk not in published
    held.refresh_from_db()
    assert held.status == FollowUpStatus.PENDING  # untouched, for the sweeper holding it
