"""DeepLTranslator (the real deepl library) against the loopback DeepL stand-in."""

from __future__ import annotations

import re

import pytest

from conversations.translation.deepl_client import DeepLTranslator
from conversations.translation.types import (
    GlossaryNotFound,
    TranslationAuthFailed,
    TranslationError,
    TranslationQuotaExceeded,
    TranslationRateLimited,
    TranslationResult,
    TranslationUnavailable,
    UnsupportedLanguagePair,
    Usage,
)
from tests.standins.deepl_server import DeepLStandIn

# --- translating ------------------------------------------------------------------------


def test_translate_returns_text_and_detected_source_language(translator, deepl_api):
    # Given a buyer's English and an artisan's French message
    texts = ["Hello", "Merci beaucoup"]

    # When both are translated into German and English
    german = translator.translate(texts=texts[:1], target_lang="de")
    english = translator.translate(texts=texts[1:], target_lang="en")

    # Then the translations come back with our lower-case language codes
    assert german == [
        TranslationResult(text="Hallo", detected_source_lang="en", billed_characters=5)
    ]
    assert english == [
        TranslationResult(
            text="Thank you very much", detected_source_lang="fr", billed_characters=14
        )
    ]
    # And DeepL was asked with its own codes, authenticated by header
    first, second = deepl_api.translate_calls
    assert first.body["target_lang"] == "DE"
    assert first.body["text"] == ["Hello"]
    assert second.body["target_lang"] == "EN-GB"
    assert first.headers["Authorization"] == "DeepL-Auth-Key atelier-test-key:fx"


def test_unknown_phrases_get_the_standins_tagged_translation(translator):
    results = translator.translate(texts=["Is the blue vase still available?"], target_lang="fr")

    assert [r.text for r in results] == ["[FR] Is the blue vase still available?"]
    assert results[0].detected_source_lang == "en"


def test_no_platform_information_is_sent(translator, deepl_api):
    translator.translate(texts=["Hello"], target_lang="de")

    user_agent = deepl_api.translate_calls[0].headers["User-Agent"]
    # Library name and version only: no OS, Python or requests version
    assert re.fullmatch(r"deepl-python/[\d.]+", user_agent)


def test_explicit_source_language_is_sent_as_a_base_code(translator, deepl_api):
    results = translator.translate(texts=["Hello"], target_lang="fr", source_lang="en-GB")

    assert results[0].text == "Bonjour"
    assert deepl_api.translate_calls[0].body["source_lang"] == "EN"


def test_more_than_fifty_texts_are_sent_in_batches_and_keep_their_order(translator, deepl_api):
    texts = [f"message number {i}" for i in range(120)]

    results = translator.translate(texts=texts, target_lang="it")

    assert [r.text for r in results] == [f"[IT] message number {i}" for i in range(120)]
    assert [len(call.body["text"]) for call in deepl_api.translate_calls] == [50, 50, 20]


def test_no_texts_means_no_request(translator, deepl_api):
    assert translator.translate(texts=[], target_lang="de") == []
    assert deepl_api.translate_calls == []


def test_empty_text_is_refused_before_any_request(translator, deepl_api):
    with pytest.raises(ValueError, match="empty"):
        translator.translate(texts=["Hello", "  "], target_lang="de")
    assert deepl_api.translate_calls == []


# --- language codes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ours", "english_variant", "portuguese_variant", "sent"),
    [
        ("en", "EN-GB", "PT-PT", "EN-GB"),
        ("en", "EN-US", "PT-PT", "EN-US"),
        ("en-us", "EN-GB", "PT-PT", "EN-US"),
        ("pt", "EN-GB", "PT-PT", "PT-PT"),
        ("pt", "EN-GB", "PT-BR", "PT-BR"),
        ("pt_BR", "EN-GB", "PT-PT", "PT-BR"),
        ("zh", "EN-GB", "PT-PT", "ZH-HANS"),
        ("zh-TW", "EN-GB", "PT-PT", "ZH-HANT"),
        ("fr-CA", "EN-GB", "PT-PT", "FR"),
        ("ja", "EN-GB", "PT-PT", "JA"),
    ],
)
def test_our_language_codes_become_deepl_target_codes(
    make_translator, deepl_api, ours, english_variant, portuguese_variant, sent
):
    translator = make_translator(
        english_variant=english_variant, portuguese_variant=portuguese_variant
    )

    translator.translate(texts=["Bonjour"], target_lang=ours)

    assert deepl_api.translate_calls[0].body["target_lang"] == sent


