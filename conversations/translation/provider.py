"""The translator interface, the embedded default, and the settings-driven factory.

Callers ask ``get_translator()`` for a ``Translator`` and handle our errors
from ``types``; they never import a provider SDK.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from django.conf import settings

from .types import TranslationNotConfigured, TranslationResult, Usage

# Our formality vocabulary; providers map it to theirs (or drop it where the
# target language has no formal/informal distinction).
FORMALITY_CHOICES = ("more", "less", "default")

ENGLISH_VARIANTS = ("EN-GB", "EN-US")
PORTUGUESE_VARIANTS = ("PT-PT", "PT-BR")


@runtime_checkable
class Translator(Protocol):
    """Machine translation as the rest of Atelier sees it."""

    @property
    def is_configured(self) -> bool:
        """False for the embedded default: the UI shows originals only."""
        ...

    def translate(
        self,
        *,
        texts: list[str],
        target_lang: str,
        source_lang: str | None = None,
        formality: str | None = None,
        glossary_id: str | None = None,
    ) -> list[TranslationResult]:
        """Translate ``texts`` (order kept) into ``target_lang`` (our code: "fr")."""
        ...

    def usage(self) -> Usage:
        """Characters used and allowed in the provider's current billing period."""
        ...

    def supported_target_languages(self) -> list[str]:
        """Our base codes ("en", "pt", ...) this translator can translate into."""
        ...


NOT_CONFIGURED_MESSAGE = (
    "Machine translation is not configured (DEEPL_AUTH_KEY is empty): "
    "messages are shown in their original language."
)


class NullTranslator:
    """The embedded default when no provider key is set.

    It never pretends: every translation request raises
    ``TranslationNotConfigured`` so callers show the original text and a
    "translation unavailable" state.
    """

    @property
    def is_configured(self) -> bool:
        return False

    def translate(
        self,
        *,
        texts: list[str],
        target_lang: str,
        source_lang: str | None = None,
        formality: str | None = None,
        glossary_id: str | None = None,
    ) -> list[TranslationResult]:
        raise TranslationNotConfigured(NOT_CONFIGURED_MESSAGE)

    def usage(self) -> Usage:
        raise TranslationNotConfigured(NOT_CONFIGURED_MESSAGE)

    def supported_target_languages(self) -> list[str]:
        # Nothing can be translated into anything: an honest empty answer lets
        # language pickers hide the "translate" option without a try/except.
        return []


@dataclass(frozen=True)
class TranslatorSettings:
    """What the factory needs, from Django settings (or built directly by tests)."""

    auth_key: str = ""
    server_url: str | None = None
    timeout: float = 10.0
    max_retries: int = 2
    english_variant: str = "EN-GB"
    portuguese_variant: str = "PT-PT"

    @classmethod
    def from_django_settings(cls, *, source: object | None = None) -> TranslatorSettings:
        """DEEPL_AUTH_KEY, DEEPL_SERVER_URL, DEEPL_TIMEOUT, DEEPL_MAX_RETRIES,
        DEEPL_ENGLISH_VARIANT, DEEPL_PORTUGUESE_VARIANT, each optional.

        ``source`` stands in for ``django.conf.settings`` (tests)."""
        defaults = cls()

        def setting(name: str, default: Any) -> Any:
            return getattr(settings if source is None else source, name, default)

        return cls(
            auth_key=str(setting("DEEPL_AUTH_KEY", defaults.auth_key) or "").strip(),
            server_url=str(setting("DEEPL_SERVER_URL", "") or "").strip() or None,
            timeout=float(setting("DEEPL_TIMEOUT", defaults.timeout)),
            max_retries=int(setting("DEEPL_MAX_RETRIES", defaults.max_retries)),
            english_variant=str(setting("DEEPL_ENGLISH_VARIANT", defaults.english_variant)).upper(),
            portuguese_variant=str(
                setting("DEEPL_PORTUGUESE_VARIANT", defaults.portuguese_variant)
            ).upper(),
        )

    @property
    def is_configured(self) -> bool:
        return bool(self.auth_key)

    def problems(self) -> list[str]:
        """What is wrong with these settings (empty when usable), for startup checks."""
        found: list[str] = []
        if self.timeout <= 0:
            found.append("DEEPL_TIMEOUT must be a positive number of seconds.")
        if self.max_retries < 0:
            found.append("DEEPL_MAX_RETRIES must be >= 0.")
        if self.english_variant not in ENGLISH_VARIANTS:
            found.append(f"DEEPL_ENGLISH_VARIANT must be one of {ENGLISH_VARIANTS}.")
        if self.portuguese_variant not in PORTUGUESE_VARIANTS:
            found.append(f"DEEPL_PORTUGUESE_VARIANT must be one of {PORTUGUESE_VARIANTS}.")
        if self.server_url and not self.auth_key:
            found.append("DEEPL_SERVER_URL is set but DEEPL_AUTH_KEY is empty.")
        return found


@functools.lru_cache(maxsize=8)
def build_translator(config: TranslatorSettings) -> Translator:
    """The translator for ``config``: one instance (one HTTP session) per config."""
    if not config.is_configured:
        return NullTranslator()
    problems = config.problems()
    if problems:
        raise ValueError("Invalid translation settings: " + " ".join(problems))
    # Imported here so that only a configured deployment loads the DeepL SDK.
    from .deepl_client import DeepLTranslator

    return DeepLTranslator(
        auth_key=config.auth_key,
        server_url=config.server_url,
        timeout=config.timeout,
        max_retries=config.max_retries,
        english_variant=config.english_variant,
        portuguese_variant=config.portuguese_variant,
    )


def get_translator() -> Translator:
    """The translator the Django settings select (NullTranslator without a key)."""
    return build_translator(TranslatorSettings.from_django_settings())
