"""Offline language detection for chat messages (py3langid; model ships in the wheel).

Restricted to the platform languages, so a short French message is not called
Occitan. Returns None rather than guessing when the text is too short, has no
letters (emoji, numbers, links) or the model is unsure: the caller then keeps
the conversation's or the author's known language.
"""

from __future__ import annotations

import copy
import re
import threading
from collections.abc import Iterable

from django.conf import settings
from py3langid.langid import MODEL_FILE, LanguageIdentifier

from .config import normalise_language_code, platform_languages
from .types import DetectedLanguage

DEFAULT_MIN_CONFIDENCE = 0.8
# Two letters is enough for CJK ("好的"); the confidence threshold is what
# rejects short Latin-script words like "ok" or "ja".
MIN_LETTERS = 2

# Links, e-mail addresses, @mentions and digits say nothing about the language
# and pull short messages towards English.
_NOISE = re.compile(r"(https?://\S+|www\.\S+|\S+@\S+\.\S+|@\w+|\d+)")

_full_model: LanguageIdentifier | None = None
_identifiers: dict[tuple[str, ...], LanguageIdentifier] = {}
_identifiers_lock = threading.Lock()


def _identifier_for(languages: tuple[str, ...]) -> LanguageIdentifier:
    # Reading the model takes ~0.5 s: once per process. Each language set gets
    # a shallow copy (sharing the big arrays) restricted with set_languages(),
    # which reassigns rather than mutates, so the full model stays intact.
    # The lock stops two threads from loading twice; classify() only reads,
    # so one identifier is safely shared by all threads.
    global _full_model
    key = tuple(sorted(languages))
    identifier = _identifiers.get(key)
    if identifier is not None:
        return identifier
    with _identifiers_lock:
        identifier = _identifiers.get(key)
        if identifier is None:
            if _full_model is None:
                _full_model = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
            identifier = copy.copy(_full_model)
            identifier.set_languages(list(key))
            _identifiers[key] = identifier
    return identifier


def _letters_in(text: str) -> int:
    return sum(1 for char in text if char.isalpha())


def detect_language(
    text: str,
    *,
    languages: Iterable[str] | None = None,
    min_confidence: float | None = None,
) -> DetectedLanguage | None:
    """Guess the language of ``text`` among the platform languages, or None.

    ``languages`` defaults to setting SUPPORTED_LANGUAGES; ``min_confidence``
    to setting LANGUAGE_DETECTION_MIN_CONFIDENCE (0.8).
    """
    candidates = (
        tuple(dict.fromkeys(normalise_language_code(code) for code in languages))
        if languages is not None
        else platform_languages()
    )
    if not candidates:
        return None
    threshold = (
        min_confidence
        if min_confidence is not None
        else float(getattr(settings, "LANGUAGE_DETECTION_MIN_CONFIDENCE", DEFAULT_MIN_CONFIDENCE))
    )
    cleaned = _NOISE.sub(" ", text).strip()
    if _letters_in(cleaned) < MIN_LETTERS:
        return None
    if len(candidates) == 1:
        return DetectedLanguage(code=candidates[0], confidence=1.0)
    code, confidence = _identifier_for(candidates).classify(cleaned)
    if confidence < threshold:
        return None
    return DetectedLanguage(code=code, confidence=round(float(confidence), 4))


def warm_up(*, languages: Iterable[str] | None = None) -> None:
    """Load the model now (e.g. at worker start) rather than on the first message."""
    candidates = (
        tuple(dict.fromkeys(normalise_language_code(code) for code in languages))
        if languages is not None
        else platform_languages()
    )
    if len(candidates) > 1:
        _identifier_for(candidates)
