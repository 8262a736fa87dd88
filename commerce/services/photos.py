"""Every photo commerce stores (custom requests, listings, process photos, proofs) is kept
re-encoded without metadata (no camera, no GPS position), through ``core.images``."""

from __future__ import annotations

from django.core.files.base import File
from django.utils.translation import gettext as _

from commerce.errors import InvalidInput
from core.images import UnreadableImage, clean_upload


def clean_photo(upload: File, *, field: str) -> File:
    """A metadata-free copy of an uploaded photo, or ``InvalidInput`` on ``field``."""
    try:
        return clean_upload(upload)
    except UnreadableImage as error:
        if error.reason == "too_large":
            raise InvalidInput(_("The image is too large in pixels."), field=field) from error
        raise InvalidInput(_("Images must be JPEG, PNG or WebP files."), field=field) from error
