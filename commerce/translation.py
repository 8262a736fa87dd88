"""Listings in the viewer's language: product titles and descriptions, shop taglines and stories.

Commerce services call ``request_listing_translation(obj)`` after saving a product or a
shop profile; once the transaction commits, a Celery task translates each translatable
field into every listing language with DeepL (``conversations.translation``) and stores
one ``ContentTranslation`` row per (object, field, language). Pages read them through
``localized()`` / ``localized_fields()``, which fall back to the original.

Rules:
- a field is retranslated only when its source text's sha256 changes (saving a product
  without touching its description costs nothing);
- identical texts share the message translation cache, and the monthly character budget;
- an artisan's manual override is never overwritten; when the original changes later,
  the override is flagged ``override_outdated`` so the artisan can review it;
- without a DeepL key the rows say "not configured" and pages show the original.

Durability (the outbox pattern of ``conversations/outbox.py``, on the rows themselves): the
save's own transaction marks every row it will change ``pending`` with a
``next_attempt_at`` one grace period ahead (``FOLLOW_UP_GRACE_SECONDS``), and only then
publishes ``translate_listing`` on commit. The task pushes its rows a lease ahead
(``FOLLOW_UP_LEASE_SECONDS``) while it works; a retryable provider error leaves a row
``pending`` with a doubling backoff, and after ``TRANSLATION_MAX_ATTEMPTS`` attempts it is
``failed`` (dead: admin → Content translations, filter "failed", action "Retry"). The
sweeper (beat, ``commerce.sweep_listing_translations``) publishes the listing of every
pending row whose time has come — a lost publish, a killed worker, a backoff that ran out —
taking rows with ``FOR UPDATE SKIP LOCKED`` and pushing them a lease ahead, so two sweepers
never publish the same listing. Every run is idempotent (unique rows, source hashes).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from celery import shared_task
from django.apps import apps
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.utils import timezone

from commerce import page_cache
from commerce.errors import InvalidInput, NotAllowed
from conversations.glossary import translation_options
from conversations.models import ContentTranslation, TranslationStatus
from conversations.translating import RETRY, translate_once
from conversations.translation.backoff import retry_delay
from conversations.translation.config import normalise_language_code
from conversations.translation.detect import detect_language
from conversations.translation.provider import Translator, get_translator
from core.gdpr import register_eraser
from core.models import User

logger = logging.getLogger(__name__)

# "app_label.model" -> fields translated for buyers. Names, prices, tags and materials
# stay as the artisan wrote them.
TRANSLATABLE_FIELDS: dict[str, tuple[str, ...]] = {
    "commerce.product": ("title", "description"),
    "commerce.artisanprofile": ("tagline", "story"),
    "commerce.campaign": ("title", "body", "body_b", "image_alt"),
}

# Statuses that stay valid while the source text is unchanged.
SETTLED_STATUSES = {
    TranslationStatus.DONE,
    TranslationStatus.SAME_LANGUAGE,
    TranslationStatus.UNSUPPORTED,
}


def _label(obj: models.Model) -> str:
    return f"{obj._meta.app_label}.{obj._meta.model_name}"


def translatable_fields(obj: models.Model) -> tuple[str, ...]:
    """The fields of ``obj`` that are translated for viewers (empty when none)."""
    return TRANSLATABLE_FIELDS.get(_label(obj), ())


def source_hash_of(text: str) -> str:
    return ContentTranslation.hash_source(text)


def _base_language(code: str) -> str:
    try:
        return normalise_language_code(code or "")
    except ValueError:
        return ""


def listing_languages() -> tuple[str, ...]:
    """Languages listings are translated into: LISTING_TRANSLATION_LANGUAGES, else LANGUAGES."""
    configured = getattr(settings, "LISTING_TRANSLATION_LANGUAGES", None) or [
        code for code, _name in settings.LANGUAGES
    ]
    if isinstance(configured, str):
        configured = configured.split(",")
    codes: list[str] = []
    for entry in configured:
        code = _base_language(str(entry))
        if code and code not in codes:
            codes.append(code)
    return tuple(codes)


def listing_owner(obj: models.Model) -> User | None:
    """The artisan who wrote the listing (the only person who may override it)."""
    if _label(obj) == "commerce.product":
        return obj.shop.user  # type: ignore[attr-defined]
    if _label(obj) == "commerce.artisanprofile":
        return obj.user  # type: ignore[attr-defined]
    if _label(obj) == "commerce.campaign":
        return obj.shop.user  # type: ignore[attr-defined]
    return None


def listing_source_language(obj: models.Model, texts: list[str]) -> str:
    """Language the listing is written in: detected from all its fields, else the artisan's.

    Detection runs on every field together because a title alone ("Raku vase") is too
    short to tell.
    """
    detected = detect_language("\n".join(text for text in texts if text))
    if detected is not None:
        return detected.code
    owner = listing_owner(obj)
    return _base_language(owner.preferred_language) if owner is not None else ""


# --- requesting and computing translations ---------------------------------------------------


def _grace() -> timedelta:
    return timedelta(seconds=settings.FOLLOW_UP_GRACE_SECONDS)


def _lease() -> timedelta:
    return timedelta(seconds=settings.FOLLOW_UP_LEASE_SECONDS)


def _backoff(attempts: int) -> timedelta:
    """Wait after failed attempt number ``attempts`` (1-based): doubling with jitter."""
    return timedelta(seconds=retry_delay(max(attempts - 1, 0)))


def mark_listing_pending(obj: models.Model) -> int:
    """Record, in the caller's transaction, which rows of ``obj`` need a (new) translation.

    Every (field, language) whose row is missing, computed from another source text, or
    not settled becomes ``pending`` (attempts reset: a new save is a new try), due for the
    sweeper one grace period from now. Overrides are left alone. Returns how many rows.
    """
    fields = translatable_fields(obj)
    languages = listing_languages()
    content_type = ContentType.objects.get_for_model(obj)
    existing = {
        (row.field, row.language): row
        for row in ContentTranslation.objects.filter(
            content_type=content_type, object_id=obj.pk, field__in=fields
        )
    }
    due = timezone.now() + _grace()
    new_rows: list[ContentTranslation] = []
    stale_by_hash: dict[str, list[int]] = {}
    for field in fields:
        text = str(getattr(obj, field) or "").strip()
        if not text:
            continue
        text_hash = source_hash_of(text)
        for language in languages:
            row = existing.get((field, language))
            if row is None:
                new_rows.append(
                    ContentTranslation(
                        content_type=content_type,
                        object_id=obj.pk,
                        field=field,
                        language=language,
                        status=TranslationStatus.PENDING,
                        source_hash=text_hash,
                        next_attempt_at=due,
                    )
                )
            elif not row.is_manual_override and not (
                row.source_hash == text_hash and row.status in SETTLED_STATUSES
            ):
                stale_by_hash.setdefault(text_hash, []).append(row.pk)
    # A concurrent save of the same listing may insert the same rows: either is right.
    ContentTranslation.objects.bulk_create(new_rows, ignore_conflicts=True)
    for text_hash, row_ids in stale_by_hash.items():
        ContentTranslation.objects.filter(pk__in=row_ids, is_manual_override=False).update(
            status=TranslationStatus.PENDING,
            source_hash=text_hash,
            attempts=0,
            next_attempt_at=due,
            updated_at=timezone.now(),
        )
    return len(new_rows) + sum(len(ids) for ids in stale_by_hash.values())


def request_listing_translation(obj: models.Model) -> None:
    """Call after saving a product or shop profile: translation runs after commit, async.

    Never blocks or fails the save: the pending rows are written in the save's transaction
    (so a lost publish is found by the sweeper), the task runs on a worker (inline in eager
    mode, after the transaction committed) and handles provider errors itself.
    """
    if not translatable_fields(obj) or obj.pk is None:
        return
    mark_listing_pending(obj)
    label, pk = _label(obj), obj.pk
    transaction.on_commit(lambda: translate_listing.delay(label, pk))


@dataclass(frozen=True)
class ListingTranslationOutcome:
    translated: int  # machine translations fetched from the provider
    reused: int  # unchanged source text, or a cache hit
    retry_later: bool  # a retryable provider error left some rows pending


@dataclass(frozen=True)
class _TranslationSlot:
    """One (object, field, language) row to write, with the source it was computed from."""

    content_type: ContentType
    object_id: int
    field: str
    language: str
    source_hash: str
    source_language: str

    def store(
        self,
        status: str,
        *,
        text: str = "",
        error: str = "",
        attempts: int = 0,
        next_attempt_at: datetime | None = None,
    ) -> None:
        """Create or update the machine row; an override (even one made meanwhile) stays."""
        values = {
            "status": status,
            "text": text,
            "error": error[:255],
            "source_hash": self.source_hash,
            "source_language": self.source_language,
            "attempts": attempts,
            "next_attempt_at": next_attempt_at,
        }
        row, created = ContentTranslation.objects.get_or_create(
            content_type=self.content_type,
            object_id=self.object_id,
            field=self.field,
            language=self.language,
            defaults=values,
        )
        if not created:
            ContentTranslation.objects.filter(pk=row.pk, is_manual_override=False).update(
                **values, updated_at=timezone.now()
            )
            page_cache.content_changed(self.content_type, self.object_id)


def translate_listing_fields(
    *,
    obj: models.Model,
    fields: tuple[str, ...] | None = None,
    languages: tuple[str, ...] | None = None,
    translator: Translator | None = None,
) -> ListingTranslationOutcome:
    """Bring the stored translations of ``obj``'s fields up to date with its texts."""
    fields = fields or translatable_fields(obj)
    languages = languages or listing_languages()
    translator = translator or get_translator()
    content_type = ContentType.objects.get_for_model(obj)
    texts = {field: str(getattr(obj, field) or "").strip() for field in fields}
    source = listing_source_language(obj, list(texts.values()))
    existing = {
        (row.field, row.language): row
        for row in ContentTranslation.objects.filter(
            content_type=content_type, object_id=obj.pk, field__in=fields
        )
    }
    translated = reused = 0
    retry_later = False
    for field, text in texts.items():
        if not text:
            # Nothing to translate; the artisan's own texts are kept in case it returns.
            ContentTranslation.objects.filter(
                content_type=content_type, object_id=obj.pk, field=field, is_manual_override=False
            ).delete()
            continue
        text_hash = source_hash_of(text)
        for language in languages:
            row = existing.get((field, language))
            if row is not None and row.is_manual_override:
                continue
            if row is not None and row.source_hash == text_hash and row.status in SETTLED_STATUSES:
                reused += 1
                continue

            slot = _TranslationSlot(content_type, obj.pk, field, language, text_hash, source)
            if source and language == source:
                slot.store(TranslationStatus.SAME_LANGUAGE)
                continue
            if not translator.is_configured:
                slot.store(TranslationStatus.NOT_CONFIGURED)
                continue
            options = translation_options(source_language=source, target_language=language)
            attempt = translate_once(
                translator,
                text=text,
                options=options,
                source=source,
                owner=f"listing:{content_type.pk}:{obj.pk}:{field}:{language}",
            )
            attempts = (row.attempts if row is not None else 0) + (1 if attempt.called else 0)
            if attempt.status == RETRY:
                if attempts < settings.TRANSLATION_MAX_ATTEMPTS:
                    slot.store(
                        TranslationStatus.PENDING,
                        error=attempt.error,
                        attempts=attempts,
                        next_attempt_at=timezone.now() + _backoff(attempts),
                    )
                    retry_later = True
                else:
                    # Dead: stays visible in the admin (status "failed") until retried.
                    slot.store(
                        TranslationStatus.FAILED,
                        error=attempt.error or "Translation failed.",
                        attempts=attempts,
                    )
                continue
            slot.store(attempt.status, text=attempt.text, error=attempt.error, attempts=attempts)
            if attempt.status != TranslationStatus.DONE:
                continue
            if attempt.provider == "cache":
                reused += 1
                continue
            translated += 1
    return ListingTranslationOutcome(translated, reused, retry_later)


