"""Private uploads reach only the parties, through the authorised view (core/media.py)."""

from __future__ import annotations

import io

import pytest
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse
from PIL import Image

from bots.bridge import _leaving_the_site
from commerce import services
from conversations.attachments import upload_attachment
from conversations.services import start_conversation
from core.media import with_media_token
from tests.commerce.conftest import pay_through_dev_gateway, png_upload, send
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "#2f6f62").save(buffer, format="PNG")
    return buffer.getvalue()


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def stranger(db):
    return make_user("stranger@example.com", display_name="Sam Stranger")


@pytest.fixture
def attachment(buyer, artisan):
    conversation = start_conversation(buyer=buyer, artisan=artisan, subject="A blue vase")
    return upload_attachment(conversation=conversation, uploader=buyer, data=_png())


@pytest.fixture
def proof(buyer, artisan, shop, settings):
    conversation = start_conversation(buyer=buyer, artisan=artisan, subject="A custom bowl")
    order = services.accept_offer(buyer=buyer, offer=send(artisan, conversation))
    pay_through_dev_gateway(buyer, order)
    return services.post_proof(artisan=artisan, order=order, image=png_upload("p1.png"))


@pytest.fixture
def shop(artisan):
    return services.save_artisan_profile(
        user=artisan,
        shop_name="Casa Barro",
        story="Clay.",
        region="Oaxaca",
        country="MX",
        languages=["es"],
        materials="clay",
    )


def test_attachment_urls_point_at_the_authorised_view(attachment):
    assert attachment.file.url.startswith("/private-media/attachments/")
    assert attachment.thumbnail.url.startswith("/private-media/attachments/")


def test_both_parties_get_the_attachment_and_its_thumbnail(attachment, buyer, artisan):
    for user in (buyer, artisan):
        for field in (attachment.file, attachment.thumbnail):
            response = _signed_in(user).get(field.url)
            assert response.status_code == 200
            assert response["Content-Type"] in ("image/png", "image/jpeg")
            assert response["Cache-Control"] == "private, max-age=3600"
            assert b"".join(response.streaming_content)[:4] in (b"\x89PNG", b"\xff\xd8\xff\xe0")


def test_a_stranger_and_an_anonymous_visitor_get_404(attachment, stranger):
    assert _signed_in(stranger).get(attachment.file.url).status_code == 404
    assert Client().get(attachment.file.url).status_code == 404


def test_an_admin_may_see_it_for_moderation(attachment, admin_user):
    assert _signed_in(admin_user).get(attachment.file.url).status_code == 200


def test_private_files_are_not_served_from_the_public_media_url(attachment, buyer, settings):
    public = "/media/" + attachment.file.name
    assert default_storage.exists(attachment.file.name)
    assert _signed_in(buyer).get(public).status_code == 404
    assert _signed_in(buyer).get("/media/./" + attachment.file.name).status_code == 404


def test_with_accel_redirect_the_web_server_sends_the_file(attachment, buyer, settings):
    settings.MEDIA_ACCEL_REDIRECT = "/protected-media/"
    response = _signed_in(buyer).get(attachment.file.url)
    assert response.status_code == 200
    assert response["X-Accel-Redirect"] == "/protected-media/" + attachment.file.name
    assert response.content == b""


def test_proof_images_reach_the_parties_only(proof, buyer, artisan, stranger):
    url = proof.image.url
    assert url.startswith("/private-media/commerce/proofs/")
    assert _signed_in(buyer).get(url).status_code == 200
    assert _signed_in(artisan).get(url).status_code == 200
    assert _signed_in(stranger).get(url).status_code == 404
    assert Client().get(url).status_code == 404


def test_the_order_pages_link_to_the_authorised_url(proof, buyer, artisan):
    order = proof.order
    page = _signed_in(buyer).get(reverse("commerce:order_detail", args=[order.reference]))
    assert f'src="{proof.image.url}"' in page.content.decode()
    studio = _signed_in(artisan).get(reverse("commerce:studio_order", args=[order.reference]))
    assert f'src="{proof.image.url}"' in studio.content.decode()
    assert 'src="/media/commerce/proofs/' not in page.content.decode()


def test_public_product_photos_stay_on_the_public_media_url(artisan, shop):
    from commerce.models import ProductPhoto

    photo = ProductPhoto(image="commerce/products/2026/01/abc.jpg")
    assert photo.image.url == "/media/commerce/products/2026/01/abc.jpg"


def test_a_signed_link_for_telegram_works_without_a_session_and_only_for_its_file(
    attachment, proof, settings, monkeypatch
):
    settings.SITE_URL = "https://atelier.example"
    link = _leaving_the_site(attachment.file.url)
    assert link.startswith("https://atelier.example/private-media/attachments/")
    path = link.removeprefix("https://atelier.example")
    assert Client().get(path).status_code == 200
    # The token does not open another file
    token = path.split("?", 1)[1]
    assert Client().get(f"{proof.image.url}?{token}").status_code == 404
    # And it expires
    from django.core import signing

    real_time = signing.time.time
    monkeypatch.setattr(
        signing.time, "time", lambda: real_time() + settings.MEDIA_SIGNED_URL_HOURS * 3600 + 60
    )
    assert Client().get(path).status_code == 404
    # Non-media links are left alone
    assert with_media_token("/shops/casa-barro/") == "/shops/casa-barro/"
