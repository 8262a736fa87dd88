"""Commerce records: shops, listings, custom requests, offers, orders, money and parcels.

Rules that shape these tables (see docs/commerce.md):
- Agreed terms live only in ``Offer``/``OfferLine`` rows and the order's frozen
  ``spec_snapshot``; chat text never carries terms, so editing a message changes nothing.
- Status machines (offers, payments, orders, shipments, payouts) change only through their
  service transition functions; offers, payments, orders and shipments also write a history
  row (``OfferEvent``, ``PaymentEvent``, ``OrderEvent``, ``ShipmentEvent``) in the same
  transaction.
- ``LedgerEntry`` is append-only; an artisan's balance is the sum of their entries.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

from commerce.money import CURRENCY_CHOICES, format_money
from core.crypto import EncryptedCharField, EncryptedJSONField, EncryptedTextField

MONEY = {"max_digits": 12, "decimal_places": 2}


def _upload_to(folder: str, filename: str) -> str:
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "jpg"
    extension = extension if extension in {"jpg", "jpeg", "png", "webp", "gif"} else "jpg"
    return f"commerce/{folder}/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.{extension}"


# Uploads get random names (no personal file names kept); module-level for migrations.
def process_photo_path(instance: models.Model, filename: str) -> str:
    return _upload_to("process", filename)


def product_photo_path(instance: models.Model, filename: str) -> str:
    return _upload_to("products", filename)


def request_image_path(instance: models.Model, filename: str) -> str:
    return _upload_to("requests", filename)


def stage_photo_path(instance: models.Model, filename: str) -> str:
    return _upload_to("stages", filename)


def review_photo_path(instance: models.Model, filename: str) -> str:
    return _upload_to("reviews", filename)


def proof_image_path(instance: models.Model, filename: str) -> str:
    return _upload_to("proofs", filename)


def campaign_image_path(instance: models.Model, filename: str) -> str:
    return _upload_to("campaigns", filename)


# --- Shops -------------------------------------------------------------------------------


class HandmadeDeclaration(models.TextChoices):
    BY_ME = "by_me", _("Handmade by me")
    WITH_HELP = "with_help", _("Handmade by me with help")
    DESIGNED_BY_ME = "designed_by_me", _("Designed by me, made by a partner workshop")


class ClaimStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting review")
    VERIFIED = "verified", _("Verified")
    CHANGES_REQUESTED = "changes_requested", _("Changes requested")


class ArtisanProfile(models.Model):
    """An artisan's public shop. Usual response time lives in NotificationSettings."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="artisan_profile"
    )
    shop_name = models.CharField(max_length=80)
    slug = models.SlugField(max_length=90, unique=True)
    tagline = models.CharField(max_length=160, blank=True)
    story = models.TextField(blank=True)
    process = models.TextField(blank=True, help_text=_("How you make your pieces."))
    region = models.CharField(max_length=80, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text=_("ISO 3166 code, e.g. MX"))
    languages = models.JSONField(default=list, blank=True)
    materials = models.CharField(max_length=300, blank=True)
    handmade_declaration = models.CharField(
        max_length=20, choices=HandmadeDeclaration.choices, default=HandmadeDeclaration.BY_ME
    )
    helpers_note = models.CharField(
        max_length=300, blank=True, help_text=_("Who helps, or which workshop makes your designs.")
    )
    claim_status = models.CharField(
        max_length=20, choices=ClaimStatus.choices, default=ClaimStatus.PENDING, db_index=True
    )
    claim_review_note = models.TextField(blank=True)
    claim_reviewed_at = models.DateTimeField(null=True, blank=True)
    claim_reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    is_public = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["shop_name"]

    def __str__(self) -> str:
        return self.shop_name

    @property
    def materials_list(self) -> list[str]:
        return [m.strip() for m in self.materials.split(",") if m.strip()]


class ProcessPhoto(models.Model):
    profile = models.ForeignKey(ArtisanProfile, on_delete=models.CASCADE, related_name="photos")
    image = models.ImageField(upload_to=process_photo_path)
    caption = models.CharField(max_length=200, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]


# --- Listings ------------------------------------------------------------------------------


