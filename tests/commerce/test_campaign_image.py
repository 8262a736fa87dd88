"""A campaign's picture: uploaded with the draft (re-encoded without metadata), described for
screen readers in each reader's language, shown on the updates page, the public page and in
the email, replaced or removed while the campaign is a draft."""

from __future__ import annotations

import io

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from commerce.errors import InvalidInput
from commerce.models import Campaign
from commerce.services import marketing
from commerce.services.marketing import CampaignInput
from commerce.translation import override_listing_translation
from core.models import Consent
from core.services import record_consent
from tests.commerce.conftest import png_upload
from tests.conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db(transaction=True)  # delivery runs on commit


def _jpeg_with_metadata() -> SimpleUploadedFile:
    image = Image.new("RGB", (40, 30), "#224488")
    exif = Image.Exif()
    exif[0x010F] = "Camera maker"
    exif[0x013B] = "Rosa Mendez"  # Artist
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    return SimpleUploadedFile("kiln.jpg", buffer.getvalue(), content_type="image/jpeg")


def _draft(artisan, **overrides) -> Campaign:
    fields = {
        "title": "Kiln opening",
        "body": "New cobalt bowls this Saturday.",
        "segment": "followers",
        "channels": ("web", "email"),
        "image": png_upload("bowls.png"),
        "image_alt": "Six cobalt bowls on a shelf",
    }
    fields.update(overrides)
    return marketing.save_campaign(artisan=artisan, data=CampaignInput(**fields))


@pytest.fixture
def follower(shop):
    person = make_user("fan@example.com", display_name="Fan", preferred_language="fr")
    marketing.follow_shop(user=person, shop=shop)
    record_consent(user=person, purpose=Consent.Purpose.MARKETING_EMAIL, granted=True)
    return person


def test_the_picture_is_stored_without_its_metadata(shop, artisan):
    campaign = _draft(artisan, image=_jpeg_with_metadata())

    assert campaign.image.name.startswith("commerce/campaigns/")
    with campaign.image.open("rb") as stored:
        kept = Image.open(stored)
        assert kept.format == "JPEG"
        assert not kept.getexif()  # no camera, no name


def test_a_picture_needs_a_description_and_a_readable_file(shop, artisan):
    with pytest.raises(InvalidInput) as missing:
        _draft(artisan, image_alt="   ")
    assert missing.value.field == "image_alt"
    assert "people who cannot see it" in missing.value.message

    with pytest.raises(InvalidInput) as not_an_image:
        _draft(
            artisan,
            image=SimpleUploadedFile("bowls.png", b"not a picture", content_type="image/png"),
        )
    assert not_an_image.value.field == "image"
    assert Campaign.objects.count() == 0

    with pytest.raises(InvalidInput) as too_long:
        _draft(artisan, image_alt="x" * 201)
    assert too_long.value.field == "image_alt"


def _edit(artisan, campaign, **fields) -> Campaign:
    data = {"title": "Kiln opening", "body": "Edited text.", "segment": "followers"}
    return marketing.save_campaign(
        artisan=artisan,
        campaign=campaign,
        data=CampaignInput(channels=("web",), **data, **fields),
    )


def test_a_draft_keeps_replaces_or_drops_its_picture(shop, artisan):
    campaign = _draft(artisan)
    first = campaign.image.name
    storage = campaign.image.storage

    kept = _edit(artisan, campaign, image_alt="Six cobalt bowls")
    assert kept.image.name == first and kept.image_alt == "Six cobalt bowls"

    replaced = _edit(
        artisan, kept, image=png_upload("plates.png", colour="#aa2200"), image_alt="Red plates"
    )
    assert replaced.image.name != first
    assert not storage.exists(first)  # the old file goes once the new one is saved

    dropped = _edit(artisan, replaced, remove_image=True)
    assert not dropped.image and dropped.image_alt == ""
    assert not storage.exists(replaced.image.name)


