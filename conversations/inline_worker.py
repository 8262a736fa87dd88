"""Slow follow-ups in a process without a Celery worker (``make run``, the embedded default).

With ``CELERY_TASK_ALWAYS_EAGER`` every task runs where it is published: for follow-ups
that is inside the request (or the socket's thread) that committed the message. Fast ones
(the bot's reply, a Telegram delivery) may run there; a *slow* one (translation, which waits
on DeepL for seconds) must not, or the sender waits for it and so does every follow-up
after it. Those are handed to this small thread pool instead, after the fast ones, and a
retry the provider asked for (``RetryLater``) is scheduled here too, since an inline
process has no beat to sweep it. The entries stay in the outbox, so a process that stops
with work queued leaves it on record for the sweeper (or the next ``make worker``).
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from django.conf import settings
from django.db import close_old_connections, connections
from django.utils import timezone

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_timers: set[threading.Timer] = set()
_futures: set[Future] = set()


def enabled() -> bool:
    from core.celery import app

    return bool(app.conf.task_always_eager) and settings.FOLLOW_UP_SLOW_IN_BACKGROUND


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(
                max_workers=settings.FOLLOW_UP_BACKGROUND_THREADS,
                thread_name_prefix="follow-up",
            )
        return _pool


def submit(entry_id: int) -> Future:
    future = _executor().submit(_run, entry_id)
    with _lock:
        _futures.add(future)
    future.add_done_callback(lambda done: _forget(done))
    return future


def _forget(future: Future) -> None:
    with _lock:
        _futures.discard(future)


def _run(entry_id: int) -> str:
    from conversations.models import FollowUpEntry, FollowUpStatus
    from conversations.outbox import run_entry

    close_old_connections()
    try:
        status = run_entry(entry_id)
        if status == FollowUpStatus.PENDING:
            due = (
                FollowUpEntry.objects.filter(pk=entry_id)
                .values_list("next_attempt_at", flat=True)
                .first()
            )
            if due is not None:
                _retry_at(entry_id, max((due - timezone.now()).total_seconds(), 0.0))
        return status
    except Exception:
        logger.exception("background follow-up %s failed", entry_id)
        raise
    finally:
        connections.close_all()


def _retry_at(entry_id: int, delay: float) -> None:
    if delay > settings.FOLLOW_UP_BACKGROUND_MAX_DELAY:
        return  # Too far ahead for a timer; the sweeper (beat) or a later run picks it up.

    def fire() -> None:
        with _lock:
            _timers.discard(timer)
        submit(entry_id)

    timer = threading.Timer(delay, fire)
    timer.daemon = True
    with _lock:
        _timers.add(timer)
    timer.start()


def drain(timeout: float = 30.0) -> bool:
    """Wait until queued background follow-ups (not future timers) have finished; for tests
    and a graceful stop. Returns whether everything finished in time."""
    import concurrent.futures

    with _lock:
        pending = list(_futures)
    if not pending:
        return True
    _done, not_done = concurrent.futures.wait(pending, timeout=timeout)
    return not not_done


def cancel_timers() -> None:
    with _lock:
        timers = list(_timers)
        _timers.clear()
    for timer in timers:
        timer.cancel()
