"""A/B tests of campaigns: half the sample each version (the same on every channel), the rest
held until the winner is picked (by the figures after the wait, or by the artisan), then the
winner to everyone held; and live progress events for the artisan's page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from commerce.errors import InvalidInput, NotAllowed
from commerce.models import CampaignEvent, CampaignRecipient, CampaignStatus
from commerce.services import marketing
from commerce.services.marketing import CampaignInput
from conversations.protocol import validate_server_frame
from core.models import Consent
from core.services import record_consent
from tests.conftest import make_user

pytestmark = pytest.mark.django_db(transaction=True)  # delivery runs on commit

WEB, EMAIL = "web", "email"
A_TEXT = "New cobalt bowls this Saturday."
B_TEXT = "Saturday only: the cobalt bowls are out of the kiln."


def ab_input(**overrides) -> CampaignInput:
    fields = {
        "title": "Kiln opening",
        "body": A_TEXT,
        "body_b": B_TEXT,
        "segment": "followers",
        "channels": (WEB, EMAIL),
        "ab_sample_percent": 20,
        "ab_wait_hours": 4,
    }
    fields.update(overrides)
    return CampaignInput(**fields)


@pytest.fixture
def followers(shop):
    people = []
    for n in range(20):
        person = make_user(f"fan{n}@example.com", display_name=f"Fan {n}")
        marketing.follow_shop(user=person, shop=shop)
        record_consent(user=person, purpose=Consent.Purpose.MARKETING_EMAIL, granted=True)
        people.append(person)
    return people


def version_of(message) -> str:
    if B_TEXT in message.body:
        return "b"
    assert A_TEXT in message.body
    return "a"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"body_b": A_TEXT}, "body_b"),
        ({"body_b": "x" * 2001}, "body_b"),
        ({"ab_sample_percent": 5}, "ab_sample_percent"),
        ({"ab_sample_percent": 101}, "ab_sample_percent"),
        ({"ab_wait_hours": 0}, "ab_wait_hours"),
        ({"ab_wait_hours": 73}, "ab_wait_hours"),
    ],
)
def test_a_bad_test_setup_gets_a_clear_error_on_its_field(shop, artisan, overrides, field):
    with pytest.raises(InvalidInput) as error:
        marketing.save_campaign(artisan=artisan, data=ab_input(**overrides))
    assert error.value.field == field
    assert error.value.message


def test_the_sample_gets_half_each_version_on_every_channel_and_the_rest_waits(
    shop, artisan, followers
):
    campaign = marketing.save_campaign(artisan=artisan, data=ab_input())
    marketing.send_campaign_now(campaign=campaign, artisan=artisan)

    rows = CampaignRecipient.objects.filter(campaign=campaign)
    # 20 % of 20 people: 4 in the sample, 2 per version, 16 held (on both channels).
    assert rows.filter(state="held").count() == 32
    assert set(rows.filter(state="held").values_list("variant", flat=True)) == {""}
    assert rows.filter(state="sent", variant="a").count() == 4
    assert rows.filter(state="sent", variant="b").count() == 4
    for person in followers:
        assert len(set(rows.filter(user=person).values_list("variant", flat=True))) == 1
    assert len(mail.outbox) == 4
    assert sorted(version_of(m) for m in mail.outbox) == ["a", "a", "b", "b"]
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENDING  # not finished while people wait


def test_the_version_more_people_clicked_goes_to_everyone_held_after_the_wait(
    shop, artisan, followers
):
    campaign = marketing.save_campaign(artisan=artisan, data=ab_input())
    marketing.send_campaign_now(campaign=campaign, artisan=artisan)
    b_row = CampaignRecipient.objects.filter(campaign=campaign, variant="b", state="sent").first()
    marketing.record_click(b_row)

    # Not before the wait is over...
    assert marketing.pick_due_ab_winners(now=timezone.now() + timedelta(hours=3)) == 0
    # ...then the figures decide, once.
    assert marketing.pick_due_ab_winners(now=timezone.now() + timedelta(hours=5)) == 1
    assert marketing.pick_due_ab_winners(now=timezone.now() + timedelta(hours=6)) == 0

    campaign.refresh_from_db()
    assert campaign.ab_winner == "b"
    assert campaign.status == CampaignStatus.SENT
    rows = CampaignRecipient.objects.filter(campaign=campaign)
    assert rows.filter(state="held").count() == 0
    assert rows.filter(state="sent").count() == 40
    assert rows.filter(variant="b").count() == 36  # the sample's B half and everyone held
    assert len(mail.outbox) == 20  # once each
    assert sorted(version_of(m) for m in mail.outbox).count("a") == 2
    from commerce.campaign_report import campaign_report, report_csv

    csv_text = report_csv(campaign_report(campaign))
    assert "variant,a,4,,,0,0,0" in csv_text  # 2 people × 2 channels
    assert "variant,b,36,,,1,1,0" in csv_text
    event = CampaignEvent.objects.get(campaign=campaign, code="winner_picked")
    assert event.data["winner"] == "b"
    assert event.data["by"] == "figures"
    assert event.data["released"] == 32
    assert event.data["sample"]["b"]["clicked"] == 1
    # Asking again changes nothing
    assert marketing.pick_ab_winner(campaign=campaign, artisan=artisan, variant="a") == "b"


def test_the_artisan_can_pick_the_winner_early_and_only_their_own(shop, artisan, followers):
    campaign = marketing.save_campaign(artisan=artisan, data=ab_input(channels=(EMAIL,)))
    marketing.send_campaign_now(campaign=campaign, artisan=artisan)
    stranger = make_user("other@example.com", role="artisan")
    with pytest.raises(NotAllowed):
        marketing.pick_ab_winner(campaign=campaign, artisan=stranger, variant="a")
    with pytest.raises(InvalidInput):
        marketing.pick_ab_winner(campaign=campaign, artisan=artisan, variant="c")

    assert marketing.pick_ab_winner(campaign=campaign, artisan=artisan, variant="a") == "a"

    assert len(mail.outbox) == 20
    assert sorted(version_of(m) for m in mail.outbox).count("b") == 2
    event = CampaignEvent.objects.get(campaign=campaign, code="winner_picked")
    assert event.data["by"] == "artisan" and event.actor_id == artisan.pk


def test_cancelling_a_test_skips_everyone_held(shop, artisan, followers):
    campaign = marketing.save_campaign(artisan=artisan, data=ab_input(channels=(EMAIL,)))
    marketing.send_campaign_now(campaign=campaign, artisan=artisan)
    marketing.cancel_campaign(campaign=campaign, actor=artisan)

    assert CampaignRecipient.objects.filter(campaign=campaign, state="skipped").count() == 16
    with pytest.raises(NotAllowed):
        marketing.pick_ab_winner(campaign=campaign, artisan=artisan, variant="a")
    assert len(mail.outbox) == 4


def test_a_full_split_has_no_winner_step(shop, artisan, followers):
    campaign = marketing.save_campaign(
        artisan=artisan, data=ab_input(channels=(EMAIL,), ab_sample_percent=100)
    )
    marketing.send_campaign_now(campaign=campaign, artisan=artisan)

    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT
    assert sorted(version_of(m) for m in mail.outbox).count("b") == 10
    assert marketing.pick_due_ab_winners(now=timezone.now() + timedelta(days=4)) == 0


def test_the_better_version_compares_rates_not_counts():
    # B: 3 clicks of 10 reached (30 %) beats A: 4 of 20 (20 %); equal rates go to A.
    figures = {
        "a": {"sent": 20, "opened": 10, "clicked": 4, "replied": 0},
        "b": {"sent": 10, "opened": 2, "clicked": 3, "replied": 0},
    }
    assert marketing.better_variant(figures) == "b"
    figures["b"]["clicked"] = 2  # 20 % each: the open rate decides (50 % vs 20 %)
    assert marketing.better_variant(figures) == "a"
    figures["b"]["opened"] = 5  # all equal: A
    assert marketing.better_variant(figures) == "a"
    empty = {v: {"sent": 0, "opened": 0, "clicked": 0, "replied": 0} for v in "ab"}
    assert marketing.better_variant(empty) == "a"


def test_a_test_send_mails_both_versions_marked_in_their_subjects(shop, artisan, followers):
    campaign = marketing.save_campaign(artisan=artisan, data=ab_input())
    marketing.send_test(campaign=campaign, artisan=artisan)
    assert [version_of(m) for m in mail.outbox] == ["a", "b"]
    assert "A]" in mail.outbox[0].subject and "B]" in mail.outbox[1].subject
    assert CampaignRecipient.objects.filter(campaign=campaign).count() == 0


def test_progress_events_reach_the_artisan_and_match_the_protocol(
    shop, artisan, followers, monkeypatch
):
    sent = []
    monkeypatch.setattr(
        marketing,
        "send_event_now",
        lambda group, kind, payload: sent.append((group, kind, payload)),
    )
    campaign = marketing.save_campaign(artisan=artisan, data=ab_input(channels=(EMAIL,)))
    marketing.send_campaign_now(campaign=campaign, artisan=artisan)
    marketing.pick_ab_winner(campaign=campaign, artisan=artisan, variant="b")

    assert sent, "no progress was published"
    assert {group for group, _kind, _payload in sent} == {f"user.{artisan.pk}"}
    for _group, kind, payload in sent:
        validate_server_frame({"type": kind, **payload})
    first, last = sent[0][2], sent[-1][2]
    assert first["counts"]["held"] == 16 and first["status"] == "sending"
    assert last["status"] == "sent" and last["counts"]["sent"] == 20


def test_the_campaign_page_shows_both_versions_and_picks_a_winner(shop, artisan, followers, client):
    campaign = marketing.save_campaign(artisan=artisan, data=ab_input(channels=(EMAIL,)))
    client.force_login(artisan)
    page = client.get(reverse("commerce:campaign_detail", args=[campaign.pk])).content.decode()
    assert A_TEXT in page and B_TEXT in page

    marketing.send_campaign_now(campaign=campaign, artisan=artisan)
    page = client.get(reverse("commerce:campaign_detail", args=[campaign.pk])).content.decode()
    assert 'id="ab-test"' in page
    assert page.count('name="action" value="pick_winner"') == 2
    progress = client.get(reverse("commerce:campaign_progress", args=[campaign.pk])).json()
    assert progress["counts"]["held"] == 16

    response = client.post(
        reverse("commerce:campaign_detail", args=[campaign.pk]),
        {"action": "pick_winner", "variant": "b"},
        follow=True,
    )
    assert response.status_code == 200
    campaign.refresh_from_db()
    assert campaign.ab_winner == "b" and campaign.status == CampaignStatus.SENT


def test_the_artisan_writes_a_language_version_that_readers_get_until_sending_starts(
    shop, artisan, followers, client
):
    from commerce.campaign_delivery import render_campaign

    campaign = marketing.save_campaign(artisan=artisan, data=ab_input(channels=(WEB,)))
    client.force_login(artisan)
    url = reverse("commerce:campaign_translations", args=[campaign.pk])
    page = client.get(url).content.decode()
    assert 'name="field" value="body_b"' in page  # both versions can be translated

    client.post(url, {"field": "body", "language": "fr", "text": "Nouveaux bols cobalt."})
    client.post(url, {"field": "body_b", "language": "fr", "text": "Samedi seulement."})
    client.post(url, {"field": "segment", "language": "fr", "text": "Pas un champ traduit"})

    reader = followers[0]
    reader.preferred_language = "fr"
    reader.save()
    a = render_campaign(campaign, reader=reader, recipient=None)
    b = render_campaign(campaign, reader=reader, recipient=None, variant="b")
    assert (a.body, a.is_translated, a.original) == ("Nouveaux bols cobalt.", True, A_TEXT)
    assert b.body == "Samedi seulement."
    assert "Pas un champ" not in client.get(url).content.decode()

    # Once it is sending, the wording is fixed
    marketing.send_campaign_now(campaign=campaign, artisan=artisan)
    response = client.post(
        url, {"field": "body", "language": "fr", "text": "Trop tard"}, follow=True
    )
    assert "cannot be edited" in response.content.decode()
    assert render_campaign(campaign, reader=reader, recipient=None).body == "Nouveaux bols cobalt."
    other = make_user("other@example.com", role="artisan")
    client.force_login(other)
    assert client.get(url).status_code in (302, 403, 404)


def test_the_public_page_shows_a_recipient_the_version_they_were_sent(
    shop, artisan, followers, client
):
    from django.test import Client

    campaign = marketing.save_campaign(artisan=artisan, data=ab_input(channels=(WEB,)))
    marketing.send_campaign_now(campaign=campaign, artisan=artisan)
    got_b = CampaignRecipient.objects.filter(campaign=campaign, variant="b").first()
    assert got_b is not None

    # A click on their own link: the page shows version B
    page = client.get(
        reverse("commerce:campaign_click", args=[marketing.recipient_token(got_b)]), follow=True
    ).content.decode()
    assert B_TEXT in page and A_TEXT not in page

    # Anyone else (a shared link, no click): A until a winner is picked, then the winner
    stranger = Client()
    landing = reverse("commerce:campaign_landing", args=[shop.slug, campaign.pk])
    page = stranger.get(landing).content.decode()
    assert A_TEXT in page and B_TEXT not in page
    marketing.pick_ab_winner(campaign=campaign, artisan=artisan, variant="b")
    assert B_TEXT in stranger.get(landing).content.decode()
