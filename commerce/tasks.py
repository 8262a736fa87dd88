"""Periodic commerce work (Celery)."""

from __future__ import annotations

from celery import shared_task

from commerce.services import expire_stale_offers


@shared_task(name="commerce.expire_stale_offers")
def expire_stale_offers_task() -> int:
    """Mark offers past their expiry as expired (schedule every few minutes with beat)."""
    return expire_stale_offers()
