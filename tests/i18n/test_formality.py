"""Formality: each reader's wish reaches DeepL for targets that have a formal register."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from conversations.glossary import formality_for, set_translation_formality, shared_formality
from conversations.models import Formality, MessageTranslation, TranslationStatus
from conversations.services import post_message, start_conversation
from core.models import Role
from tests.conftest import make_user
from tests.i18n.conftest import translate_bodies

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def ann_and_jonas(db):
    ann = make_user("ann@example.com", preferred_language="en")
    jonas = make_user("jonas@example.de", Role.ARTISAN, preferred_language="de")
    return ann, jonas, start_conversation(buyer=ann, artisan=jonas)


def ask_how_are_you(conversation, author):
    return post_message(
        conversation=conversation, author=author, text="How are you?", language="en"
    ).message


def test_a_reader_who_prefers_informal_german_is_addressed_with_du(deepl_api, ann_and_jonas):
    ann, jonas, conversation = ann_and_jonas
    set_translation_formality(user=jonas, formality=Formality.LESS)
    # when
    message = ask_how_are_you(conversation, ann)
    # then
    [body] = translate_bodies(deepl_api)
    assert body["formality"] == "less"
    assert MessageTranslation.objects.get(message=message).text == "Wie geht es dir?"


def test_without_a_preference_no_formality_is_sent(deepl_api, ann_and_jonas):
    ann, _jonas, conversation = ann_and_jonas
    message = ask_how_are_you(conversation, ann)
    [body] = translate_bodies(deepl_api)
    assert "formality" not in body
    assert MessageTranslation.objects.get(message=message).text == "Wie geht es Ihnen?"


def test_formal_and_informal_translations_are_cached_apart(deepl_api, ann_and_jonas):
    ann, jonas, conversation = ann_and_jonas
    informal_reader = make_user("kai@example.de", Role.ARTISAN, preferred_language="de")
    set_translation_formality(user=informal_reader, formality=Formality.LESS)
    other = start_conversation(buyer=ann, artisan=informal_reader)
    # when the same text goes to a default reader, then to an informal one, then again
    first = ask_how_are_you(conversation, ann)
    second = ask_how_are_you(other, ann)
    third = ask_how_are_you(conversation, ann)
    # then two provider calls (one per register); the repeat is served from the cache
    assert len(deepl_api.translate_calls) == 2
    texts = [MessageTranslation.objects.get(message=m).text for m in (first, second, third)]
    assert texts == ["Wie geht es Ihnen?", "Wie geht es dir?", "Wie geht es Ihnen?"]


def test_the_wish_is_dropped_for_targets_without_formality(deepl_api, ann_and_jonas):
    # given Ann (English has no formal register in DeepL) wants informal
    ann, jonas, conversation = ann_and_jonas
    set_translation_formality(user=ann, formality=Formality.LESS)
    # when Jonas writes to her
    message = post_message(
        conversation=conversation, author=jonas, text="Hallo, danke!", language="de"
    ).message
    # then DeepL is not sent a formality it would refuse, and the translation arrives
    [body] = translate_bodies(deepl_api)
    assert body["target_lang"] == "EN-GB"
    assert "formality" not in body
    assert MessageTranslation.objects.get(message=message).status == TranslationStatus.DONE


def test_preferences_are_stored_per_user_and_validated(ann_and_jonas):
    ann, jonas, _ = ann_and_jonas
    assert formality_for(ann) == Formality.DEFAULT
    set_translation_formality(user=ann, formality=Formality.MORE)
    set_translation_formality(user=ann, formality=Formality.LESS)
    assert formality_for(ann) == Formality.LESS
    with pytest.raises(ValidationError):
        set_translation_formality(user=ann, formality="casual")


def test_readers_who_disagree_get_the_default_register(ann_and_jonas):
    ann, jonas, _ = ann_and_jonas
    set_translation_formality(user=ann, formality=Formality.MORE)
    set_translation_formality(user=jonas, formality=Formality.LESS)
    assert shared_formality([ann, jonas]) is None
    assert shared_formality([jonas]) == "less"
    assert shared_formality([]) is None