class Category(models.Model):
    name = models.CharField(max_length=60, unique=True)
    slug = models.SlugField(max_length=60, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class ProductStatus(models.TextChoices):
    ACTIVE = "active", _("Listed")
    HIDDEN = "hidden", _("Hidden")


class Product(models.Model):
    shop = models.ForeignKey(ArtisanProfile, on_delete=models.PROTECT, related_name="products")
    title = models.CharField(max_length=120)
    slug = models.SlugField(max_length=130)
    description = models.TextField(blank=True)
    price = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES, default="EUR")
    # None with made_to_order: every piece is made after the order.
    stock_quantity = models.PositiveIntegerField(null=True, blank=True)
    made_to_order = models.BooleanField(default=False)
    lead_time_days = models.PositiveSmallIntegerField(default=0)
    category = models.ForeignKey(
        Category, on_delete=models.SET_NULL, null=True, blank=True, related_name="products"
    )
    tags = models.CharField(max_length=200, blank=True, help_text=_("Comma-separated"))
    status = models.CharField(
        max_length=10, choices=ProductStatus.choices, default=ProductStatus.ACTIVE, db_index=True
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "slug"], name="uniq_product_slug_per_shop"),
            models.CheckConstraint(condition=Q(price__gt=0), name="product_price_positive"),
        ]
        indexes = [models.Index(fields=["status", "-created_at"])]

    def __str__(self) -> str:
        return self.title

    @property
    def tag_list(self) -> list[str]:
        return [t.strip() for t in self.tags.split(",") if t.strip()]

    @property
    def price_display(self) -> str:
        return format_money(self.price, self.currency)

    @property
    def in_stock(self) -> bool:
        return self.made_to_order or (self.stock_quantity or 0) > 0


class ProductPhoto(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="photos")
    image = models.ImageField(upload_to=product_photo_path)
    alt_text = models.CharField(max_length=200, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]


class OptionKind(models.TextChoices):
    CHOICE = "choice", _("Choice")
    TEXT = "text", _("Free text")


class CustomizationOption(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="options")
    kind = models.CharField(max_length=10, choices=OptionKind.choices)
    label = models.CharField(max_length=80)
    required = models.BooleanField(default=False)
    # Free-text options (engraving) only.
    max_length = models.PositiveSmallIntegerField(null=True, blank=True)
    help_text = models.CharField(max_length=200, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.label


class ChoiceValue(models.Model):
    option = models.ForeignKey(CustomizationOption, on_delete=models.CASCADE, related_name="values")
    label = models.CharField(max_length=80)
    price_delta = models.DecimalField(**MONEY, default=Decimal("0"))
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.label


# --- Custom requests and offers -------------------------------------------------------------


class CustomRequestStatus(models.TextChoices):
    OPEN = "open", _("Open")
    OFFERED = "offered", _("Offer sent")
    ACCEPTED = "accepted", _("Accepted")
    CLOSED = "closed", _("Closed")


class CustomRequest(models.Model):
    """A buyer's "make me something" brief. High sensitivity: parties and admins only."""

    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="custom_requests"
    )
    artisan = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="received_requests"
    )
    product = models.ForeignKey(
        Product, on_delete=models.SET_NULL, null=True, blank=True, related_name="custom_requests"
    )
    conversation = models.ForeignKey(
        "conversations.Conversation", on_delete=models.PROTECT, related_name="custom_requests"
    )
    description = EncryptedTextField()
    budget = models.DecimalField(**MONEY, null=True, blank=True)
    budget_currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES, blank=True)
    deadline = models.DateField(null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=CustomRequestStatus.choices, default=CustomRequestStatus.OPEN
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Request #{self.pk}"


class CustomRequestImage(models.Model):
    request = models.ForeignKey(CustomRequest, on_delete=models.CASCADE, related_name="images")
    image = models.ImageField(upload_to=request_image_path)


class OfferKind(models.TextChoices):
    INITIAL = "initial", _("Offer")
    CHANGE_ORDER = "change_order", _("Change order")


class OfferStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SENT = "sent", _("Awaiting answer")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    CHANGES_REQUESTED = "changes_requested", _("Changes requested")
    SUPERSEDED = "superseded", _("Replaced by a newer version")
    EXPIRED = "expired", _("Expired")


class Offer(models.Model):
    """Terms the artisan proposes. Versions supersede each other; history is never edited."""

    conversation = models.ForeignKey(
        "conversations.Conversation", on_delete=models.PROTECT, related_name="offers"
    )
    artisan = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    custom_request = models.ForeignKey(
        CustomRequest, on_delete=models.SET_NULL, null=True, blank=True, related_name="offers"
    )
    # Change orders amend an existing order.
    order = models.ForeignKey(
        "Order", on_delete=models.PROTECT, null=True, blank=True, related_name="change_orders"
    )
    kind = models.CharField(max_length=16, choices=OfferKind.choices, default=OfferKind.INITIAL)
    version = models.PositiveIntegerField(default=1)
    supersedes = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="superseded_by"
    )
    status = models.CharField(
        max_length=20, choices=OfferStatus.choices, default=OfferStatus.DRAFT, db_index=True
    )
    # For change orders this is the signed delta added to the order's total. For initial
    # offers it is the lines plus ``shipping_amount``.
    total = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    shipping_amount = models.DecimalField(**MONEY, default=Decimal("0"))
    lead_time_days = models.PositiveSmallIntegerField(default=0)
    # Carrier transit after the piece is ready (delivery estimate = lead time + transit).
    transit_days_min = models.PositiveSmallIntegerField(default=0)
    transit_days_max = models.PositiveSmallIntegerField(default=0)
    expires_at = models.DateTimeField()
    deposit_percent = models.PositiveSmallIntegerField(default=0)
    revision_rounds_included = models.PositiveSmallIntegerField(default=1)
    personalised = models.BooleanField(default=False)
    note = EncryptedTextField(blank=True)
    response_note = EncryptedTextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["conversation", "status"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} v{self.version}"

    @property
    def total_display(self) -> str:
        return format_money(self.total, self.currency)

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def items_total(self) -> Decimal:
        return self.total - self.shipping_amount


