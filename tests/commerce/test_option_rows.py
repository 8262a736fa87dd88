"""Studio product options edited as rows: round trip, clear per-row errors, no mini-syntax."""

from __future__ import annotations

from decimal import Decimal

import pytest

from commerce.models import OptionKind

pytestmark = pytest.mark.django_db

BASE = {
    "title": "Vase",
    "price": "60",
    "currency": "EUR",
    "stock_quantity": "2",
    "lead_time_days": "0",
    "status": "active",
}
ROWS = {
    "opt-0-label": "Glaze",
    "opt-0-kind": "choice",
    "opt-0-required": "on",
    "opt-0-value-0-label": "Sand",
    "opt-0-value-0-delta": "0",
    "opt-0-value-3-label": "Cobalt",  # gaps from removed rows are fine
    "opt-0-value-3-delta": "+5.00",
    "opt-2-label": "Engraving",
    "opt-2-kind": "text",
    "opt-2-max_length": "15",
    "opt-5-label": "",  # the spare row left blank
    "opt-5-kind": "choice",
    "opt-5-value-0-label": "",
    "opt-5-value-0-delta": "",
}


def test_options_round_trip_through_the_rows(client, artisan, shop):
    client.force_login(artisan)
    # Given an artisan who fills two option rows and leaves the spare one blank
    response = client.post("/studio/products/new/", {**BASE, **ROWS})
    # Then the piece is saved with exactly those options, in page order
    assert response.status_code == 302
    product = shop.products.get(title="Vase")
    glaze, engraving = product.options.order_by("position", "pk")
    assert (glaze.label, glaze.kind, glaze.required) == ("Glaze", OptionKind.CHOICE, True)
    assert [(v.label, v.price_delta) for v in glaze.values.order_by("position", "pk")] == [
        ("Sand", Decimal("0.00")),
        ("Cobalt", Decimal("5.00")),
    ]
    assert (engraving.label, engraving.kind, engraving.max_length) == ("Engraving", "text", 15)
    # When they open the piece again, the rows show what was saved (and a spare row)
    page = client.get(f"/studio/products/{product.pk}/").content.decode()
    assert 'name="opt-0-label"' in page and 'value="Glaze"' in page
    assert 'name="opt-0-value-1-label"' in page and 'value="Cobalt"' in page
    assert 'name="opt-1-max_length"' in page and 'value="15"' in page
    assert 'name="opt-2-label"' in page  # the spare row
    assert "Add option" in page and "Add value" in page
    assert "options_text" not in page and "[text" not in page
    # And saving the page unchanged keeps the same options
    again = client.post(
        f"/studio/products/{product.pk}/",
        {
            **BASE,
            "opt-0-label": "Glaze",
            "opt-0-kind": "choice",
            "opt-0-required": "on",
            "opt-0-value-0-label": "Sand",
            "opt-0-value-0-delta": "0.00",
            "opt-0-value-1-label": "Cobalt",
            "opt-0-value-1-delta": "5.00",
            "opt-1-label": "Engraving",
            "opt-1-kind": "text",
            "opt-1-max_length": "15",
        },
    )
    assert again.status_code == 302
    assert [o.label for o in product.options.order_by("position", "pk")] == ["Glaze", "Engraving"]


def test_bad_rows_are_shown_with_clear_errors_and_nothing_is_saved(client, artisan, shop):
    client.force_login(artisan)
    response = client.post(
        "/studio/products/new/",
        {
            **BASE,
            "opt-0-label": "",
            "opt-0-kind": "choice",
            "opt-0-value-0-label": "Sand",
            "opt-0-value-0-delta": "0",
            "opt-1-label": "Size",
            "opt-1-kind": "choice",
            "opt-1-value-0-label": "Large",
            "opt-1-value-0-delta": "five euros",
            "opt-2-label": "Engraving",
            "opt-2-kind": "text",
            "opt-2-max_length": "0",
            "opt-3-label": "Colour",
            "opt-3-kind": "choice",
        },
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert not shop.products.filter(title="Vase").exists()
    assert "Give this option a name." in page
    assert "Enter a price change like 5.00 or -2.50." in page
    assert "Maximum length is a whole number from 1 to 500." in page
    assert "Add at least one value to choose from." in page
    # What the artisan typed is kept
    assert 'value="five euros"' in page and 'value="Size"' in page


def test_option_errors_are_in_the_readers_language(client, artisan, shop):
    artisan.preferred_language = "fr"
    artisan.save(update_fields=["preferred_language"])
    client.force_login(artisan)
    response = client.post(
        "/studio/products/new/",
        {**BASE, "opt-0-label": "", "opt-0-kind": "choice", "opt-0-value-0-label": "Sand"},
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    assert "Donnez un nom à cette option." in response.content.decode()
