"""Shops and listings: artisan profiles, products, customization options, authenticity review."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from decimal import Decimal
from typing import Any

from django.core.files.base import File
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from commerce.errors import InvalidInput, NotAllowed
from commerce.models import (
    ArtisanProfile,
    Category,
    ChoiceValue,
    ClaimStatus,
    CustomizationOption,
    HandmadeDeclaration,
    OptionKind,
    ProcessPhoto,
    Product,
    ProductPhoto,
    ProductStatus,
)
from commerce.money import normalise_currency, validate_delta, validate_price
from commerce.services.photos import clean_photo
from commerce.translation import request_listing_translation
from core.models import User

MAX_TEXT_OPTION_LENGTH = 500
MAX_PHOTOS = 12


@dataclass(frozen=True)
class ChoiceInput:
    label: str
    price_delta: Decimal | str = "0"


@dataclass(frozen=True)
class OptionInput:
    kind: str
    label: str
    required: bool = False
    max_length: int | None = None
    help_text: str = ""
    choices: Sequence[ChoiceInput] = field(default_factory=tuple)


def _unique_slug(base: str, taken: Any, *, max_length: int = 80) -> str:
    root = (slugify(base) or "item")[:max_length]
    slug, n = root, 2
    while taken(slug):
        slug = f"{root[: max_length - 4]}-{n}"
        n += 1
    return slug


def _require_artisan(user: User) -> None:
    if not user.is_artisan:
        raise NotAllowed(_("Only artisans have a shop."))


@transaction.atomic
def save_artisan_profile(
    *,
    user: User,
    shop_name: str,
    story: str = "",
    process: str = "",
    tagline: str = "",
    region: str = "",
    country: str = "",
    languages: Sequence[str] = (),
    materials: str = "",
    handmade_declaration: str = HandmadeDeclaration.BY_ME,
    helpers_note: str = "",
) -> ArtisanProfile:
    """Create or update the artisan's shop. A changed declaration goes back to review."""
    _require_artisan(user)
    shop_name = (shop_name or "").strip()
    if not shop_name:
        raise InvalidInput(_("Give your shop a name."), field="shop_name")
    if len(shop_name) > 80:
        raise InvalidInput(_("Shop names have at most 80 characters."), field="shop_name")
    if handmade_declaration not in HandmadeDeclaration.values:
        raise InvalidInput(_("Choose how your pieces are made."), field="handmade_declaration")
    if handmade_declaration != HandmadeDeclaration.BY_ME and not helpers_note.strip():
        raise InvalidInput(
            _("Say who helps you or which workshop makes your designs."), field="helpers_note"
        )
    country = (country or "").strip().upper()
    if country and (len(country) != 2 or not country.isalpha()):
        raise InvalidInput(_("Use a two-letter country code, e.g. MX."), field="country")
    languages = [code.strip().lower()[:8] for code in languages if code and code.strip()][:10]
    profile = ArtisanProfile.objects.select_for_update(of=("self",)).filter(user=user).first()
    fields = {
        "shop_name": shop_name,
        "story": story.strip(),
        "process": process.strip(),
        "tagline": tagline.strip()[:160],
        "region": region.strip()[:80],
        "country": country,
        "languages": languages,
        "materials": materials.strip()[:300],
        "helpers_note": helpers_note.strip()[:300],
    }
    if profile is None:
        slug = _unique_slug(shop_name, lambda s: ArtisanProfile.objects.filter(slug=s).exists())
        profile = ArtisanProfile.objects.create(
            user=user, slug=slug, handmade_declaration=handmade_declaration, **fields
        )
        request_listing_translation(profile)
        return profile
    if profile.handmade_declaration != handmade_declaration:
        # A new claim is a new thing to verify.
        profile.handmade_declaration = handmade_declaration
        profile.claim_status = ClaimStatus.PENDING
        profile.claim_reviewed_at = None
    for name, value in fields.items():
        setattr(profile, name, value)
    profile.save()
    request_listing_translation(profile)
    return profile


@transaction.atomic
def review_authenticity_claim(
    *, admin: User, profile: ArtisanProfile, status: str, note: str = ""
) -> ArtisanProfile:
    """An admin verifies a handmade claim or asks for changes (with a note the artisan sees)."""
    if not admin.is_platform_admin:
        raise NotAllowed(_("Only admins review authenticity claims."))
    if status not in (ClaimStatus.VERIFIED, ClaimStatus.CHANGES_REQUESTED):
        raise InvalidInput(_("Verify the claim or ask for changes."), field="status")
    if status == ClaimStatus.CHANGES_REQUESTED and not note.strip():
        raise InvalidInput(_("Tell the artisan what to change."), field="note")
    profile = ArtisanProfile.objects.select_for_update(of=("self",)).get(pk=profile.pk)
    profile.claim_status = status
    profile.claim_review_note = note.strip()
    profile.claim_reviewed_at = timezone.now()
    profile.claim_reviewed_by = admin
    profile.save()
    return profile