class StatusEvent(models.Model):
    """One row per status move of a status machine (offers, payments), never edited: who
    (``actor``), why (``code``, a machine code) and its facts (``data``); no prose."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    code = models.CharField(max_length=40)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.subject_id}: {self.from_status} → {self.to_status} ({self.code})"


class OfferEvent(StatusEvent):
    """Offer history (``transition_offer``): codes ``sent``, ``superseded``, ``accepted``, …"""

    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=20, choices=OfferStatus.choices)
    to_status = models.CharField(max_length=20, choices=OfferStatus.choices)

    class Meta(StatusEvent.Meta):
        pass

    @property
    def subject_id(self) -> int:
        return self.offer_id


class OfferLine(models.Model):
    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="lines")
    description = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField(default=1)
    unit_price = models.DecimalField(**MONEY)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity


# --- Shipping ------------------------------------------------------------------------------


class ShippingAddress(models.Model):
    """One entry of a buyer's address book. Personal data: exported and erased (gdpr.py)."""

    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="shipping_addresses"
    )
    # Encrypted at rest (core/crypto.py), like the order's snapshot of it.
    full_name = EncryptedCharField(_("Full name"), max_length=120)
    line1 = EncryptedCharField(_("Address"), max_length=200)
    line2 = EncryptedCharField(_("Address line 2"), max_length=200, blank=True)
    city = EncryptedCharField(_("City"), max_length=100)
    region = EncryptedCharField(_("State, province or region"), max_length=100, blank=True)
    postal_code = EncryptedCharField(_("Postal code"), max_length=20, blank=True)
    country = CountryField(_("Country"))
    phone = EncryptedCharField(_("Phone (for the carrier)"), max_length=30, blank=True)
    is_default = models.BooleanField(_("Default address"), default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-is_default", "-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["buyer"], condition=Q(is_default=True), name="one_default_address"
            )
        ]

    def __str__(self) -> str:
        return f"{self.full_name}, {self.city} ({self.country.code})"


class ShippingProfile(models.Model):
    """How an artisan ships: processing time, rates per destination zone, free threshold."""

    shop = models.OneToOneField(
        ArtisanProfile, on_delete=models.CASCADE, related_name="shipping_profile"
    )
    processing_days = models.PositiveSmallIntegerField(_("Processing time (days)"), default=2)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES, default="EUR")
    free_shipping_threshold = models.DecimalField(
        _("Free shipping from (order subtotal)"), **MONEY, null=True, blank=True
    )
    updated_at = models.DateTimeField(auto_now=True)


