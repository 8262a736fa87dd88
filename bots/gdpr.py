"""Telegram data in GDPR export and erasure (registered with core.gdpr)."""

from __future__ import annotations

from core.gdpr import register_eraser, register_exporter
from core.models import User


def export_telegram(user: User) -> dict | None:
    from bots.models import TelegramAccount

    account = TelegramAccount.objects.filter(user=user).first()
    if account is None:
        return None
    return {
        "telegram_user_id": account.telegram_user_id,
        "chat_id": account.chat_id,
        "username": account.username,
        "first_name": account.first_name,
        "language_code": account.language_code,
        "linked_at": account.linked_at.isoformat() if account.linked_at else None,
    }


def erase_telegram(user: User) -> None:
    from bots.models import LinkCode, TelegramAccount

    # Unlinking stops every delivery to that chat; the Telegram ids are personal data.
    TelegramAccount.objects.filter(user=user).delete()
    LinkCode.objects.filter(user=user).delete()


register_exporter("telegram", export_telegram)
register_eraser("telegram", erase_telegram)
