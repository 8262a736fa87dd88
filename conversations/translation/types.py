"""Our own translation contracts: what every translator returns or raises.

Callers (the Celery translation task, the inbox UI) depend on these types only,
never on a provider SDK.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TranslationResult:
    """One translated text, in the order the texts were given."""

    text: str
    # Our lower-case base code ("en", "fr"), whatever the provider reported.
    detected_source_lang: str
    # Characters the provider counted against the monthly quota for this text.
    billed_characters: int


@dataclass(frozen=True)
class Usage:
    """The provider's character usage for the current billing period."""

    character_count: int
    # None when the provider reports no limit (or does not say).
    character_limit: int | None

    @property
    def characters_remaining(self) -> int | None:
        if self.character_limit is None:
            return None
        return max(self.character_limit - self.character_count, 0)


class TranslationError(Exception):
    """Base of every translation failure.

    ``retryable`` tells the Celery task whether trying again later can help.
    """

    retryable: bool = False


class TranslationNotConfigured(TranslationError):
    """No machine translation configured: show originals, never a fake translation."""


class TranslationAuthFailed(TranslationError):
    """The provider rejected our credentials (DeepL 403)."""


class TranslationQuotaExceeded(TranslationError):
    """The provider's character quota for this billing period is used up (DeepL 456)."""


class TranslationRateLimited(TranslationError):
    """The provider asked us to slow down (HTTP 429) and in-process retries ran out."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        # Seconds the provider asked us to wait, when it said so.
        self.retry_after = retry_after


class TranslationUnavailable(TranslationError):
    """Timeout, connection failure or a 5xx answer: the provider may recover."""

    retryable = True


class UnsupportedLanguagePair(TranslationError):
    """The provider cannot translate from/into the requested language(s)."""


class GlossaryNotFound(TranslationError):
    """The glossary id does not exist at the provider (deleted or never synced)."""


@dataclass(frozen=True)
class DetectedLanguage:
    """Offline language guess for one message."""

    code: str  # our lower-case base code, one of the platform languages
    confidence: float  # 0..1, normalised over the platform languages only