class ShippingZone(models.TextChoices):
    DOMESTIC = "domestic", _("Domestic")
    ZONE = "zone", _("Listed countries")
    WORLD = "world", _("Rest of the world")


class ShippingRate(models.Model):
    profile = models.ForeignKey(ShippingProfile, on_delete=models.CASCADE, related_name="rates")
    zone = models.CharField(max_length=10, choices=ShippingZone.choices)
    # ISO codes for ``zone`` rates (e.g. ["FR", "DE", "ES"]); empty otherwise.
    countries = models.JSONField(default=list, blank=True)
    price = models.DecimalField(**MONEY)
    transit_days_min = models.PositiveSmallIntegerField(default=2)
    transit_days_max = models.PositiveSmallIntegerField(default=5)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]


# --- Orders ---------------------------------------------------------------------------------


class OrderStatus(models.TextChoices):
    PENDING_PAYMENT = "pending_payment", _("Waiting for payment")
    DEPOSIT_PAID = "deposit_paid", _("Deposit paid")
    PAID = "paid", _("Paid")
    IN_PRODUCTION = "in_production", _("In production")
    AWAITING_BALANCE = "awaiting_balance", _("Ready — waiting for the balance")
    SHIPPED = "shipped", _("Shipped")
    DELIVERED = "delivered", _("Delivered")
    CANCELLED = "cancelled", _("Cancelled")
    REFUNDED = "refunded", _("Refunded")


class Order(models.Model):
    reference = models.CharField(max_length=12, unique=True)
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders"
    )
    artisan = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sales"
    )
    shop = models.ForeignKey(ArtisanProfile, on_delete=models.PROTECT, related_name="orders")
    conversation = models.ForeignKey(
        "conversations.Conversation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="orders",
    )
    offer = models.OneToOneField(
        Offer, on_delete=models.PROTECT, null=True, blank=True, related_name="resulting_order"
    )
    product = models.ForeignKey(
        Product, on_delete=models.SET_NULL, null=True, blank=True, related_name="orders"
    )
    is_custom = models.BooleanField(default=False)
    # Agreed terms frozen at acceptance/checkout; change orders append, never rewrite.
    spec_snapshot = models.JSONField(default=dict)
    title = models.CharField(max_length=200)
    # Items + option surcharges + shipping_amount (+ accepted change orders).
    total = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    shipping_amount = models.DecimalField(**MONEY, default=Decimal("0"))
    deposit_amount = models.DecimalField(**MONEY, default=Decimal("0"))
    amount_paid = models.DecimalField(**MONEY, default=Decimal("0"))
    amount_refunded = models.DecimalField(**MONEY, default=Decimal("0"))
    # A promo code's discount on the items (never on shipping); ``total`` is net of it.
    discount_amount = models.DecimalField(**MONEY, default=Decimal("0"))
    promo_code = models.ForeignKey(
        "commerce.PromoCode",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="orders",
    )
    status = models.CharField(
        max_length=20,
        choices=OrderStatus.choices,
        default=OrderStatus.PENDING_PAYMENT,
        db_index=True,
    )
    # Personalised goods: exempt from the EU right of withdrawal (2011/83/EU Art. 16(c)).
    personalised = models.BooleanField(default=False)
    revision_rounds_included = models.PositiveSmallIntegerField(default=0)
    revision_rounds_used = models.PositiveSmallIntegerField(default=0)
    lead_time_days = models.PositiveSmallIntegerField(default=0)
    due_date = models.DateField(null=True, blank=True)
    # Delivery estimate (ready date + carrier transit), set when the destination is known.
    arrives_from = models.DateField(null=True, blank=True)
    arrives_to = models.DateField(null=True, blank=True)
    # Personal fields: scrubbed by GDPR erasure, the order itself is kept.
    shipping_name = EncryptedCharField(max_length=120, blank=True)
    # Snapshot of the chosen ShippingAddress (structured fields, see address_snapshot()):
    # editing or deleting the address book later never changes where an order went.
    # Both encrypted at rest (core/crypto.py); the snapshot is only ever read whole.
    shipping_address = EncryptedJSONField(default=dict, blank=True)
    buyer_note = EncryptedTextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    paid_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["buyer", "-created_at"]),
            models.Index(fields=["artisan", "status"]),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def balance_amount(self) -> Decimal:
        """What remains after the deposit, as agreed (not what is still owed)."""
        return self.total - self.deposit_amount

    @property
    def amount_due(self) -> Decimal:
        return max(self.total - self.amount_paid, Decimal("0"))

    @property
    def is_fully_paid(self) -> bool:
        return self.amount_paid >= self.total

    @property
    def total_display(self) -> str:
        return format_money(self.total, self.currency)

    def money(self, amount: Decimal) -> str:
        return format_money(amount, self.currency)


