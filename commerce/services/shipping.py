"""Shipping: the buyer's address book, artisans' shipping profiles, quotes and the address
snapshotted onto an order at checkout.

Postal codes are checked per country with ``postal_codes_tools`` (countries it does not know
are accepted as typed); countries come from ``django-countries``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_countries import countries
from postal_codes_tools.postal_codes import verify_postal_code_format

from commerce.errors import InvalidInput, NotAllowed
from commerce.models import (
    ArtisanProfile,
    Order,
    OrderEventType,
    OrderStatus,
    ShippingAddress,
    ShippingProfile,
    ShippingRate,
    ShippingZone,
)
from commerce.money import normalise_currency, round_money, validate_price
from core.models import User

MAX_ADDRESSES = 20
ADDRESS_FIELDS = (
    "full_name",
    "line1",
    "line2",
    "city",
    "region",
    "postal_code",
    "country",
    "phone",
)


# --- Address book ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AddressInput:
    full_name: str
    line1: str
    city: str
    country: str
    line2: str = ""
    region: str = ""
    postal_code: str = ""
    phone: str = ""


def clean_address(data: AddressInput) -> dict[str, str]:
    """Validate an address for its country; returns the normalised fields or raises
    ``InvalidInput`` naming the field, with a message in the reader's language."""
    country = (data.country or "").strip().upper()
    if country not in dict(countries):
        raise InvalidInput(_("Choose a country from the list."), field="country")
    fields = {
        "full_name": (data.full_name or "").strip()[:120],
        "line1": (data.line1 or "").strip()[:200],
        "line2": (data.line2 or "").strip()[:200],
        "city": (data.city or "").strip()[:100],
        "region": (data.region or "").strip()[:100],
        "postal_code": " ".join((data.postal_code or "").upper().split())[:20],
        "country": country,
        "phone": (data.phone or "").strip()[:30],
    }
    if not fields["full_name"]:
        raise InvalidInput(
            _("Enter the name of the person receiving the parcel."), field="full_name"
        )
    if not fields["line1"]:
        raise InvalidInput(_("Enter the street address."), field="line1")
    if not fields["city"]:
        raise InvalidInput(_("Enter the city."), field="city")
    postal_code = fields["postal_code"]
    try:
        valid = verify_postal_code_format(postal_code, country)
    except KeyError:  # a country without a known postal format: accept what was typed
        valid = True
    if not valid:
        raise InvalidInput(
            _("“%(code)s” is not a valid postal code for %(country)s.")
            % {"code": postal_code, "country": countries.name(country)}
            if postal_code
            else _("Enter the postal code (required for %(country)s).")
            % {"country": countries.name(country)},
            field="postal_code",
        )
    if fields["phone"] and not all(ch.isdigit() or ch in "+-(). " for ch in fields["phone"]):
        raise InvalidInput(_("A phone number has digits, spaces and + only."), field="phone")
    return fields


@transaction.atomic
def save_shipping_address(
    *,
    buyer: User,
    data: AddressInput,
    address: ShippingAddress | None = None,
    make_default: bool = False,
) -> ShippingAddress:
    """Add (or edit) an address in the buyer's book. The first one becomes the default."""
    fields = clean_address(data)
    book = ShippingAddress.objects.select_for_update().filter(buyer=buyer)
    if address is None:
        if book.count() >= MAX_ADDRESSES:
            raise InvalidInput(_("You can keep up to %(n)s addresses.") % {"n": MAX_ADDRESSES})
        address = ShippingAddress(buyer=buyer)
    elif address.buyer_id != buyer.pk:
        raise NotAllowed(_("This is not your address."))
    for name, value in fields.items():
        setattr(address, name, value)
    has_default = book.filter(is_default=True).exclude(pk=address.pk).exists()
    if make_default or not has_default:
        book.filter(is_default=True).exclude(pk=address.pk).update(is_default=False)
        address.is_default = True
    address.save()
    return address


