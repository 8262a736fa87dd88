"""Glossaries: admin-managed craft terms synced to DeepL (stand-in) and used when translating."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from conversations import tasks
from conversations.glossary import (
    entries_hash,
    save_glossary_term,
    sync_glossaries,
    translation_options,
)
from conversations.models import GlossarySync, GlossaryTerm, MessageTranslation, TranslationStatus
from conversations.services import post_message, start_conversation
from conversations.translation.types import TranslationNotConfigured
from tests.i18n.conftest import translate_bodies


@pytest.fixture
def craft_terms(db):
    save_glossary_term(source_language="fr", target_language="de", source="émail", target="Glasur")
    save_glossary_term(
        source_language="fr", target_language="de", source="tour", target="Töpferscheibe"
    )
    save_glossary_term(source_language="en", target_language="fr", source="raku", target="raku")
    return GlossaryTerm.objects.all()


def test_sync_creates_one_deepl_glossary_per_pair_and_stores_its_id(deepl_api, craft_terms):
    # when
    outcomes = sync_glossaries()
    # then: two pairs, each uploaded once with exactly its active terms
    assert sorted((o.source_language, o.target_language) for o in outcomes) == [
        ("en", "fr"),
        ("fr", "de"),
    ]
    stored = {(g.source_lang, g.target_lang): g for g in deepl_api.glossaries.values()}
    assert stored[("FR", "DE")].entries == {"émail": "Glasur", "tour": "Töpferscheibe"}
    assert stored[("EN", "FR")].entries == {"raku": "raku"}
    fr_de = GlossarySync.objects.get(source_language="fr", target_language="de")
    assert fr_de.glossary_id == stored[("FR", "DE")].glossary_id
    assert fr_de.entry_count == 2
    assert fr_de.entries_hash == entries_hash({"émail": "Glasur", "tour": "Töpferscheibe"})
    assert stored[("FR", "DE")].name == "atelier-fr-de"


def test_unchanged_terms_are_not_uploaded_again(deepl_api, craft_terms):
    sync_glossaries()
    calls_after_first_sync = len(deepl_api.calls)
    # when
    outcomes = sync_glossaries()
    # then: no request at all, same ids
    assert len(deepl_api.calls) == calls_after_first_sync
    assert not any(outcome.uploaded for outcome in outcomes)


def test_a_changed_term_replaces_the_glossary_on_deepl(deepl_api, craft_terms):
    sync_glossaries()
    old_id = GlossarySync.objects.get(source_language="fr", target_language="de").glossary_id
    # when the admin corrects a term and syncs again
    save_glossary_term(source_language="fr", target_language="de", source="émail", target="Email")
    sync_glossaries()
    # then a new glossary holds the new entries and the old one is gone
    new_id = GlossarySync.objects.get(source_language="fr", target_language="de").glossary_id
    assert new_id != old_id
    assert old_id not in deepl_api.glossaries
    assert deepl_api.glossaries[new_id].entries["émail"] == "Email"


def test_a_pair_without_active_terms_stops_using_its_glossary(deepl_api, craft_terms):
    sync_glossaries()
    # when the only en→fr term is deactivated
    GlossaryTerm.objects.filter(source_language="en").update(active=False)
    sync_glossaries()
    # then
    en_fr = GlossarySync.objects.get(source_language="en", target_language="fr")
    assert en_fr.glossary_id == ""
    assert translation_options(source_language="en", target_language="fr").glossary_id is None


def test_a_provider_error_is_recorded_and_the_previous_glossary_stays(deepl_api, craft_terms):
    sync_glossaries()
    old_id = GlossarySync.objects.get(source_language="fr", target_language="de").glossary_id
    save_glossary_term(source_language="fr", target_language="de", source="four", target="Ofen")
    deepl_api.set_mode("auth_failure")
    # when
    outcomes = sync_glossaries()
    # then
    failed = [o for o in outcomes if o.error]
    assert [(o.source_language, o.target_language) for o in failed] == [("fr", "de")]
    row = GlossarySync.objects.get(source_language="fr", target_language="de")
    assert row.glossary_id == old_id
    assert "rejected" in row.last_error


def test_without_a_key_sync_refuses_and_the_task_is_a_no_op(no_deepl, craft_terms):
    with pytest.raises(TranslationNotConfigured):
        sync_glossaries()
    assert tasks.sync_glossaries.apply().get() == 0
    assert not GlossarySync.objects.exists()


def test_the_celery_task_syncs(deepl_api, craft_terms):
    assert tasks.sync_glossaries.apply().get() == 2
    assert len(deepl_api.glossaries) == 2


@pytest.mark.parametrize(
    ("fields", "error_field"),
    [
        ({"source": "tab\there"}, "source"),
        ({"target": "line\nbreak"}, "target"),
        ({"target_language": "fr"}, "target_language"),  # same as source
        ({"source_language": "not a code"}, "source_language"),
    ],
)
def test_invalid_terms_are_refused(db, fields, error_field):
    values = {"source_language": "fr", "target_language": "de", "source": "a", "target": "b"}
    with pytest.raises(ValidationError) as caught:
        save_glossary_term(**(values | fields))
    assert error_field in caught.value.message_dict


@pytest.mark.django_db(transaction=True)
def test_messages_are_translated_with_the_pairs_glossary(deepl_api, craft_terms, settings):
    # given a French buyer and a German artisan, and synced glossaries
    from tests.conftest import make_user

    lea = make_user("lea@example.fr", preferred_language="fr")
    jonas = make_user("jonas@example.de", role="artisan", preferred_language="de")
    conversation = start_conversation(buyer=lea, artisan=jonas)
    sync_glossaries()
    glossary_id = GlossarySync.objects.get(source_language="fr", target_language="de").glossary_id
    # when Léa asks about the glaze
    message = post_message(
        conversation=conversation, author=lea, text="Quel émail utilisez-vous ?", language="fr"
    ).message
    # then the request carried the glossary and the craft term came out as the glossary says
    [body] = translate_bodies(deepl_api)
    assert body["glossary_id"] == glossary_id
    assert body["source_lang"] == "FR"
    row = MessageTranslation.objects.get(message=message, target_language="de")
    assert row.status == TranslationStatus.DONE
    assert row.text == "[DE] Quel Glasur utilisez-vous ?"


@pytest.mark.django_db(transaction=True)
def test_a_glossary_deleted_on_deepl_falls_back_to_plain_translation(deepl_api, craft_terms):
    from tests.conftest import make_user

    lea = make_user("lea@example.fr", preferred_language="fr")
    jonas = make_user("jonas@example.de", role="artisan", preferred_language="de")
    conversation = start_conversation(buyer=lea, artisan=jonas)
    sync_glossaries()
    # given DeepL lost the glossary (deleted by hand in the DeepL console)
    deepl_api.reset()
    # when
    message = post_message(
        conversation=conversation, author=lea, text="Quel émail ?", language="fr"
    ).message
    # then the message is still translated (without the glossary), and the id is dropped
    row = MessageTranslation.objects.get(message=message, target_language="de")
    assert row.status == TranslationStatus.DONE
    assert row.text == "[DE] Quel émail ?"
    assert [bool(b.get("glossary_id")) for b in translate_bodies(deepl_api)] == [True, False]
    sync = GlossarySync.objects.get(source_language="fr", target_language="de")
    assert sync.glossary_id == ""
    assert "sync again" in sync.last_error


def test_admin_can_add_terms_and_sync_from_the_changelist(deepl_api, admin_client):
    # when an admin adds a term through the admin form
    response = admin_client.post(
        reverse("admin:conversations_glossaryterm_add"),
        {
            "source_language": "DE",
            "target_language": "fr",
            "source": " Töpferscheibe ",
            "target": "tour de potier",
            "active": "on",
            "note": "",
        },
    )
    assert response.status_code == 302
    term = GlossaryTerm.objects.get()
    assert (term.source_language, term.source) == ("de", "Töpferscheibe")
    # and presses "Sync to DeepL"
    changelist = admin_client.get(reverse("admin:conversations_glossaryterm_changelist"))
    assert "Sync to DeepL" in changelist.content.decode()
    response = admin_client.post(reverse("admin:conversations_glossaryterm_sync"), follow=True)
    # then
    assert "Glossaries synced: 1 uploaded, 0 unchanged." in response.content.decode()
    assert [g.entries for g in deepl_api.glossaries.values()] == [
        {"Töpferscheibe": "tour de potier"}
    ]


def test_admin_action_without_a_key_says_so(no_deepl, admin_client, craft_terms):
    response = admin_client.post(
        reverse("admin:conversations_glossaryterm_changelist"),
        {"action": "sync_to_deepl", "_selected_action": [craft_terms.first().pk]},
        follow=True,
    )
    assert "DeepL is not configured" in response.content.decode()


def test_admin_refuses_a_term_with_a_tab(db, admin_client):
    response = admin_client.post(
        reverse("admin:conversations_glossaryterm_add"),
        {"source_language": "fr", "target_language": "de", "source": "a\tb", "target": "c"},
    )
    assert response.status_code == 200
    assert "tabs or line breaks" in response.content.decode()
    assert not GlossaryTerm.objects.exists()


@pytest.mark.parametrize(
    "model", ["glossaryterm", "glossarysync", "translationpreference", "contenttranslation"]
)
def test_admin_pages_of_the_translation_models_load(admin_client, craft_terms, model):
    response = admin_client.get(reverse(f"admin:conversations_{model}_changelist"))
    assert response.status_code == 200