@transaction.atomic
def add_process_photo(
    *, artisan: User, profile: ArtisanProfile, image: File, caption: str = ""
) -> ProcessPhoto:
    if profile.user_id != artisan.pk:
        raise NotAllowed(_("This is not your shop."))
    if profile.photos.count() >= MAX_PHOTOS:
        raise InvalidInput(
            _("At most %(count)s process photos.") % {"count": MAX_PHOTOS}, field="image"
        )
    image = clean_photo(image, field="image")
    return ProcessPhoto.objects.create(
        profile=profile, image=image, caption=caption.strip()[:200], position=profile.photos.count()
    )


@dataclass(frozen=True, kw_only=True)
class ProductInput:
    """The fields an artisan writes on a listing: the one list the studio form, the demo
    seed and the services share (``create_product``/``update_product`` validate it)."""

    title: str
    price: Any
    currency: str
    description: str = ""
    stock_quantity: int | None = None
    made_to_order: bool = False
    lead_time_days: int = 0
    category: Category | None = None
    tags: str = ""
    status: str = ProductStatus.ACTIVE

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclass_fields(cls))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> ProductInput:
        """From e.g. a form's ``cleaned_data``: the product fields, other keys ignored."""
        return cls(**{name: data[name] for name in cls.field_names() if name in data})

    @classmethod
    def from_product(cls, product: Product) -> ProductInput:
        return cls(**{name: getattr(product, name) for name in cls.field_names()})

    def as_initial(self) -> dict[str, Any]:
        """The values as a form's ``initial`` (model instances kept as they are)."""
        return {name: getattr(self, name) for name in self.field_names()}


def _clean_product_fields(fields: ProductInput) -> dict[str, Any]:
    """Validate ``fields`` and return the model values they set."""
    if fields.status not in ProductStatus.values:
        raise InvalidInput(_("Unknown listing status."), field="status")
    title = (fields.title or "").strip()
    if not title:
        raise InvalidInput(_("Give the piece a title."), field="title")
    currency = normalise_currency(fields.currency)
    price = validate_price(fields.price, currency)
    stock_quantity, made_to_order = fields.stock_quantity, fields.made_to_order
    if stock_quantity is not None and stock_quantity < 0:
        raise InvalidInput(_("Stock cannot be negative."), field="stock_quantity")
    if not made_to_order and stock_quantity is None:
        raise InvalidInput(
            _("Give a stock quantity or mark the piece made to order."), field="stock_quantity"
        )
    lead_time_days = int(fields.lead_time_days)
    if not 0 <= lead_time_days <= 365:
        raise InvalidInput(_("Lead time is between 0 and 365 days."), field="lead_time_days")
    if made_to_order and lead_time_days == 0:
        raise InvalidInput(_("Made-to-order pieces need a lead time."), field="lead_time_days")
    return {
        "title": title[:120],
        "price": price,
        "currency": currency,
        "description": (fields.description or "").strip(),
        "stock_quantity": None if made_to_order else stock_quantity,
        "made_to_order": made_to_order,
        "lead_time_days": lead_time_days,
        "category": fields.category,
        "tags": ",".join(t.strip() for t in (fields.tags or "").split(",") if t.strip())[:200],
        "status": fields.status,
    }


@transaction.atomic
def create_product(
    *, artisan: User, fields: ProductInput, options: Sequence[OptionInput] = ()
) -> Product:
    """List a piece in the artisan's shop. Price must be positive in a supported currency."""
    shop = ArtisanProfile.objects.filter(user=artisan).first()
    if shop is None:
        raise InvalidInput(_("Create your shop profile before listing pieces."))
    cleaned = _clean_product_fields(fields)
    slug = _unique_slug(
        cleaned["title"], lambda s: Product.objects.filter(shop=shop, slug=s).exists()
    )
    product = Product.objects.create(shop=shop, slug=slug, **cleaned)
    set_product_options(artisan=artisan, product=product, options=options)
    request_listing_translation(product)
    return product


@transaction.atomic
def update_product(*, artisan: User, product: Product, fields: ProductInput) -> Product:
    """Change a listing's fields (its options change through ``set_product_options``)."""
    product = (
        Product.objects.select_for_update(of=("self",)).select_related("shop").get(pk=product.pk)
    )
    if product.shop.user_id != artisan.pk:
        raise NotAllowed(_("This is not your piece."))
    for name, value in _clean_product_fields(fields).items():
        setattr(product, name, value)
    product.save()
    _check_option_prices(product)
    request_listing_translation(product)
    return product


def _check_option_prices(product: Product) -> None:
    for option in product.options.filter(kind=OptionKind.CHOICE).prefetch_related("values"):
        cheapest = min((v.price_delta for v in option.values.all()), default=Decimal("0"))
        if product.price + cheapest <= 0:
            raise InvalidInput(
                _("With option “%(option)s” the price would be zero or less.")
                % {"option": option.label},
                field="options",
            )