def _pending_rows(content_type: ContentType, object_id: int) -> models.QuerySet:
    return ContentTranslation.objects.filter(
        content_type=content_type,
        object_id=object_id,
        status=TranslationStatus.PENDING,
        is_manual_override=False,
    )


@shared_task(name="commerce.translate_listing", acks_late=True)
def translate_listing(label: str, object_id: int) -> int:
    """Translate one listing's fields. A 429/5xx/timeout leaves rows pending with a backoff
    (``next_attempt_at``); the sweeper publishes them again when it has passed."""
    if label not in TRANSLATABLE_FIELDS:
        raise ValueError(f"{label} has no translatable fields")
    model = apps.get_model(label)
    obj = model.objects.filter(pk=object_id).first()
    if obj is None:
        # The listing is gone: its pending rows would otherwise be swept forever.
        _pending_rows(ContentType.objects.get_for_model(model), object_id).delete()
        return 0
    # A lease, so the sweeper does not publish this listing again while we work on it.
    _pending_rows(ContentType.objects.get_for_model(obj), obj.pk).update(
        next_attempt_at=timezone.now() + _lease()
    )
    return translate_listing_fields(obj=obj).translated


@shared_task(name="commerce.sweep_listing_translations")
def sweep_listing_translations(limit: int | None = None) -> int:
    """Publish ``translate_listing`` again for every listing with a pending row that is due
    (beat). Returns how many listings were published."""
    limit = limit or settings.FOLLOW_UP_SWEEP_BATCH
    now = timezone.now()
    with transaction.atomic():
        rows = list(
            ContentTranslation.objects.select_for_update(skip_locked=True)
            .filter(status=TranslationStatus.PENDING, is_manual_override=False)
            .filter(models.Q(next_attempt_at__lte=now) | models.Q(next_attempt_at__isnull=True))
            .order_by("next_attempt_at", "pk")
            .values_list("pk", "content_type_id", "object_id")[:limit]
        )
        if not rows:
            return 0
        ContentTranslation.objects.filter(pk__in=[pk for pk, _ct, _obj in rows]).update(
            next_attempt_at=now + _lease()
        )
        listings: list[tuple[str, int]] = []
        for _pk, content_type_id, object_id in rows:
            content_type = ContentType.objects.get_for_id(content_type_id)
            label = f"{content_type.app_label}.{content_type.model}"
            if label in TRANSLATABLE_FIELDS and (label, object_id) not in listings:
                listings.append((label, object_id))
        transaction.on_commit(
            lambda: [translate_listing.delay(label, pk) for label, pk in listings]
        )
    logger.info("listing translations swept", extra={"listings": len(listings)})
    return len(listings)


