"""JSON API of the hub (mounted at /api/conversations/). Thin: parse, call a service, shape."""

from __future__ import annotations

import math
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404
from ninja import File, Router, Schema
from ninja.files import UploadedFile
from pydantic import Field

from conversations import selectors, services
from conversations.attachments import upload_attachment
from conversations.models import Message, Participant
from conversations.serializers import serialize_attachment, serialize_conversation
from core.api import ApiError, read_responses, write_responses
from core.models import User

router = Router(tags=["conversations"])

PAGE_SIZE = 25


def _hub_error(exc: services.HubError) -> ApiError:
    status = {"forbidden": 403, "blocked": 403, "suspended": 403, "rate_limited": 429}.get(
        exc.code, 400 if exc.code not in ("too_long", "too_large") else 413
    )
    return ApiError(
        exc.code, exc.message, status, exc.field, retry_after=getattr(exc, "retry_after", None)
    )


def _readable(request: HttpRequest, conversation_id: int):
    conversation = selectors.readable_conversation(
        user=request.user, conversation_id=conversation_id
    )
    if conversation is None:
        raise Http404("No such conversation, or you are not part of it.")
    return conversation


def _writable(request: HttpRequest, conversation_id: int):
    conversation = selectors.conversation_for_writer(
        user=request.user, conversation_id=conversation_id
    )
    if conversation is None:
        if selectors.is_read_only_observer(user=request.user, conversation_id=conversation_id):
            raise ApiError(
                "read_only", "Moderators read conversations; act through the console.", 403
            )
        raise Http404("No such conversation, or you are not part of it.")
    return conversation


class StartConversationIn(Schema):
    artisan_id: int | None = None
    subject: str = Field("", max_length=200)
    context_type: str = Field("", max_length=32)
    context_id: int | None = None


class SendMessageIn(Schema):
    client_id: str = Field(..., min_length=1, max_length=64)
    text: str = ""
    attachments: list[int] = Field(default_factory=list, max_length=10)


class ReadIn(Schema):
    seq: int = Field(..., ge=0)


class EditIn(Schema):
    text: str


class ReportIn(Schema):
    reason: str = Field(..., min_length=1, max_length=500)


