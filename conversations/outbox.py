"""The follow-up outbox: work after a message commits is recorded with the message.

``post_message`` writes one ``FollowUpEntry`` per registered follow-up that applies to the
new message, inside the message's own transaction, so a committed message always has its
follow-ups on record (and a rolled-back one has none). Then:

1. **relay** (on commit, the fast path): each entry is published as one
   ``conversations.tasks.run_follow_up`` task and marked ``enqueued``;
2. **worker**: ``run_entry`` claims the entry (``running``, one more attempt, a lease),
   runs the follow-up, and marks it ``done``; a failure puts it back to ``pending`` with a
   bounded exponential backoff, or ``dead`` after ``FOLLOW_UP_MAX_ATTEMPTS`` attempts;
3. **sweeper** (Celery beat, ``conversations.tasks.sweep_follow_ups``): every entry that
   is not done and whose ``next_attempt_at`` has passed (a lost publish, a database error
   after commit, a worker killed mid-task, a backoff that ran out) is published again.
   Rows are taken with ``SELECT … FOR UPDATE SKIP LOCKED`` and pushed past the lease before
   the lock is released, so two sweepers never publish the same entry.

Delivery is at least once, so every follow-up is idempotent: translation rows are unique
per (message, language) and only pending ones are computed; a Telegram delivery is one
``TelegramDelivery`` row per message; the bot reply and the away reply run with the
entry's ``done`` mark in one transaction (``transactional=True``), so their messages and
the mark commit together or not at all. Dead entries are listed in the admin
(Conversations → Follow-ups) with a "Retry" action (``retry_follow_ups``).
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from conversations.models import FollowUpEntry, FollowUpStatus, Message

logger = logging.getLogger(__name__)

OPEN_STATUSES = (FollowUpStatus.PENDING, FollowUpStatus.ENQUEUED, FollowUpStatus.RUNNING)


@dataclass(frozen=True)
class FollowUp:
    """A registered follow-up.

    ``applies(message)`` runs inside the message's transaction (keep it to cheap reads);
    ``run(message_id)`` runs on a worker and must be idempotent. ``transactional``: run it
    in one transaction with the entry's ``done`` mark (for follow-ups whose only effect is
    database writes, e.g. posting a reply), which makes them exactly once. Slow work such a
    follow-up needs first (an HTTP call to Rasa) goes in ``prepare(message_id)``, run
    outside that transaction; its result is passed on as ``run(message_id, prepared)``.
    ``slow``: it may wait seconds on a remote service (translation), so it is published
    after the others and, in a process without a worker, runs off the sender's thread
    (``conversations.inline_worker``): it is never on another follow-up's delivery path.
    ``on_change``: not run for a new message but each time a sent one changes
    (``conversations.changes.mark_changed``: a card's new state, an edit, a moderator's
    hide, a finished translation), e.g. to edit the copy another channel shows;
    a change while one is still open runs it once more after (the entry is reset).
    """

    name: str
    applies: Callable[[Message], bool]
    run: Callable[..., object]
    transactional: bool = False
    prepare: Callable[[int], object] | None = None
    slow: bool = False
    on_change: bool = False


class RetryLater(Exception):
    """A follow-up could not finish now (rate limit, timeout); try again after a backoff.

    ``code`` is stored as the entry's ``last_error_code``; ``delay`` (seconds) overrides
    the outbox's own backoff when the provider said when to come back; ``counts=False``
    gives the attempt back.
    """

    def __init__(
        self, code: str, detail: str = "", *, delay: float | None = None, counts: bool = True
    ) -> None:
        super().__init__(detail or code)
        self.code = code
        self.detail = detail
        self.delay = delay
        # False: nothing failed, the work is still under way elsewhere (a delivery waiting
        # out a flood wait); looking again later does not use up one of the attempts.
        self.counts = counts


_registry: dict[str, FollowUp] = {}


def register(
    name: str,
    *,
    applies: Callable[[Message], bool],
    run: Callable[..., object],
    transactional: bool = False,
    prepare: Callable[[int], object] | None = None,
    slow: bool = False,
    on_change: bool = False,
) -> None:
    if prepare is not None and not transactional:
        raise ValueError("prepare only makes sense for a transactional follow-up")
    _registry[name] = FollowUp(
        name=name,
        applies=applies,
        run=run,
        transactional=transactional,
        prepare=prepare,
        slow=slow,
        on_change=on_change,
    )


def registered() -> dict[str, FollowUp]:
    return dict(_registry)


def _grace() -> timedelta:
    return timedelta(seconds=settings.FOLLOW_UP_GRACE_SECONDS)


def _lease() -> timedelta:
    return timedelta(seconds=settings.FOLLOW_UP_LEASE_SECONDS)


def retry_backoff(attempts: int) -> timedelta:
    """Wait after failed attempt number ``attempts`` (1-based): doubling, capped."""
    base = settings.FOLLOW_UP_RETRY_BASE_SECONDS
    seconds = min(base * 2 ** max(attempts - 1, 0), settings.FOLLOW_UP_RETRY_MAX_SECONDS)
    return timedelta(seconds=seconds)


# --- writing entries (inside the caller's transaction) ---------------------------------------


def record_follow_ups(*, message: Message, names: Iterable[str] | None = None) -> list[int]:
    """Record the follow-ups of a new message in the current transaction; publish on commit.

    Must run inside the transaction that inserts ``message``. Returns the entry ids.
    """
    wanted = (
        [f for f in _registry.values() if not f.on_change]
        if names is None
        else [_registry[n] for n in names]
    )
    now = timezone.now()
    entries = [
        FollowUpEntry(
            name=follow_up.name,
            message=message,
            next_attempt_at=now + _grace(),
            created_at=now,
        )
        for follow_up in wanted
        if follow_up.applies(message)
    ]
    if not entries:
        return []
    FollowUpEntry.objects.bulk_create(entries)
    # Slow follow-ups last: a translation never holds up the bot's reply or a delivery.
    published = sorted(((entry.pk, entry.name) for entry in entries), key=_slow_last)
    transaction.on_commit(lambda: publish(published))
    return [entry.pk for entry in entries]


def requeue_follow_up(*, message: Message, name: str) -> int | None:
    """Run ``name`` again for ``message`` (e.g. translation after an edit), in the
    caller's transaction; publish on commit. Returns the entry id, or None if it does not
    apply."""
    follow_up = _registry.get(name)
    if follow_up is None or not follow_up.applies(message):
        return None
    entry, _created = FollowUpEntry.objects.update_or_create(
        message=message,
        name=name,
        defaults={
            "status": FollowUpStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": timezone.now() + _grace(),
            "last_error_code": "",
            "last_error": "",
        },
    )
    transaction.on_commit(lambda: publish([(entry.pk, name)]))
    return entry.pk


def record_change_follow_ups(*, message: Message) -> list[int]:
    """A sent ``message`` changed: (re)queue every ``on_change`` follow-up that applies, in
    the caller's transaction (so the change and the work it owes commit together)."""
    return [
        entry_id
        for follow_up in _registry.values()
        if follow_up.on_change
        and (entry_id := requeue_follow_up(message=message, name=follow_up.name)) is not None
    ]


