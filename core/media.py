"""Private media: uploads only the parties may see, served through an authorised view.

Chat attachments, custom-request reference images, production-stage photos and proofs are
private; product and process photos are public (the shop window). Each app registers the
storage prefixes it owns with a check that uses its own selectors (core imports no app):

    register_private_media(prefix="attachments/", can_access=attachment_readable)

``MediaStorage.url()`` turns a private file's name into ``/private-media/<name>``, so every
``{{ file.url }}`` in templates, serializers and cards links to the authorised view without
knowing about it. The view answers 404 to anyone the owner's check refuses (anonymous people
included: no hint that the file exists), and sends the file with ``X-Accel-Redirect`` when
``MEDIA_ACCEL_REDIRECT`` is set (nginx reads it from an ``internal`` location), otherwise
with a ``FileResponse``. Telegram fetches photos by URL without a session, so links that
leave the site carry a signed, expiring token instead (``with_media_token``).
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from django.conf import settings
from django.core import signing
from django.core.files.storage import FileSystemStorage, default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse

PRIVATE_MEDIA_URL = "/private-media/"
MEDIA_TOKEN_SALT = "atelier.private-media"  # noqa: S105 (a signing salt, not a secret)


@dataclass(frozen=True)
class PrivateMediaRule:
    prefix: str
    can_access: Callable[..., bool]  # (user, name) -> bool


_rules: list[PrivateMediaRule] = []


def register_private_media(*, prefix: str, can_access: Callable[..., bool]) -> None:
    """Declare files under ``prefix`` private; ``can_access(user, name)`` decides who sees them."""
    if not any(rule.prefix == prefix for rule in _rules):
        _rules.append(PrivateMediaRule(prefix=prefix, can_access=can_access))


def private_rule(name: str) -> PrivateMediaRule | None:
    return next((rule for rule in _rules if name.startswith(rule.prefix)), None)


def is_private(name: str) -> bool:
    return private_rule(name) is not None


class MediaStorage(FileSystemStorage):
    """The uploads storage: private files get the authorised URL, public ones MEDIA_URL."""

    def url(self, name: str | None) -> str:
        if name and is_private(name):
            return PRIVATE_MEDIA_URL + quote(name.replace("\\", "/").lstrip("/"))
        return super().url(name)


def with_media_token(url: str) -> str:
    """A private-media URL that works without a session for MEDIA_SIGNED_URL_HOURS (for
    links that leave the site, e.g. photos Telegram fetches); other URLs unchanged."""
    if not url.startswith(PRIVATE_MEDIA_URL) or "?" in url:
        return url
    quoted_name = url[len(PRIVATE_MEDIA_URL) :]
    signed = signing.TimestampSigner(salt=MEDIA_TOKEN_SALT).sign(quoted_name)
    # "<name>:<timestamp>:<signature>": the URL already names the file; the token is the rest.
    return f"{url}?{urlencode({'token': signed[len(quoted_name) + 1 :]})}"


def _token_allows(name: str, token: str) -> bool:
    if not token:
        return False
    try:
        signed = signing.TimestampSigner(salt=MEDIA_TOKEN_SALT).unsign(
            f"{quote(name)}:{token}", max_age=settings.MEDIA_SIGNED_URL_HOURS * 3600
        )
    except signing.BadSignature:  # SignatureExpired included
        return False
    return signed == quote(name)


def serve_private_media(request: HttpRequest, path: str) -> HttpResponse:
    """The authorised view for private uploads (404 for anyone the owner's check refuses)."""
    name = path.lstrip("/")
    rule = private_rule(name)
    if rule is None or ".." in name.split("/"):
        raise Http404("No such file.")
    user = request.user
    allowed = _token_allows(name, request.GET.get("token", "")) or (
        user.is_authenticated and rule.can_access(user, name)
    )
    if not allowed or not default_storage.exists(name):
        raise Http404("No such file.")
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    accel = settings.MEDIA_ACCEL_REDIRECT
    if accel:
        response = HttpResponse(content_type=content_type)
        response["X-Accel-Redirect"] = accel.rstrip("/") + "/" + quote(name)
    else:
        response = FileResponse(default_storage.open(name, "rb"), content_type=content_type)
    # Private: browsers may keep it, shared caches and proxies must not.
    response["Cache-Control"] = "private, max-age=3600"
    response["Content-Disposition"] = "inline"
    return response
