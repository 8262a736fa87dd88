"""Campaigns: audiences only of consenting people, one transition function, delivery that
resumes after a killed worker sending nobody twice, signed unsubscribe and click links."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from commerce import services
from commerce.campaign_channels import (
    CampaignChannelSpec,
    Outcome,
    campaign_channel,
    register_campaign_channel,
)
from commerce.errors import IllegalTransition, InvalidInput, NotAllowed
from commerce.models import (
    CampaignEvent,
    CampaignRecipient,
    CampaignStatus,
    Follow,
    Order,
    OrderStatus,
)
from commerce.services import marketing
from commerce.services.marketing import CampaignInput
from conversations.services import post_message, start_conversation
from core.models import Consent
from core.services import has_consent, record_consent
from tests.conftest import enrol_totp, make_user

pytestmark = pytest.mark.django_db(transaction=True)  # delivery runs on commit

WEB, EMAIL = "web", "email"


def campaign_input(**overrides) -> CampaignInput:
    fields = {
        "title": "Kiln opening",
        "body": "New cobalt bowls this Saturday.",
        "segment": "followers",
        "channels": (WEB, EMAIL),
    }
    fields.update(overrides)
    return CampaignInput(**fields)


@pytest.fixture
def followers(shop):
    people = []
    for n in range(5):
        person = make_user(f"fan{n}@example.com", display_name=f"Fan {n}")
        marketing.follow_shop(user=person, shop=shop)
        record_consent(user=person, purpose=Consent.Purpose.MARKETING_EMAIL, granted=True)
        people.append(person)
    return people


@pytest.fixture
def product(shop, artisan):
    return services.create_product(
        artisan=artisan,
        fields=services.ProductInput(
            title="Cobalt bowl", price="38.00", currency="EUR", stock_quantity=3
        ),
    )


def emails_to(address: str) -> int:
    return sum(address in message.to for message in mail.outbox)


def test_following_records_consent_for_the_updates_page_only(shop, buyer):
    assert marketing.follow_shop(user=buyer, shop=shop) is True
    assert marketing.follow_shop(user=buyer, shop=shop) is False  # idempotent
    assert has_consent(user=buyer, purpose=Consent.Purpose.MARKETING_WEB)
    assert not has_consent(user=buyer, purpose=Consent.Purpose.MARKETING_EMAIL)
    assert Consent.objects.filter(user=buyer, purpose="marketing_web", source="follow").count() == 1


def test_an_artisan_cannot_follow_their_own_shop(shop, artisan):
    with pytest.raises(NotAllowed):
        marketing.follow_shop(user=artisan, shop=shop)


def test_the_audience_is_only_people_whose_latest_consent_says_yes(shop, artisan, followers):
    campaign = marketing.save_campaign(artisan=artisan, data=campaign_input())
    record_consent(user=followers[0], purpose=Consent.Purpose.MARKETING_EMAIL, granted=False)
    record_consent(user=followers[1], purpose=Consent.Purpose.MARKETING_WEB, granted=False)
    stranger = make_user("not-a-fan@example.com")
    record_consent(user=stranger, purpose=Consent.Purpose.MARKETING_EMAIL, granted=True)

    email = set(marketing.audience(campaign, EMAIL))
    web = set(marketing.audience(campaign, WEB))

    assert email == set(followers) - {followers[0]}
    assert web == set(followers) - {followers[1]}
    assert marketing.audience_counts(campaign) == {"web": 4, "email": 4, "segment": 5}


def test_segments_past_buyers_savers_and_people_who_asked_but_did_not_order(
    shop, artisan, buyer, product
):
    saver, asker, ordered = (make_user(f"{n}@example.com") for n in ("saver", "asker", "ordered"))
    for person in (buyer, saver, asker, ordered):
        record_consent(user=person, purpose=Consent.Purpose.MARKETING_EMAIL, granted=True)

    def order(reference, person, status):
        Order.objects.create(
            reference=reference,
            buyer=person,
            artisan=artisan,
            shop=shop,
            title="Bowl",
            total=Decimal("40"),
            currency="EUR",
            status=status,
        )

    order("AT-MKT001", buyer, OrderStatus.PAID)
    marketing.set_favourite(user=saver, product=product, favourite=True)
    for person in (asker, ordered):
        post_message(
            conversation=start_conversation(buyer=person, artisan=artisan, subject="Hi"),
            author=person,
            text="Do you make mugs?",
        )
    order("AT-MKT002", ordered, OrderStatus.PENDING_PAYMENT)  # asked, then ordered

    def people(**fields):
        campaign = marketing.save_campaign(
            artisan=artisan, data=campaign_input(channels=(EMAIL,), **fields)
        )
        return set(marketing.audience(campaign, EMAIL))

    assert people(segment="past_buyers") == {buyer}
    assert people(segment="favourited", product_id=product.pk) == {saver}
    assert people(segment="asked_not_ordered", within_days=30) == {asker}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"title": "  "}, "title"),
        ({"body": ""}, "body"),
        ({"body": "x" * 2001}, "body"),
        ({"channels": ()}, "channels"),
        ({"channels": ("fax",)}, "channels"),
        ({"segment": "everyone"}, "segment"),
        ({"segment": "asked_not_ordered", "within_days": None}, "within_days"),
        ({"segment": "asked_not_ordered", "within_days": 400}, "within_days"),
    ],
)
def test_bad_drafts_get_a_clear_error_on_the_right_field(shop, artisan, overrides, field):
    with pytest.raises(InvalidInput) as error:
        marketing.save_campaign(artisan=artisan, data=campaign_input(**overrides))
    assert error.value.field == field
    assert error.value.message


def test_another_shops_piece_cannot_be_featured(shop, artisan, product):
    other = make_user("other-artisan@example.com", role="artisan")
    services.save_artisan_profile(user=other, shop_name="Other", story="", region="", country="")
    with pytest.raises(InvalidInput) as error:
        marketing.save_campaign(artisan=other, data=campaign_input(product_id=product.pk))
    assert error.value.field == "product"


def test_schedule_refuses_the_past_beyond_a_year_and_an_empty_audience(shop, artisan, followers):
    campaign = marketing.save_campaign(artisan=artisan, data=campaign_input())
    now = timezone.now()
    for when in (now - timedelta(minutes=1), now + timedelta(days=366)):
        with pytest.raises(InvalidInput):
            marketing.schedule_campaign(campaign=campaign, artisan=artisan, when=when)
    lonely = marketing.save_campaign(artisan=artisan, data=campaign_input(segment="past_buyers"))
    with pytest.raises(InvalidInput) as error:
        marketing.send_campaign_now(campaign=lonely, artisan=artisan)
    assert error.value.field == "segment"
    assert lonely.status == CampaignStatus.DRAFT


def test_a_scheduled_campaign_starts_when_due_and_every_move_is_in_its_history(
    shop, artisan, followers
):
    campaign = marketing.save_campaign(artisan=artisan, data=campaign_input())
    when = timezone.now() + timedelta(hours=2)
    marketing.schedule_campaign(campaign=campaign, artisan=artisan, when=when)
    assert marketing.start_due_campaigns(now=timezone.now()) == 0

    assert marketing.start_due_campaigns(now=when + timedelta(seconds=1)) == 1

    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT
    moves = list(CampaignEvent.objects.filter(campaign=campaign).values_list("code", "to_status"))
    assert moves == [("scheduled", "scheduled"), ("started", "sending"), ("finished", "sent")]
    assert emails_to("fan0@example.com") == 1


def test_a_sent_campaign_cannot_move_back_nor_be_edited(shop, artisan, followers):
    campaign = marketing.save_campaign(artisan=artisan, data=campaign_input())
    marketing.send_campaign_now(campaign=campaign, artisan=artisan)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT
    with pytest.raises(IllegalTransition):
        marketing.transition_campaign(campaign=campaign, to=CampaignStatus.DRAFT, code="x")
    with pytest.raises(NotAllowed):
        marketing.save_campaign(artisan=artisan, campaign=campaign, data=campaign_input())


def test_only_the_owner_sends(shop, artisan, followers):
    campaign = marketing.save_campaign(artisan=artisan, data=campaign_input())
    other = make_user("other@example.com", role="artisan")
    with pytest.raises(NotAllowed):
        marketing.send_campaign_now(campaign=campaign, artisan=other)


def test_each_person_gets_it_once_per_channel_with_one_tap_unsubscribe_headers(
    shop, artisan, followers, client
):
    campaign = marketing.save_campaign(artisan=artisan, data=campaign_input())
    marketing.send_campaign_now(campaign=campaign, artisan=artisan)
    marketing.deliver_campaign(campaign.pk)  # a second run (a redelivered task) sends nothing

    assert len(mail.outbox) == 5
    assert all(emails_to(p.email) == 1 for p in followers)
    message = next(m for m in mail.outbox if "fan2@example.com" in m.to)
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = message.extra_headers["List-Unsubscribe"].strip("<>")
    assert "New cobalt bowls this Saturday." in message.body
    assert CampaignRecipient.objects.filter(campaign=campaign, state="sent").count() == 10

    # The mail client's one-click POST withdraws the email consent at once
    response = client.post(
        url.removeprefix("https://atelier.example"), {"List-Unsubscribe": "One-Click"}
    )
    assert response.status_code == 200
    assert not has_consent(user=followers[2], purpose=Consent.Purpose.MARKETING_EMAIL)
    assert has_consent(user=followers[2], purpose=Consent.Purpose.MARKETING_WEB)


def test_a_killed_worker_is_taken_over_and_nobody_gets_it_twice(shop, artisan, followers, settings):
    settings.CAMPAIGN_BATCH_SIZE = 3
    original = campaign_channel(EMAIL)
    campaign = marketing.save_campaign(artisan=artisan, data=campaign_input(channels=(EMAIL,)))
    # Given a worker that dies after claiming three rows and sending one of them
    register_campaign_channel(
        CampaignChannelSpec(
            name=EMAIL, consent_purpose=original.consent_purpose, send=lambda r: 1 / 0
        )
    )
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(marketing, "_enqueue_delivery", lambda campaign_id: None)
            marketing.send_campaign_now(campaign=campaign, artisan=artisan)
        token, claimed = marketing.claim_batch(campaign.pk, 3)
        first = CampaignRecipient.objects.select_related("campaign", "user").get(pk=claimed[0])
        original.send(first)
        marketing.apply_outcome(first, token, Outcome(sent=True))
        # (the process is gone: its other two claims are never settled)
    finally:
        register_campaign_channel(original)
    assert emails_to(first.user.email) == 1

    # When another worker runs while the lease holds, it sends only the unclaimed rows
    marketing.deliver_campaign(campaign.pk)
    assert len(mail.outbox) == 3
    assert CampaignRecipient.objects.filter(campaign=campaign, state="sending").count() == 2

    # …and once the dead worker's lease has run out, it takes over the rest
    CampaignRecipient.objects.filter(campaign=campaign, state="sending").update(
        lease_until=timezone.now() - timedelta(seconds=1)
    )
    marketing.deliver_campaign(campaign.pk)

    assert all(emails_to(p.email) == 1 for p in followers)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT


def test_a_consent_withdrawn_after_the_start_stops_that_message(shop, artisan, followers):
    campaign = marketing.save_campaign(artisan=artisan, data=campaign_input(channels=(EMAIL,)))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(marketing, "_enqueue_delivery", lambda campaign_id: None)
        marketing.send_campaign_now(campaign=campaign, artisan=artisan)
    record_consent(user=followers[3], purpose=Consent.Purpose.MARKETING_EMAIL, granted=False)

    counts = marketing.deliver_campaign(campaign.pk)

    assert emails_to(followers[3].email) == 0
    assert counts["sent"] == 4 and counts["skipped"] == 1


def test_a_permanent_refusal_unsubscribes_and_a_passing_failure_is_retried(
    shop, artisan, followers, settings
):
    settings.CAMPAIGN_DELIVERY_MAX_ATTEMPTS = 3
    original = campaign_channel(EMAIL)
    answers = {followers[0].pk: ["blocked"], followers[1].pk: ["flaky", "ok"]}

    def send(recipient):
        answer = (
            answers.get(recipient.user_id, ["ok"]).pop(0)
            if answers.get(recipient.user_id)
            else "ok"
        )
        if answer == "blocked":
            return Outcome(sent=False, permanent=True, unsubscribe=True, reason="blocked")
        if answer == "flaky":
            return Outcome(sent=False, reason="timeout")
        return Outcome(sent=True)

    register_campaign_channel(
        CampaignChannelSpec(name=EMAIL, consent_purpose=original.consent_purpose, send=send)
    )
    try:
        campaign = marketing.save_campaign(artisan=artisan, data=campaign_input(channels=(EMAIL,)))
        marketing.send_campaign_now(campaign=campaign, artisan=artisan)
        flaky = CampaignRecipient.objects.get(user=followers[1])
        assert flaky.state == "pending" and flaky.lease_until > timezone.now()  # backing off
        assert marketing.deliver_campaign(campaign.pk)["pending"] == 1  # not yet
        CampaignRecipient.objects.filter(pk=flaky.pk).update(lease_until=timezone.now())
        counts = marketing.deliver_campaign(campaign.pk)  # the task's later run
    finally:
        register_campaign_channel(original)

    assert counts["sent"] == 4 and counts["failed"] == 1
    assert not has_consent(user=followers[0], purpose=Consent.Purpose.MARKETING_EMAIL)
    assert CampaignRecipient.objects.get(user=followers[1]).attempts == 2


def test_cancelling_mid_way_skips_everyone_still_waiting(shop, artisan, followers):
    campaign = marketing.save_campaign(artisan=artisan, data=campaign_input(channels=(EMAIL,)))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(marketing, "_enqueue_delivery", lambda campaign_id: None)
        marketing.send_campaign_now(campaign=campaign, artisan=artisan)
    moderator = make_user("mod@example.com", role="admin")

    marketing.cancel_campaign(campaign=campaign, actor=moderator, by_moderator=True)
    marketing.deliver_campaign(campaign.pk)

    assert len(mail.outbox) == 0
    assert CampaignRecipient.objects.filter(campaign=campaign, state="skipped").count() == 5
    assert CampaignEvent.objects.filter(campaign=campaign, code="stopped_by_moderator").exists()


def test_links_are_signed_per_recipient_and_a_click_is_counted_once(
    shop, artisan, followers, product, client
):
    campaign = marketing.save_campaign(
        artisan=artisan, data=campaign_input(channels=(WEB,), product_id=product.pk)
    )
    marketing.send_campaign_now(campaign=campaign, artisan=artisan)
    row = CampaignRecipient.objects.get(campaign=campaign, user=followers[0])
    url = reverse("commerce:campaign_click", args=[marketing.recipient_token(row)])

    for _ in range(2):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(
            reverse("commerce:campaign_landing", args=[shop.slug, campaign.pk])
        )
    assert marketing.delivery_counts(campaign.pk)["clicked"] == 1
    assert client.get(url[:-3] + "xyz/").status_code == 404
    assert client.get(reverse("commerce:campaign_unsubscribe", args=["forged"])).status_code == 404


def test_erasing_a_person_removes_their_follows_and_campaign_rows(shop, artisan, followers):
    from core.gdpr import export_personal_data

    campaign = marketing.save_campaign(artisan=artisan, data=campaign_input(channels=(WEB,)))
    marketing.send_campaign_now(campaign=campaign, artisan=artisan)
    exported = export_personal_data(user=followers[0])
    assert exported["commerce"]["follows"][0]["shop"] == "Casa Barro"
    assert exported["commerce"]["campaign_messages"][0]["campaign"] == "Kiln opening"

    from commerce.gdpr import erase_commerce

    erase_commerce(followers[0])
    assert not Follow.objects.filter(user=followers[0]).exists()
    assert not CampaignRecipient.objects.filter(user=followers[0]).exists()


def test_the_studio_form_shows_errors_and_pages_stay_private(shop, artisan, followers, client):
    other = make_user("nosy-artisan@example.com", role="artisan")
    enrol_totp(other)
    client.force_login(artisan)
    response = client.post(
        reverse("commerce:campaign_new"),
        {"title": "Kiln", "body": "", "segment": "followers", "channels": ["web"]},
    )
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    campaign = marketing.save_campaign(artisan=artisan, data=campaign_input())

    client.force_login(other)
    assert client.get(reverse("commerce:campaign_detail", args=[campaign.pk])).status_code == 404
    assert client.get(reverse("commerce:campaign_progress", args=[campaign.pk])).status_code == 404


def test_an_unsubscribe_link_changes_nothing_until_the_button_is_pressed(
    shop, artisan, followers, client
):
    campaign = marketing.save_campaign(artisan=artisan, data=campaign_input(channels=(WEB,)))
    marketing.send_campaign_now(campaign=campaign, artisan=artisan)
    row = CampaignRecipient.objects.get(campaign=campaign, user=followers[0])
    url = reverse("commerce:campaign_unsubscribe", args=[marketing.recipient_token(row)])

    assert client.get(url).status_code == 200  # a mail scanner's prefetch
    assert has_consent(user=followers[0], purpose=Consent.Purpose.MARKETING_WEB)
    assert client.post(url).status_code == 200
    assert not has_consent(user=followers[0], purpose=Consent.Purpose.MARKETING_WEB)


def test_follow_and_save_need_a_signed_in_post(shop, buyer, product, client):
    follow_url = reverse("commerce:follow", args=[shop.slug])
    assert client.post(follow_url).status_code == 302  # to sign in
    assert not Follow.objects.exists()
    client.force_login(buyer)
    assert client.get(follow_url).status_code == 405
    client.post(follow_url)
    assert Follow.objects.filter(user=buyer, shop=shop).exists()
    client.post(reverse("commerce:favourite", args=[shop.slug, product.slug]))
    assert product.favourites.filter(user=buyer).exists()
    client.post(reverse("commerce:favourite", args=[shop.slug, product.slug]), {"favourite": "0"})
    assert not product.favourites.filter(user=buyer).exists()


def test_a_campaign_another_beat_started_first_is_skipped_and_the_rest_still_start(
    shop, artisan, followers
):
    first, second = (
        marketing.save_campaign(artisan=artisan, data=campaign_input(title=t, channels=(WEB,)))
        for t in ("First", "Second")
    )
    for campaign in (first, second):
        marketing.schedule_campaign(
            campaign=campaign, artisan=artisan, when=timezone.now() + timedelta(minutes=5)
        )
    real_start = marketing.start_campaign

    def racing_start(*, campaign, actor=None):
        if campaign.pk == first.pk:  # another beat process started it a moment earlier
            real_start(campaign=campaign)
            return real_start(campaign=campaign)
        return real_start(campaign=campaign)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(marketing, "start_campaign", racing_start)
        assert marketing.start_due_campaigns(now=timezone.now() + timedelta(minutes=6)) == 1

    for campaign in (first, second):
        campaign.refresh_from_db()
        assert campaign.status == CampaignStatus.SENT
        assert CampaignRecipient.objects.filter(campaign=campaign).count() == 5


def test_a_reply_opens_the_pairs_one_thread_with_the_campaign_as_context(
    shop, artisan, followers, product, client
):
    from commerce.thread_context import thread_context
    from conversations.models import Conversation

    campaign = marketing.save_campaign(
        artisan=artisan, data=campaign_input(channels=(WEB,), product_id=product.pk)
    )
    marketing.send_campaign_now(campaign=campaign, artisan=artisan)
    row = CampaignRecipient.objects.get(campaign=campaign, user=followers[0])
    client.force_login(followers[0])

    response = client.post(reverse("commerce:campaign_reply", args=[row.pk]))
    again = client.post(reverse("commerce:campaign_reply", args=[row.pk]))

    conversation = Conversation.objects.get(buyer=followers[0], artisan=artisan)
    assert (
        response["Location"]
        == again["Location"]
        == reverse("webchat:inbox_conversation", args=[conversation.pk])
    )
    context = thread_context(conversation=conversation)
    assert context.kind == "campaign" and context.campaign == campaign
    assert context.product == product
    assert conversation.messages.filter(payload__type="context").count() == 1
    assert conversation.surfaced_at is None  # listed for the artisan once the buyer writes
    row.refresh_from_db()
    assert row.replied_at is not None and row.opened_at is not None
    # Somebody else's row is not theirs to reply to
    other_row = CampaignRecipient.objects.get(campaign=campaign, user=followers[1])
    assert client.post(reverse("commerce:campaign_reply", args=[other_row.pk])).status_code == 404


def test_the_report_counts_match_opens_clicks_replies_and_attributed_orders(
    shop, artisan, followers, settings
):
    from commerce.campaign_report import campaign_report, report_csv

    settings.CAMPAIGN_ATTRIBUTION_DAYS = 7
    campaign = marketing.save_campaign(artisan=artisan, data=campaign_input())
    marketing.send_campaign_now(campaign=campaign, artisan=artisan)
    web = {r.user_id: r for r in CampaignRecipient.objects.filter(campaign=campaign, channel=WEB)}
    marketing.record_open([web[followers[0].pk].pk, web[followers[1].pk].pk])
    marketing.record_click(web[followers[2].pk])
    marketing.reply_to_campaign(recipient=web[followers[3].pk])
    now = timezone.now()
    other_shop_owner = make_user("elsewhere@example.com", role="artisan")
    other_shop = services.save_artisan_profile(
        user=other_shop_owner, shop_name="Elsewhere", story="", region="", country=""
    )

    def order(ref, buyer, *, total, at, status=OrderStatus.PAID, in_shop=shop, seller=artisan):
        Order.objects.create(
            reference=ref,
            buyer=buyer,
            artisan=seller,
            shop=in_shop,
            title="Bowl",
            total=Decimal(total),
            currency="EUR",
            status=status,
            created_at=at,
        )

    order("AT-R00001", followers[0], total="40.00", at=now + timedelta(days=1))  # counts
    order("AT-R00002", followers[2], total="60.00", at=now + timedelta(days=6))  # counts
    order("AT-R00003", followers[1], total="99.00", at=now + timedelta(days=9))  # too late
    order(
        "AT-R00004",
        followers[3],
        total="10.00",
        at=now + timedelta(hours=1),
        status=OrderStatus.CANCELLED,
    )  # never paid
    order(
        "AT-R00005",
        followers[4],
        total="25.00",
        at=now + timedelta(hours=2),
        in_shop=other_shop,
        seller=other_shop_owner,
    )  # another shop
    order("AT-R00006", followers[4], total="30.00", at=now - timedelta(days=1))  # before

    report = campaign_report(campaign)

    funnel = {step.key: step.count for step in report.funnel}
    assert funnel == {"sent": 10, "opened": 4, "clicked": 1, "replied": 1, "converted": 2}
    assert report.revenue == {"EUR": Decimal("100.00")}
    assert {row.channel: row.sent for row in report.channels} == {"email": 5, "web": 5}
    assert sum(b.sent for b in report.buckets) == 10
    csv_text = report_csv(report)
    assert "channel,web,5,0,0,4,1,1" in csv_text
    assert "revenue,EUR,100.00" in csv_text


def test_a_campaigns_code_is_in_the_message_and_filled_in_at_checkout_after_a_click(
    shop, artisan, followers, product, client
):
    from commerce.services.promos import PromoInput, create_promo_code

    promo = create_promo_code(
        artisan=artisan, data=PromoInput(code="KILN15", kind="percent", value=Decimal("15"))
    )
    campaign = marketing.save_campaign(
        artisan=artisan,
        data=campaign_input(product_id=product.pk, promo_code_id=promo.pk),
    )
    marketing.send_campaign_now(campaign=campaign, artisan=artisan)
    message = next(m for m in mail.outbox if followers[0].email in m.to)
    assert "Use the code KILN15 at checkout: 15% off." in message.body

    row = CampaignRecipient.objects.get(campaign=campaign, user=followers[0], channel=WEB)
    client.force_login(followers[0])
    client.get(reverse("commerce:campaign_click", args=[marketing.recipient_token(row)]))
    order = services.create_product_order(buyer=followers[0], product=product, selections={})
    page = client.get(reverse("commerce:pay", args=[order.reference])).content.decode()
    assert 'value="KILN15"' in page

    other_shop_owner = make_user("code-thief@example.com", role="artisan")
    services.save_artisan_profile(
        user=other_shop_owner, shop_name="Thief", story="", region="", country=""
    )
    with pytest.raises(InvalidInput) as error:
        marketing.save_campaign(
            artisan=other_shop_owner, data=campaign_input(promo_code_id=promo.pk)
        )
    assert error.value.field == "promo_code"


def test_an_admin_stops_a_sending_campaign_from_the_admin(shop, artisan, followers, client):
    campaign = marketing.save_campaign(artisan=artisan, data=campaign_input(channels=(EMAIL,)))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(marketing, "_enqueue_delivery", lambda campaign_id: None)
        marketing.send_campaign_now(campaign=campaign, artisan=artisan)
    admin = make_user("ada@example.com", role="admin", is_staff=True, is_superuser=True)
    enrol_totp(admin)
    client.force_login(admin)
    page = client.get(reverse("admin:commerce_campaign_change", args=[campaign.pk]))
    assert page.status_code == 200 and "pending 5" in page.content.decode()

    client.post(
        reverse("admin:commerce_campaign_changelist"),
        {"action": "stop_campaigns", "_selected_action": [campaign.pk]},
    )

    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.CANCELLED
    assert CampaignEvent.objects.filter(campaign=campaign, code="stopped_by_moderator").exists()
    assert marketing.deliver_campaign(campaign.pk)["sent"] == 0
    assert len(mail.outbox) == 0


def test_email_waits_for_the_end_of_a_persons_quiet_hours_the_updates_page_does_not(
    shop, artisan, followers, settings
):

    hour = timezone.now().astimezone(ZoneInfo("UTC")).hour
    settings.CAMPAIGN_QUIET_HOURS = f"{hour}-{(hour + 1) % 24}"  # quiet now in UTC only
    night, day = followers[0], followers[1]
    for person in followers[1:]:
        person.time_zone = "Etc/GMT-12"  # UTC+12: twelve hours later, wide awake
        person.save(update_fields=["time_zone"])
    campaign = marketing.save_campaign(artisan=artisan, data=campaign_input())

    marketing.send_campaign_now(campaign=campaign, artisan=artisan)

    waiting = CampaignRecipient.objects.get(campaign=campaign, user=night, channel=EMAIL)
    assert waiting.state == "pending" and waiting.reason == "quiet_hours"
    assert waiting.lease_until > timezone.now()  # the end of the window, UTC
    assert waiting.attempts == 0  # a deferral is not a failed try
    assert emails_to(night.email) == 0 and emails_to(day.email) == 1
    assert CampaignRecipient.objects.get(campaign=campaign, user=night, channel=WEB).state == (
        "sent"
    )
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENDING  # until the last person's morning

    # Then in the morning (the window is over) the waiting email goes out
    settings.CAMPAIGN_QUIET_HOURS = ""
    CampaignRecipient.objects.filter(pk=waiting.pk).update(lease_until=timezone.now())
    counts = marketing.deliver_campaign(campaign.pk)
    assert emails_to(night.email) == 1, counts
    campaign.refresh_from_db()
    assert counts["pending"] == 0, counts
    assert campaign.status == CampaignStatus.SENT


def test_quiet_hours_end_at_the_local_morning():
    from datetime import datetime

    from commerce.services.marketing import quiet_until

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("django.conf.settings.CAMPAIGN_QUIET_HOURS", "21-9")
        late = datetime(2026, 12, 3, 22, 30, tzinfo=ZoneInfo("Europe/Paris"))
        early = datetime(2026, 12, 4, 7, 0, tzinfo=ZoneInfo("Europe/Paris"))
        noon = datetime(2026, 12, 4, 12, 0, tzinfo=ZoneInfo("Europe/Paris"))
        morning = datetime(2026, 12, 4, 9, 0, tzinfo=ZoneInfo("Europe/Paris"))
        assert quiet_until("Europe/Paris", late) == morning
        assert quiet_until("Europe/Paris", early) == morning
        assert quiet_until("Europe/Paris", noon) is None
        # The same instant is the afternoon in Mexico City: no wait there
        assert quiet_until("America/Mexico_City", late) is None


def test_the_email_open_pixel_is_only_there_with_consent_and_counts_the_first_open(
    shop, artisan, followers, client
):
    tracked, untracked = followers[0], followers[1]
    record_consent(user=tracked, purpose=Consent.Purpose.EMAIL_TRACKING, granted=True)
    campaign = marketing.save_campaign(artisan=artisan, data=campaign_input(channels=(EMAIL,)))
    marketing.send_campaign_now(campaign=campaign, artisan=artisan)

    def html_to(person) -> str:
        message = next(m for m in mail.outbox if person.email in m.to)
        return message.alternatives[0][0]

    assert "/news/open/" not in html_to(untracked)
    pixel = re.search(r'src="https://atelier\.example(/news/open/[^"]+\.gif)"', html_to(tracked))
    assert pixel, html_to(tracked)
    row = CampaignRecipient.objects.get(campaign=campaign, user=tracked)
    assert row.opened_at is None

    response = client.get(pixel.group(1))
    assert response.status_code == 200 and response["Content-Type"] == "image/gif"
    assert "no-store" in response["Cache-Control"]
    row.refresh_from_db()
    first_open = row.opened_at
    assert first_open is not None
    client.get(pixel.group(1))  # a second open changes nothing
    row.refresh_from_db()
    assert row.opened_at == first_open

    forged = client.get(reverse("commerce:campaign_open_pixel", args=["not-a-token"]))
    assert forged.status_code == 200 and forged.content.startswith(b"GIF89a")
    assert marketing.delivery_counts(campaign.pk)["opened"] == 1