@router.get(
    "/",
    response=read_responses(),
    summary="List my conversations (unread first), with unread counts",
)
def list_conversations(
    request: HttpRequest, status: str = "", q: str = "", label: str = "", page: int = 1
) -> dict[str, Any]:
    qs = selectors.inbox(user=request.user, status=status or None, query=q[:100], label=label[:40])
    total = qs.count()
    pages = max(1, math.ceil(total / PAGE_SIZE))
    if page < 1 or page > pages:
        raise ApiError("invalid", f"page must be between 1 and {pages}.", 422, "page")
    items = [
        serialize_conversation(
            c, viewer_id=request.user.pk, unread=max(c.unread, 0), last_read_seq=c.my_read_seq
        )
        for c in qs[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    ]
    return {
        "items": items,
        "page": page,
        "pages": pages,
        "total": total,
        "unread_conversations": selectors.unread_total(user=request.user),
    }


@router.post(
    "/",
    response=write_responses(400, 404),
    summary="Start (or continue) a conversation with an artisan or the shop bot",
)
def start_conversation(request: HttpRequest, data: StartConversationIn) -> dict[str, Any]:
    artisan = None
    if data.artisan_id is not None:
        artisan = User.objects.filter(pk=data.artisan_id, is_active=True).first()
        if artisan is None:
            raise ApiError("not_found", "No such artisan.", 404, "artisan_id")
    try:
        conversation = services.start_conversation(
            buyer=request.user,
            artisan=artisan,
            subject=data.subject,
            context_type=data.context_type,
            context_id=data.context_id,
        )
    except services.HubError as exc:
        raise _hub_error(exc) from exc
    return serialize_conversation(conversation, viewer_id=request.user.pk)


@router.get("/{conversation_id}/", response=read_responses(404), summary="One conversation")
def get_conversation(request: HttpRequest, conversation_id: int) -> dict[str, Any]:
    conversation = _readable(request, conversation_id)
    participant = services.participant_for(conversation=conversation, user=request.user)
    read_seq = participant.last_read_seq if participant else conversation.last_seq
    return serialize_conversation(
        conversation,
        viewer_id=request.user.pk,
        unread=max(conversation.last_seq - read_seq, 0),
        last_read_seq=read_seq,
    )


@router.get(
    "/{conversation_id}/messages/",
    response=read_responses(404),
    summary="History page (oldest first)",
)
def list_messages(
    request: HttpRequest,
    conversation_id: int,
    before_seq: int | None = None,
    after_seq: int | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    if not 1 <= limit <= 200:
        raise ApiError("invalid", "limit must be between 1 and 200.", 422, "limit")
    if before_seq is not None and after_seq is not None:
        raise ApiError("invalid", "Use before_seq or after_seq, not both.", 422)
    conversation = _readable(request, conversation_id)
    messages, has_more = selectors.history_page(
        conversation=conversation, before_seq=before_seq, after_seq=after_seq, limit=limit
    )
    return {
        "items": [selectors.serialize_with_translations(m) for m in messages],
        "has_more": has_more,
        "last_seq": conversation.last_seq,
        "read": dict(
            Participant.objects.filter(conversation=conversation).values_list(
                "user_id", "last_read_seq"
            )
        ),
    }


@router.post(
    "/{conversation_id}/messages/",
    response=write_responses(400, 404, 413),
    summary="Send a message (idempotent per client_id)",
)
def send_message(request: HttpRequest, conversation_id: int, data: SendMessageIn) -> dict[str, Any]:
    conversation = _writable(request, conversation_id)
    try:
        result = services.post_message(
            conversation=conversation,
            author=request.user,
            text=data.text,
            client_id=data.client_id,
            attachment_ids=data.attachments,
            channel="web",
        )
    except services.HubError as exc:
        raise _hub_error(exc) from exc
    return {
        "message": selectors.serialize_with_translations(result.message),
        "duplicate": not result.created,
    }


@router.post(
    "/{conversation_id}/read/", response=write_responses(400, 404), summary="Mark read up to seq"
)
def mark_read(request: HttpRequest, conversation_id: int, data: ReadIn) -> dict[str, Any]:
    conversation = _writable(request, conversation_id)
    try:
        seq = services.mark_read(conversation=conversation, user=request.user, seq=data.seq)
    except services.HubError as exc:
        raise _hub_error(exc) from exc
    return {"conversation": conversation.pk, "last_read_seq": seq}


@router.post(
    "/{conversation_id}/attachments/",
    response=write_responses(400, 404, 413),
    summary="Upload an image (JPEG, PNG, WebP)",
)
def upload(
    request: HttpRequest,
    conversation_id: int,
    file: UploadedFile = File(...),  # noqa: B008
) -> dict[str, Any]:
    conversation = _writable(request, conversation_id)
    try:
        attachment = upload_attachment(
            conversation=conversation, uploader=request.user, data=file.read()
        )
    except services.HubError as exc:
        raise _hub_error(exc) from exc
    return serialize_attachment(attachment)


def _message_for(request: HttpRequest, message_id: int) -> Message:
    message = get_object_or_404(Message.objects.select_related("conversation"), pk=message_id)
    if not services.participant_for(conversation=message.conversation, user=request.user):
        raise Http404("No such message.")
    return message


@router.patch(
    "/messages/{message_id}/",
    response=write_responses(400, 404, 413),
    summary="Edit my text message (previous versions kept)",
)
def edit_message(request: HttpRequest, message_id: int, data: EditIn) -> dict[str, Any]:
    message = _message_for(request, message_id)
    try:
        message = services.edit_message(message=message, editor=request.user, text=data.text)
    except services.NotAParticipant as exc:
        raise PermissionDenied(exc.message) from exc
    except services.HubError as exc:
        raise _hub_error(exc) from exc
    return selectors.serialize_with_translations(message)


@router.get(
    "/messages/{message_id}/revisions/",
    response=read_responses(404),
    summary="Previous versions of an edited message",
)
def message_revisions(request: HttpRequest, message_id: int) -> dict[str, Any]:
    message = _message_for(request, message_id)
    return {
        "items": [
            {"text": r.text, "replaced_at": r.replaced_at.isoformat()}
            for r in message.revisions.all()
        ]
    }


@router.post(
    "/messages/{message_id}/report/",
    response=write_responses(400, 404),
    summary="Report a message to moderators",
)
def report(request: HttpRequest, message_id: int, data: ReportIn) -> dict[str, Any]:
    message = _message_for(request, message_id)
    try:
        created = services.report_message(
            message=message, reporter=request.user, reason=data.reason
        )
    except services.HubError as exc:
        raise _hub_error(exc) from exc
    return {"report": created.pk, "status": created.status}


@router.post(
    "/users/{user_id}/block/",
    response=write_responses(400, 404),
    summary="Block a person on every channel",
)
def block(request: HttpRequest, user_id: int) -> dict[str, Any]:
    other = get_object_or_404(User, pk=user_id)
    try:
        services.block_user(blocker=request.user, blocked=other)
    except services.HubError as exc:
        raise _hub_error(exc) from exc
    return {"blocked": other.pk}


@router.delete("/users/{user_id}/block/", response=write_responses(404), summary="Unblock a person")
def unblock(request: HttpRequest, user_id: int) -> dict[str, Any]:
    other = get_object_or_404(User, pk=user_id)
    services.unblock_user(blocker=request.user, blocked=other)
    return {"unblocked": other.pk}
