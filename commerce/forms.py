"""HTML forms: they parse input; services validate the business rules."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import prefetch_related_objects
from django.forms import formset_factory
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from commerce.models import (
    Category,
    HandmadeDeclaration,
    OptionKind,
    Product,
    ProductionStageKind,
    ProductStatus,
    ShipmentStatus,
)
from commerce.money import CURRENCY_CHOICES, format_money
from commerce.services import OfferLineInput
from commerce.services.shipping import AddressInput, RateInput


class ShopFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    category = forms.ModelChoiceField(
        label=_("Category"),
        queryset=Category.objects.all(),
        required=False,
        to_field_name="slug",
        empty_label=_("All categories"),
    )
    region = forms.CharField(label=_("Region or country"), required=False, max_length=80)
    min_price = forms.DecimalField(
        label=_("Min price"), required=False, min_value=0, decimal_places=2
    )
    max_price = forms.DecimalField(
        label=_("Max price"), required=False, min_value=0, decimal_places=2
    )


class ProfileForm(forms.Form):
    shop_name = forms.CharField(label=_("Shop name"), max_length=80)
    tagline = forms.CharField(label=_("Tagline"), max_length=160, required=False)
    story = forms.CharField(label=_("Your story"), widget=forms.Textarea, required=False)
    process = forms.CharField(
        label=_("How you make your pieces"), widget=forms.Textarea, required=False
    )
    region = forms.CharField(label=_("Region"), max_length=80, required=False)
    country = forms.CharField(label=_("Country code"), max_length=2, required=False)
    languages = forms.CharField(
        label=_("Languages you speak"), required=False, help_text=_("Comma-separated codes: es, en")
    )
    materials = forms.CharField(label=_("Materials"), max_length=300, required=False)
    handmade_declaration = forms.ChoiceField(
        label=_("How are your pieces made?"),
        choices=HandmadeDeclaration.choices,
        widget=forms.RadioSelect,
    )
    helpers_note = forms.CharField(
        label=_("Who helps / which workshop"), max_length=300, required=False
    )
    process_photo = forms.ImageField(label=_("Add a process photo"), required=False)


class ProductForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=120)
    description = forms.CharField(label=_("Description"), widget=forms.Textarea, required=False)
    price = forms.DecimalField(label=_("Price"), max_digits=12, decimal_places=2)
    currency = forms.ChoiceField(label=_("Currency"), choices=CURRENCY_CHOICES)
    made_to_order = forms.BooleanField(label=_("Made to order"), required=False)
    stock_quantity = forms.IntegerField(label=_("In stock"), required=False, min_value=0)
    lead_time_days = forms.IntegerField(
        label=_("Lead time (days)"), min_value=0, max_value=365, initial=0
    )
    category = forms.ModelChoiceField(
        label=_("Category"), queryset=Category.objects.all(), required=False
    )
    tags = forms.CharField(label=_("Tags"), required=False, help_text=_("Comma-separated"))
    status = forms.ChoiceField(label=_("Visibility"), choices=ProductStatus.choices)
    photo = forms.ImageField(label=_("Add a photo"), required=False)
    photo_alt = forms.CharField(
        label=_("Photo description (for screen readers)"), required=False, max_length=200
    )


class CustomRequestForm(forms.Form):
    description = forms.CharField(
        label=_("What would you like made?"), widget=forms.Textarea, min_length=10, max_length=4000
    )
    budget = forms.DecimalField(
        label=_("Budget (optional)"), required=False, decimal_places=2, min_value=Decimal("0.01")
    )
    budget_currency = forms.ChoiceField(
        label=_("Currency"), choices=CURRENCY_CHOICES, initial="EUR"
    )
    deadline = forms.DateField(
        label=_("Needed by (optional)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    image = forms.ImageField(label=_("Reference image (optional)"), required=False)


class BuyForm(forms.Form):
    """Built from a product's customization options."""

    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=20, initial=1)

    def __init__(self, *args: Any, product: Product, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.product = product
        # The view may have prefetched options and values already; this loads only what is missing.
        prefetch_related_objects([product], "options__values")
        for option in product.options.all():
            name = f"option_{option.pk}"
            if option.kind == OptionKind.CHOICE:
                choices = [("", "—")] if not option.required else []
                deltas = {}
                for value in option.values.all():
                    label = value.label
                    if value.price_delta:
                        sign = "+" if value.price_delta > 0 else "−"
                        amount = format_money(abs(value.price_delta), product.currency)
                        label += f" ({sign}{amount})"
                        deltas[str(value.pk)] = str(value.price_delta)
                    choices.append((str(value.pk), label))
                # product.js adds these to the displayed price as the buyer picks.
                self.fields[name] = forms.ChoiceField(
                    label=option.label,
                    choices=choices,
                    required=option.required,
                    help_text=option.help_text,
                    widget=forms.Select(attrs={"data-price-deltas": json.dumps(deltas)}),
                )
            else:
                self.fields[name] = forms.CharField(
                    label=option.label,
                    required=option.required,
                    max_length=option.max_length,
                    help_text=option.help_text
                    or _("Up to %(n)s characters") % {"n": option.max_length},
                )

    def selections(self) -> dict[str, str]:
        return {
            name.removeprefix("option_"): str(value or "")
            for name, value in self.cleaned_data.items()
            if name.startswith("option_")
        }


class OfferForm(forms.Form):
    """The offer's terms; its lines come from ``OfferLineFormSet`` (prefix ``line``)."""

    currency = forms.ChoiceField(label=_("Currency"), choices=CURRENCY_CHOICES)
    lead_time_days = forms.IntegerField(label=_("Ready in (days)"), min_value=0, max_value=365)
    shipping_amount = forms.DecimalField(
        label=_("Shipping"),
        min_value=0,
        decimal_places=2,
        max_digits=12,
        initial=0,
        required=False,
    )
    transit_days_min = forms.IntegerField(
        label=_("Transit: at least (days)"), min_value=0, max_value=120, initial=0, required=False
    )
    transit_days_max = forms.IntegerField(
        label=_("Transit: at most (days)"), min_value=0, max_value=120, initial=0, required=False
    )
    deposit_percent = forms.IntegerField(
        label=_("Deposit (%)"), min_value=0, max_value=90, initial=0
    )
    valid_days = forms.IntegerField(
        label=_("Offer valid for (days)"), min_value=1, max_value=60, initial=7
    )
    revision_rounds_included = forms.IntegerField(
        label=_("Revision rounds included"), min_value=0, max_value=10, initial=1
    )
    personalised = forms.BooleanField(
        label=_("Personalised piece (no 14-day withdrawal right)"), required=False
    )
    note = forms.CharField(
        label=_("Note to the buyer"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for name in ("shipping_amount", "transit_days_min", "transit_days_max"):
            if data.get(name) is None and name not in self.errors:
                data[name] = 0
        low, high = data.get("transit_days_min"), data.get("transit_days_max")
        if low is not None and high is not None and low > high:
            self.add_error("transit_days_max", _("At most must be at least the minimum."))
        return data


class OfferLineForm(forms.Form):
    description = forms.CharField(label=_("Item"), max_length=200)
    quantity = forms.IntegerField(label=_("Qty"), min_value=1, max_value=1000, initial=1)
    unit_price = forms.DecimalField(label=_("Unit price"), decimal_places=2, max_digits=12)


OfferLineFormSet = formset_factory(
    OfferLineForm, extra=0, min_num=1, validate_min=True, max_num=30, validate_max=True
)


def offer_lines(formset: Any) -> list[OfferLineInput]:
    return [
        OfferLineInput(
            description=form.cleaned_data["description"],
            unit_price=form.cleaned_data["unit_price"],
            quantity=form.cleaned_data.get("quantity") or 1,
        )
        for form in formset.forms
        if form.cleaned_data and not form.cleaned_data.get("DELETE")
    ]


class ChangeOrderForm(forms.Form):
    description = forms.CharField(label=_("What changes"), max_length=200)
    price_delta = forms.DecimalField(
        label=_("Price change"),
        decimal_places=2,
        max_digits=12,
        initial=0,
        help_text=_("Negative for a reduction"),
    )
    extra_days = forms.IntegerField(label=_("Extra days"), min_value=0, max_value=365, initial=0)
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class ProductionUpdateForm(forms.Form):
    stage = forms.ChoiceField(label=_("Stage"), choices=ProductionStageKind.choices)
    note = forms.CharField(
        label=_("Note for the buyer"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    photo = forms.ImageField(label=_("Photo (optional)"), required=False)


class ProofForm(forms.Form):
    image = forms.ImageField(label=_("Proof image"))
    note = forms.CharField(label=_("Note"), required=False, max_length=2000)


class ShipForm(forms.Form):
    carrier = forms.CharField(label=_("Carrier"), max_length=80)
    tracking_number = forms.CharField(label=_("Tracking number"), max_length=80)
    tracking_url = forms.URLField(
        label=_("Tracking link (optional)"), required=False, assume_scheme="https"
    )


class ShipmentUpdateForm(forms.Form):
    status = forms.ChoiceField(
        label=_("New status"),
        choices=[c for c in ShipmentStatus.choices if c[0] != ShipmentStatus.CREATED],
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=300)


class PayoutForm(forms.Form):
    amount = forms.DecimalField(label=_("Amount"), decimal_places=2, max_digits=12)
    currency = forms.ChoiceField(label=_("Currency"), choices=CURRENCY_CHOICES)


def country_choices() -> list[tuple[str, str]]:
    """Countries by name in the reader's language (django-countries sorts them)."""
    return [("", "—"), *((code, name) for code, name in countries)]


class AddressForm(forms.Form):
    full_name = forms.CharField(label=_("Full name"), max_length=120)
    line1 = forms.CharField(label=_("Address"), max_length=200)
    line2 = forms.CharField(label=_("Address line 2"), max_length=200, required=False)
    postal_code = forms.CharField(label=_("Postal code"), max_length=20, required=False)
    city = forms.CharField(label=_("City"), max_length=100)
    region = forms.CharField(label=_("State, province or region"), max_length=100, required=False)
    country = forms.ChoiceField(label=_("Country"), choices=country_choices)
    phone = forms.CharField(label=_("Phone (for the carrier)"), max_length=30, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        autocomplete = {
            "full_name": "name",
            "line1": "address-line1",
            "line2": "address-line2",
            "postal_code": "postal-code",
            "city": "address-level2",
            "region": "address-level1",
            "country": "country",
            "phone": "tel",
        }
        for name, token in autocomplete.items():
            self.fields[name].widget.attrs["autocomplete"] = token

    def address_input(self) -> AddressInput:
        data = self.cleaned_data
        return AddressInput(
            full_name=data["full_name"],
            line1=data["line1"],
            line2=data.get("line2", ""),
            city=data["city"],
            region=data.get("region", ""),
            postal_code=data.get("postal_code", ""),
            country=data["country"],
            phone=data.get("phone", ""),
        )


ZONE_ROWS = ("domestic", "zone1", "zone2", "world")


class ShippingProfileForm(forms.Form):
    """Processing time, free-shipping threshold and up to four destination zones."""

    processing_days = forms.IntegerField(
        label=_("Processing time (days)"),
        min_value=0,
        max_value=120,
        initial=2,
        help_text=_("Days to pack and hand over a piece that is ready."),
    )
    currency = forms.ChoiceField(label=_("Currency"), choices=CURRENCY_CHOICES)
    free_shipping_threshold = forms.DecimalField(
        label=_("Free shipping from (order subtotal)"),
        required=False,
        min_value=0,
        decimal_places=2,
        max_digits=12,
        help_text=_("Leave empty for no free shipping."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for row in ZONE_ROWS:
            if row.startswith("zone"):
                self.fields[f"{row}_countries"] = forms.CharField(
                    label=_("Countries (ISO codes)"),
                    required=False,
                    help_text=_("Comma-separated, e.g. FR, DE, ES"),
                )
            self.fields[f"{row}_price"] = forms.DecimalField(
                label=_("Price"), required=False, min_value=0, decimal_places=2, max_digits=12
            )
            self.fields[f"{row}_min"] = forms.IntegerField(
                label=_("Transit: at least (days)"), required=False, min_value=0, max_value=120
            )
            self.fields[f"{row}_max"] = forms.IntegerField(
                label=_("Transit: at most (days)"), required=False, min_value=0, max_value=120
            )

    def zone_rows(self) -> list[dict[str, Any]]:
        titles = {
            "domestic": _("Domestic (your shop's country)"),
            "zone1": _("Zone 1"),
            "zone2": _("Zone 2"),
            "world": _("Rest of the world"),
        }
        return [
            {
                "key": row,
                "title": titles[row],
                "fields": [
                    self[name]
                    for name in (f"{row}_countries", f"{row}_price", f"{row}_min", f"{row}_max")
                    if name in self.fields
                ],
            }
            for row in ZONE_ROWS
        ]

    def rates(self) -> list[RateInput]:
        data, rates = self.cleaned_data, []
        for row in ZONE_ROWS:
            price = data.get(f"{row}_price")
            if price is None:
                continue  # not shipped there
            codes = (data.get(f"{row}_countries") or "").replace(";", ",").split(",")
            low = data.get(f"{row}_min") or 0
            rates.append(
                RateInput(
                    zone="zone" if row.startswith("zone") else row,
                    price=price,
                    transit_days_min=low,
                    transit_days_max=data.get(f"{row}_max") or low,
                    countries=tuple(c for c in codes if c.strip()),
                )
            )
        return rates


class CampaignForm(forms.Form):
    """A campaign draft; the service validates again (and is the only writer)."""

    title = forms.CharField(
        label=_("Campaign name"),
        max_length=120,
        help_text=_("For you and your audience: it is the subject line."),
    )
    body = forms.CharField(
        label=_("Message"),
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=2000,
        help_text=_(
            "Write it once in your language: each person reads it in theirs where a "
            "translation is available, with your original one tap away."
        ),
    )
    segment = forms.ChoiceField(label=_("Who gets it"), choices=())
    within_days = forms.IntegerField(
        label=_("Wrote to you within the last … days"),
        min_value=1,
        max_value=365,
        required=False,
        help_text=_("Only for “People who wrote to you but did not order”."),
    )
    product = forms.ChoiceField(label=_("Piece to feature"), required=False, choices=())
    image = forms.ImageField(
        label=_("Picture (optional)"),
        required=False,
        help_text=_("JPEG, PNG or WebP. Shown above your message on every channel."),
    )
    image_alt = forms.CharField(
        label=_("Picture description (for screen readers)"),
        max_length=200,
        required=False,
        help_text=_("Needed with a picture, e.g. “Six cobalt bowls cooling on a shelf”."),
    )
    remove_image = forms.BooleanField(label=_("Remove the current picture"), required=False)
    promo_code = forms.ChoiceField(
        label=_("Promo code to offer"),
        required=False,
        choices=(),
        help_text=_("Shown in the message and filled in at checkout after a click."),
    )
    channels = forms.MultipleChoiceField(
        label=_("Channels"),
        widget=forms.CheckboxSelectMultiple,
        choices=(),
        help_text=_("Only people who agreed to news on a channel get it there."),
    )
    body_b = forms.CharField(
        label=_("Version B of the message (optional)"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=2000,
        required=False,
        help_text=_(
            "Write a second version to test which one people prefer: part of the audience "
            "gets one version or the other, then everyone else gets the one more people "
            "clicked."
        ),
    )
    ab_sample_percent = forms.IntegerField(
        label=_("Test on this share of the audience (%)"),
        min_value=10,
        max_value=100,
        initial=20,
        required=False,
        help_text=_(
            "Half of them get A, half B. At 100, everyone gets one or the other, with no winner step."
        ),
    )
    ab_wait_hours = forms.IntegerField(
        label=_("Pick the winner after (hours)"),
        min_value=1,
        max_value=72,
        initial=4,
        required=False,
        help_text=_("You can also pick it yourself earlier, on the campaign's page."),
    )

    def __init__(
        self,
        *args: Any,
        shop: Any,
        channels: list[tuple[str, str]],
        has_image: bool = False,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        from commerce.models import Product, Segment

        if has_image:
            self.fields["image"].label = _("Replace the picture")
        else:
            del self.fields["remove_image"]

        self.fields["segment"].choices = Segment.choices
        self.fields["channels"].choices = channels
        self.fields["product"].choices = [("", _("No piece"))] + [
            (str(p.pk), p.title) for p in Product.objects.filter(shop=shop).order_by("title")
        ]
        from commerce.models import PromoCode

        self.fields["promo_code"].choices = [("", _("No code"))] + [
            (str(c.pk), c.code) for c in PromoCode.objects.filter(shop=shop, is_active=True)
        ]


class ScheduleForm(forms.Form):
    when = forms.DateTimeField(
        label=_("Send on"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M"],
        help_text=_("In your time zone."),
    )


class PromoCodeForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=32, help_text=_("e.g. WINTER10"))
    kind = forms.ChoiceField(label=_("Discount"), choices=())
    value = forms.DecimalField(
        label=_("Amount or percentage"), max_digits=12, decimal_places=2, min_value=Decimal("0.01")
    )
    currency = forms.ChoiceField(
        label=_("Currency (fixed amounts)"), choices=CURRENCY_CHOICES, initial="EUR"
    )
    ends_at = forms.DateTimeField(
        label=_("Ends on"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M"],
        help_text=_("In your time zone; empty: no end."),
    )
    max_uses = forms.IntegerField(
        label=_("Uses in all"), required=False, min_value=1, help_text=_("Empty: no limit.")
    )
    max_uses_per_buyer = forms.IntegerField(
        label=_("Uses per buyer"), min_value=1, max_value=100, initial=1
    )
    min_order = forms.DecimalField(
        label=_("Minimum order (before shipping)"),
        required=False,
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0"),
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        from commerce.models import PromoKind

        self.fields["kind"].choices = PromoKind.choices