@transaction.atomic
def make_default_address(*, buyer: User, address: ShippingAddress) -> ShippingAddress:
    if address.buyer_id != buyer.pk:
        raise NotAllowed(_("This is not your address."))
    ShippingAddress.objects.filter(buyer=buyer, is_default=True).exclude(pk=address.pk).update(
        is_default=False
    )
    address.is_default = True
    address.save(update_fields=["is_default"])
    return address


@transaction.atomic
def delete_shipping_address(*, buyer: User, address: ShippingAddress) -> None:
    """Remove an address; orders keep their own snapshot. The newest other one becomes default."""
    if address.buyer_id != buyer.pk:
        raise NotAllowed(_("This is not your address."))
    was_default = address.is_default
    address.delete()
    if was_default:
        successor = ShippingAddress.objects.filter(buyer=buyer).order_by("-created_at").first()
        if successor is not None:
            successor.is_default = True
            successor.save(update_fields=["is_default"])


def default_address(user: User | None) -> ShippingAddress | None:
    if user is None or not user.is_authenticated:
        return None
    return ShippingAddress.objects.filter(buyer=user, is_default=True).first()


def address_snapshot(address: ShippingAddress | dict[str, Any]) -> dict[str, str]:
    """The structured fields frozen onto an order (country as its ISO code)."""
    if isinstance(address, dict):
        return {name: str(address.get(name) or "") for name in ADDRESS_FIELDS}
    snapshot = {name: str(getattr(address, name) or "") for name in ADDRESS_FIELDS}
    snapshot["country"] = address.country.code if address.country else ""
    return snapshot


def address_lines(snapshot: dict[str, Any] | None) -> list[str]:
    """Postal lines of a snapshot for display; the country name in the reader's language."""
    if not snapshot:
        return []
    locality = " ".join(p for p in (snapshot.get("postal_code"), snapshot.get("city")) if p)
    lines = [
        snapshot.get("full_name", ""),
        snapshot.get("line1", ""),
        snapshot.get("line2", ""),
        ", ".join(p for p in (locality, snapshot.get("region")) if p),
        str(countries.name(snapshot.get("country", ""))) if snapshot.get("country") else "",
    ]
    return [line for line in lines if line]


# --- Shipping profiles and quotes ---------------------------------------------------------------


@dataclass(frozen=True)
class RateInput:
    zone: str
    price: Decimal | str
    transit_days_min: int
    transit_days_max: int
    countries: Sequence[str] = ()


@dataclass(frozen=True)
class ShippingQuote:
    amount: Decimal
    currency: str
    arrives_from: dt.date
    arrives_to: dt.date
    zone: str = ""
    free: bool = False
    transit_days_min: int = 0
    transit_days_max: int = 0
    processing_days: int = 0


