"""A campaign's public page: where its links lead and what people share.

Public once the campaign went out, in each visitor's language, its piece first beside more of
the shop's, the code while it is usable, OpenGraph cards with absolute addresses; a preview for
its artisan before; gone (410) once cancelled.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from commerce import services
from commerce.campaign_delivery import landing_path
from commerce.models import CampaignRecipient
from commerce.services import marketing
from commerce.services.promos import PromoInput, create_promo_code
from commerce.translation import override_listing_translation
from tests.commerce import test_marketing
from tests.commerce.test_marketing import campaign_input
from tests.conftest import make_user

pytestmark = pytest.mark.django_db(transaction=True)  # delivery runs on commit

# The campaign tests' own fixtures: five consenting followers and a piece.
followers = test_marketing.followers
product = test_marketing.product


def sent_campaign(artisan, **overrides):
    campaign = marketing.save_campaign(artisan=artisan, data=campaign_input(**overrides))
    marketing.send_campaign_now(campaign=campaign, artisan=artisan)
    campaign.refresh_from_db()
    return campaign


def meta(page: str, prop: str) -> str:
    match = re.search(rf'<meta (?:property|name)="{re.escape(prop)}" content="([^"]*)"', page)
    assert match, f"no {prop} meta tag"
    return match.group(1)


def test_a_sent_campaign_has_a_public_page_with_its_piece_first_and_share_cards(
    shop, artisan, followers, product, client, settings
):
    other = services.create_product(
        artisan=artisan,
        fields=services.ProductInput(
            title="Ash vase", price="52.00", currency="EUR", stock_quantity=1
        ),
    )
    campaign = sent_campaign(artisan, product_id=product.pk)

    response = client.get(landing_path(campaign))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Kiln opening" in page and "New cobalt bowls this Saturday." in page
    # The campaign's piece leads the product set, the shop's other pieces follow.
    assert page.index("Cobalt bowl") < page.index("Ash vase")
    assert other.title in page
    # Cards for a shared link: absolute addresses on the site's own host.
    page_url = meta(page, "og:url")
    assert page_url == settings.SITE_URL.rstrip("/") + landing_path(campaign)
    assert meta(page, "og:title") == f"Kiln opening — {shop.shop_name} on Atelier"
    assert meta(page, "og:description").startswith("New cobalt bowls")
    assert meta(page, "twitter:card") == "summary"
    assert f'<link rel="canonical" href="{page_url}">' in page
    # Share links carry the page's address; copy and native share are buttons.
    assert f"https://t.me/share/url?url={page_url.replace(':', '%3A').replace('/', '%2F')}" in page
    assert "data-share-copy" in page and "data-share-native" in page
    # The main button leads to the piece itself.
    assert reverse("commerce:product", args=[shop.slug, product.slug]) in page


def test_the_page_reads_in_the_visitors_language_with_the_original_one_tap_away(
    shop, artisan, followers, product, client
):
    campaign = sent_campaign(artisan, product_id=product.pk)
    override_listing_translation(
        artisan=artisan, obj=campaign, field="title", language="fr", text="Ouverture du four"
    )
    override_listing_translation(
        artisan=artisan,
        obj=campaign,
        field="body",
        language="fr",
        text="Nouveaux bols cobalt ce samedi.",
    )
    override_listing_translation(
        artisan=artisan, obj=product, field="title", language="fr", text="Bol cobalt"
    )

    page = client.get(landing_path(campaign), HTTP_ACCEPT_LANGUAGE="fr").content.decode()

    assert '<html lang="fr"' in page
    assert "Ouverture du four" in page and "Nouveaux bols cobalt ce samedi." in page
    # The artisan's own French: the original is one tap away, with no "machine" label.
    assert "Voir l’original" in page and "Traduction automatique" not in page
    assert "New cobalt bowls this Saturday." in page  # the original, behind the toggle
    assert "Bol cobalt" in page  # the product card's title in French too
    assert "Partager" in page


def test_a_draft_is_a_preview_for_its_artisan_only_and_a_cancelled_campaign_is_gone(
    shop, artisan, followers, client
):
    draft = marketing.save_campaign(artisan=artisan, data=campaign_input())

    assert client.get(landing_path(draft)).status_code == 404
    client.force_login(artisan)
    page = client.get(landing_path(draft)).content.decode()
    assert "Preview: only you can see this page" in page
    assert '<meta name="robots" content="noindex">' in page

    client.logout()
    marketing.schedule_campaign(
        campaign=draft, artisan=artisan, when=timezone.now() + timedelta(days=1)
    )
    marketing.cancel_campaign(campaign=draft, actor=artisan)
    response = client.get(landing_path(draft))
    assert response.status_code == 410
    assert "This news is no longer available" in response.content.decode()


def test_the_page_is_only_under_its_own_shop(shop, artisan, followers, client):
    campaign = sent_campaign(artisan)
    other = make_user("other-maker@example.com", role="artisan")
    services.save_artisan_profile(
        user=other, shop_name="Other Maker", story="", region="", country=""
    )
    wrong = reverse("commerce:campaign_landing", args=["other-maker", campaign.pk])
    assert client.get(wrong).status_code == 404


def test_a_usable_code_is_shown_and_filled_in_at_checkout_an_ended_one_is_not(
    shop, artisan, followers, product, client
):
    promo = create_promo_code(
        artisan=artisan,
        data=PromoInput(
            code="KILN15", kind="percent", value=Decimal("15"), min_order=Decimal("30")
        ),
    )
    campaign = sent_campaign(artisan, product_id=product.pk, promo_code_id=promo.pk)
    buyer = followers[0]
    client.force_login(buyer)

    page = client.get(landing_path(campaign)).content.decode()

    assert 'data-copy-code="KILN15"' in page
    assert "Use the code KILN15 at checkout: 15% off." in page
    assert "On orders from €30.00 (before shipping)." in page
    assert client.session["campaign_code"] == "KILN15"

    promo.ends_at = timezone.now() - timedelta(minutes=1)
    promo.save()
    session = client.session
    del session["campaign_code"]
    session.save()
    page = client.get(landing_path(campaign)).content.decode()
    assert "The code KILN15 has ended." in page
    assert "data-copy-code" not in page
    assert "campaign_code" not in client.session


def test_a_recipients_signed_link_counts_the_click_and_lands_on_the_page(
    shop, artisan, followers, product, client
):
    campaign = sent_campaign(artisan, product_id=product.pk, channels=("web",))
    row = CampaignRecipient.objects.get(campaign=campaign, user=followers[0])

    response = client.get(reverse("commerce:campaign_click", args=[marketing.recipient_token(row)]))

    assert response.status_code == 302
    assert response["Location"].startswith(landing_path(campaign))
    assert client.get(response["Location"]).status_code == 200
    assert marketing.delivery_counts(campaign.pk)["clicked"] == 1


def test_the_studio_shows_the_public_address_to_share_once_sent(shop, artisan, followers, client):
    campaign = sent_campaign(artisan)
    client.force_login(artisan)
    page = client.get(reverse("commerce:campaign_detail", args=[campaign.pk])).content.decode()
    assert "Public page" in page
    assert landing_path(campaign) in page
    assert "Share the campaign" in page
