"""Studio → Engagement: followers over time, saved pieces, campaign sales (the campaigns'
own attribution), review and CSAT averages; empty states for a new shop."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from commerce import services
from commerce.models import CsatRating, Favourite, Follow, Order, OrderStatus
from commerce.services import marketing
from commerce.services.marketing import CampaignInput
from commerce.shop_engagement import follower_line, shop_engagement
from tests.conftest import make_user

pytestmark = pytest.mark.django_db(transaction=True)


def follower(shop, n: int, days_ago: int):
    person = make_user(f"f{n}@example.com")
    marketing.follow_shop(user=person, shop=shop)  # also the consent to news on the web
    Follow.objects.filter(user=person, shop=shop).update(
        created_at=timezone.now() - timedelta(days=days_ago)
    )
    return person


def test_a_new_shop_has_empty_figures_and_the_page_says_so(shop, artisan, client):
    figures = shop_engagement(shop, days=30)
    assert (figures.followers, figures.new_followers, figures.saved_pieces) == (0, 0, 0)
    assert (figures.campaigns, figures.campaign_orders, figures.campaign_revenue) == (0, 0, {})
    assert figures.reviews["count"] == 0 and figures.csat == {"count": 0, "average": None}
    assert len(figures.points) == 30 and all(p.followers == 0 for p in figures.points)

    client.force_login(artisan)
    page = client.get(reverse("commerce:studio_engagement")).content.decode()
    assert "No followers yet." in page and "No campaign sent yet." in page
    assert "No ratings yet" in page


def test_followers_over_time_count_each_day_and_week_once(shop):
    for n, days_ago in enumerate((200, 40, 10, 10, 0)):
        follower(shop, n, days_ago)

    month = shop_engagement(shop, days=30)
    assert month.followers == 5 and month.new_followers == 3
    assert month.points[0].followers == 2  # the two older follows, before the period
    assert month.points[-1].followers == 5
    assert [p.new for p in month.points if p.new] == [2, 1]

    quarter = shop_engagement(shop, days=90)
    assert len(quarter.points) == 13  # weekly buckets, the last one partial
    assert quarter.new_followers == 4 and quarter.points[-1].followers == 5
    assert sum(p.new for p in quarter.points) == 4
    assert follower_line(quarter.points).count(",") == 13

    assert shop_engagement(shop, days=365).new_followers == 5
    assert shop_engagement(shop, days=7).days == 90  # only the offered periods


def test_campaign_sales_saved_pieces_and_ratings(shop, artisan, client):
    buyer = follower(shop, 1, 3)
    product = services.create_product(
        artisan=artisan,
        fields=services.ProductInput(title="Bowl", price="38.00", currency="EUR", stock_quantity=3),
    )
    Favourite.objects.create(user=buyer, product=product)
    campaign = marketing.save_campaign(
        artisan=artisan,
        data=CampaignInput(title="News", body="Kiln day", segment="followers", channels=("web",)),
    )
    marketing.send_campaign_now(campaign=campaign, artisan=artisan)
    for ref, total, status, hours in (
        ("AT-E00001", "40.00", OrderStatus.DELIVERED, 1),
        ("AT-E00002", "99.00", OrderStatus.CANCELLED, 2),
    ):
        order = Order.objects.create(
            reference=ref,
            buyer=buyer,
            artisan=artisan,
            shop=shop,
            title="Bowl",
            total=Decimal(total),
            currency="EUR",
            status=status,
            created_at=timezone.now() + timedelta(hours=hours),
        )
    delivered = Order.objects.get(reference="AT-E00001")
    CsatRating.objects.create(order=delivered, shop=shop, buyer=buyer, score=4, channel="web")
    CsatRating.objects.create(order=order, shop=shop, buyer=buyer, score=5, channel="telegram")

    figures = shop_engagement(shop)
    assert figures.saved_pieces == 1 and figures.campaigns == 1
    assert (figures.campaign_orders, figures.campaign_revenue) == (1, {"EUR": Decimal("40.00")})
    assert figures.csat == {"count": 2, "average": 4.5}

    client.force_login(artisan)
    page = client.get(reverse("commerce:studio_engagement") + "?days=30").content.decode()
    assert 'data-figure="campaign_orders">1<' in page
    assert "40.00" in page or "40,00" in page
    assert "4.5 / 5 from 2 answers" in page