class OrderEventType(models.TextChoices):
    STATUS = "status", _("Status changed")
    PAYMENT = "payment", _("Payment")
    REFUND = "refund", _("Refund")
    CHANGE_ORDER = "change_order", _("Change order")
    PROOF = "proof", _("Proof")
    PRODUCTION = "production", _("Production update")
    SHIPMENT = "shipment", _("Shipment")
    NOTE = "note", _("Note")


class OrderEvent(models.Model):
    """Order history: one row per transition or notable event, never edited."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=16, choices=OrderEventType.choices)
    old_status = models.CharField(max_length=20, choices=OrderStatus.choices, blank=True)
    new_status = models.CharField(max_length=20, choices=OrderStatus.choices, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # What happened, as a code rendered per reader (commerce/history.py); ``data`` holds its
    # parameters. ``note`` is only what a person typed (their own words, never translated).
    code = models.CharField(max_length=40, blank=True)
    note = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]


class ProductionStageKind(models.TextChoices):
    MATERIALS = "materials", _("Gathering materials")
    MAKING = "making", _("Making")
    FINISHING = "finishing", _("Finishing")
    READY = "ready", _("Ready")


class ProductionStage(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="stages")
    stage = models.CharField(max_length=12, choices=ProductionStageKind.choices)
    note = models.TextField(blank=True)
    photo = models.ImageField(upload_to=stage_photo_path, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]


class ProofStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for the buyer")
    APPROVED = "approved", _("Approved")
    CHANGES_REQUESTED = "changes_requested", _("Changes requested")


class Proof(models.Model):
    """A mock-up the buyer approves. Approval time + image hash are dispute evidence."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="proofs")
    image = models.ImageField(upload_to=proof_image_path)
    sha256 = models.CharField(max_length=64)
    note = models.TextField(blank=True)
    status = models.CharField(
        max_length=20, choices=ProofStatus.choices, default=ProofStatus.PENDING
    )
    buyer_note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    approved_sha256 = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["created_at", "id"]


# --- Money -------------------------------------------------------------------------------------


class PaymentPurpose(models.TextChoices):
    FULL = "full", _("Full payment")
    DEPOSIT = "deposit", _("Deposit")
    BALANCE = "balance", _("Balance")
    ADJUSTMENT = "adjustment", _("Change-order supplement")


class PaymentStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    REFUNDED = "refunded", _("Refunded")


class Payment(models.Model):
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments")
    provider = models.CharField(max_length=16)
    provider_payment_id = models.CharField(max_length=120, blank=True)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    purpose = models.CharField(max_length=12, choices=PaymentPurpose.choices)
    status = models.CharField(
        max_length=12, choices=PaymentStatus.choices, default=PaymentStatus.PENDING
    )
    idempotency_key = models.CharField(max_length=80, unique=True)
    client_secret = models.CharField(max_length=200, blank=True)
    redirect_url = models.CharField(max_length=500, blank=True)
    amount_refunded = models.DecimalField(**MONEY, default=Decimal("0"))
    # True once this payment counted towards the order and credited the artisan's ledger.
    applied_to_order = models.BooleanField(default=False)
    # A payment the order did not need (paid twice, wrong amount): owed back to the buyer.
    needs_refund = models.BooleanField(default=False, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    succeeded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "provider_payment_id"],
                condition=~Q(provider_payment_id=""),
                name="uniq_provider_payment",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.provider_payment_id or self.idempotency_key}"


class PaymentEvent(StatusEvent):
    """Payment history (``transition_payment``): codes ``provider_succeeded``,
    ``provider_failed``, ``refunded``, …; ``data`` holds facts such as the provider event id."""

    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=12, choices=PaymentStatus.choices)
    to_status = models.CharField(max_length=12, choices=PaymentStatus.choices)

    class Meta(StatusEvent.Meta):
        pass

    @property
    def subject_id(self) -> int:
        return self.payment_id