# --- reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LocalizedText:
    """A field as one viewer sees it; unpacks as ``text, is_translated, original``."""

    text: str
    is_translated: bool
    original: str
    is_manual_override: bool = False
    # The artisan's own translation predates the latest change of the original.
    override_outdated: bool = False

    def __iter__(self) -> Iterator[str | bool]:
        return iter((self.text, self.is_translated, self.original))


def _localize(obj: models.Model, field: str, row: ContentTranslation | None) -> LocalizedText:
    original = str(getattr(obj, field) or "")
    if row is None or not row.text or row.status != TranslationStatus.DONE:
        return LocalizedText(original, False, original)
    current = source_hash_of(original)
    if row.is_manual_override:
        return LocalizedText(row.text, True, original, True, row.source_hash != current)
    if row.source_hash != current:
        # A newer original is being translated: the old translation could contradict it.
        return LocalizedText(original, False, original)
    return LocalizedText(row.text, True, original)


def localized_fields(
    obj: models.Model, fields: tuple[str, ...] | None, language: str
) -> dict[str, LocalizedText]:
    """Several fields of ``obj`` in ``language`` with one query (originals as fallback)."""
    fields = fields or translatable_fields(obj)
    language = _base_language(language)
    rows: dict[str, ContentTranslation] = {}
    if language and obj.pk is not None:
        rows = {
            row.field: row
            for row in ContentTranslation.objects.filter(
                content_type=ContentType.objects.get_for_model(obj),
                object_id=obj.pk,
                field__in=fields,
                language=language,
            )
        }
    return {field: _localize(obj, field, rows.get(field)) for field in fields}


