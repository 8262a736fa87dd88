"""Image attachments: type sniffed from the bytes (never the file name or header), size
limited, EXIF and other metadata stripped by re-encoding, and a thumbnail made."""

from __future__ import annotations

import hashlib
import io

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.translation import gettext as _
from PIL import Image, ImageOps

from conversations.models import Attachment, Conversation
from conversations.services import HubError, NotAParticipant, participant_for
from core import images
from core.models import User

THUMB_SIZE = (480, 480)


def _sniff(data: bytes) -> Image.Image:
    try:
        return images.sniff(data)
    except images.UnreadableImage as exc:
        if exc.reason == "too_large":
            raise HubError(
                _("The image is too large in pixels."), code="too_large", field="file"
            ) from exc
        raise HubError(
            _("That file is not an image we can read (JPEG, PNG or WebP)."),
            code="bad_image",
            field="file",
        ) from exc


def _thumbnail(image: Image.Image) -> bytes:
    thumb = ImageOps.exif_transpose(image).convert("RGB")
    thumb.thumbnail(THUMB_SIZE)
    out = io.BytesIO()
    thumb.save(out, "JPEG", quality=80)
    return out.getvalue()


@transaction.atomic
def upload_attachment(*, conversation: Conversation, uploader: User, data: bytes) -> Attachment:
    """Store an image for a later ``post_message(attachment_ids=[...])``."""
    if participant_for(conversation=conversation, user=uploader) is None:
        raise NotAParticipant("You are not part of this conversation.")
    if len(data) > settings.ATTACHMENT_MAX_BYTES:
        limit_mb = settings.ATTACHMENT_MAX_BYTES / 1024 / 1024
        raise HubError(f"Images can be at most {limit_mb:.0f} MB.", code="too_large", field="file")
    if not data:
        raise HubError("The file is empty.", code="empty", field="file")
    image = _sniff(data)
    content_type, extension = images.ALLOWED_FORMATS[image.format]
    clean = images.reencode(image, image.format)
    attachment = Attachment(
        uploader=uploader,
        conversation=conversation,
        content_type=content_type,
        extension=extension,
        size=len(clean),
        sha256=hashlib.sha256(clean).hexdigest(),
        width=ImageOps.exif_transpose(image).width,
        height=ImageOps.exif_transpose(image).height,
    )
    attachment.file.save(f"upload.{extension}", ContentFile(clean), save=False)
    attachment.thumbnail.save("thumb.jpg", ContentFile(_thumbnail(image)), save=False)
    attachment.save()
    return attachment