@transaction.atomic
def set_product_options(
    *, artisan: User, product: Product, options: Sequence[OptionInput]
) -> list[CustomizationOption]:
    """Replace a product's customization options (orders keep their own snapshot)."""
    if product.shop.user_id != artisan.pk:
        raise NotAllowed(_("This is not your piece."))
    labels: set[str] = set()
    for option in options:
        label = option.label.strip()
        if not label:
            raise InvalidInput(_("Every option needs a label."), field="options")
        if label.lower() in labels:
            raise InvalidInput(
                _("Option “%(option)s” appears twice.") % {"option": label}, field="options"
            )
        labels.add(label.lower())
        if option.kind == OptionKind.CHOICE:
            if not option.choices:
                raise InvalidInput(
                    _("Option “%(option)s” needs at least one choice.") % {"option": label},
                    field="options",
                )
            if option.max_length is not None:
                raise InvalidInput(
                    _("Only free-text options have a maximum length."), field="options"
                )
            seen: set[str] = set()
            for choice in option.choices:
                if not choice.label.strip():
                    raise InvalidInput(
                        _("A choice of “%(option)s” has no label.") % {"option": label},
                        field="options",
                    )
                if choice.label.strip().lower() in seen:
                    raise InvalidInput(
                        _("Choice “%(choice)s” appears twice.") % {"choice": choice.label},
                        field="options",
                    )
                seen.add(choice.label.strip().lower())
                delta = validate_delta(choice.price_delta, product.currency)
                if product.price + delta <= 0:
                    raise InvalidInput(
                        _("Choice “%(choice)s” would make the price zero or less.")
                        % {"choice": choice.label},
                        field="options",
                    )
        elif option.kind == OptionKind.TEXT:
            if option.choices:
                raise InvalidInput(_("Free-text options have no choices."), field="options")
            if not option.max_length or not 1 <= option.max_length <= MAX_TEXT_OPTION_LENGTH:
                raise InvalidInput(
                    _("Free-text option “%(option)s” needs a maximum length of 1–%(limit)s.")
                    % {"option": label, "limit": MAX_TEXT_OPTION_LENGTH},
                    field="options",
                )
        else:
            raise InvalidInput(_("Options are a choice or free text."), field="options")
    product.options.all().delete()
    created = []
    for position, option in enumerate(options):
        row = CustomizationOption.objects.create(
            product=product,
            kind=option.kind,
            label=option.label.strip()[:80],
            required=option.required,
            max_length=option.max_length if option.kind == OptionKind.TEXT else None,
            help_text=option.help_text.strip()[:200],
            position=position,
        )
        for index, choice in enumerate(option.choices):
            ChoiceValue.objects.create(
                option=row,
                label=choice.label.strip()[:80],
                price_delta=validate_delta(choice.price_delta, product.currency),
                position=index,
            )
        created.append(row)
    return created


@transaction.atomic
def add_product_photo(
    *, artisan: User, product: Product, image: File, alt_text: str = ""
) -> ProductPhoto:
    if product.shop.user_id != artisan.pk:
        raise NotAllowed(_("This is not your piece."))
    count = product.photos.count()
    if count >= MAX_PHOTOS:
        raise InvalidInput(
            _("At most %(count)s photos per piece.") % {"count": MAX_PHOTOS}, field="image"
        )
    image = clean_photo(image, field="image")
    return ProductPhoto.objects.create(
        product=product, image=image, alt_text=alt_text.strip()[:200], position=count
    )


@dataclass(frozen=True)
class PricedSelection:
    """A buyer's option choices, validated and priced (frozen into the order snapshot)."""

    unit_price: Decimal
    lines: list[dict[str, Any]]
    personalised: bool


def price_selection(*, product: Product, selections: dict[str, str]) -> PricedSelection:
    """Validate ``{str(option_id): value}`` against the product's options and price it.

    Choice values are ChoiceValue ids; free text is checked against max_length. Any
    free-text personalisation makes the piece personalised (withdrawal exemption).
    """
    unit_price = product.price
    lines: list[dict[str, Any]] = []
    personalised = False
    for option in product.options.prefetch_related("values"):
        raw = (selections.get(str(option.pk)) or "").strip()
        if not raw:
            if option.required:
                raise InvalidInput(
                    _("Choose %(option)s.") % {"option": option.label}, field=f"option_{option.pk}"
                )
            continue
        if option.kind == OptionKind.CHOICE:
            value = next((v for v in option.values.all() if str(v.pk) == raw), None)
            if value is None:
                raise InvalidInput(
                    _("Unknown choice for %(option)s.") % {"option": option.label},
                    field=f"option_{option.pk}",
                )
            unit_price += value.price_delta
            lines.append(
                {
                    "option": option.label,
                    "value": value.label,
                    "price_delta": str(value.price_delta),
                }
            )
        else:
            if option.max_length and len(raw) > option.max_length:
                raise InvalidInput(
                    _("%(option)s: at most %(count)s characters.")
                    % {"option": option.label, "count": option.max_length},
                    field=f"option_{option.pk}",
                )
            personalised = True
            lines.append({"option": option.label, "value": raw, "price_delta": "0"})
    if unit_price <= 0:
        raise InvalidInput(_("This combination has no valid price."))
    return PricedSelection(unit_price=unit_price, lines=lines, personalised=personalised)