def test_malformed_language_code_is_refused_without_a_request(translator, deepl_api):
    with pytest.raises(UnsupportedLanguagePair):
        translator.translate(texts=["Hello"], target_lang="not a language")
    assert deepl_api.translate_calls == []


def test_target_deepl_does_not_offer_maps_to_unsupported_language_pair(translator):
    # Given Swahili, which the stand-in (like DeepL for many codes) refuses with a 400
    with pytest.raises(UnsupportedLanguagePair):
        translator.translate(texts=["Hello"], target_lang="sw")


def test_supported_target_languages_are_our_codes_and_cached(translator, deepl_api):
    first = translator.supported_target_languages()
    second = translator.supported_target_languages()

    assert first == second
    assert {"en", "pt", "zh", "de", "fr", "ja"} <= set(first)
    assert len(first) == len(set(first))  # EN-GB and EN-US are one "en"
    assert len(deepl_api.calls_to("/v2/languages")) == 1
    assert deepl_api.calls_to("/v2/languages")[0].body == {"type": "target"}


# --- formality --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("formality", "expected"),
    [("less", "Wie geht es dir?"), ("more", "Wie geht es Ihnen?")],
)
def test_formality_is_passed_through_where_the_target_supports_it(
    translator, deepl_api, formality, expected
):
    results = translator.translate(texts=["How are you?"], target_lang="de", formality=formality)

    assert results[0].text == expected
    assert deepl_api.translate_calls[0].body["formality"] == formality


def test_formality_is_dropped_for_targets_without_it(translator, deepl_api):
    # English has no formal/informal form: sending one would earn a 400 from DeepL.
    results = translator.translate(texts=["Bonjour"], target_lang="en", formality="more")

    assert results[0].text == "Hello"
    assert "formality" not in deepl_api.translate_calls[0].body


def test_default_formality_sends_nothing(translator, deepl_api):
    translator.translate(texts=["How are you?"], target_lang="fr", formality="default")

    assert "formality" not in deepl_api.translate_calls[0].body


def test_unknown_formality_is_a_programming_error(translator):
    with pytest.raises(ValueError, match="formality"):
        translator.translate(texts=["Hello"], target_lang="de", formality="casual")


# --- glossaries -------------------------------------------------------------------------


def test_synced_glossary_is_used_for_translation(translator, deepl_api):
    # Given the artisan vocabulary synced to DeepL
    glossary_id = translator.sync_glossary(
        name="atelier-en-fr",
        source_lang="en",
        target_lang="fr",
        entries={"mug": "tasse", "glaze": "émail"},
    )

    # When a message is translated with it
    results = translator.translate(
        texts=["A blue glaze on the mug"],
        target_lang="fr",
        source_lang="en",
        glossary_id=glossary_id,
    )

    # Then the glossary terms were applied and the id was sent with the source language
    assert results[0].text == "[FR] A blue émail on the tasse"
    body = deepl_api.translate_calls[0].body
    assert body["glossary_id"] == glossary_id
    assert body["source_lang"] == "EN"
    stored = deepl_api.glossaries[glossary_id]
    assert (stored.source_lang, stored.target_lang) == ("EN", "FR")


def test_syncing_unchanged_entries_reuses_the_glossary(translator, deepl_api):
    entries = {"mug": "tasse"}
    first = translator.sync_glossary(
        name="atelier", source_lang="en", target_lang="fr", entries=entries
    )

    second = translator.sync_glossary(
        name="atelier", source_lang="en", target_lang="fr", entries=entries
    )

    assert second == first
    assert len(deepl_api.calls_to("/v2/glossaries", method="POST")) == 1


def test_syncing_changed_entries_replaces_the_glossary(translator, deepl_api):
    old = translator.sync_glossary(
        name="atelier", source_lang="en", target_lang="de", entries={"mug": "Becher"}
    )

    new = translator.sync_glossary(
        name="atelier", source_lang="en", target_lang="de", entries={"mug": "Tasse"}
    )

    assert new != old
    assert list(deepl_api.glossaries) == [new]
    assert deepl_api.glossaries[new].entries == {"mug": "Tasse"}


