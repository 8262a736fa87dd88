"""Offline language detection (py3langid) restricted to the platform languages."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest

from conversations.translation.config import normalise_language_code, platform_languages
from conversations.translation.detect import detect_language

PLATFORM = ["en", "fr", "de", "es", "it", "pt", "nl", "ja", "zh", "ko", "pl"]


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Hello! Is the blue ceramic vase still available?", "en"),
        ("Bonjour, est-ce que vous livrez en Belgique ?", "fr"),
        ("Hallo, können Sie die Tasse auch in Grün machen?", "de"),
        ("Hola, ¿cuánto cuesta el envío a Madrid?", "es"),
        ("こんにちは、この花瓶はまだありますか？", "ja"),
    ],
)
def test_chat_messages_are_detected(text, language):
    detected = detect_language(text, languages=PLATFORM)

    assert detected is not None
    assert detected.code == language
    assert 0.8 <= detected.confidence <= 1.0


@pytest.mark.parametrize(
    "text", ["ok", "👍🎉", "", "   ", "12345", "https://example.com/shop/42", "?!", "lol"]
)
def test_too_short_or_letterless_text_is_not_guessed(text):
    assert detect_language(text, languages=PLATFORM) is None


def test_links_and_numbers_do_not_pull_towards_english():
    text = "Merci ! Voici le lien https://atelier.example/order/12345 pour la commande 12345"

    detected = detect_language(text, languages=PLATFORM)

    assert detected is not None
    assert detected.code == "fr"


def test_only_the_given_languages_are_candidates():
    # Portuguese text, but the platform only speaks Spanish and English here
    detected = detect_language(
        "Obrigado pela resposta rápida, vou encomendar amanhã.",
        languages=["es", "en"],
        min_confidence=0.0,
    )

    assert detected is not None
    assert detected.code in {"es", "en"}


def test_a_single_language_platform_needs_no_model():
    detected = detect_language("Anything at all", languages=["de-AT"])

    assert detected is not None
    assert (detected.code, detected.confidence) == ("de", 1.0)


def test_default_candidates_come_from_settings(settings):
    settings.SUPPORTED_LANGUAGES = ["en", "fr"]

    detected = detect_language("Bonjour, je voudrais commander ce bol en céramique.")

    assert detected is not None
    assert detected.code == "fr"


def test_detection_is_safe_from_many_threads():
    texts = [
        "Hello, is this still available?",
        "Bonjour, est-ce encore disponible ?",
        "Hallo, ist das noch verfügbar?",
        "Hola, ¿cuánto cuesta el envío a Madrid?",
    ] * 25
    # A language set no other test uses, so the threads race to build its identifier
    languages = ["en", "fr", "de", "es", "it"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda t: detect_language(t, languages=languages), texts))

    assert [r.code if r else None for r in results] == ["en", "fr", "de", "es"] * 25


@pytest.mark.parametrize(
    ("raw", "code"), [("pt-BR", "pt"), ("EN_gb", "en"), (" ZH-Hans ", "zh"), ("fil", "fil")]
)
def test_language_codes_are_normalised(raw, code):
    assert normalise_language_code(raw) == code


@pytest.mark.parametrize("raw", ["", "english", "e", "1x"])
def test_garbage_language_codes_are_refused(raw):
    with pytest.raises(ValueError):
        normalise_language_code(raw)


def test_platform_languages_accept_codes_strings_and_django_tuples():
    assert platform_languages(source=SimpleNamespace(SUPPORTED_LANGUAGES="en, pt-BR,PT,,fr")) == (
        "en",
        "pt",
        "fr",
    )
    assert platform_languages(
        source=SimpleNamespace(SUPPORTED_LANGUAGES=[("ja", "Japanese"), ("en", "English")])
    ) == ("ja", "en")
    assert platform_languages(source=SimpleNamespace()) == tuple(PLATFORM)