def test_followers_see_the_picture_with_its_description_in_their_language(
    client, shop, artisan, follower, settings
):
    campaign = _draft(artisan)
    override_listing_translation(
        artisan=artisan, obj=campaign, field="image_alt", language="fr", text="Six bols bleu cobalt"
    )
    mail.outbox.clear()
    marketing.send_campaign_now(campaign=campaign, artisan=artisan)
    campaign.refresh_from_db()

    # The email carries the picture by its public address, described in French.
    [email] = [m for m in mail.outbox if follower.email in m.to]
    html = email.alternatives[0][0]
    assert f'src="{settings.SITE_URL}{campaign.image.url}"' in html
    assert 'alt="Six bols bleu cobalt"' in html

    # The updates page shows it above the text.
    client.login(email=follower.email, password=PASSWORD)
    page = client.get(reverse("commerce:updates")).content.decode()
    assert f'src="{campaign.image.url}"' in page and 'alt="Six bols bleu cobalt"' in page

    # The public page shows it and shares it as the link preview.
    client.logout()
    landing = client.get(
        reverse("commerce:campaign_landing", args=[shop.slug, campaign.pk]),
        HTTP_ACCEPT_LANGUAGE="fr",
    ).content.decode()
    assert (
        f'<meta property="og:image" content="{settings.SITE_URL}{campaign.image.url}">' in landing
    )
    assert 'class="campaign-image"' in landing


def test_the_studio_form_uploads_the_picture(client, shop, artisan):
    client.force_login(artisan)
    response = client.post(
        reverse("commerce:campaign_new"),
        {
            "title": "Kiln opening",
            "body": "New bowls.",
            "segment": "followers",
            "channels": ["web"],
            "image": png_upload("bowls.png"),
            "image_alt": "Bowls on a shelf",
        },
    )
    campaign = Campaign.objects.get()
    assert response.status_code == 302, response.content.decode()[:2000]
    assert campaign.image and campaign.image_alt == "Bowls on a shelf"

    form = client.get(reverse("commerce:campaign_edit", args=[campaign.pk])).content.decode()
    assert "Remove the current picture" in form and "Replace the picture" in form
    assert 'enctype="multipart/form-data"' in form

    # A picture without its description: the error is under the field, nothing saved.
    response = client.post(
        reverse("commerce:campaign_new"),
        {
            "title": "Second",
            "body": "More bowls.",
            "segment": "followers",
            "channels": ["web"],
            "image": png_upload("more.png"),
        },
    )
    assert response.status_code == 200
    assert "people who cannot see it" in response.content.decode()
    assert Campaign.objects.count() == 1


def test_the_public_page_labels_only_a_machine_translation_as_such(client, shop, artisan, follower):
    from django.contrib.contenttypes.models import ContentType

    from commerce.translation import source_hash_of
    from conversations.models import ContentTranslation, TranslationStatus

    campaign = _draft(artisan, channels=("web",))
    ContentTranslation.objects.update_or_create(
        content_type=ContentType.objects.get_for_model(campaign),
        object_id=campaign.pk,
        field="body",
        language="fr",
        defaults={
            "text": "Nouveaux bols cobalt ce samedi.",
            "status": TranslationStatus.DONE,
            "source_hash": source_hash_of(campaign.body),
        },
    )
    marketing.send_campaign_now(campaign=campaign, artisan=artisan)

    page = client.get(
        reverse("commerce:campaign_landing", args=[shop.slug, campaign.pk]),
        HTTP_ACCEPT_LANGUAGE="fr",
    ).content.decode()
    assert "Nouveaux bols cobalt ce samedi." in page
    assert "Traduction automatique · Voir l’original" in page


def test_erasing_the_artisan_deletes_the_campaigns_pictures(shop, artisan):
    from commerce.gdpr import erase_commerce

    campaign = _draft(artisan)
    name, storage = campaign.image.name, campaign.image.storage
    assert storage.exists(name)

    erase_commerce(artisan)

    campaign.refresh_from_db()
    assert not campaign.image and campaign.image_alt == ""
    assert not storage.exists(name)