def localize_titles(objs: list[models.Model], language: str) -> list[models.Model]:
    """Sets ``display_title`` on each object (one model) to its title in ``language``, with
    one query for the whole list: the cards of a grid, not one query per card."""
    objs = list(objs)
    for obj in objs:
        obj.display_title = obj.title
    language = _base_language(language)
    if not objs or not language:
        return objs
    rows = {
        row.object_id: row
        for row in ContentTranslation.objects.filter(
            content_type=ContentType.objects.get_for_model(objs[0]),
            object_id__in=[obj.pk for obj in objs],
            field="title",
            language=language,
        )
    }
    for obj in objs:
        obj.display_title = _localize(obj, "title", rows.get(obj.pk)).text
    return objs


def localized(obj: models.Model, field: str, language: str) -> LocalizedText:
    """``field`` of ``obj`` in ``language``: (text, is_translated, original, ...)."""
    return localized_fields(obj, (field,), language)[field]


# --- artisans' own translations -------------------------------------------------------------


def _check_override_target(*, artisan: User, obj: models.Model, field: str, language: str) -> str:
    owner = listing_owner(obj)
    if owner is None or owner.pk != artisan.pk:
        raise NotAllowed("Only the artisan who wrote this listing can change its translations.")
    if field not in translatable_fields(obj):
        raise InvalidInput("This field is not translated.", field="field")
    code = _base_language(language)
    if code not in listing_languages():
        raise InvalidInput("Listings are not translated into this language.", field="language")
    return code


