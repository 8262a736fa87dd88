"""JSON API for chat clients (web widget, inbox): answer offer cards, proofs and the CSAT
question, read orders.

Mounted by core/api.py at /api/commerce/. Errors: ``{"code", "message", "field"?}``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from commerce import selectors, services
from commerce.errors import CommerceError, OfferAlreadyAccepted
from commerce.models import Proof
from commerce.serializers import serialize_offer, serialize_order, serialize_proof
from commerce.services.csat import rate_order
from core.api import ApiError, read_responses, write_responses

router = Router(tags=["commerce"])


class NoteIn(Schema):
    note: str = ""


class CsatIn(Schema):
    """The buyer's answer to "How did it go with this order?" (1–5)."""

    score: int


class CsatOut(Schema):
    order: str
    score: int
    channel: str
    updated_at: str


def _call(action: Callable[[], Any]) -> Any:
    try:
        return action()
    except OfferAlreadyAccepted as error:
        raise ApiError(error.code, error.message, error.status) from error
    except CommerceError as error:
        raise ApiError(error.code, error.message, error.status, error.field) from error


@router.get(
    "/offers/{offer_id}/",
    response=read_responses(404),
    summary="An offer (parties and admins only)",
)
def get_offer(request: HttpRequest, offer_id: int) -> dict:
    return serialize_offer(selectors.offer_for_viewer(offer_id=offer_id, user=request.user))


@router.post(
    "/offers/{offer_id}/accept/",
    response=write_responses(400, 404, 409),
    summary="Accept an offer; returns the order",
)
def accept_offer(request: HttpRequest, offer_id: int) -> dict:
    offer = selectors.offer_for_viewer(offer_id=offer_id, user=request.user)
    order = _call(lambda: services.accept_offer(buyer=request.user, offer=offer))
    return {"offer": serialize_offer(offer), "order": serialize_order(order)}


@router.post(
    "/offers/{offer_id}/decline/",
    response=write_responses(400, 404, 409),
    summary="Decline an offer",
)
def decline_offer(request: HttpRequest, offer_id: int, body: NoteIn) -> dict:
    offer = selectors.offer_for_viewer(offer_id=offer_id, user=request.user)
    return serialize_offer(
        _call(lambda: services.decline_offer(buyer=request.user, offer=offer, note=body.note))
    )


@router.post(
    "/offers/{offer_id}/request-changes/",
    response=write_responses(400, 404, 409),
    summary="Ask for a new version",
)
def request_changes(request: HttpRequest, offer_id: int, body: NoteIn) -> dict:
    offer = selectors.offer_for_viewer(offer_id=offer_id, user=request.user)
    return serialize_offer(
        _call(
            lambda: services.request_offer_changes(buyer=request.user, offer=offer, note=body.note)
        )
    )


@router.get(
    "/orders/{reference}/",
    response=read_responses(404),
    summary="An order (parties and admins only)",
)
def get_order(request: HttpRequest, reference: str) -> dict:
    order = selectors.order_for_viewer(reference=reference, user=request.user)
    data = serialize_order(order)
    data["events"] = [
        {
            "type": e.type,
            "old_status": e.old_status,
            "new_status": e.new_status,
            "note": e.note,
            "at": e.created_at.isoformat(),
        }
        for e in order.events.all()
    ]
    return data


@router.post(
    "/orders/{reference}/csat/",
    response=write_responses(400, 404, ok=CsatOut),
    summary="Answer the CSAT question of a delivered order (the buyer, 1 to 5; again to change)",
)
def rate_order_csat(request: HttpRequest, reference: str, body: CsatIn) -> dict:
    order = selectors.order_for_viewer(reference=reference, user=request.user)
    rating = _call(
        lambda: rate_order(buyer=request.user, order=order, score=body.score, channel="web")
    )
    return {
        "order": order.reference,
        "score": rating.score,
        "channel": rating.channel,
        "updated_at": rating.updated_at.isoformat(),
    }


def _proof(request: HttpRequest, proof_id: int) -> Proof:
    proof = Proof.objects.select_related("order").filter(pk=proof_id).first()
    if proof is None:
        raise ApiError("not_found", "No such proof.", 404)
    selectors.order_for_viewer(reference=proof.order.reference, user=request.user)
    return proof


@router.post(
    "/proofs/{proof_id}/approve/",
    response=write_responses(400, 404, 409),
    summary="Approve a proof (time and image hash kept)",
)
def approve_proof(request: HttpRequest, proof_id: int) -> dict:
    proof = _proof(request, proof_id)
    return serialize_proof(_call(lambda: services.approve_proof(buyer=request.user, proof=proof)))


@router.post(
    "/proofs/{proof_id}/request-changes/",
    response=write_responses(400, 404, 409),
    summary="Request changes (uses a revision round)",
)
def request_proof_changes(request: HttpRequest, proof_id: int, body: NoteIn) -> dict:
    proof = _proof(request, proof_id)
    return serialize_proof(
        _call(
            lambda: services.request_proof_changes(buyer=request.user, proof=proof, note=body.note)
        )
    )
