"""Real Chromium: a sending campaign's page follows the delivery over the artisan's hub socket.

The progress endpoint the page would poll is made unreachable, so every change the page
shows after it loaded came over the WebSocket (``campaign.progress``, docs/protocol.md): the
beat picks the A/B test's winner, the held people get it, and the open page counts them
and, once the campaign is sent, reloads to its report.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from commerce.services import marketing
from commerce.services.marketing import CampaignInput
from tests.conftest import make_user
from tests.webchat.browser import signed_in_context

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TIMEOUT = 10_000


def beat_picks_winners(now) -> int:
    try:
        return marketing.pick_due_ab_winners(now=now)
    finally:
        connection.close()


def test_the_page_moves_with_the_socket_alone_when_the_beat_picks_the_winner(
    browser, server, shop, artisan
):
    for n in range(6):
        marketing.follow_shop(user=make_user(f"fan{n}@example.com"), shop=shop)
    campaign = marketing.save_campaign(
        artisan=artisan,
        data=CampaignInput(
            title="Kiln opening",
            body="New cobalt bowls this Saturday.",
            body_b="Saturday only: cobalt bowls.",
            segment="followers",
            channels=("web",),
            ab_sample_percent=20,
        ),
    )
    marketing.send_campaign_now(campaign=campaign, artisan=artisan)

    context = signed_in_context(browser, artisan, server)
    page = context.new_page()
    polled: list[str] = []

    def refuse(route):
        polled.append(route.request.url)
        route.abort()

    page.route("**/progress/", refuse)
    progress_frames: list[dict] = []

    def watch(ws):
        def on_frame(payload):
            frame = json.loads(payload)
            if frame.get("type") == "campaign.progress":
                progress_frames.append(frame)

        ws.on("framereceived", on_frame)

    page.on("websocket", watch)
    page.goto(reverse("commerce:campaign_detail", args=[campaign.pk]))
    section = page.locator("#campaign-progress")
    expect(section).to_have_attribute("data-live", "socket", timeout=TIMEOUT)
    expect(section.locator("[data-count=held]")).to_have_text("4")
    expect(section.locator("[data-count=sent]")).to_have_text("2")

    # Four hours later the beat picks the winner; the held four get it. (On a thread of its
    # own, as on the beat: this one runs Playwright's event loop.)
    with ThreadPoolExecutor(1) as beat:
        picked = beat.submit(beat_picks_winners, timezone.now() + timedelta(hours=5)).result()
    assert picked == 1

    # The page learns it from the socket (polling is refused) and reloads to the result
    expect(page.locator("#campaign-status")).to_have_text("Sent", timeout=TIMEOUT)
    expect(page.locator("#campaign-progress [data-count=sent]")).to_have_text("6")
    expect(page.get_by_role("region", name="A/B test")).to_contain_text("Winner")
    assert any(f["status"] == "sent" and f["counts"]["sent"] == 6 for f in progress_frames)
    assert all(f["campaign"] == campaign.pk for f in progress_frames)
    assert all("/progress/" in url for url in polled)  # whatever it tried, it got nothing
    context.close()