@transaction.atomic
def retry_follow_ups(*, entry_ids: Iterable[int]) -> int:
    """Give dead (or stuck) entries a fresh set of attempts and publish them on commit."""
    chosen = list(
        FollowUpEntry.objects.select_for_update()
        .filter(
            pk__in=list(entry_ids),
            status__in=[FollowUpStatus.DEAD, FollowUpStatus.PENDING, FollowUpStatus.ENQUEUED],
        )
        .values_list("pk", "name")
    )
    if not chosen:
        return 0
    ids = [pk for pk, _name in chosen]
    FollowUpEntry.objects.filter(pk__in=ids).update(
        status=FollowUpStatus.PENDING,
        attempts=0,
        next_attempt_at=timezone.now() + _grace(),
        updated_at=timezone.now(),
    )
    transaction.on_commit(lambda: publish(chosen))
    return len(ids)


# --- relay and sweeper ---------------------------------------------------------------------------


def _slow_last(entry: tuple[int, str]) -> bool:
    follow_up = _registry.get(entry[1])
    return bool(follow_up and follow_up.slow)


def _publish_one(entry_id: int, name: str) -> None:
    from conversations import inline_worker
    from conversations.tasks import run_follow_up

    follow_up = _registry.get(name)
    if follow_up is not None and follow_up.slow and inline_worker.enabled():
        inline_worker.submit(entry_id)
        return

    # FOLLOW_UP_QUEUES routes a follow-up to its own workers (e.g. Telegram deliveries to
    # one process, so its rate limits hold); the others go to the default queue.
    queue = settings.FOLLOW_UP_QUEUES.get(name)
    run_follow_up.apply_async(args=[entry_id], **({"queue": queue} if queue else {}))