def test_glossary_for_another_pair_is_left_alone(translator, deepl_api):
    french = translator.sync_glossary(
        name="atelier", source_lang="en", target_lang="fr", entries={"mug": "tasse"}
    )

    german = translator.sync_glossary(
        name="atelier", source_lang="en", target_lang="de", entries={"mug": "Tasse"}
    )

    assert set(deepl_api.glossaries) == {french, german}


def test_glossary_requires_a_source_language(translator, deepl_api):
    with pytest.raises(ValueError, match="source_lang"):
        translator.translate(texts=["mug"], target_lang="fr", glossary_id="any")
    assert deepl_api.translate_calls == []


def test_deleted_glossary_is_reported_as_not_found(translator):
    with pytest.raises(GlossaryNotFound):
        translator.translate(texts=["mug"], target_lang="fr", source_lang="en", glossary_id="gone")


def test_empty_glossary_is_refused(translator):
    with pytest.raises(ValueError, match="empty"):
        translator.sync_glossary(name="atelier", source_lang="en", target_lang="fr", entries={})


# --- usage ------------------------------------------------------------------------------


def test_usage_counts_billed_characters(translator, deepl_api):
    deepl_api.set_usage(character_limit=1_000)
    translator.translate(texts=["Hello", "Thank you!"], target_lang="de")

    usage = translator.usage()

    assert usage == Usage(character_count=15, character_limit=1_000)
    assert usage.characters_remaining == 985


# --- failures ---------------------------------------------------------------------------


def test_wrong_key_raises_auth_failed_without_retrying(make_translator, deepl_api):
    translator = make_translator(auth_key="someone-elses-key:fx")

    with pytest.raises(TranslationAuthFailed) as raised:
        translator.translate(texts=["Hello"], target_lang="de")

    assert raised.value.retryable is False
    assert len(deepl_api.translate_calls) == 1


def test_forbidden_answer_raises_auth_failed(translator, deepl_api):
    deepl_api.set_mode("auth_failure")

    with pytest.raises(TranslationAuthFailed):
        translator.usage()


def test_quota_exceeded_answer_raises_quota_exceeded_without_retrying(translator, deepl_api):
    deepl_api.set_mode("quota_exceeded")

    with pytest.raises(TranslationQuotaExceeded) as raised:
        translator.translate(texts=["Hello"], target_lang="de")

    assert raised.value.retryable is False
    assert len(deepl_api.translate_calls) == 1


def test_quota_running_out_mid_month_raises_quota_exceeded(translator, deepl_api):
    # Given only 10 characters left this billing period
    deepl_api.set_usage(character_count=990, character_limit=1_000)

    # When a longer message is translated, Then DeepL's 456 becomes our error
    with pytest.raises(TranslationQuotaExceeded):
        translator.translate(texts=["This message is too long"], target_lang="de")
    assert deepl_api.character_count == 990


def test_rate_limit_is_retried_in_process_until_success(translator, deepl_api, recorded_sleeps):
    # Given DeepL answers 429 twice, then recovers (translator allows 2 retries)
    deepl_api.set_mode("rate_limited", times=2)

    results = translator.translate(texts=["Hello"], target_lang="de")

    # Then the caller just gets the translation, after two short waits
    assert results[0].text == "Hallo"
    assert [call.status for call in deepl_api.translate_calls] == [429, 429, 200]
    assert len(recorded_sleeps) == 2
    assert all(0 < delay <= 5.0 for delay in recorded_sleeps)


def test_persistent_rate_limit_raises_rate_limited_with_retry_after(
    translator, deepl_api, recorded_sleeps
):
    deepl_api.set_mode("rate_limited", retry_after=3)

    with pytest.raises(TranslationRateLimited) as raised:
        translator.translate(texts=["Hello"], target_lang="de")

    assert raised.value.retry_after == 3.0
    assert raised.value.retryable is True
    assert len(deepl_api.translate_calls) == 3  # first try + DEEPL_MAX_RETRIES=2
    # The server's Retry-After is a floor for each in-process wait
    assert recorded_sleeps == [3.0, 3.0]


