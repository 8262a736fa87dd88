"""Pages for the buyer's address book and the artisan's shipping profile."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from commerce.errors import CommerceError
from commerce.forms import AddressForm, ShippingProfileForm
from commerce.models import ArtisanProfile, ShippingAddress, ShippingProfile, ShippingZone
from commerce.services import shipping
from core.decorators import seller_required


def form_error(form, error: CommerceError) -> None:
    """Show a service error next to the field it names (or above the form)."""
    field = getattr(error, "field", None)
    form.add_error(field if field in form.fields else None, error.message)


@login_required
def addresses(request: HttpRequest) -> HttpResponse:
    form = AddressForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            shipping.save_shipping_address(
                buyer=request.user,
                data=form.address_input(),
                make_default=bool(request.POST.get("is_default")),
            )
        except CommerceError as error:
            form_error(form, error)
        else:
            messages.success(request, _("Address saved."))
            return redirect("commerce:addresses")
    return render(
        request,
        "commerce/addresses.html",
        {
            "addresses": ShippingAddress.objects.filter(buyer=request.user),
            "form": form,
        },
    )


@login_required
def address_edit(request: HttpRequest, address_id: int) -> HttpResponse:
    address = get_object_or_404(ShippingAddress, pk=address_id, buyer=request.user)
    initial = {name: getattr(address, name) for name in shipping.ADDRESS_FIELDS}
    initial["country"] = address.country.code
    form = AddressForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            shipping.save_shipping_address(
                buyer=request.user,
                data=form.address_input(),
                address=address,
                make_default=bool(request.POST.get("is_default")),
            )
        except CommerceError as error:
            form_error(form, error)
        else:
            messages.success(request, _("Address saved."))
            return redirect("commerce:addresses")
    return render(request, "commerce/address_edit.html", {"address": address, "form": form})


@login_required
@require_POST
def address_delete(request: HttpRequest, address_id: int) -> HttpResponse:
    address = get_object_or_404(ShippingAddress, pk=address_id, buyer=request.user)
    shipping.delete_shipping_address(buyer=request.user, address=address)
    messages.success(request, _("Address removed."))
    return redirect("commerce:addresses")


@login_required
@require_POST
def address_default(request: HttpRequest, address_id: int) -> HttpResponse:
    address = get_object_or_404(ShippingAddress, pk=address_id, buyer=request.user)
    shipping.make_default_address(buyer=request.user, address=address)
    messages.success(request, _("Default address changed."))
    return redirect("commerce:addresses")


def _profile_initial(profile: ShippingProfile | None, shop: ArtisanProfile | None) -> dict:
    if profile is None:
        return {
            "processing_days": 2,
            "currency": "EUR",
            "domestic_price": None,
            "world_price": None,
        }
    initial = {
        "processing_days": profile.processing_days,
        "currency": profile.currency,
        "free_shipping_threshold": profile.free_shipping_threshold,
    }
    zone_index = 0
    for rate in profile.rates.all():
        if rate.zone == ShippingZone.ZONE:
            zone_index += 1
            if zone_index > 2:
                continue
            row = f"zone{zone_index}"
            initial[f"{row}_countries"] = ", ".join(rate.countries)
        else:
            row = rate.zone
        initial[f"{row}_price"] = rate.price
        initial[f"{row}_min"] = rate.transit_days_min
        initial[f"{row}_max"] = rate.transit_days_max
    return initial


@seller_required
def studio_shipping(request: HttpRequest) -> HttpResponse:
    shop = ArtisanProfile.objects.filter(user=request.user).first()
    if shop is None:
        messages.info(request, _("Set up your shop profile first."))
        return redirect("commerce:studio_profile")
    profile = ShippingProfile.objects.filter(shop=shop).prefetch_related("rates").first()
    form = ShippingProfileForm(request.POST or None, initial=_profile_initial(profile, shop))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            shipping.save_shipping_profile(
                artisan=request.user,
                processing_days=data["processing_days"],
                currency=data["currency"],
                free_shipping_threshold=data["free_shipping_threshold"],
                rates=form.rates(),
            )
        except CommerceError as error:
            form_error(form, error)
        else:
            messages.success(request, _("Shipping profile saved."))
            return redirect("commerce:studio_shipping")
    return render(
        request,
        "commerce/studio_shipping.html",
        {"form": form, "shop": shop, "profile": profile},
    )