def publish(entries: list[tuple[int, str]]) -> int:
    """Publish ``(entry id, follow-up name)`` pairs to Celery (after commit). A failed
    publish only logs: the entry is still on record and the sweeper publishes it once its
    ``next_attempt_at`` passes."""
    published = []
    for entry_id, name in entries:
        try:
            _publish_one(entry_id, name)
        except Exception:
            logger.exception("follow-up %s not published; the sweeper will retry", entry_id)
            continue
        published.append(entry_id)
    if published:
        try:
            # Only entries nobody has claimed yet (an inline worker may already be done).
            FollowUpEntry.objects.filter(
                pk__in=published, status=FollowUpStatus.PENDING, attempts=0
            ).update(
                status=FollowUpStatus.ENQUEUED,
                next_attempt_at=timezone.now() + _lease(),
                updated_at=timezone.now(),
            )
        except Exception:
            logger.exception("follow-ups %s published but not marked enqueued", published)
    return len(published)


def sweep_due(*, limit: int | None = None) -> list[int]:
    """Publish again every open entry whose time has come; bury exhausted ones.

    Returns the ids published. Safe to run in several processes at once.
    """
    limit = limit or settings.FOLLOW_UP_SWEEP_BATCH
    now = timezone.now()
    with transaction.atomic():
        due = list(
            FollowUpEntry.objects.select_for_update(skip_locked=True)
            .filter(status__in=OPEN_STATUSES, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "pk")
            .values_list("pk", "name", "status", "attempts")[:limit]
        )
        if not due:
            return []
        # A running entry whose lease expired lost its worker (killed mid-task); if that was
        # its last attempt, it is dead instead of being tried forever.
        exhausted = [
            pk
            for pk, _name, status, attempts in due
            if status == FollowUpStatus.RUNNING and attempts >= settings.FOLLOW_UP_MAX_ATTEMPTS
        ]
        again = [(pk, name) for pk, name, _status, _attempts in due if pk not in set(exhausted)]
        if exhausted:
            FollowUpEntry.objects.filter(pk__in=exhausted).update(
                status=FollowUpStatus.DEAD,
                last_error_code="worker_lost",
                last_error="The worker running the last attempt stopped before finishing.",
                updated_at=now,
            )
        if again:
            FollowUpEntry.objects.filter(pk__in=[pk for pk, _name in again]).update(
                status=FollowUpStatus.ENQUEUED, next_attempt_at=now + _lease(), updated_at=now
            )
    for entry_id, name in again:
        try:
            _publish_one(entry_id, name)
        except Exception:
            # Still enqueued with a lease: the next sweep after the lease tries again.
            logger.exception("follow-up %s not published by the sweeper", entry_id)
    if again or exhausted:
        logger.info("follow-up sweep: %s re-published, %s dead", len(again), len(exhausted))
    return [pk for pk, _name in again]