class ProcessedWebhookEvent(models.Model):
    """Exactly-once marker: inserted in the same transaction as the event's effects."""

    provider = models.CharField(max_length=40)
    event_id = models.CharField(max_length=120)
    event_type = models.CharField(max_length=60, blank=True)
    outcome = models.CharField(max_length=60, blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_id"], name="uniq_webhook_event")
        ]


class RefundStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class Refund(models.Model):
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds")
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    status = models.CharField(
        max_length=12, choices=RefundStatus.choices, default=RefundStatus.REQUESTED
    )
    provider_refund_id = models.CharField(max_length=120, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    succeeded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]


class LedgerEntryKind(models.TextChoices):
    SALE_CREDIT = "sale_credit", _("Sale")
    PLATFORM_FEE = "platform_fee", _("Platform fee")
    PAYOUT = "payout", _("Payout")
    REFUND_DEBIT = "refund_debit", _("Refund")
    ADJUSTMENT = "adjustment", _("Adjustment")


class AppendOnlyError(Exception):
    pass


class LedgerAccount(models.Model):
    """One row per artisan, locked (SELECT … FOR UPDATE) around balance-changing writes."""

    artisan = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="ledger_account"
    )
    created_at = models.DateTimeField(default=timezone.now)


class LedgerEntry(models.Model):
    """Append-only money movement for an artisan. Balance = SUM(amount) per currency."""

    artisan = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="ledger_entries"
    )
    kind = models.CharField(max_length=16, choices=LedgerEntryKind.choices)
    amount = models.DecimalField(**MONEY)  # signed: credits positive, debits negative
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_entries"
    )
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_entries"
    )
    payout = models.ForeignKey(
        "PayoutRequest",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ledger_entries",
    )
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "ledger entries"

    def save(self, *args, **kwargs) -> None:
        # Integrity guard, not business logic: a ledger row is written once.
        if self.pk is not None and not kwargs.get("force_insert"):
            raise AppendOnlyError("Ledger entries are append-only; write an adjustment instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Ledger entries are append-only; write an adjustment instead.")

    @property
    def amount_display(self) -> str:
        return format_money(self.amount, self.currency)


class PayoutStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    PAID = "paid", _("Paid out")


class PayoutRequest(models.Model):
    artisan = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payout_requests"
    )
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    status = models.CharField(
        max_length=12, choices=PayoutStatus.choices, default=PayoutStatus.REQUESTED
    )
    admin = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    admin_note = models.CharField(max_length=300, blank=True)
    requested_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payout_amount_positive")
        ]

    @property
    def amount_display(self) -> str:
        return format_money(self.amount, self.currency)


# --- Logistics -------------------------------------------------------------------------------


class LogisticsProvider(models.Model):
    name = models.CharField(max_length=80)
    slug = models.SlugField(max_length=40, unique=True)
    webhook_secret = models.CharField(max_length=128)
    tracking_url_template = models.CharField(
        max_length=300, blank=True, help_text=_("e.g. https://track.example/{tracking_number}")
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="logistics_providers"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ShipmentStatus(models.TextChoices):
    CREATED = "created", _("Label created")
    IN_TRANSIT = "in_transit", _("In transit")
    OUT_FOR_DELIVERY = "out_for_delivery", _("Out for delivery")
    DELIVERED = "delivered", _("Delivered")


class Shipment(models.Model):
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="shipments")
    provider = models.ForeignKey(
        LogisticsProvider, on_delete=models.PROTECT, null=True, blank=True, related_name="shipments"
    )
    carrier = models.CharField(max_length=80)
    tracking_number = models.CharField(max_length=80)
    tracking_url = models.URLField(max_length=400, blank=True)
    status = models.CharField(
        max_length=20, choices=ShipmentStatus.choices, default=ShipmentStatus.CREATED
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["carrier", "tracking_number"], name="uniq_tracking_per_carrier"
            )
        ]

    def __str__(self) -> str:
        return f"{self.carrier} {self.tracking_number}"


