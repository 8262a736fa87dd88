"""A shop's engagement at a glance (Studio → Engagement), computed from facts (reads only):
followers over time, saved pieces, what campaigns sold, and how buyers rate the shop.

Followers over time counts, at the end of each day or week of the chosen period, the
follows that exist now and were made by then (an unfollow deletes the follow, so the line
is today's followers by the date they followed). Campaign revenue is the sum of each
campaign's attributed revenue (``campaign_report.attributed_orders``), per currency.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Avg, Count
from django.db.models.functions import TruncDate
from django.utils import timezone

from commerce import selectors
from commerce.campaign_report import attributed_orders
from commerce.charts import polyline
from commerce.models import (
    ArtisanProfile,
    Campaign,
    CampaignStatus,
    CsatRating,
    Favourite,
    Follow,
)

PERIODS = (30, 90, 365)


@dataclass(frozen=True)
class FollowerPoint:
    day: datetime  # the last day of the bucket
    followers: int
    new: int


@dataclass
class ShopEngagement:
    days: int
    followers: int
    new_followers: int
    saved_pieces: int
    points: list[FollowerPoint]
    campaigns: int
    campaign_orders: int
    campaign_revenue: dict[str, Decimal] = field(default_factory=dict)
    reviews: dict = field(default_factory=dict)
    csat: dict = field(default_factory=dict)


def csat_summary(*, shop: ArtisanProfile) -> dict:
    """``{"count", "average"}`` of the shop's CSAT answers (1–5; None without any)."""
    row = CsatRating.objects.filter(shop=shop).aggregate(count=Count("id"), average=Avg("score"))
    average = row["average"]
    return {"count": row["count"], "average": round(average, 1) if average is not None else None}


def _follower_points(shop: ArtisanProfile, days: int, now: datetime) -> list[FollowerPoint]:
    step = 1 if days <= 30 else 7
    today = timezone.localdate(now)
    start = today - timedelta(days=days - 1)
    before = Follow.objects.filter(shop=shop, created_at__date__lt=start).count()
    per_day = dict(
        Follow.objects.filter(shop=shop, created_at__date__gte=start)
        .annotate(day=TruncDate("created_at"))
        .values_list("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    points, total, day = [], before, start
    while day <= today:
        end = min(day + timedelta(days=step - 1), today)
        new = sum(per_day.get(day + timedelta(days=n), 0) for n in range((end - day).days + 1))
        total += new
        points.append(FollowerPoint(day=end, followers=total, new=new))
        day = end + timedelta(days=1)
    return points


def shop_engagement(shop: ArtisanProfile, *, days: int = 90, now=None) -> ShopEngagement:
    now = now or timezone.now()
    days = days if days in PERIODS else 90
    points = _follower_points(shop, days, now)
    orders, revenue = 0, defaultdict(Decimal)
    campaigns = Campaign.objects.filter(shop=shop).exclude(
        status__in=(CampaignStatus.DRAFT, CampaignStatus.SCHEDULED)
    )
    for campaign in campaigns:
        count, amounts = attributed_orders(campaign)
        orders += count
        for currency, amount in amounts.items():
            revenue[currency] += amount
    return ShopEngagement(
        days=days,
        followers=Follow.objects.filter(shop=shop).count(),
        new_followers=sum(point.new for point in points),
        saved_pieces=Favourite.objects.filter(product__shop=shop).count(),
        points=points,
        campaigns=campaigns.count(),
        campaign_orders=orders,
        campaign_revenue=dict(revenue),
        reviews=selectors.rating_summary(shop=shop),
        csat=csat_summary(shop=shop),
    )


def follower_line(points: list[FollowerPoint], *, width: int = 600, height: int = 160) -> str:
    """SVG polyline points of the follower count (server-rendered chart)."""
    return polyline([point.followers for point in points], width=width, height=height)
