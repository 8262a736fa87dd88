"""Lazy, forgiving access to the Django settings the translation layer reads.

Read at call time (not import time) so ``override_settings`` works and so the
pure parts of this package stay importable without configured Django settings.
"""

from __future__ import annotations

from typing import Any

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


def read_setting(name: str, default: Any, *, source: object | None = None) -> Any:
    """``settings.<name>``, or ``default`` (also when Django is not configured).

    ``source`` replaces Django's settings (any object with attributes), so the
    parsing can be tested without configuring Django.
    """
    if source is not None:
        return getattr(source, name, default)
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    try:
        return getattr(settings, name, default)
    except ImproperlyConfigured:
        return default


def normalise_language_code(code: str) -> str:
    """Our base language code: "pt-BR" -> "pt", "EN_gb" -> "en", " ZH-Hans " -> "zh"."""
    cleaned = code.strip().replace("_", "-").lower()
    base = cleaned.split("-", 1)[0]
    if not base.isalpha() or not 2 <= len(base) <= 3:
        raise ValueError(f"not a language code: {code!r}")
    return base


def platform_languages(*, source: object | None = None) -> tuple[str, ...]:
    """Atelier's languages (setting SUPPORTED_LANGUAGES), normalised, in order."""
    configured = read_setting("SUPPORTED_LANGUAGES", DEFAULT_SUPPORTED_LANGUAGES, source=source)
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