class ShipmentEvent(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="events")
    status = models.CharField(max_length=20, choices=ShipmentStatus.choices)
    note = models.CharField(max_length=300, blank=True)
    source = models.CharField(max_length=16, default="manual")  # manual | webhook
    event_id = models.CharField(max_length=120, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    occurred_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["occurred_at", "id"]


# --- Marketing: audiences, campaigns, per-recipient deliveries -------------------------------


class Follow(models.Model):
    """A buyer follows a shop: the shop's "followers" audience (news still needs consent)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    shop = models.ForeignKey(ArtisanProfile, on_delete=models.CASCADE, related_name="follows")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "shop"], name="one_follow_per_shop")]
        indexes = [models.Index(fields=["shop", "created_at"])]


class Favourite(models.Model):
    """A buyer keeps a product: the "favourited this piece" audience."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="favourites")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "product"], name="one_favourite_per_product")
        ]


class Segment(models.TextChoices):
    FOLLOWERS = "followers", _("People who follow your shop")
    PAST_BUYERS = "past_buyers", _("People who bought from you")
    FAVOURITED = "favourited", _("People who saved one of your pieces")
    ASKED_NOT_ORDERED = "asked_not_ordered", _("People who wrote to you but did not order")


class CampaignChannel(models.TextChoices):
    WEB = "web", _("Atelier updates page")
    EMAIL = "email", _("Email")
    TELEGRAM = "telegram", _("Telegram")


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SCHEDULED = "scheduled", _("Scheduled")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    CANCELLED = "cancelled", _("Cancelled")


class Campaign(models.Model):
    """An artisan's message to an audience; status only through ``transition_campaign``.

    ``body`` is what the artisan wrote, in ``language``; everything around it (greeting,
    buttons, unsubscribe text) is rendered per recipient at delivery time.
    """

    shop = models.ForeignKey(ArtisanProfile, on_delete=models.CASCADE, related_name="campaigns")
    title = models.CharField(max_length=120)
    body = models.TextField()
    language = models.CharField(max_length=8)
    segment = models.CharField(max_length=24, choices=Segment.choices)
    # The piece shown as a card (and the audience of FAVOURITED when set).
    product = models.ForeignKey(
        Product, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Offered in the message and pre-filled at checkout after a click on its link.
    promo_code = models.ForeignKey(
        "commerce.PromoCode", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # ASKED_NOT_ORDERED: who wrote within this many days and has no order since.
    within_days = models.PositiveSmallIntegerField(null=True, blank=True)
    channels = models.JSONField(default=list)
    status = models.CharField(
        max_length=12, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT, db_index=True
    )
    scheduled_for = models.DateTimeField(null=True, blank=True)
    # A/B test: ``body_b`` is the second version. ``ab_sample_percent`` of the audience gets
    # one of the two (half each); the rest are held until the winner (more clicks, then
    # opens, among the sample) is picked, ``ab_wait_hours`` after the start or by hand.
    # 100 means a plain half-and-half split with no winner phase.
    body_b = models.TextField(blank=True)
    # An optional picture (public, like listing photos: it is the shop's own news), shown
    # above the text on every channel; ``image_alt`` describes it for screen readers and is
    # translated per reader like the text.
    image = models.ImageField(upload_to=campaign_image_path, blank=True)
    image_alt = models.CharField(max_length=200, blank=True)
    ab_sample_percent = models.PositiveSmallIntegerField(default=20)
    ab_wait_hours = models.PositiveSmallIntegerField(default=4)
    ab_winner = models.CharField(max_length=1, blank=True)  # "a" / "b" once picked
    ab_decided_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "scheduled_for"])]

    def __str__(self) -> str:
        return f"{self.shop.shop_name}: {self.title}"

    @property
    def is_ab_test(self) -> bool:
        return bool(self.body_b)

    @property
    def is_editable(self) -> bool:
        return self.status in (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED)


class CampaignEvent(StatusEvent):
    """Campaign history (``transition_campaign``): ``scheduled``, ``started``, ``stopped``, …"""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=12, choices=CampaignStatus.choices)
    to_status = models.CharField(max_length=12, choices=CampaignStatus.choices)

    class Meta(StatusEvent.Meta):
        pass

    @property
    def subject_id(self) -> int:
        return self.campaign_id


class RecipientState(models.TextChoices):
    PENDING = "pending", _("Waiting")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Delivered")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped")  # consent withdrawn or channel gone before sending
    HELD = "held", _("Held for the winning version")  # A/B test: waits for the winner


