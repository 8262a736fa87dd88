"""Listings in the viewer's language: translated on save (after commit), originals kept,
retranslated only when the source changes, artisans' overrides never overwritten."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone

from commerce import services
from commerce.errors import InvalidInput, NotAllowed
from commerce.translation import (
    localized,
    localized_fields,
    override_listing_translation,
    revert_listing_translation,
    sweep_listing_translations,
    translate_listing,
    translate_listing_fields,
)
from conversations.admin import ContentTranslationForm
from conversations.glossary import save_glossary_term, sync_glossaries
from conversations.models import ContentTranslation, TranslationStatus
from core.models import Role
from tests.conftest import enrol_totp, make_user
from tests.i18n.conftest import translate_bodies

TITLE = "Vase en céramique émaillée"
DESCRIPTION = "Un vase tourné à la main, émaillé en bleu de cobalt et cuit deux fois."


@pytest.fixture
def potter(db):
    user = make_user("claire@example.fr", Role.ARTISAN, preferred_language="fr")
    enrol_totp(user)
    return user


@pytest.fixture
def french_shop(potter):
    return services.save_artisan_profile(user=potter, shop_name="Atelier Claire")


@pytest.fixture
def saved(django_capture_on_commit_callbacks):
    """Run a service and the translation it requested on commit (eager Celery)."""

    def run(service, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return service(**kwargs)

    return run


def list_vase(saved, potter, **overrides):
    fields = {
        "title": TITLE,
        "description": DESCRIPTION,
        "price": Decimal("85.00"),
        "currency": "EUR",
        "stock_quantity": 1,
    }
    return saved(
        services.create_product,
        artisan=potter,
        fields=services.ProductInput(**(fields | overrides)),
    )


def rows(obj, **filters):
    return ContentTranslation.objects.filter(
        content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk, **filters
    )


def test_a_new_listing_is_translated_into_every_listing_language(
    deepl_api, saved, french_shop, potter
):
    # when
    vase = list_vase(saved, potter)
    # then the French original stays, each other UI language has a translation
    statuses = dict(rows(vase, field="title").values_list("language", "status"))
    assert statuses == {
        "en": TranslationStatus.DONE,
        "de": TranslationStatus.DONE,
        "es": TranslationStatus.DONE,
        "ja": TranslationStatus.DONE,
        "fr": TranslationStatus.SAME_LANGUAGE,
    }
    text, is_translated, original = localized(vase, "title", "de")
    assert (text, is_translated, original) == (f"[DE] {TITLE}", True, TITLE)
    assert localized(vase, "description", "ja").text == f"[JA] {DESCRIPTION}"
    # a French viewer reads the original
    assert tuple(localized(vase, "title", "fr")) == (TITLE, False, TITLE)
    # the source language was detected (French) and sent to DeepL
    assert {body["source_lang"] for body in translate_bodies(deepl_api)} == {"FR"}


def test_saving_without_changing_the_text_costs_no_translation(
    deepl_api, saved, french_shop, potter
):
    vase = list_vase(saved, potter)
    calls = len(deepl_api.translate_calls)
    # when the price changes only
    saved(
        services.update_product,
        artisan=potter,
        product=vase,
        fields=services.ProductInput(
            title=TITLE,
            description=DESCRIPTION,
            price=Decimal("90.00"),
            currency="EUR",
            stock_quantity=1,
        ),
    )
    assert len(deepl_api.translate_calls) == calls
    # when the description changes, only the description is translated again
    saved(
        services.update_product,
        artisan=potter,
        product=vase,
        fields=services.ProductInput(
            title=TITLE,
            description="Un vase tourné à la main, émaillé en vert.",
            price=Decimal("90.00"),
            currency="EUR",
            stock_quantity=1,
        ),
    )
    new_calls = deepl_api.translate_calls[calls:]
    assert len(new_calls) == 4  # en, de, es, ja
    assert all("vert" in call.body["text"][0] for call in new_calls)
    vase.refresh_from_db()
    assert localized(vase, "description", "en").text.endswith("émaillé en vert.")


def test_identical_texts_share_the_cache(deepl_api, saved, french_shop, potter):
    list_vase(saved, potter)
    calls = len(deepl_api.translate_calls)
    # when a second listing has the same title
    second = list_vase(saved, potter, description="")
    # then no new call; its title is translated all the same
    assert len(deepl_api.translate_calls) == calls
    assert localized(second, "title", "es").is_translated


def test_the_artisans_own_translation_wins_and_is_never_overwritten(
    deepl_api, saved, french_shop, potter
):
    vase = list_vase(saved, potter)
    # when the artisan writes her own German title
    override_listing_translation(
        artisan=potter, obj=vase, field="title", language="de", text="Glasierte Keramikvase"
    )
    german = localized(vase, "title", "de")
    assert tuple(german) == ("Glasierte Keramikvase", True, TITLE)
    assert german.is_manual_override
    assert not german.override_outdated
    # and later changes the French title
    saved(
        services.update_product,
        artisan=potter,
        product=vase,
        fields=services.ProductInput(
            title="Vase en grès émaillé",
            description=DESCRIPTION,
            price=Decimal("85.00"),
            currency="EUR",
            stock_quantity=1,
        ),
    )
    vase.refresh_from_db()
    # then her German title stays (flagged as older than the original), others follow
    german = localized(vase, "title", "de")
    assert german.text == "Glasierte Keramikvase"
    assert german.override_outdated
    assert localized(vase, "title", "en").text == "[EN-GB] Vase en grès émaillé"
    assert not any("de" == b["target_lang"].lower() for b in translate_bodies(deepl_api)[-4:])


def test_reverting_an_override_brings_the_machine_translation_back(
    deepl_api, saved, french_shop, potter
):
    vase = list_vase(saved, potter)
    override_listing_translation(
        artisan=potter, obj=vase, field="title", language="de", text="Meine Vase"
    )
    saved(revert_listing_translation, artisan=potter, obj=vase, field="title", language="de")
    assert localized(vase, "title", "de").text == f"[DE] {TITLE}"
    assert not rows(vase, is_manual_override=True).exists()


def test_only_the_listings_artisan_may_override(deepl_api, saved, french_shop, potter):
    vase = list_vase(saved, potter)
    other = make_user("other@example.com", Role.ARTISAN)
    with pytest.raises(NotAllowed):
        override_listing_translation(
            artisan=other, obj=vase, field="title", language="de", text="x"
        )
    with pytest.raises(InvalidInput):
        override_listing_translation(
            artisan=potter, obj=vase, field="price", language="de", text="x"
        )
    with pytest.raises(InvalidInput):
        override_listing_translation(
            artisan=potter, obj=vase, field="title", language="de", text="x" * 121
        )
    with pytest.raises(InvalidInput):
        override_listing_translation(
            artisan=potter, obj=vase, field="title", language="de", text=" "
        )


def test_shop_story_and_tagline_are_translated(deepl_api, saved, potter):
    shop = saved(
        services.save_artisan_profile,
        user=potter,
        shop_name="Atelier Claire",
        tagline="Céramiques tournées à la main",
        story="J'ai appris le tour chez mon grand-père, près de Limoges.",
    )
    texts = localized_fields(shop, None, "en")
    assert (
        texts["story"].text == "[EN-GB] J'ai appris le tour chez mon grand-père, près de Limoges."
    )
    assert texts["tagline"].is_translated


def test_glossary_terms_apply_to_listings(deepl_api, saved, french_shop, potter):
    save_glossary_term(
        source_language="fr", target_language="de", source="grès", target="Steinzeug"
    )
    sync_glossaries()
    vase = list_vase(saved, potter, title="Bol en grès", description="Un bol en grès, fait main.")
    assert localized(vase, "title", "de").text == "[DE] Bol en Steinzeug"


def test_without_a_key_pages_show_the_original(no_deepl, saved, french_shop, potter):
    vase = list_vase(saved, potter)
    assert set(rows(vase, field="title").values_list("status", flat=True)) == {
        TranslationStatus.NOT_CONFIGURED,
        TranslationStatus.SAME_LANGUAGE,
    }
    assert tuple(localized(vase, "title", "de")) == (TITLE, False, TITLE)


def test_provider_errors_never_break_the_save_and_are_retried_later(
    deepl_api, saved, french_shop, potter, settings
):
    deepl_api.set_mode("server_error")
    # when the artisan saves while DeepL is down
    vase = list_vase(saved, potter)
    # then the product exists, rows say what happened, viewers see the original
    assert vase.pk
    title_rows = rows(vase, field="title").exclude(status=TranslationStatus.SAME_LANGUAGE)
    assert set(title_rows.values_list("status", flat=True)) == {TranslationStatus.PENDING}
    assert localized(vase, "title", "de").text == TITLE
    # and once DeepL is back, the next run fills them in
    deepl_api.set_mode("normal")
    outcome = translate_listing_fields(obj=vase)
    assert outcome.translated == 8
    assert localized(vase, "title", "de").text == f"[DE] {TITLE}"


def test_quota_exceeded_pauses_listing_translation(deepl_api, saved, french_shop, potter):
    deepl_api.set_mode("quota_exceeded")
    vase = list_vase(saved, potter)
    statuses = set(rows(vase).values_list("status", flat=True))
    assert statuses == {TranslationStatus.PAUSED, TranslationStatus.SAME_LANGUAGE}


def test_an_admin_edit_of_a_translation_becomes_an_override(deepl_api, saved, french_shop, potter):
    vase = list_vase(saved, potter)
    row = rows(vase, field="title", language="de").get()
    # when an admin corrects it in the inline form
    form = ContentTranslationForm(
        instance=row, data={"field": "title", "language": "de", "text": "Keramikvase"}
    )
    assert form.is_valid(), form.errors
    form.save()
    # then it is an override the machine keeps
    row.refresh_from_db()
    assert row.is_manual_override
    assert translate_listing_fields(obj=vase).translated == 0
    assert localized(vase, "title", "de").text == "Keramikvase"


def test_erasure_removes_the_shop_texts_translations_and_preferences(deepl_api, saved, potter):
    from conversations.glossary import set_translation_formality
    from conversations.models import TranslationPreference
    from core.gdpr import erase_personal_data

    shop = saved(
        services.save_artisan_profile,
        user=potter,
        shop_name="Atelier Claire",
        story="J'ai appris le tour chez mon grand-père.",
    )
    override_listing_translation(
        artisan=potter, obj=shop, field="story", language="de", text="Meine Geschichte"
    )
    set_translation_formality(user=potter, formality="less")
    assert rows(shop).exists()
    # when the artisan erases their personal data
    erase_personal_data(user=potter)
    # then nothing of the story survives in any language
    assert not rows(shop).exists()
    assert not TranslationPreference.objects.filter(user=potter).exists()


def test_listing_pages_serve_the_viewers_language_with_the_original_one_tap_away(
    client, saved, french_shop, potter
):
    from commerce.translation import override_listing_translation

    product = list_vase(saved, potter)
    override_listing_translation(
        artisan=potter,
        obj=product,
        field="description",
        language="en",
        text="A hand-thrown vase, glazed cobalt blue and fired twice.",
    )
    url = f"/shop/{french_shop.slug}/{product.slug}/"
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "A hand-thrown vase, glazed cobalt blue and fired twice." in english
    assert "Show original" in english
    assert "Un vase tourné à la main" in english  # the original, inside the toggle
    french = client.get(url, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Un vase tourné à la main" in french
    assert "A hand-thrown vase" not in french


def test_artisan_writes_and_reverts_their_own_translation_in_the_studio(
    client, saved, french_shop, potter
):
    product = list_vase(saved, potter)
    client.force_login(potter)
    url = f"/studio/products/{product.pk}/translations/"
    page = client.get(url)
    assert page.status_code == 200
    assert "Deutsch" in page.content.decode()
    response = client.post(
        url, {"field": "title", "language": "de", "text": "Kobaltblaue Vase", "action": "save"}
    )
    assert response.status_code == 302
    row = rows(product, field="title", language="de").get()
    assert row.is_manual_override
    assert row.text == "Kobaltblaue Vase"
    client.post(url, {"field": "title", "language": "de", "action": "revert"})
    assert not rows(product, field="title", language="de", is_manual_override=True).exists()


def test_only_the_owner_can_translate_a_listing(client, saved, french_shop, potter, artisan):
    product = list_vase(saved, potter)
    client.force_login(artisan)
    assert client.get(f"/studio/products/{product.pk}/translations/").status_code == 404


# --- durable state: pending rows, the sweeper, backoff and dead rows ---------------------------


def clock_moves_past_next_attempt(queryset) -> None:
    """The time a row waits for (grace, lease or backoff) has passed."""
    queryset.update(next_attempt_at=timezone.now() - timedelta(seconds=1))


@pytest.fixture
def sweep(django_capture_on_commit_callbacks):
    """One beat run of the sweeper; what it publishes runs inline (eager Celery)."""

    def run() -> int:
        with django_capture_on_commit_callbacks(execute=True):
            return sweep_listing_translations()

    return run


def test_the_save_itself_records_the_pending_rows(deepl_api, french_shop, potter, monkeypatch):
    # Given a save whose publish after commit is lost (broker down, process killed)
    published = []
    monkeypatch.setattr(translate_listing, "delay", lambda *args: published.append(args))
    vase = services.create_product(
        artisan=potter,
        fields=services.ProductInput(
            title=TITLE,
            description=DESCRIPTION,
            price=Decimal("85.00"),
            currency="EUR",
            stock_quantity=1,
        ),
    )
    # Then the transaction holds one pending row per field and language, due after the grace
    assert published == []  # nothing committed yet (the test transaction is open)
    pending = rows(vase)
    assert pending.count() == 2 * 5
    assert set(pending.values_list("status", flat=True)) == {TranslationStatus.PENDING}
    assert all(row.next_attempt_at > timezone.now() for row in pending)


def test_a_lost_publish_is_picked_up_by_the_sweeper(
    deepl_api, saved, french_shop, potter, monkeypatch, sweep
):
    # Given a new listing whose translate_listing task never reached a worker
    lost = []
    monkeypatch.setattr(translate_listing, "delay", lambda *args: lost.append(args))
    vase = list_vase(saved, potter)
    monkeypatch.undo()
    assert len(lost) == 1
    assert rows(vase, status=TranslationStatus.PENDING).count() == 10
    assert deepl_api.translate_calls == []
    # When the sweeper runs within the grace period it leaves the fresh rows alone
    assert sweep() == 0
    # and once the grace period is over it publishes the listing once
    clock_moves_past_next_attempt(rows(vase))
    assert sweep() == 1
    # Then every row is settled, with one DeepL call per field and foreign language
    assert rows(vase, status=TranslationStatus.DONE).count() == 8
    assert rows(vase, status=TranslationStatus.SAME_LANGUAGE).count() == 2
    assert set(rows(vase).values_list("next_attempt_at", flat=True)) == {None}
    assert len(deepl_api.translate_calls) == 8
    assert localized(vase, "title", "de").text == f"[DE] {TITLE}"
    # and sweeping again publishes nothing and calls nobody
    clock_moves_past_next_attempt(rows(vase))
    assert sweep() == 0
    assert len(deepl_api.translate_calls) == 8


def test_a_listing_being_translated_is_not_published_again_within_its_lease(
    deepl_api, saved, french_shop, potter, monkeypatch, sweep
):
    monkeypatch.setattr(translate_listing, "delay", lambda *args: None)
    vase = list_vase(saved, potter)
    clock_moves_past_next_attempt(rows(vase))
    # The sweeper publishes (and the publish is lost again): the rows are leased
    assert sweep() == 1
    assert all(row.next_attempt_at > timezone.now() for row in rows(vase))
    assert sweep() == 0


def test_a_failing_provider_backs_off_then_the_rows_are_dead_and_listed_in_the_admin(
    deepl_api, saved, french_shop, potter, settings, sweep, admin_client
):
    settings.TRANSLATION_MAX_ATTEMPTS = 3
    deepl_api.set_mode("server_error")
    # Given a save while DeepL answers 5xx: attempt 1 fails, the rows wait for a backoff
    vase = list_vase(saved, potter)
    failing = rows(vase).exclude(status=TranslationStatus.SAME_LANGUAGE)
    assert failing.count() == 8
    assert set(failing.values_list("status", "attempts")) == {(TranslationStatus.PENDING, 1)}
    assert all(row.next_attempt_at > timezone.now() for row in failing)
    assert sweep() == 0  # still backing off
    calls_after_first = len(deepl_api.translate_calls)
    assert calls_after_first == 8

    # When the backoff passes, the sweeper tries again: attempt 2, a longer backoff
    clock_moves_past_next_attempt(failing)
    assert sweep() == 1
    assert set(failing.values_list("status", "attempts")) == {(TranslationStatus.PENDING, 2)}
    assert all(row.next_attempt_at > timezone.now() for row in failing)
    assert len(deepl_api.translate_calls) == 16

    # and after the last attempt the rows are dead: failed, no longer swept
    clock_moves_past_next_attempt(failing)
    assert sweep() == 1
    assert set(failing.values_list("status", "attempts")) == {(TranslationStatus.FAILED, 3)}
    assert set(failing.values_list("next_attempt_at", flat=True)) == {None}
    assert all(row.error for row in failing)
    assert sweep() == 0
    assert len(deepl_api.translate_calls) == 24
    assert localized(vase, "title", "de").text == TITLE  # viewers see the original

    # Then the admin lists them under "failed"
    changelist = reverse("admin:conversations_contenttranslation_changelist")
    listed = admin_client.get(changelist, {"status__exact": TranslationStatus.FAILED})
    assert listed.status_code == 200
    assert listed.context["cl"].result_count == 8
    assert set(listed.context["cl"].result_list) == set(failing)

    # and once DeepL is back, "Retry" queues them again for the next sweep
    deepl_api.set_mode("normal")
    response = admin_client.post(
        changelist,
        {"action": "retry", "_selected_action": list(rows(vase).values_list("pk", flat=True))},
        follow=True,
    )
    assert response.status_code == 200
    assert "8 translations queued again." in response.content.decode()
    assert set(failing.values_list("status", "attempts")) == {(TranslationStatus.PENDING, 0)}
    assert sweep() == 1
    assert set(failing.values_list("status", "attempts")) == {(TranslationStatus.DONE, 1)}
    assert len(deepl_api.translate_calls) == 32
    assert localized(vase, "title", "de").text == f"[DE] {TITLE}"


def test_beat_names_the_listing_sweeper_and_the_worker_knows_it():
    from core.celery import app

    entry = app.conf.beat_schedule["sweep-listing-translations"]
    assert entry["task"] == "commerce.sweep_listing_translations"
    assert entry["task"] in app.tasks


def test_pending_rows_of_a_deleted_listing_are_dropped_not_swept_forever(
    deepl_api, saved, french_shop, potter, monkeypatch, sweep
):
    monkeypatch.setattr(translate_listing, "delay", lambda *args: None)
    vase = list_vase(saved, potter)
    monkeypatch.undo()
    clock_moves_past_next_attempt(rows(vase))
    vase_rows = rows(vase)
    type(vase).objects.filter(pk=vase.pk).delete()
    assert sweep() == 1
    assert vase_rows.count() == 0
    assert sweep() == 0
    assert deepl_api.translate_calls == []
