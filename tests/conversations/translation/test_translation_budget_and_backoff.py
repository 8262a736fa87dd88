"""Pure helpers: monthly character budget and retry delays."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

import pytest

from conversations.translation.backoff import retry_delay
from conversations.translation.budget import (
    BudgetState,
    billing_period,
    budget_state,
    count_billable_characters,
    remaining_budget,
    would_exceed_budget,
)

# --- budget -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("used", "requested", "budget", "exceeds"),
    [
        (0, 100, 1_000, False),
        (900, 100, 1_000, False),  # landing exactly on the budget is allowed
        (901, 100, 1_000, True),
        (1_000, 1, 1_000, True),
        (10**9, 10**6, None, False),  # no budget of our own
        (0, 1, 0, True),
    ],
)
def test_would_exceed_budget(used, requested, budget, exceeds):
    assert would_exceed_budget(used, requested, budget) is exceeds


def test_negative_counts_are_refused():
    with pytest.raises(ValueError):
        would_exceed_budget(-1, 10, 100)


def test_billable_characters_count_code_points_including_spaces():
    assert count_billable_characters(["Hello there", "こんにちは", "👍"]) == 11 + 5 + 1


def test_remaining_budget_never_goes_negative():
    assert remaining_budget(1_200, 1_000) == 0
    assert remaining_budget(250, 1_000) == 750
    assert remaining_budget(250, None) is None


@pytest.mark.parametrize(
    ("used", "state"),
    [
        (0, BudgetState.OK),
        (799, BudgetState.OK),
        (800, BudgetState.WARNING),
        (1_000, BudgetState.EXHAUSTED),
    ],
)
def test_budget_state(used, state):
    assert budget_state(used, 1_000) is state


def test_billing_period_is_the_utc_month():
    # 23:30 on 31 Oct in New York is already November in UTC
    new_york = timezone(timedelta(hours=-4))
    assert billing_period(datetime(2025, 10, 31, 23, 30, tzinfo=new_york)) == "2025-11"
    assert billing_period(datetime(2025, 11, 1, 0, 0, tzinfo=UTC)) == "2025-11"
    with pytest.raises(ValueError):
        billing_period(datetime(2025, 11, 1))  # noqa: DTZ001


# --- backoff ----------------------------------------------------------------------------


def test_delay_grows_exponentially_within_its_jitter_band():
    rng = random.Random(7)
    for attempt, full in enumerate([2.0, 4.0, 8.0, 16.0, 32.0]):
        delay = retry_delay(attempt, rng=rng)
        assert full * 0.5 <= delay <= full


def test_delay_is_capped():
    assert retry_delay(30, cap=300.0, rng=random.Random(1)) <= 300.0
    assert retry_delay(10_000, cap=60.0, rng=random.Random(1)) <= 60.0


def test_without_jitter_the_delay_is_exact():
    assert [retry_delay(a, jitter=0.0) for a in range(4)] == [2.0, 4.0, 8.0, 16.0]


def test_retry_after_is_a_floor_even_above_the_cap():
    assert retry_delay(0, retry_after=30, jitter=0.0) == 30.0
    assert retry_delay(0, retry_after=900, cap=300.0) == 900.0
    # but a short Retry-After does not shorten our own backoff
    assert retry_delay(3, retry_after=1, jitter=0.0) == 16.0


def test_same_seed_same_delays():
    first = [retry_delay(a, rng=random.Random(42)) for a in range(5)]
    second = [retry_delay(a, rng=random.Random(42)) for a in range(5)]
    assert first == second


@pytest.mark.parametrize(("attempt", "jitter"), [(-1, 0.5), (0, 1.5), (0, -0.1)])
def test_invalid_arguments_are_refused(attempt, jitter):
    with pytest.raises(ValueError):
        retry_delay(attempt, jitter=jitter)