class CampaignRecipient(models.Model):
    """One person on one channel of one campaign, created before anything is sent.

    Sending claims the row (``pending`` → ``sending`` with a lease) in one UPDATE, so a
    retry or a second worker can never send it again; a killed worker's claim is taken over
    once its lease has run out. Opens and clicks are first-time facts, never counters.
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="recipients")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=10, choices=CampaignChannel.choices)
    state = models.CharField(
        max_length=10, choices=RecipientState.choices, default=RecipientState.PENDING
    )
    claim_token = models.UUIDField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    reason = models.CharField(max_length=40, blank=True)  # a machine code, never prose
    external_id = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)
    # The person answered: the campaign is the context card of their thread with the shop.
    replied_at = models.DateTimeField(null=True, blank=True)
    # Which version the person gets: "a" or "b" (the same on every channel); "" while
    # held for an A/B test's winner, and "a" for a campaign without a test.
    variant = models.CharField(max_length=1, blank=True, default="a")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "user", "channel"], name="one_delivery_per_channel"
            )
        ]
        indexes = [
            models.Index(fields=["campaign", "state"]),
            models.Index(fields=["user", "channel", "state"]),
        ]


# --- Promo codes --------------------------------------------------------------------------------


class PromoKind(models.TextChoices):
    PERCENT = "percent", _("Percentage off")
    FIXED = "fixed", _("Fixed amount off")


class PromoCode(models.Model):
    """A shop's discount code; checked and applied only by ``commerce.services.promos``."""

    shop = models.ForeignKey(ArtisanProfile, on_delete=models.CASCADE, related_name="promo_codes")
    code = models.CharField(max_length=32)  # stored upper-case
    kind = models.CharField(max_length=8, choices=PromoKind.choices)
    # Percent: 1–90; fixed: an amount in ``currency``.
    value = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES, default="EUR")
    starts_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField(null=True, blank=True)
    max_uses = models.PositiveIntegerField(null=True, blank=True)
    max_uses_per_buyer = models.PositiveSmallIntegerField(default=1)
    min_order = models.DecimalField(**MONEY, null=True, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "code"], name="one_code_per_shop"),
        ]

    def __str__(self) -> str:
        return self.code


# --- Reviews --------------------------------------------------------------------------------


class Review(models.Model):
    """A verified buyer's rating of one order: the piece and the shop, 1–5 stars each.

    One per order (the order is the proof of purchase), once it is delivered; the artisan
    may answer once. ``product`` is the listed piece, None for custom work.
    """

    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="review")
    shop = models.ForeignKey(ArtisanProfile, on_delete=models.CASCADE, related_name="reviews")
    product = models.ForeignKey(
        Product, on_delete=models.SET_NULL, null=True, blank=True, related_name="reviews"
    )
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reviews"
    )
    piece_rating = models.PositiveSmallIntegerField()
    shop_rating = models.PositiveSmallIntegerField()
    text = models.TextField(blank=True)
    reply = models.TextField(blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)
    is_hidden = models.BooleanField(default=False)  # moderation (admin)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(piece_rating__gte=1, piece_rating__lte=5), name="piece_rating_1_5"
            ),
            models.CheckConstraint(
                condition=Q(shop_rating__gte=1, shop_rating__lte=5), name="shop_rating_1_5"
            ),
        ]
        indexes = [models.Index(fields=["shop", "-created_at"])]


class ReviewPhoto(models.Model):
    """A buyer's photo of the piece on their review (up to ``REVIEW_PHOTOS_MAX``), in the
    order given; re-encoded without metadata like every upload."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="photos")
    image = models.ImageField(upload_to=review_photo_path)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]


# --- Customer satisfaction -------------------------------------------------------------------


class CsatRating(models.Model):
    """The buyer's 1–5 answer to "How did it go?" once an order is delivered; one per order.

    Asked in the chat (web and Telegram); a second tap changes the answer (``updated_at``).
    """

    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="csat")
    shop = models.ForeignKey(ArtisanProfile, on_delete=models.CASCADE, related_name="csat_ratings")
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    score = models.PositiveSmallIntegerField()
    channel = models.CharField(max_length=10)  # where it was given: "web" / "telegram"
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(score__gte=1, score__lte=5), name="csat_score_1_5"),
        ]
        indexes = [models.Index(fields=["shop", "-created_at"])]
