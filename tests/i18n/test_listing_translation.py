"""Listings in the viewer's language: translated on save (after commit), originals kept,
retranslated only when the source changes, artisans' overrides never overwritten."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType

from commerce import services
from commerce.errors import InvalidInput, NotAllowed
from commerce.translation import (
    localized,
    localized_fields,
    override_listing_translation,
    revert_listing_translation,
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
