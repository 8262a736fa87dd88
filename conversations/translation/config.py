"""Language codes of the translation layer: normalisation and the platform's languages.

Settings are read at call time (not import time) so ``override_settings`` works; ``source``
stands in for ``django.conf.settings`` in tests that need no configured Django.
"""

from __future__ import annotations

from django.conf import settings

DEFAULT_SUPPORTED_LANGUAGES = (
    "en",
    "fr",
    "de",
    "es",
    "it",
    "pt",
    "nl",
    "ja",
    "zh",
    "ko",
    "pl",
)


def normalise_language_code(code: str) -> str:
    """Our base language code: "pt-BR" -> "pt", "EN_gb" -> "en", " ZH-Hans " -> "zh"."""
    cleaned = code.strip().replace("_", "-").lower()
    base = cleaned.split("-", 1)[0]
    if not base.isalpha() or not 2 <= len(base) <= 3:
        raise ValueError(f"not a language code: {code!r}")
    return base


def platform_languages(*, source: object | None = None) -> tuple[str, ...]:
    """Atelier's languages (setting SUPPORTED_LANGUAGES), normalised, in order."""
    configured = getattr(
        settings if source is None else source, "SUPPORTED_LANGUAGES", DEFAULT_SUPPORTED_LANGUAGES
    )
    if isinstance(configured, str):
        configured = configured.split(",")
    codes: list[str] = []
    for entry in configured:
        # Accept Django-style LANGUAGES tuples ("fr", "Français") as well as bare codes.
        raw = entry[0] if isinstance(entry, (tuple, list)) else entry
        if not str(raw).strip():
            continue
        code = normalise_language_code(str(raw))
        if code not in codes:
            codes.append(code)
    return tuple(codes)
