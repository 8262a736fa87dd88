"""Field encryption at rest with key rotation (cryptography's MultiFernet).

``FIELD_ENCRYPTION_KEYS`` is a list of Fernet keys, newest first: values are written with the
first and read with any, so a new key can be put in front, ``manage.py
rotate_encryption_keys`` re-encrypts every stored value in batches, and the old key is then
dropped. Production refuses to start without keys (``core.E010``); with DEBUG on, settings
derive a development key from the embedded SECRET_KEY so the embedded setup encrypts too.

Stored ciphertexts carry a prefix, so a value written before encryption was switched on
still reads (as plain text) and the rotation command encrypts it.

What this protects and what it does not is written down in docs/security.md (threat model):
the database and its backups hold ciphertext for chat bodies, custom-request descriptions,
offer notes, shipping addresses and TOTP secrets; the application servers hold the keys,
because the platform itself must moderate, translate and show these texts.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.apps import apps
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction

_PREFIX = "fernet:"
_cache: tuple[tuple[str, ...], MultiFernet] | None = None


def _fernet() -> MultiFernet | None:
    global _cache
    keys = tuple(k for k in getattr(settings, "FIELD_ENCRYPTION_KEYS", []) if k)
    if not keys:
        return None
    if _cache is not None and _cache[0] == keys:
        return _cache[1]
    try:
        fernet = MultiFernet([Fernet(k.encode()) for k in keys])
    except ValueError as exc:  # a malformed key must stop the process, not corrupt data
        raise ImproperlyConfigured(f"FIELD_ENCRYPTION_KEYS holds an invalid key: {exc}") from exc
    _cache = (keys, fernet)
    return fernet


def is_encrypted(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(_PREFIX)


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


def rotate_text(value: str) -> str:
    """The stored form of ``value`` under the newest key (plain values get encrypted)."""
    if not value:
        return value
    fernet = _fernet()
    if fernet is None:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is not set: nothing to rotate to.")
    if not value.startswith(_PREFIX):
        return encrypt_text(value)
    try:
        return _PREFIX + fernet.rotate(value[len(_PREFIX) :].encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured("No configured key decrypts a stored value.") from exc


class EncryptedTextField(models.TextField):
    """A TextField encrypted at rest when keys are configured."""

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        return decrypt_text(value) if isinstance(value, str) else value

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        return encrypt_text(value) if isinstance(value, str) else value


class EncryptedCharField(models.CharField):
    """A CharField (form widget and ``max_length`` validation on the plain value) stored as
    encrypted text: the column is ``text`` because a ciphertext is longer than its plain
    value."""

    def get_internal_type(self) -> str:
        return "TextField"

    def db_check(self, connection: Any) -> None:
        return None

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        return decrypt_text(value) if isinstance(value, str) else value

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        return encrypt_text(value) if isinstance(value, str) else value


class EncryptedJSONField(models.TextField):
    """A JSON document (dict/list) stored as one encrypted text value. It cannot be
    queried by key in the database; it is for snapshots that are only read whole."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("default", dict)
        super().__init__(*args, **kwargs)

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None:
            return value
        plain = decrypt_text(value)
        return json.loads(plain) if plain else {}

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str):
            return json.loads(decrypt_text(value)) if value else {}
        return value

    def get_prep_value(self, value: Any) -> Any:
        if value is None:
            return value
        if isinstance(value, str) and is_encrypted(value):
            return value
        return encrypt_text(json.dumps(value, cls=DjangoJSONEncoder, sort_keys=True))

    def value_to_string(self, obj: Any) -> str:
        return json.dumps(self.value_from_object(obj), cls=DjangoJSONEncoder, sort_keys=True)

    def formfield(self, **kwargs: Any) -> Any:  # pragma: no cover - never edited by a form
        from django import forms

        return super().formfield(**{"form_class": forms.JSONField, **kwargs})


ENCRYPTED_FIELD_TYPES = (EncryptedTextField, EncryptedCharField, EncryptedJSONField)


def encrypted_fields() -> Iterator[tuple[type[models.Model], list[str]]]:
    """Every concrete model with encrypted fields, and those fields' names."""
    for model in apps.get_models():
        names = [
            f.name for f in model._meta.concrete_fields if isinstance(f, ENCRYPTED_FIELD_TYPES)
        ]
        if names:
            yield model, names


def reencrypt_model(
    model: type[models.Model], field_names: list[str], *, batch_size: int = 500
) -> int:
    """Rewrite every stored value of ``field_names`` under the newest key, in batches of
    primary keys (each batch one transaction, rows locked), without loading plain values
    into the model layer. Returns the number of rows rewritten."""
    columns = {name: model._meta.get_field(name).column for name in field_names}
    manager = model._base_manager
    rewritten = 0
    last_pk: Any = None
    while True:
        page = manager.order_by("pk")
        if last_pk is not None:
            page = page.filter(pk__gt=last_pk)
        pks = list(page.values_list("pk", flat=True)[:batch_size])
        if not pks:
            return rewritten
        last_pk = pks[-1]
        with transaction.atomic():
            rows = _raw_values(model, pks, columns)
            for pk, stored in rows:
                changes = {
                    name: rotate_text(value)
                    for name, value in stored.items()
                    if isinstance(value, str) and value
                }
                if changes:
                    _raw_update(model, pk, {columns[n]: v for n, v in changes.items()})
                    rewritten += 1


def _raw_values(
    model: type[models.Model], pks: list[Any], columns: dict[str, str]
) -> list[tuple[Any, dict[str, Any]]]:
    from django.db import connection

    table = connection.ops.quote_name(model._meta.db_table)
    pk_column = connection.ops.quote_name(model._meta.pk.column)
    names = list(columns)
    selected = ", ".join(connection.ops.quote_name(columns[n]) for n in names)
    placeholders = ", ".join(["%s"] * len(pks))
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {pk_column}, {selected} FROM {table} "  # noqa: S608 - names are quoted
            f"WHERE {pk_column} IN ({placeholders}){lock}",
            pks,
        )
        return [(row[0], dict(zip(names, row[1:], strict=True))) for row in cursor.fetchall()]


def _raw_update(model: type[models.Model], pk: Any, values: dict[str, str]) -> None:
    from django.db import connection

    table = connection.ops.quote_name(model._meta.db_table)
    pk_column = connection.ops.quote_name(model._meta.pk.column)
    assignments = ", ".join(f"{connection.ops.quote_name(c)} = %s" for c in values)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {assignments} WHERE {pk_column} = %s",  # noqa: S608
            [*values.values(), pk],
        )


@checks.register(checks.Tags.security, deploy=False)
def check_encryption_keys(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Production (DEBUG off) refuses to start without keys for data at rest."""
    keys = [k for k in getattr(settings, "FIELD_ENCRYPTION_KEYS", []) if k]
    if not keys and not settings.DEBUG:
        return [
            checks.Error(
                "FIELD_ENCRYPTION_KEYS is empty: chat bodies, addresses and TOTP secrets "
                "would be stored in plain text.",
                hint="Generate one with `python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'` and set FIELD_ENCRYPTION_KEYS.",
                id="core.E010",
            )
        ]
    try:
        _fernet()
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="core.E011")]
    return []


def encrypt_existing_rows(apps: Any, fields: dict[str, list[str]]) -> None:
    """For data migrations: encrypt the plain values already stored in ``fields``
    (``{"app_label.Model": [field names]}``) once encryption is switched on for them."""
    if _fernet() is None:
        return
    for label, names in fields.items():
        reencrypt_model(apps.get_model(label), names)