# --- the worker side ---------------------------------------------------------------------------


def _claim(entry_id: int) -> int | None:
    """Take the entry for one attempt; returns its attempt number, or None if it is done,
    dead, or running elsewhere under a live lease."""
    now = timezone.now()
    claimed = (
        FollowUpEntry.objects.filter(pk=entry_id)
        .filter(
            Q(status__in=[FollowUpStatus.PENDING, FollowUpStatus.ENQUEUED])
            | Q(status=FollowUpStatus.RUNNING, next_attempt_at__lte=now)
        )
        .update(
            status=FollowUpStatus.RUNNING,
            attempts=F("attempts") + 1,
            next_attempt_at=now + _lease(),
            updated_at=now,
        )
    )
    if not claimed:
        return None
    return FollowUpEntry.objects.values_list("attempts", flat=True).get(pk=entry_id)


def _mark_done(entry_id: int, attempt: int) -> None:
    # Only the attempt we claimed: a requeue (edit, admin retry) reset ``attempts``.
    FollowUpEntry.objects.filter(pk=entry_id, attempts=attempt).update(
        status=FollowUpStatus.DONE,
        last_error_code="",
        last_error="",
        next_attempt_at=timezone.now(),
        updated_at=timezone.now(),
    )


def _mark_failed(
    entry_id: int,
    attempt: int,
    *,
    code: str,
    detail: str,
    delay: float | None,
    counts: bool = True,
) -> str:
    now = timezone.now()
    if counts and attempt >= settings.FOLLOW_UP_MAX_ATTEMPTS:
        status, next_at = FollowUpStatus.DEAD, now
    else:
        wait = timedelta(seconds=delay) if delay is not None else retry_backoff(attempt)
        status, next_at = FollowUpStatus.PENDING, now + wait
    FollowUpEntry.objects.filter(pk=entry_id, attempts=attempt).update(
        attempts=attempt if counts else attempt - 1,
        status=status,
        next_attempt_at=next_at,
        last_error_code=code[:64],
        last_error=detail[:4000],
        updated_at=now,
    )
    return status


def run_entry(entry_id: int) -> str:
    """Run one outbox entry (the Celery task's body). Returns the entry's new status, or
    ``"skipped"`` when there was nothing to do (already done, dead, or taken)."""
    attempt = _claim(entry_id)
    if attempt is None:
        return "skipped"
    entry = FollowUpEntry.objects.get(pk=entry_id)
    follow_up = _registry.get(entry.name)
    if follow_up is None:
        return _mark_failed(
            entry_id,
            settings.FOLLOW_UP_MAX_ATTEMPTS,
            code="unknown_follow_up",
            detail=f"No follow-up named {entry.name!r} is registered in this process.",
            delay=None,
        )
    try:
        if follow_up.transactional:
            args: tuple[object, ...] = (entry.message_id,)
            if follow_up.prepare is not None:
                args = (entry.message_id, follow_up.prepare(entry.message_id))
            with transaction.atomic():
                follow_up.run(*args)
                _mark_done(entry_id, attempt)
            return FollowUpStatus.DONE
        follow_up.run(entry.message_id)
    except RetryLater as retry:
        status = _mark_failed(
            entry_id,
            attempt,
            code=retry.code,
            detail=retry.detail,
            delay=retry.delay,
            counts=retry.counts,
        )
        logger.warning("follow-up %s %s: %s → %s", entry.name, entry_id, retry.code, status)
        return status
    except Exception as error:
        status = _mark_failed(
            entry_id,
            attempt,
            code=type(error).__name__,
            detail="".join(traceback.format_exception_only(error)).strip(),
            delay=None,
        )
        logger.exception("follow-up %s %s failed → %s", entry.name, entry_id, status)
        return status
    _mark_done(entry_id, attempt)
    return FollowUpStatus.DONE
