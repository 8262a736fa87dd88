"""Re-encrypt every value stored in an encrypted field under the newest key.

Rotation: put the new Fernet key first in FIELD_ENCRYPTION_KEYS (keep the old ones after
it), deploy, run this command, then remove the old keys. Plain values left from before
encryption was switched on are encrypted too. Safe to re-run and to interrupt: each batch
is one transaction, and a value already under the newest key is simply rewritten.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core.crypto import _fernet, encrypted_fields, reencrypt_model


class Command(BaseCommand):
    help = "Re-encrypt all encrypted fields with the newest FIELD_ENCRYPTION_KEYS key."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args: Any, batch_size: int, **options: Any) -> None:
        if _fernet() is None:
            raise CommandError("FIELD_ENCRYPTION_KEYS is empty: there is no key to rotate to.")
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        total = 0
        for model, names in encrypted_fields():
            rows = reencrypt_model(model, names, batch_size=batch_size)
            total += rows
            self.stdout.write(f"{model._meta.label}: {rows} rows ({', '.join(names)})")
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {total} rows."))
