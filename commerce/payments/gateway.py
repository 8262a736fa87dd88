"""The interface every payment provider implements (Stripe, PayPal, dev)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Protocol, runtime_checkable

from commerce.payments.types import PaymentRequest, PaymentSession, RefundResult, WebhookEvent


@runtime_checkable
class PaymentGateway(Protocol):
    """A payment provider as commerce sees it.

    Gateways never mark anything paid: ``create_payment`` only opens a provider-side payment,
    and the order moves to paid when a verified ``WebhookEvent`` from ``parse_webhook`` says
    ``payment.succeeded``. Errors are ``commerce.payments.types.PaymentError`` subclasses.
    """

    provider: str

    def create_payment(self, req: PaymentRequest) -> PaymentSession:
        """Open a payment for ``req`` (idempotent per ``req.idempotency_key``)."""
        ...

    def retrieve_payment(self, provider_payment_id: str) -> PaymentSession:
        """Fetch the provider's current view of a payment (for reconciliation, not for truth)."""
        ...

    def refund(
        self, *, provider_payment_id: str, amount: Decimal | None, idempotency_key: str
    ) -> RefundResult:
        """Refund ``amount`` (major units, payment's currency) or everything when None."""
        ...

    def parse_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
        """Verify a raw webhook (body bytes exactly as received) and normalise it.

        Raises ``InvalidWebhook`` for a bad signature, stale timestamp or malformed body.
        """
        ...
