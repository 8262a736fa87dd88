"""Monthly character budget arithmetic (pure: storage and alerts live elsewhere).

DeepL bills source characters (Unicode code points, whitespace included), per
text sent, whether or not the translation is then used; our own budget is kept
below the provider's quota so that a runaway loop cannot burn the whole month.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import UTC, datetime

# Share of the budget at which operators should hear about it.
DEFAULT_WARNING_RATIO = 0.8


class BudgetState(enum.StrEnum):
    OK = "ok"
    WARNING = "warning"
    EXHAUSTED = "exhausted"


def count_billable_characters(texts: Iterable[str]) -> int:
    """Characters a provider will bill for sending ``texts``."""
    return sum(len(text) for text in texts)


def would_exceed_budget(used: int, requested: int, budget: int | None) -> bool:
    """True when spending ``requested`` more characters would go over ``budget``.

    ``budget=None`` means no budget of our own (only the provider's quota
    applies). A request that lands exactly on the budget is allowed.
    """
    if used < 0 or requested < 0:
        raise ValueError("used and requested must be >= 0")
    if budget is None:
        return False
    return used + requested > budget


def remaining_budget(used: int, budget: int | None) -> int | None:
    """Characters still available this period (None = unbudgeted)."""
    if budget is None:
        return None
    return max(budget - used, 0)


def budget_state(
    used: int, budget: int | None, *, warning_ratio: float = DEFAULT_WARNING_RATIO
) -> BudgetState:
    """Where ``used`` stands against ``budget``: ok, warning (>= ratio) or exhausted."""
    if budget is None:
        return BudgetState.OK
    if used >= budget:
        return BudgetState.EXHAUSTED
    if used >= budget * warning_ratio:
        return BudgetState.WARNING
    return BudgetState.OK


def billing_period(moment: datetime) -> str:
    """The calendar-month key ("2025-11") a usage counter belongs to, in UTC."""
    if moment.tzinfo is None:
        raise ValueError("moment must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m")