@transaction.atomic
def save_shipping_profile(
    *,
    artisan: User,
    processing_days: int,
    currency: str,
    rates: Sequence[RateInput],
    free_shipping_threshold: Decimal | str | None = None,
) -> ShippingProfile:
    """Replace the artisan's shipping profile and its rates."""
    shop = ArtisanProfile.objects.filter(user=artisan).first()
    if shop is None or not artisan.is_artisan:
        raise NotAllowed(_("Set up your shop profile first."))
    currency = normalise_currency(currency)
    if not 0 <= int(processing_days) <= 120:
        raise InvalidInput(_("Processing time is 0–120 days."), field="processing_days")
    threshold = None
    if free_shipping_threshold not in (None, ""):
        threshold = validate_price(
            free_shipping_threshold, currency, field="free_shipping_threshold"
        )
    cleaned: list[ShippingRate] = []
    seen_zones: set[str] = set()
    for index, rate in enumerate(rates):
        if rate.zone not in ShippingZone.values:
            raise InvalidInput(_("Unknown shipping zone."), field="rates")
        if rate.zone != ShippingZone.ZONE and rate.zone in seen_zones:
            raise InvalidInput(
                _("Each of domestic and rest of the world is set once."), field="rates"
            )
        seen_zones.add(rate.zone)
        codes = sorted({c.strip().upper() for c in rate.countries if c.strip()})
        unknown = [c for c in codes if c not in dict(countries)]
        if unknown:
            raise InvalidInput(
                _("Unknown country code: %(codes)s.") % {"codes": ", ".join(unknown)}, field="rates"
            )
        if rate.zone == ShippingZone.ZONE and not codes:
            raise InvalidInput(_("List the countries of this zone."), field="rates")
        price = Decimal(str(rate.price or "0"))
        if price < 0:
            raise InvalidInput(_("A shipping price cannot be negative."), field="rates")
        low, high = int(rate.transit_days_min), int(rate.transit_days_max)
        if not 0 <= low <= high <= 120:
            raise InvalidInput(
                _("Transit days: the minimum is at most the maximum (0–120)."), field="rates"
            )
        cleaned.append(
            ShippingRate(
                zone=rate.zone,
                countries=codes if rate.zone == ShippingZone.ZONE else [],
                price=round_money(price, currency),
                transit_days_min=low,
                transit_days_max=high,
                position=index,
            )
        )
    profile, _created = ShippingProfile.objects.update_or_create(
        shop=shop,
        defaults={
            "processing_days": int(processing_days),
            "currency": currency,
            "free_shipping_threshold": threshold,
        },
    )
    profile.rates.all().delete()
    for rate in cleaned:
        rate.profile = profile
    ShippingRate.objects.bulk_create(cleaned)
    return profile


def _rate_for(profile: ShippingProfile, *, origin: str, country: str) -> ShippingRate | None:
    rates = list(profile.rates.all())
    if country and country == origin:
        domestic = next((r for r in rates if r.zone == ShippingZone.DOMESTIC), None)
        if domestic:
            return domestic
    listed = next(
        (r for r in rates if r.zone == ShippingZone.ZONE and country in r.countries), None
    )
    return listed or next((r for r in rates if r.zone == ShippingZone.WORLD), None)


def quote_shipping(
    *,
    artisan: User,
    country: str,
    subtotal: Decimal,
    currency: str,
    lead_time_days: int = 0,
    today: dt.date | None = None,
    shop: ArtisanProfile | None = None,
) -> ShippingQuote | None:
    """Shipping cost and delivery window for a parcel from ``artisan`` to ``country``.

    Dates = today + making time (``lead_time_days``, made-to-order pieces) + the profile's
    processing time + the zone's transit days. Free when ``subtotal`` reaches the profile's
    threshold (same currency). ``None`` when the artisan does not ship there (no profile or
    no matching zone); an artisan without a profile ships for free in 3–10 days.

    A caller that already holds the artisan's ``shop`` (with ``shipping_profile`` and its
    ``rates`` loaded, as the product page does) passes it and saves those queries.
    """
    today = today or timezone.localdate()
    country = (country or "").upper()
    if shop is None:
        shop = ArtisanProfile.objects.filter(user=artisan).first()
        profile = (
            ShippingProfile.objects.filter(shop=shop).prefetch_related("rates").first()
            if shop
            else None
        )
    else:
        profile = getattr(shop, "shipping_profile", None)
    if profile is None:
        start = today + dt.timedelta(days=int(lead_time_days))
        return ShippingQuote(
            amount=Decimal("0"),
            currency=currency,
            arrives_from=start + dt.timedelta(days=3),
            arrives_to=start + dt.timedelta(days=10),
            free=True,
            transit_days_min=3,
            transit_days_max=10,
        )
    rate = _rate_for(profile, origin=shop_origin_country(shop), country=country)
    if rate is None:
        return None
    amount = rate.price
    free = amount == 0
    if (
        profile.free_shipping_threshold is not None
        and profile.currency == currency
        and subtotal >= profile.free_shipping_threshold
    ):
        amount, free = Decimal("0"), True
    if profile.currency != currency and amount:
        # Rates are set in the profile's currency; never convert silently.
        currency = profile.currency
    ready = today + dt.timedelta(days=int(lead_time_days) + profile.processing_days)
    return ShippingQuote(
        amount=round_money(amount, currency),
        currency=currency,
        arrives_from=ready + dt.timedelta(days=rate.transit_days_min),
        arrives_to=ready + dt.timedelta(days=rate.transit_days_max),
        zone=rate.zone,
        free=free,
        transit_days_min=rate.transit_days_min,
        transit_days_max=rate.transit_days_max,
        processing_days=profile.processing_days,
    )


