"""Uploaded images, made safe to store: the type sniffed from the bytes (never the name or
the header), a decompression-bomb guard, and every upload re-encoded without metadata, so no
EXIF (camera, GPS position), XMP or text chunk of a buyer's or artisan's photo is kept.

Used by chat attachments, custom-request images, product and process photos, and proofs.
"""

from __future__ import annotations

import io
import os

from django.core.files.base import ContentFile
from PIL import Image, ImageOps, UnidentifiedImageError

ALLOWED_FORMATS = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
}
MAX_PIXELS = 40_000_000


class UnreadableImage(ValueError):
    """Not an image we accept; ``reason`` is ``bad_image`` or ``too_large``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def read_bytes(upload) -> bytes:
    if isinstance(upload, bytes | bytearray):
        return bytes(upload)
    upload.seek(0)
    data = upload.read()
    upload.seek(0)
    return data


def sniff(data: bytes) -> Image.Image:
    """Open ``data`` as an image of an allowed format, or raise ``UnreadableImage``."""
    try:
        image = Image.open(io.BytesIO(data))
        image.verify()  # structural check; the object is unusable afterwards
        image = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise UnreadableImage("bad_image") from exc
    if image.format not in ALLOWED_FORMATS:
        raise UnreadableImage("bad_image")
    if image.width * image.height > MAX_PIXELS:
        raise UnreadableImage("too_large")
    return image


def reencode(image: Image.Image, fmt: str) -> bytes:
    """Re-encode without metadata; orientation from EXIF is applied first."""
    image = ImageOps.exif_transpose(image)
    out = io.BytesIO()
    if fmt == "JPEG":
        image.convert("RGB").save(out, "JPEG", quality=88, optimize=True)
    elif fmt == "PNG":
        # Saving without pnginfo drops text chunks and EXIF.
        (image.convert("RGBA") if image.mode == "P" else image).save(out, "PNG", optimize=True)
    else:
        image.save(out, "WEBP", quality=88)
    return out.getvalue()


def clean_upload(upload) -> ContentFile:
    """A metadata-free copy of an uploaded image, named after its real type."""
    image = sniff(read_bytes(upload))
    fmt = image.format
    stem = os.path.splitext(os.path.basename(getattr(upload, "name", "") or "image"))[0][:60]
    return ContentFile(reencode(image, fmt), name=f"{stem or 'image'}.{ALLOWED_FORMATS[fmt][1]}")
