"""Retry delays for translation calls (Celery retries and short in-process retries)."""

from __future__ import annotations

import random

DEFAULT_BASE_DELAY = 2.0
DEFAULT_MAX_DELAY = 300.0
# Fraction of the exponential delay that is randomised, so that many workers
# rate-limited at the same moment do not all come back at the same moment.
DEFAULT_JITTER = 0.5


def retry_delay(
    attempt: int,
    retry_after: float | None = None,
    *,
    base: float = DEFAULT_BASE_DELAY,
    cap: float = DEFAULT_MAX_DELAY,
    jitter: float = DEFAULT_JITTER,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait before retry number ``attempt`` (0 = first retry).

    Exponential: ``base * 2**attempt``, capped at ``cap``; the top ``jitter``
    fraction of it is random, so the result lies in
    ``[(1 - jitter) * d, d]`` with ``d = min(cap, base * 2**attempt)``.

    ``retry_after`` (the provider's own hint, e.g. a 429 ``Retry-After``) is a
    floor: we never come back earlier than we were told to, even above ``cap``,
    because doing so only earns another 429.
    """
    if attempt < 0:
        raise ValueError("attempt must be >= 0")
    if not 0.0 <= jitter <= 1.0:
        raise ValueError("jitter must be within [0, 1]")
    # min() before the power would overflow for absurd attempt numbers.
    exponential = cap if attempt >= 64 else min(cap, base * (2**attempt))
    random_part = (rng or random).uniform(0.0, jitter * exponential)
    delay = exponential - random_part
    if retry_after is not None and retry_after > delay:
        return float(retry_after)
    return delay