def test_long_retry_after_is_left_to_the_task_queue(translator, deepl_api, recorded_sleeps):
    # Given DeepL asks for two minutes: a worker should not sleep that long
    deepl_api.set_mode("rate_limited", retry_after=120)

    with pytest.raises(TranslationRateLimited) as raised:
        translator.translate(texts=["Hello"], target_lang="de")

    assert raised.value.retry_after == 120.0
    assert len(deepl_api.translate_calls) == 1
    assert recorded_sleeps == []


def test_server_error_is_retried_then_succeeds(translator, deepl_api):
    deepl_api.set_mode("server_error", times=1)

    results = translator.translate(texts=["Hello"], target_lang="de")

    assert results[0].text == "Hallo"
    assert [call.status for call in deepl_api.translate_calls] == [500, 200]


def test_persistent_server_error_raises_unavailable(make_translator, deepl_api):
    translator = make_translator(max_retries=1)
    deepl_api.set_mode("server_error")

    with pytest.raises(TranslationUnavailable) as raised:
        translator.translate(texts=["Hello"], target_lang="de")

    assert raised.value.retryable is True
    assert len(deepl_api.translate_calls) == 2


def test_slow_server_raises_unavailable_within_the_timeout(make_translator, deepl_api):
    # Given DeepL takes 5 s to answer and we allow 0.3 s, no retry
    translator = make_translator(timeout=0.3, max_retries=0)
    deepl_api.set_mode("slow", delay=5.0)

    with pytest.raises(TranslationUnavailable, match="timed out"):
        translator.translate(texts=["Hello"], target_lang="de")

    # Then the client gave up while the stand-in was still answering (event order, not a clock)
    [call] = deepl_api.translate_calls
    assert call.status is None


def test_a_timed_out_translation_is_not_sent_again_at_once(make_translator, deepl_api):
    # Given DeepL is still working on the text when our timeout passes (it may bill it),
    # and a retry budget that would allow two more attempts
    translator = make_translator(timeout=0.2, max_retries=2)
    deepl_api.set_mode("slow", delay=5.0)

    with pytest.raises(TranslationUnavailable, match="timed out") as raised:
        translator.translate(texts=["Hello"], target_lang="de")

    # Then the text went to DeepL once (no second bill); the caller may retry later
    [call] = deepl_api.translate_calls
    assert call.status is None
    assert raised.value.retryable is True


def test_a_slow_answer_within_the_timeout_is_billed_once(make_translator, deepl_api):
    # Given DeepL answers slowly, but inside our timeout
    translator = make_translator(timeout=5.0, max_retries=2)
    deepl_api.set_mode("slow", delay=0.5)

    [result] = translator.translate(texts=["Hello"], target_lang="de")

    # Then one request, answered, and the translation came back
    [call] = deepl_api.translate_calls
    assert call.status == 200
    assert result.text


def test_unreachable_server_raises_unavailable(recorded_sleeps):
    # Given a port nobody listens on (the stand-in was stopped)
    with DeepLStandIn() as stopped:
        url, key = stopped.url, stopped.auth_key
    translator = DeepLTranslator(
        auth_key=key, server_url=url, timeout=0.5, max_retries=1, sleep=recorded_sleeps.append
    )

    with pytest.raises(TranslationUnavailable):
        translator.translate(texts=["Hello"], target_lang="de")
    assert len(recorded_sleeps) == 1


def test_every_translation_error_shares_one_base():
    for error in (
        TranslationAuthFailed,
        TranslationQuotaExceeded,
        TranslationRateLimited,
        TranslationUnavailable,
        UnsupportedLanguagePair,
        GlossaryNotFound,
    ):
        assert issubclass(error, TranslationError)


@pytest.mark.parametrize(
    "options",
    [
        {"auth_key": ""},
        {"timeout": 0},
        {"max_retries": -1},
        {"english_variant": "EN"},
        {"portuguese_variant": "PT"},
    ],
)
def test_invalid_construction_is_refused(options):
    arguments = {"auth_key": "key", "server_url": "http://127.0.0.1:9", **options}
    with pytest.raises(ValueError):
        DeepLTranslator(**arguments)
