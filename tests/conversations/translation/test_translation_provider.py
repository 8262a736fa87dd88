"""The Translator interface, the embedded NullTranslator and the settings factory."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from conversations.translation.deepl_client import DeepLTranslator
from conversations.translation.provider import (
    NullTranslator,
    Translator,
    TranslatorSettings,
    build_translator,
    get_translator,
)
from conversations.translation.types import TranslationError, TranslationNotConfigured


def test_null_translator_refuses_to_translate_with_a_clear_message():
    # Given no DeepL key, When a message is to be translated
    translator = NullTranslator()

    # Then nothing is faked: the caller learns translation is not configured
    with pytest.raises(TranslationNotConfigured, match="DEEPL_AUTH_KEY") as raised:
        translator.translate(texts=["Hello"], target_lang="fr")
    assert isinstance(raised.value, TranslationError)
    assert raised.value.retryable is False


def test_null_translator_has_no_usage_and_no_languages():
    translator = NullTranslator()

    with pytest.raises(TranslationNotConfigured):
        translator.usage()
    assert translator.supported_target_languages() == []
    assert translator.is_configured is False


def test_both_translators_satisfy_the_protocol():
    deepl = DeepLTranslator(auth_key="key", server_url="http://127.0.0.1:9")
    try:
        assert isinstance(NullTranslator(), Translator)
        assert isinstance(deepl, Translator)
        assert deepl.is_configured is True
    finally:
        deepl.close()


def test_settings_are_read_with_defaults_for_everything_missing():
    config = TranslatorSettings.from_django_settings(source=SimpleNamespace())

    assert config == TranslatorSettings(
        auth_key="",
        server_url=None,
        timeout=10.0,
        max_retries=2,
        english_variant="EN-GB",
        portuguese_variant="PT-PT",
    )
    assert config.is_configured is False


def test_settings_are_read_and_normalised():
    source = SimpleNamespace(
        DEEPL_AUTH_KEY="  secret:fx ",
        DEEPL_SERVER_URL="",
        DEEPL_TIMEOUT="2.5",
        DEEPL_MAX_RETRIES="4",
        DEEPL_ENGLISH_VARIANT="en-us",
        DEEPL_PORTUGUESE_VARIANT="pt-br",
    )

    config = TranslatorSettings.from_django_settings(source=source)

    assert config == TranslatorSettings(
        auth_key="secret:fx",
        server_url=None,
        timeout=2.5,
        max_retries=4,
        english_variant="EN-US",
        portuguese_variant="PT-BR",
    )


def test_project_settings_select_the_null_translator_without_a_key(settings):
    settings.DEEPL_AUTH_KEY = ""

    assert isinstance(get_translator(), NullTranslator)


def test_project_settings_with_a_key_select_deepl_and_reuse_it(settings, deepl_api):
    # Given a key and the stand-in's URL in the Django settings
    settings.DEEPL_AUTH_KEY = deepl_api.auth_key
    settings.DEEPL_SERVER_URL = deepl_api.url
    settings.DEEPL_TIMEOUT = 2.0

    # When the translator is asked for twice
    first, second = get_translator(), get_translator()

    # Then it is one DeepL translator that really talks to the (stand-in) API
    assert isinstance(first, DeepLTranslator)
    assert first is second
    assert first.translate(texts=["Hello"], target_lang="de")[0].text == "Hallo"


def test_invalid_settings_are_reported_all_at_once():
    config = TranslatorSettings(
        auth_key="key", timeout=0, max_retries=-1, english_variant="EN", portuguese_variant="PT"
    )

    problems = config.problems()

    assert len(problems) == 4
    with pytest.raises(ValueError, match="DEEPL_TIMEOUT"):
        build_translator(config)


def test_server_url_without_key_is_a_problem():
    problems = TranslatorSettings(server_url="http://127.0.0.1:9").problems()

    assert problems == ["DEEPL_SERVER_URL is set but DEEPL_AUTH_KEY is empty."]
