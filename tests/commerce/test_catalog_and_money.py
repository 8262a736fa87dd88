"""Money and listing validation: bad prices and currencies are rejected with clear errors."""

from __future__ import annotations

from decimal import Decimal

import pytest

from commerce import services
from commerce.errors import InvalidInput, InvalidMoney, NotAllowed
from commerce.models import ClaimStatus, HandmadeDeclaration, OptionKind
from commerce.money import format_money, validate_price

pytestmark = pytest.mark.django_db


def product_params(**overrides):
    params = {
        "title": "Blue bowl",
        "price": "45.00",
        "currency": "EUR",
        "stock_quantity": 3,
    }
    params.update(overrides)
    return params


@pytest.mark.parametrize("price", ["0", "0.00", "-5", "-0.01"])
def test_zero_and_negative_prices_are_rejected(artisan, shop, price):
    # Given an artisan with a shop / When they list a piece at a non-positive price
    with pytest.raises(InvalidMoney) as error:
        services.create_product(
            artisan=artisan, fields=services.ProductInput(**product_params(price=price))
        )
    # Then the error says the price must be positive, on the price field
    assert error.value.field == "price"
    assert "greater than zero" in error.value.message


@pytest.mark.parametrize("currency", ["XYZ", "BTC", "", "eu"])
def test_unknown_currency_is_rejected(artisan, shop, currency):
    with pytest.raises(InvalidMoney) as error:
        services.create_product(
            artisan=artisan, fields=services.ProductInput(**product_params(currency=currency))
        )
    assert error.value.field == "currency"
    assert "Unknown currency" in error.value.message


def test_currency_precision_is_enforced():
    assert validate_price("1500", "JPY") == Decimal("1500")
    with pytest.raises(InvalidMoney):
        validate_price("1500.5", "JPY")
    with pytest.raises(InvalidMoney):
        validate_price("10.001", "EUR")
    with pytest.raises(InvalidMoney):
        validate_price(10.5, "EUR")  # floats are refused outright


def test_lowercase_currency_is_normalised(artisan, shop):
    product = services.create_product(
        artisan=artisan, fields=services.ProductInput(**product_params(currency="gbp"))
    )
    assert product.currency == "GBP"
    assert product.price_display == "£45.00"
    assert format_money(Decimal("1500"), "JPY") == "JP¥1,500"


def test_money_is_formatted_in_the_readers_locale():
    from django.utils import translation

    expected = {"en": "€1,254.50", "fr": "1\u202f254,50\u00a0€", "de": "1.254,50\u00a0€"}
    for language, text in expected.items():
        with translation.override(language):
            assert format_money(Decimal("1254.50"), "EUR") == text
    with translation.override("ja"):
        assert format_money(Decimal("1500"), "JPY") == "￥1,500"


def test_product_with_options_prices_selection(artisan, shop):
    # Given a bowl with a glaze choice and an engraving field
    product = services.create_product(
        artisan=artisan,
        fields=services.ProductInput(**product_params()),
        options=[
            services.OptionInput(
                kind=OptionKind.CHOICE,
                label="Glaze",
                required=True,
                choices=[
                    services.ChoiceInput("Sand", "0"),
                    services.ChoiceInput("Cobalt", "6.50"),
                ],
            ),
            services.OptionInput(kind=OptionKind.TEXT, label="Engraving", max_length=12),
        ],
    )
    glaze, engraving = product.options.all()
    cobalt = glaze.values.get(label="Cobalt")
    # When a buyer picks cobalt and an engraving
    priced = services.price_selection(
        product=product, selections={str(glaze.pk): str(cobalt.pk), str(engraving.pk): "Léa"}
    )
    # Then the price includes the delta and the piece counts as personalised
    assert priced.unit_price == Decimal("51.50")
    assert priced.personalised is True
    # And engraving longer than the limit is refused
    with pytest.raises(InvalidInput, match="at most 12"):
        services.price_selection(
            product=product,
            selections={str(glaze.pk): str(cobalt.pk), str(engraving.pk): "x" * 13},
        )
    # And a required choice cannot be skipped
    with pytest.raises(InvalidInput, match="Choose Glaze"):
        services.price_selection(product=product, selections={})


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (services.OptionInput(kind=OptionKind.CHOICE, label="Glaze"), "at least one choice"),
        (services.OptionInput(kind=OptionKind.TEXT, label="Engraving"), "maximum length"),
        (
            services.OptionInput(
                kind=OptionKind.CHOICE, label="Size", choices=[services.ChoiceInput("Tiny", "-45")]
            ),
            "zero or less",
        ),
    ],
)
def test_option_rules(artisan, shop, option, message):
    with pytest.raises(InvalidInput, match=message):
        services.create_product(
            artisan=artisan, fields=services.ProductInput(**product_params()), options=[option]
        )


def test_made_to_order_needs_lead_time(artisan, shop):
    with pytest.raises(InvalidInput, match="lead time"):
        services.create_product(
            artisan=artisan,
            fields=services.ProductInput(**product_params(stock_quantity=None, made_to_order=True)),
        )


def test_only_the_owner_edits_a_product(artisan, shop, buyer):
    product = services.create_product(
        artisan=artisan, fields=services.ProductInput(**product_params())
    )
    with pytest.raises(NotAllowed):
        services.update_product(
            artisan=buyer, product=product, fields=services.ProductInput(**product_params())
        )


def test_authenticity_claim_review_cycle(artisan, shop, admin_user):
    # Given a pending handmade claim / When an admin asks for changes
    assert shop.claim_status == ClaimStatus.PENDING
    reviewed = services.review_authenticity_claim(
        admin=admin_user, profile=shop, status=ClaimStatus.CHANGES_REQUESTED, note="Show process"
    )
    assert reviewed.claim_status == ClaimStatus.CHANGES_REQUESTED
    # When the artisan changes the declaration, the claim goes back to review
    updated = services.save_artisan_profile(
        user=artisan,
        shop_name="Casa Barro",
        handmade_declaration=HandmadeDeclaration.WITH_HELP,
        helpers_note="My cousin glazes.",
    )
    assert updated.claim_status == ClaimStatus.PENDING
    # And only admins may verify
    with pytest.raises(NotAllowed):
        services.review_authenticity_claim(admin=artisan, profile=shop, status=ClaimStatus.VERIFIED)


def test_product_input_round_trips_through_a_listing(artisan, shop):
    # Given a listed piece
    product = services.create_product(
        artisan=artisan,
        fields=services.ProductInput(
            **product_params(description="  Thrown on the wheel.  ", tags=" bowl ,, blue ")
        ),
    )
    # When its fields are read back as the studio form's initial values and saved unchanged
    fields = services.ProductInput.from_product(product)
    assert fields.as_initial()["tags"] == "bowl,blue"
    assert fields.description == "Thrown on the wheel."
    updated = services.update_product(artisan=artisan, product=product, fields=fields)
    # Then nothing changed, and a form's extra keys (the photo) are ignored
    assert services.ProductInput.from_product(updated) == fields
    from_form = services.ProductInput.from_mapping({**fields.as_initial(), "photo": None})
    assert from_form == fields