@transaction.atomic
def override_listing_translation(
    *, artisan: User, obj: models.Model, field: str, language: str, text: str
) -> ContentTranslation:
    """The artisan's own wording for ``field`` in ``language``; the machine never replaces it."""
    code = _check_override_target(artisan=artisan, obj=obj, field=field, language=language)
    text = (text or "").strip()
    if not text:
        raise InvalidInput("Write the translation, or go back to the machine translation.")
    max_length = obj._meta.get_field(field).max_length
    if max_length and len(text) > max_length:
        raise InvalidInput(f"At most {max_length} characters.", field="text")
    row, _ = ContentTranslation.objects.update_or_create(
        content_type=ContentType.objects.get_for_model(obj),
        object_id=obj.pk,
        field=field,
        language=code,
        defaults={
            "text": text,
            "status": TranslationStatus.DONE,
            "is_manual_override": True,
            "source_hash": source_hash_of(str(getattr(obj, field) or "")),
            "error": "",
        },
    )
    return row


@transaction.atomic
def revert_listing_translation(
    *, artisan: User, obj: models.Model, field: str, language: str
) -> None:
    """Drop the artisan's own translation and let the machine translate the field again."""
    code = _check_override_target(artisan=artisan, obj=obj, field=field, language=language)
    ContentTranslation.objects.filter(
        content_type=ContentType.objects.get_for_model(obj),
        object_id=obj.pk,
        field=field,
        language=code,
    ).delete()
    request_listing_translation(obj)


# --- GDPR ------------------------------------------------------------------------------------


def erase_listing_translations(user: User) -> None:
    """Erasure: translations of the person's shop texts and their translation wishes go.

    Product texts stay (the products stay, hidden, for order records), so do theirs.
    """
    from commerce.models import ArtisanProfile
    from conversations.models import TranslationPreference

    profile_ids = list(ArtisanProfile.objects.filter(user=user).values_list("pk", flat=True))
    if profile_ids:
        ContentTranslation.objects.filter(
            content_type=ContentType.objects.get_for_model(ArtisanProfile),
            object_id__in=profile_ids,
        ).delete()
    TranslationPreference.objects.filter(user=user).delete()


# Registered here because this module is what defines the data; commerce/gdpr.py (discovered
# at startup) should also import it so the eraser is known before any request.
register_eraser("listing_translations", erase_listing_translations)
