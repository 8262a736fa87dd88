"""Named commerce errors. Each has a stable ``code`` and a message shown to people as is."""

from __future__ import annotations

from collections.abc import Mapping

from django.db.models import TextChoices


class CommerceError(Exception):
    code = "invalid"
    status = 400

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code


class InvalidMoney(CommerceError):
    code = "invalid_money"


class InvalidInput(CommerceError):
    code = "invalid"


class NotAllowed(CommerceError):
    """The person may not do this to this object (views answer 404/403)."""

    code = "forbidden"
    status = 403


class OfferNotOpen(CommerceError):
    code = "offer_not_open"
    status = 409


class OfferExpired(OfferNotOpen):
    code = "offer_expired"


class OfferSuperseded(OfferNotOpen):
    code = "offer_superseded"


class OfferAlreadyAccepted(OfferNotOpen):
    code = "offer_already_accepted"

    def __init__(self, message: str, *, order_reference: str | None = None):
        super().__init__(message)
        self.order_reference = order_reference


class IllegalTransition(CommerceError):
    code = "illegal_transition"
    status = 409

    def __init__(self, message: str, *, current: str, requested: str):
        super().__init__(message)
        self.current = current
        self.requested = requested


def require_transition(
    *,
    transitions: Mapping[str, frozenset[str]],
    statuses: type[TextChoices],
    current: str,
    to: str,
    unknown: str,
    illegal: str,
) -> None:
    """The one check of every status machine (orders, offers, payments): raise
    ``IllegalTransition`` unless ``to`` is a known status reachable from ``current``.
    ``unknown`` and ``illegal`` are the machine's translated messages, formatted here with
    ``status`` / ``current`` and ``requested`` (status labels, in the reader's language)."""
    if to not in statuses.values:
        raise IllegalTransition(unknown % {"status": to}, current=current, requested=to)
    if to not in transitions[current]:
        raise IllegalTransition(
            illegal % {"current": statuses(current).label, "requested": statuses(to).label},
            current=current,
            requested=to,
        )


class NothingToPay(CommerceError):
    code = "nothing_to_pay"
    status = 409


class RevisionRoundsExhausted(CommerceError):
    code = "revision_rounds_exhausted"
    status = 409


class InsufficientBalance(CommerceError):
    code = "insufficient_balance"
    status = 409


class InvalidTrackingWebhook(CommerceError):
    code = "invalid_signature"
    status = 400


class UnknownTrackingNumber(CommerceError):
    code = "unknown_tracking_number"
    status = 404


class UnknownLogisticsProvider(CommerceError):
    code = "unknown_provider"
    status = 404
