"""Field encryption at rest with key rotation (cryptography's MultiFernet).

With no FIELD_ENCRYPTION_KEYS configured values are stored as plain text, so that the
embedded setup works out of the box; production sets keys (see .env.example). Stored
ciphertexts carry a prefix, so enabling encryption later still reads old plain values.
"""

from __future__ import annotations

from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

_PREFIX = "fernet:"


def _fernet() -> MultiFernet | None:
    keys = [k for k in getattr(settings, "FIELD_ENCRYPTION_KEYS", []) if k]
    if not keys:
        return None
    try:
        return MultiFernet([Fernet(k.encode()) for k in keys])
    except ValueError as exc:  # a malformed key must stop the process, not corrupt data
        raise ImproperlyConfigured(f"FIELD_ENCRYPTION_KEYS holds an invalid key: {exc}") from exc


def encrypt_text(value: str) -> str:
    fernet = _fernet()
    if not value or fernet is None:
        return value
    return _PREFIX + fernet.encrypt(value.encode()).decode()


def decrypt_text(value: str) -> str:
    if not value or not value.startswith(_PREFIX):
        return value
    fernet = _fernet()
    if fernet is None:
        raise ImproperlyConfigured("Encrypted data found but FIELD_ENCRYPTION_KEYS is not set.")
    try:
        return fernet.decrypt(value[len(_PREFIX) :].encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured("No configured key decrypts a stored value.") from exc


class EncryptedTextField(models.TextField):
    """A TextField encrypted at rest when keys are configured."""

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        return decrypt_text(value) if isinstance(value, str) else value

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        return encrypt_text(value) if isinstance(value, str) else value
