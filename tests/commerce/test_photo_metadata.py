"""Photos keep no camera or GPS metadata (audit: custom-request images kept EXIF/GPS)."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from commerce import services
from commerce.errors import InvalidInput

pytestmark = pytest.mark.django_db


def jpeg_with_gps(name: str = "IMG_0042.jpg") -> SimpleUploadedFile:
    image = Image.new("RGB", (64, 48), (200, 90, 40))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 30.0)}  # GPS position
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    data = out.getvalue()
    assert b"SecretCam" in data
    return SimpleUploadedFile(name, data, content_type="image/jpeg")


def stored_bytes(field_file) -> bytes:
    field_file.open("rb")
    try:
        return field_file.read()
    finally:
        field_file.close()


def assert_no_metadata(data: bytes) -> None:
    assert b"SecretCam" not in data
    with Image.open(io.BytesIO(data)) as image:
        assert not image.getexif()


def test_custom_request_images_are_stored_without_exif(buyer, shop):
    request = services.submit_custom_request(
        buyer=buyer, shop=shop, description="A bowl like this one", images=[jpeg_with_gps()]
    )
    (stored,) = request.images.all()
    assert_no_metadata(stored_bytes(stored.image))


def test_product_photos_are_stored_without_exif(artisan, shop):
    product = services.create_product(
        artisan=artisan,
        fields=services.ProductInput(
            title="Blue bowl", price="45.00", currency="EUR", stock_quantity=3
        ),
    )
    photo = services.add_product_photo(artisan=artisan, product=product, image=jpeg_with_gps())
    assert_no_metadata(stored_bytes(photo.image))


def test_a_file_that_is_not_an_image_is_a_clear_error(buyer, shop):
    fake = SimpleUploadedFile("bowl.jpg", b"%PDF-1.7 not an image", content_type="image/jpeg")
    with pytest.raises(InvalidInput) as error:
        services.submit_custom_request(
            buyer=buyer, shop=shop, description="A bowl like my old one", images=[fake]
        )
    assert error.value.field == "images"
    assert "JPEG, PNG or WebP" in error.value.message
