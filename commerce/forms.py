"""HTML forms: they parse input; services validate the business rules."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from commerce.models import (
    Category,
    HandmadeDeclaration,
    OptionKind,
    Product,
    ProductionStageKind,
    ProductStatus,
    ShipmentStatus,
)
from commerce.money import CURRENCY_CHOICES
from commerce.services import OfferLineInput

OFFER_LINE_ROWS = 5


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
        for option in product.options.prefetch_related("values"):
            name = f"option_{option.pk}"
            if option.kind == OptionKind.CHOICE:
                choices = [("", "—")] if not option.required else []
                for value in option.values.all():
                    label = value.label
                    if value.price_delta:
                        sign = "+" if value.price_delta > 0 else "−"
                        label += f" ({sign}{abs(value.price_delta)} {product.currency})"
                    choices.append((str(value.pk), label))
                self.fields[name] = forms.ChoiceField(
                    label=option.label,
                    choices=choices,
                    required=option.required,
                    help_text=option.help_text,
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
    currency = forms.ChoiceField(label=_("Currency"), choices=CURRENCY_CHOICES)
    lead_time_days = forms.IntegerField(label=_("Ready in (days)"), min_value=0, max_value=365)
    valid_days = forms.IntegerField(
        label=_("Offer valid for (days)"), min_value=1, max_value=60, initial=7
    )
    deposit_percent = forms.IntegerField(
        label=_("Deposit (%)"), min_value=0, max_value=90, initial=0
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

    def __init__(self, *args: Any, signed: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for i in range(OFFER_LINE_ROWS):
            self.fields[f"line_{i}_description"] = forms.CharField(
                label=_("Item %(n)s") % {"n": i + 1}, max_length=200, required=i == 0
            )
            self.fields[f"line_{i}_quantity"] = forms.IntegerField(
                label=_("Qty"), min_value=1, max_value=1000, required=False, initial=1
            )
            self.fields[f"line_{i}_price"] = forms.DecimalField(
                label=_("Unit price"), decimal_places=2, max_digits=12, required=i == 0
            )

    def line_rows(self) -> list[tuple[Any, Any, Any]]:
        return [
            (self[f"line_{i}_description"], self[f"line_{i}_quantity"], self[f"line_{i}_price"])
            for i in range(OFFER_LINE_ROWS)
        ]

    def lines(self) -> list[OfferLineInput]:
        rows = []
        for i in range(OFFER_LINE_ROWS):
            description = self.cleaned_data.get(f"line_{i}_description")
            price = self.cleaned_data.get(f"line_{i}_price")
            if description and price is not None:
                rows.append(
                    OfferLineInput(
                        description=description,
                        unit_price=price,
                        quantity=self.cleaned_data.get(f"line_{i}_quantity") or 1,
                    )
                )
        return rows


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


class NoteForm(forms.Form):
    note = forms.CharField(
        label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