def origin_country(artisan: User) -> str:
    return shop_origin_country(ArtisanProfile.objects.filter(user=artisan).first())


def shop_origin_country(shop: ArtisanProfile | None) -> str:
    """The country a shop ships from (upper-case ISO code; empty when unknown)."""
    return (shop.country or "").upper() if shop else ""


# --- Address at checkout ---------------------------------------------------------------------


@transaction.atomic
def set_order_shipping_address(
    *, buyer: User, order: Order, address: ShippingAddress | AddressInput
) -> Order:
    """Snapshot the destination onto an unpaid order (chosen from the book or typed).

    A typed address is validated and saved to the buyer's book. For shop orders the shipping
    line is re-quoted for the destination and the total follows; an offer's shipping was
    agreed with the artisan and stays. Refuses once a payment went through.
    """
    from commerce.services.orders import record_order_event

    order = Order.objects.select_for_update(of=("self",)).get(pk=order.pk)
    if order.buyer_id != buyer.pk:
        raise NotAllowed(_("This order belongs to someone else."))
    if order.status != OrderStatus.PENDING_PAYMENT or order.amount_paid > 0:
        raise InvalidInput(_("The address can no longer be changed on this order."))
    if isinstance(address, AddressInput):
        address = save_shipping_address(buyer=buyer, data=address)
    elif address.buyer_id != buyer.pk:
        raise NotAllowed(_("This is not your address."))
    snapshot = address_snapshot(address)
    update = ["shipping_address", "shipping_name", "updated_at"]
    order.shipping_address = snapshot
    order.shipping_name = snapshot["full_name"]
    spec = dict(order.spec_snapshot)
    if spec.get("source") == "product":
        subtotal = Decimal(spec.get("items_total") or spec.get("total") or order.total)
        quote = quote_shipping(
            artisan=order.artisan,
            country=snapshot["country"],
            subtotal=subtotal,
            currency=order.currency,
            lead_time_days=order.lead_time_days,
        )
        if quote is None:
            raise InvalidInput(
                _("This artisan does not ship to %(country)s.")
                % {"country": countries.name(snapshot["country"])},
                field="country",
            )
        if quote.currency != order.currency:
            raise InvalidInput(_("This artisan's shipping rates are in another currency."))
        order.shipping_amount = quote.amount
        order.total = subtotal + quote.amount
        from commerce.services.promos import reprice_discount

        reprice_discount(order)  # a promo code's amount, on the same items, stays right
        order.arrives_from, order.arrives_to = quote.arrives_from, quote.arrives_to
        spec["items_total"] = str(subtotal)
        spec["shipping"] = {"amount": str(quote.amount), "zone": quote.zone, "free": quote.free}
        spec["total"] = str(order.total)
        order.spec_snapshot = spec
        # A pending payment for another amount is simply not reused (start_checkout matches
        # on the amount due), so the buyer always pays the total shown.
        update += [
            "shipping_amount",
            "total",
            "discount_amount",
            "arrives_from",
            "arrives_to",
            "spec_snapshot",
        ]
    elif order.offer_id and order.due_date:
        offer = order.offer
        if offer.transit_days_max:
            order.arrives_from = order.due_date + dt.timedelta(days=offer.transit_days_min)
            order.arrives_to = order.due_date + dt.timedelta(days=offer.transit_days_max)
            update += ["arrives_from", "arrives_to"]
    order.save(update_fields=update)
    record_order_event(
        order=order,
        type=OrderEventType.SHIPMENT,
        actor=buyer,
        code="address_set",
        data={"country": snapshot["country"]},
    )
    return order
