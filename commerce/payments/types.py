"""Provider-neutral payment contracts: requests, sessions, webhook events, errors, money.

Every gateway takes and returns these dataclasses, never SDK objects, so the rest of
commerce never learns which provider is behind a payment. Money is a ``Decimal`` plus an
ISO 4217 code everywhere; minor units (cents, yen) exist only inside the gateway modules,
at the moment a provider API is called, through ``to_minor_units``/``from_minor_units``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Literal

# --- errors -------------------------------------------------------------------------


class PaymentError(Exception):
    """Base class: the provider refused or could not carry out a payment operation."""


class GatewayNotConfigured(PaymentError):
    """A provider is selected but a setting it needs is missing or rejected."""


class InvalidWebhook(PaymentError):
    """A webhook body failed verification: bad signature, stale timestamp or malformed body.

    The webhook view answers 400 and records nothing: the body cannot be trusted.
    """


class PaymentDeclined(PaymentError):
    """The buyer's payment method was declined; the buyer may retry with another one."""


class GatewayUnavailable(PaymentError):
    """The provider could not be reached or failed (timeout, 5xx, rate limit).

    Safe to retry later with the same idempotency key.
    """


class InvalidPaymentRequest(PaymentError, ValueError):
    """Our own input is unusable (unknown currency, non-positive amount, too many decimals)."""


# --- money ----------------------------------------------------------------------------

# ISO 4217 minor-unit exponents for the currencies we accept. A currency missing here is
# rejected rather than guessed: a wrong exponent charges 100x too much or too little.
# Currencies whose providers treat them specially (ISK, HUF, TWD on Stripe) are left out
# on purpose until someone needs them and handles the special case.
_ZERO_DECIMAL = ("BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX")
_ZERO_DECIMAL += ("VND", "VUV", "XAF", "XOF", "XPF")
_THREE_DECIMAL = ("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND")
_TWO_DECIMAL = (
    "AED", "ARS", "AUD", "BAM", "BGN", "BRL", "CAD", "CHF", "CNY", "COP", "CZK", "DKK",
    "DZD", "EGP", "EUR", "GBP", "GEL", "GHS", "HKD", "IDR", "ILS", "INR", "KES", "KZT",
    "LKR", "MAD", "MDL", "MKD", "MXN", "MYR", "NGN", "NOK", "NZD", "PEN", "PHP", "PKR",
    "PLN", "QAR", "RON", "RSD", "SAR", "SEK", "SGD", "THB", "TRY", "TZS", "UAH", "USD",
    "UYU", "ZAR",
)  # fmt: skip

CURRENCY_EXPONENTS: Mapping[str, int] = {
    **dict.fromkeys(_ZERO_DECIMAL, 0),
    **dict.fromkeys(_TWO_DECIMAL, 2),
    **dict.fromkeys(_THREE_DECIMAL, 3),
}


def normalise_currency(currency: str) -> str:
    """Return the upper-case ISO 4217 code, or raise InvalidPaymentRequest if unsupported."""
    if not isinstance(currency, str):
        raise InvalidPaymentRequest(f"Currency must be a string, got {type(currency).__name__}")
    code = currency.strip().upper()
    if code not in CURRENCY_EXPONENTS:
        raise InvalidPaymentRequest(f"Unsupported currency {currency!r}")
    return code


def currency_exponent(currency: str) -> int:
    """Number of minor-unit digits of ``currency`` (JPY 0, EUR 2, KWD 3)."""
    return CURRENCY_EXPONENTS[normalise_currency(currency)]


def validate_amount(amount: Decimal, currency: str) -> Decimal:
    """Check that ``amount`` is a positive Decimal representable in ``currency``'s minor unit."""
    if isinstance(amount, bool) or not isinstance(amount, Decimal):
        # Floats are refused outright: 0.1 + 0.2 is not a price.
        raise InvalidPaymentRequest(f"Amount must be a Decimal, got {type(amount).__name__}")
    if not amount.is_finite() or amount <= 0:
        raise InvalidPaymentRequest(f"Amount must be positive, got {amount}")
    exponent = currency_exponent(currency)
    if amount != amount.quantize(Decimal(1).scaleb(-exponent)):
        raise InvalidPaymentRequest(
            f"{amount} has more decimals than {normalise_currency(currency)} allows ({exponent})"
        )
    return amount


def to_minor_units(amount: Decimal, currency: str) -> int:
    """Convert a major-unit Decimal to the integer minor units providers expect.

    ``to_minor_units(Decimal("12.34"), "EUR") == 1234``; ``(Decimal("500"), "JPY") == 500``.
    """
    validate_amount(amount, currency)
    return int(amount.scaleb(currency_exponent(currency)))


