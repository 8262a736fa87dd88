"""The hub's part of GDPR export and erasure (registered with core.gdpr)."""

from __future__ import annotations

from core.gdpr import register_eraser, register_exporter
from core.models import User


def export_messages(user: User) -> list[dict]:
    from conversations.models import Message

    return [
        {
            "conversation": m.conversation_id,
            "seq": m.seq,
            "kind": m.kind,
            "text": m.text,
            "language": m.language,
            "created_at": m.created_at.isoformat(),
            "edited_at": m.edited_at.isoformat() if m.edited_at else None,
            "previous_versions": [r.text for r in m.revisions.all()],
        }
        for m in Message.objects.filter(author=user)
        .prefetch_related("revisions")
        .order_by("created_at")
    ]


def export_conversations(user: User) -> list[dict]:
    from conversations.models import Participant

    return [
        {
            "conversation": p.conversation_id,
            "role": p.role,
            "subject": p.conversation.subject,
            "started": p.conversation.created_at.isoformat(),
        }
        for p in Participant.objects.filter(user=user).select_related("conversation")
    ]


def erase_messages(user: User) -> None:
    from conversations.models import (
        Attachment,
        Message,
        MessageRevision,
        MessageTranslation,
        QuickReply,
    )
    from conversations.search import forget_messages

    mine = Message.objects.filter(author=user)
    MessageRevision.objects.filter(message__in=mine).delete()
    MessageTranslation.objects.filter(message__in=mine).delete()
    for attachment in Attachment.objects.filter(uploader=user):
        attachment.file.delete(save=False)
        if attachment.thumbnail:
            attachment.thumbnail.delete(save=False)
        attachment.delete()
    # Keep the frame (seq, kind, time) so the other side's history stays coherent.
    erased = mine.filter(kind__in=["text", "image"])
    forget_messages(erased.values("pk"))
    erased.update(text="", payload={}, client_id=None)
    QuickReply.objects.filter(owner=user).delete()


register_exporter("messages", export_messages)
register_exporter("conversations", export_conversations)
register_eraser("conversations", erase_messages)
