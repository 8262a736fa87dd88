"""A campaign's engagement, computed from facts (reads only): the funnel, per channel, over
time, and what it sold.

* **Funnel**: people reached (``sent`` rows), opened (the updates page viewed, a link
  clicked or a reply opened), clicked (a signed link followed), replied (the thread with the
  shop opened from the news), converted (an order from the shop by a reached person within
  ``CAMPAIGN_ATTRIBUTION_DAYS`` of their delivery, counted once per order) and revenue.
* **Over time**: deliveries, opens and clicks per hour for the first two days, per day after.
* Everything is counted per recipient row, so a person reached on two channels counts on
  each; conversions and revenue count orders, once each, whatever the channels.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Q

from commerce.charts import polyline
from commerce.models import Campaign, CampaignChannel, CampaignRecipient, Order, RecipientState
from commerce.services.marketing import BOUGHT_STATUSES, variant_figures


@dataclass(frozen=True)
class FunnelStep:
    key: str
    count: int
    share: float  # of the people reached (0..1); 1 for the first step


@dataclass(frozen=True)
class ChannelRow:
    channel: str
    label: str
    sent: int
    failed: int
    skipped: int
    opened: int
    clicked: int
    replied: int


@dataclass(frozen=True)
class Bucket:
    start: datetime
    sent: int
    opened: int
    clicked: int


@dataclass
class CampaignReport:
    campaign: Campaign
    funnel: list[FunnelStep]
    channels: list[ChannelRow]
    buckets: list[Bucket]
    bucket_hours: int
    orders: int
    revenue: dict[str, Decimal] = field(default_factory=dict)
    # An A/B test's figures per version ("a", "b"): sent, opened, clicked, replied.
    variants: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def reached(self) -> int:
        return self.funnel[0].count if self.funnel else 0


def attributed_orders(campaign: Campaign) -> tuple[int, dict[str, Decimal]]:
    """Orders (and their revenue per currency) attributed to ``campaign``: from its shop, by
    a person it reached, paid, within ``CAMPAIGN_ATTRIBUTION_DAYS`` of their message."""
    window = timedelta(days=settings.CAMPAIGN_ATTRIBUTION_DAYS)
    first_sent: dict[int, datetime] = {}
    for user_id, sent_at in CampaignRecipient.objects.filter(
        campaign=campaign, state=RecipientState.SENT, sent_at__isnull=False
    ).values_list("user_id", "sent_at"):
        if user_id not in first_sent or sent_at < first_sent[user_id]:
            first_sent[user_id] = sent_at
    if not first_sent:
        return 0, {}
    earliest = min(first_sent.values())
    orders = Order.objects.filter(
        shop_id=campaign.shop_id,
        buyer_id__in=list(first_sent),
        status__in=BOUGHT_STATUSES,
        created_at__gte=earliest,
        created_at__lte=max(first_sent.values()) + window,
    ).values_list("buyer_id", "created_at", "total", "currency")
    count, revenue = 0, defaultdict(Decimal)
    for buyer_id, created_at, total, currency in orders:
        reached_at = first_sent[buyer_id]
        if reached_at <= created_at <= reached_at + window:
            count += 1
            revenue[currency] += total
    return count, dict(revenue)


def _buckets(campaign: Campaign) -> tuple[list[Bucket], int]:
    rows = list(
        CampaignRecipient.objects.filter(campaign=campaign).values_list(
            "sent_at", "opened_at", "clicked_at"
        )
    )
    times = [t for row in rows for t in row if t is not None]
    if not times:
        return [], 1
    start = min(times).replace(minute=0, second=0, microsecond=0)
    span = max(times) - start
    hours = 1 if span <= timedelta(hours=48) else 24
    if hours == 24:
        start = start.replace(hour=0)
    step = timedelta(hours=hours)
    count = int(span / step) + 1
    counts = [[0, 0, 0] for _ in range(count)]
    for row in rows:
        for index, moment in enumerate(row):
            if moment is not None:
                counts[int((moment - start) / step)][index] += 1
    return [
        Bucket(start=start + step * n, sent=c[0], opened=c[1], clicked=c[2])
        for n, c in enumerate(counts)
    ], hours


def campaign_report(campaign: Campaign) -> CampaignReport:
    labels = dict(CampaignChannel.choices)
    per_channel = (
        CampaignRecipient.objects.filter(campaign=campaign)
        .values("channel")
        .annotate(
            sent=Count("id", filter=Q(state=RecipientState.SENT)),
            failed=Count("id", filter=Q(state=RecipientState.FAILED)),
            skipped=Count("id", filter=Q(state=RecipientState.SKIPPED)),
            opened=Count("id", filter=Q(opened_at__isnull=False)),
            clicked=Count("id", filter=Q(clicked_at__isnull=False)),
            replied=Count("id", filter=Q(replied_at__isnull=False)),
        )
        .order_by("channel")
    )
    channels = [
        ChannelRow(
            channel=row["channel"],
            label=str(labels.get(row["channel"], row["channel"])),
            sent=row["sent"],
            failed=row["failed"],
            skipped=row["skipped"],
            opened=row["opened"],
            clicked=row["clicked"],
            replied=row["replied"],
        )
        for row in per_channel
    ]
    orders, revenue = attributed_orders(campaign)
    totals = {
        "sent": sum(c.sent for c in channels),
        "opened": sum(c.opened for c in channels),
        "clicked": sum(c.clicked for c in channels),
        "replied": sum(c.replied for c in channels),
        "converted": orders,
    }
    reached = totals["sent"]
    funnel = [
        FunnelStep(key, value, (value / reached) if reached else 0.0)
        for key, value in totals.items()
    ]
    buckets, hours = _buckets(campaign)
    return CampaignReport(
        campaign=campaign,
        funnel=funnel,
        channels=channels,
        buckets=buckets,
        bucket_hours=hours,
        orders=orders,
        revenue=revenue,
        variants=variant_figures(campaign.pk) if campaign.is_ab_test else {},
    )


def report_csv(report: CampaignReport) -> str:
    """Per channel and per time bucket, as numbers and ISO times (no personal data)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["section", "channel_or_time", "sent", "failed", "skipped", "opened", "clicked", "replied"]
    )
    for row in report.channels:
        writer.writerow(
            [
                "channel",
                row.channel,
                row.sent,
                row.failed,
                row.skipped,
                row.opened,
                row.clicked,
                row.replied,
            ]
        )
    for bucket in report.buckets:
        writer.writerow(
            [
                "time",
                bucket.start.isoformat(),
                bucket.sent,
                "",
                "",
                bucket.opened,
                bucket.clicked,
                "",
            ]
        )
    for variant, row in sorted(report.variants.items()):
        writer.writerow(
            ["variant", variant, row["sent"], "", "", row["opened"], row["clicked"], row["replied"]]
        )
    writer.writerow(["orders", "", report.orders, "", "", "", "", ""])
    for currency, amount in sorted(report.revenue.items()):
        writer.writerow(["revenue", currency, str(amount), "", "", "", "", ""])
    return out.getvalue()


@dataclass(frozen=True)
class ChartLine:
    key: str
    points: str  # SVG polyline points


def chart_lines(report: CampaignReport, *, width: int = 600, height: int = 160) -> list[ChartLine]:
    """Polylines for the over-time chart, scaled to ``width`` × ``height`` (server-rendered SVG)."""
    if len(report.buckets) < 2:
        return []  # one moment is no line: the funnel and the table say it all
    peak = max(max(b.sent, b.opened, b.clicked) for b in report.buckets) or 1

    def points(values: list[int]) -> str:
        return polyline(values, peak=peak, width=width, height=height)

    return [
        ChartLine("sent", points([b.sent for b in report.buckets])),
        ChartLine("opened", points([b.opened for b in report.buckets])),
        ChartLine("clicked", points([b.clicked for b in report.buckets])),
    ]
