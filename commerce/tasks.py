"""Periodic commerce work (Celery)."""

from __future__ import annotations

from celery import shared_task

from commerce.services import expire_stale_offers


@shared_task(name="commerce.expire_stale_offers")
def expire_stale_offers_task() -> int:
    """Mark offers past their expiry as expired (schedule every few minutes with beat)."""
    return expire_stale_offers()


@shared_task(name="commerce.deliver_campaign", bind=True, acks_late=True, ignore_result=True)
def deliver_campaign_task(self, campaign_id: int) -> None:
    """Deliver a sending campaign; comes back later while rows wait for a retry or a lease.

    ``acks_late``: a worker killed mid-batch leaves the task on the queue for another one,
    which takes over the dead worker's rows once their lease has run out.
    """
    from django.conf import settings

    from commerce.models import Campaign, CampaignStatus
    from commerce.services.marketing import deliver_campaign

    counts = deliver_campaign(campaign_id)
    still_sending = Campaign.objects.filter(pk=campaign_id, status=CampaignStatus.SENDING).exists()
    if still_sending and (counts["pending"] or counts["sending"]) and not self.request.is_eager:
        deliver_campaign_task.apply_async((campaign_id,), countdown=settings.CAMPAIGN_RETRY_SECONDS)


@shared_task(name="commerce.start_due_campaigns", ignore_result=True)
def start_due_campaigns_task() -> int:
    from commerce.services.marketing import start_due_campaigns

    return start_due_campaigns()


@shared_task(name="commerce.pick_due_ab_winners", ignore_result=True)
def pick_due_ab_winners_task() -> int:
    from commerce.services.marketing import pick_due_ab_winners

    return pick_due_ab_winners()


@shared_task(name="commerce.resume_sending_campaigns", ignore_result=True)
def resume_sending_campaigns_task() -> int:
    from commerce.services.marketing import resume_sending_campaigns

    return resume_sending_campaigns()
