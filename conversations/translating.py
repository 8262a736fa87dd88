"""The one way a text reaches the translation provider: cache, budget, in-flight marker,
provider call, usage and the quota pause. Message translation (``message_translation``)
and listing translation (``commerce.translation``) both call :func:`translate_once`;
neither talks to the budget, the cache or the provider on its own.

* **Cache first.** Identical texts share one ``TranslationCacheEntry`` per pair (and
  glossary/formality, through the options' cache key); a hit costs nothing.
* **Budget.** Our own monthly character budget (``DEEPL_MONTHLY_CHAR_BUDGET``) and the
  provider's quota: after a 456 the month's usage row records ``quota_exhausted_at`` and
  every later text of that month is paused without calling the provider. The next month
  has a fresh row, so translation resumes by itself; ``resume_paused_translations`` (beat)
  then requeues what was paused.
* **In flight once.** While one process is asking the provider for a (text, pair), another
  asking for the same one gets ``retry`` (it will find the cache filled) instead of a second,
  billed request. The marker lives in the default cache and expires after the longest a
  request can take, so a crashed process cannot block a text for long.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.core.cache import cache
from django.db.models import F
from django.utils import timezone

from conversations.glossary import TranslationOptions, translate_with_options
from conversations.models import TranslationCacheEntry, TranslationStatus, TranslationUsage
from conversations.translation.provider import Translator
from conversations.translation.types import (
    TranslationAuthFailed,
    TranslationError,
    TranslationNotConfigured,
    TranslationQuotaExceeded,
    UnsupportedLanguagePair,
)

logger = logging.getLogger(__name__)

#: ``Attempt.status`` when the provider asked us to come back (429/5xx/timeout) or the same
#: text is being translated elsewhere right now. Not a stored status.
RETRY = "retry"

BUDGET_REACHED = "Monthly translation budget reached."
QUOTA_REACHED = "The translation provider's quota for this period is used up."


@dataclass(frozen=True)
class Attempt:
    """What became of one text: a ``TranslationStatus`` value, or ``RETRY``."""

    status: str
    text: str = ""
    error: str = ""
    provider: str = ""
    retry_in: float | None = None
    #: Whether the provider was asked (an attempt that counts, billed or not).
    called: bool = False


def period_start(today: date | None = None) -> date:
    """The first day of the billing period (calendar month, UTC) ``today`` is in."""
    today = today or timezone.now().date()
    return today.replace(day=1)


def _usage_row() -> TranslationUsage | None:
    return TranslationUsage.objects.filter(month=period_start()).first()


def _pause_reason(characters: int) -> str | None:
    """Why ``characters`` more may not be sent this period, or None when they may."""
    usage = _usage_row()
    if usage is not None and usage.quota_exhausted_at is not None:
        return QUOTA_REACHED
    budget = settings.DEEPL_MONTHLY_CHAR_BUDGET
    used = usage.characters if usage else 0
    if budget and used + characters > budget:
        return BUDGET_REACHED
    return None


def budget_allows(characters: int) -> bool:
    """Whether ``characters`` more may be sent this period (our budget, the provider's quota)."""
    return _pause_reason(characters) is None


def record_usage(characters: int) -> None:
    month = period_start()
    TranslationUsage.objects.get_or_create(month=month)
    TranslationUsage.objects.filter(month=month).update(characters=F("characters") + characters)


def record_quota_exhausted() -> None:
    """The provider said 456: pause every translation until the period ends."""
    month = period_start()
    TranslationUsage.objects.get_or_create(month=month)
    TranslationUsage.objects.filter(month=month, quota_exhausted_at__isnull=True).update(
        quota_exhausted_at=timezone.now()
    )


def cached_text(*, key: str, source: str, target: str) -> str | None:
    entry = (
        TranslationCacheEntry.objects.filter(
            source_hash=key, source_language=source, target_language=target
        )
        .only("text")
        .first()
    )
    return entry.text if entry is not None else None


def _inflight_key(key: str, source: str, target: str) -> str:
    return f"translation-inflight:{source}:{target}:{key}"


def _inflight_seconds() -> float:
    # The longest one provider call can take: every attempt of the client's retry budget.
    return settings.DEEPL_TIMEOUT * (settings.DEEPL_MAX_RETRIES + 1) + 5.0


def translate_once(
    translator: Translator,
    *,
    text: str,
    options: TranslationOptions,
    source: str,
    owner: str = "",
) -> Attempt:
    """Translate one text once, the cheapest way that is honest (see the module docstring).

    ``owner`` names the piece of work (e.g. one message translation row): a marker left by
    an earlier attempt of the same work (a worker killed mid-request) does not hold up its
    own retry."""
    target = options.target_language
    key = options.cache_key(text)
    hit = cached_text(key=key, source=source, target=target)
    if hit is not None:
        return Attempt(TranslationStatus.DONE, text=hit, provider="cache")
    paused = _pause_reason(len(text))
    if paused is not None:
        return Attempt(TranslationStatus.PAUSED, error=paused)
    marker = _inflight_key(key, source, target)
    token = owner or "anonymous"
    if not cache.add(marker, token, timeout=_inflight_seconds()):
        if owner and cache.get(marker) == owner:
            # Our own earlier attempt died holding it: this retry takes over.
            cache.set(marker, token, timeout=_inflight_seconds())
        else:
            # Someone else is asking the provider for this very text and pair right now.
            hit = cached_text(key=key, source=source, target=target)
            if hit is not None:
                return Attempt(TranslationStatus.DONE, text=hit, provider="cache")
            return Attempt(RETRY, error="The same text is being translated.", retry_in=2.0)
    try:
        return _call_provider(translator, text=text, options=options, source=source)
    finally:
        if cache.get(marker) == token:
            cache.delete(marker)


def _call_provider(
    translator: Translator, *, text: str, options: TranslationOptions, source: str
) -> Attempt:
    try:
        result, used = translate_with_options(translator, text=text, options=options)
    except TranslationNotConfigured:
        return _called(TranslationStatus.NOT_CONFIGURED)
    except TranslationQuotaExceeded as exc:
        record_quota_exhausted()
        logger.warning("translation provider quota exceeded; paused until the period ends")
        return _called(TranslationStatus.PAUSED, error=(str(exc) or QUOTA_REACHED)[:255])
    except UnsupportedLanguagePair as exc:
        return _called(TranslationStatus.UNSUPPORTED, error=str(exc)[:255])
    except TranslationAuthFailed as exc:
        return _called(
            TranslationStatus.FAILED, error=(str(exc) or "Provider rejected our key.")[:255]
        )
    except TranslationError as exc:
        if exc.retryable:
            return _called(RETRY, error=str(exc)[:255], retry_in=getattr(exc, "retry_after", None))
        return _called(TranslationStatus.FAILED, error=(str(exc) or "Translation failed.")[:255])
    record_usage(result.billed_characters or len(text))
    TranslationCacheEntry.objects.get_or_create(
        source_hash=used.cache_key(text),
        source_language=source,
        target_language=options.target_language,
        defaults={"text": result.text, "detected_source_language": result.detected_source_lang},
    )
    return _called(TranslationStatus.DONE, text=result.text, provider="deepl")


def _called(status: str, **fields: object) -> Attempt:
    return Attempt(status, called=True, **fields)  # type: ignore[arg-type]