def from_minor_units(minor_units: int, currency: str) -> Decimal:
    """Convert provider minor units back to a major-unit Decimal with the currency's exponent."""
    if isinstance(minor_units, bool) or not isinstance(minor_units, int):
        raise InvalidPaymentRequest(f"Minor units must be an int, got {minor_units!r}")
    exponent = currency_exponent(currency)
    return Decimal(minor_units).scaleb(-exponent).quantize(Decimal(1).scaleb(-exponent))


def parse_major_units(value: str, currency: str) -> Decimal:
    """Parse a provider's decimal string ("12.34", as PayPal sends) into a Decimal."""
    exponent = currency_exponent(currency)
    try:
        amount = Decimal(str(value))
        if not amount.is_finite():
            raise InvalidOperation
        # quantize signals InvalidOperation when the result needs more than 28 digits.
        return amount.quantize(Decimal(1).scaleb(-exponent))
    except InvalidOperation as error:
        raise InvalidPaymentRequest(f"Not a decimal amount: {value!r}") from error


def format_major_units(amount: Decimal, currency: str) -> str:
    """Format a Decimal as the fixed-point string PayPal expects ("12.30", "500")."""
    validate_amount(amount, currency)
    return f"{amount:.{currency_exponent(currency)}f}"


# --- contracts -------------------------------------------------------------------------

PaymentStatus = Literal[
    "pending",  # created, waiting for the buyer's payment details
    "requires_action",  # the buyer must act (3-D Secure, approve on PayPal, dev confirm page)
    "authorized",  # approved but not captured yet (PayPal APPROVED, Stripe requires_capture)
    "processing",  # submitted, outcome not known yet
    "succeeded",
    "failed",
    "canceled",
]

WebhookEventType = Literal["payment.succeeded", "payment.failed", "refund.succeeded", "other"]

RefundStatus = Literal["pending", "succeeded", "failed"]


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    """What we ask a provider to charge. Validated on construction.

    ``idempotency_key`` is one per payment *attempt* (e.g. ``f"{order.reference}:{attempt}"``):
    resending the same attempt after a timeout must not create a second charge.
    ``return_url``/``cancel_url`` are absolute URLs used by redirect providers (PayPal);
    Stripe ignores them because Stripe.js on our pay page handles the return.
    """

    order_reference: str
    amount: Decimal
    currency: str
    idempotency_key: str
    description: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)
    customer_email: str | None = None
    return_url: str | None = None
    cancel_url: str | None = None

    def __post_init__(self) -> None:
        if not self.order_reference or not self.order_reference.strip():
            raise InvalidPaymentRequest("order_reference is required")
        if not self.idempotency_key or not self.idempotency_key.strip():
            raise InvalidPaymentRequest("idempotency_key is required")
        object.__setattr__(self, "currency", normalise_currency(self.currency))
        validate_amount(self.amount, self.currency)


@dataclass(frozen=True, slots=True)
class PaymentSession:
    """A provider-side payment as we know it after create/retrieve.

    ``client_secret`` is for Stripe.js on our pay page; ``redirect_url`` is where a redirect
    provider (PayPal, dev gateway) wants the buyer sent. A status here is informational:
    an order becomes paid only from a verified ``WebhookEvent``.
    """

    provider: str
    provider_payment_id: str
    status: PaymentStatus
    client_secret: str | None = None
    redirect_url: str | None = None
    amount: Decimal | None = None
    currency: str | None = None


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """A verified, normalised provider notification.

    ``event_id`` is the provider's id, for de-duplicating redeliveries. ``amount`` is the
    charged amount for payment events and the *cumulative* refunded amount of the payment
    for ``refund.succeeded`` (both Stripe's ``charge.refunded`` and PayPal's refund resource
    report the running total). ``order_reference`` or ``provider_payment_id`` may be None
    when the provider omits it; consumers look the payment up by whichever is present.
    """

    provider: str
    event_id: str
    event_type: WebhookEventType
    provider_payment_id: str | None
    order_reference: str | None
    amount: Decimal | None
    currency: str | None
    created: datetime
    raw_type: str


@dataclass(frozen=True, slots=True)
class RefundResult:
    """Outcome of a refund request. ``amount`` is None only when the provider did not say
    (the stateless dev gateway on a full refund)."""

    provider: str
    refund_id: str
    provider_payment_id: str
    status: RefundStatus
    amount: Decimal | None
    currency: str | None
