"""Wire shapes of hub objects (documented in docs/protocol.md)."""

from __future__ import annotations

from typing import Any

from conversations.models import Attachment, Conversation, Message, MessageTranslation


def serialize_attachment(attachment: Attachment) -> dict[str, Any]:
    return {
        "id": attachment.pk,
        "url": attachment.file.url if attachment.file else "",
        "thumbnail_url": attachment.thumbnail.url if attachment.thumbnail else "",
        "width": attachment.width,
        "height": attachment.height,
        "content_type": attachment.content_type,
    }


def serialize_author(message: Message) -> dict[str, Any] | None:
    author = message.author
    if author is None:
        return None
    return {"id": author.pk, "name": author.name, "role": author.role}


def serialize_message(
    message: Message,
    *,
    translations: list[MessageTranslation] | None = None,
    attachments: list[Attachment] | None = None,
) -> dict[str, Any]:
    """One message as every client sees it; a hidden message keeps only its frame.

    ``attachments``: when the caller knows them (a message just written), no query."""
    hidden = message.is_hidden
    if attachments is None and not hidden:
        attachments = list(message.attachments.all())
    data: dict[str, Any] = {
        "id": message.pk,
        "conversation": message.conversation_id,
        "seq": message.seq,
        "kind": message.kind,
        "author": serialize_author(message),
        "text": "" if hidden else message.text,
        "language": message.language,
        "payload": {} if hidden else message.payload,
        "attachments": [] if hidden else [serialize_attachment(a) for a in attachments or ()],
        "client_id": message.client_id,
        "channel": message.channel,
        "created_at": message.created_at.isoformat(),
        "edited_at": message.edited_at.isoformat() if message.edited_at else None,
        "hidden": hidden,
        "update_seq": message.update_seq,
    }
    if translations is not None and not hidden:
        data["translations"] = {
            t.target_language: {"status": t.status, "text": t.text} for t in translations
        }
    return data


def serialize_conversation(
    conversation: Conversation, *, viewer_id: int, unread: int = 0, last_read_seq: int = 0
) -> dict[str, Any]:
    other = conversation.artisan if conversation.buyer_id == viewer_id else conversation.buyer
    return {
        "id": conversation.pk,
        "subject": conversation.subject,
        "status": conversation.status,
        "channel": conversation.channel,
        "bot_active": conversation.bot_active,
        "buyer": {"id": conversation.buyer_id, "name": conversation.buyer.name},
        "artisan": (
            {"id": conversation.artisan_id, "name": conversation.artisan.name}
            if conversation.artisan_id
            else None
        ),
        "other": {"id": other.pk, "name": other.name} if other else {"id": None, "name": "Atelier"},
        "context": (
            {"type": conversation.context_type, "id": conversation.context_id}
            if conversation.context_type
            else None
        ),
        "last_seq": conversation.last_seq,
        "last_read_seq": last_read_seq,
        "unread": unread,
        "last_message_at": (
            conversation.last_message_at.isoformat() if conversation.last_message_at else None
        ),
    }
