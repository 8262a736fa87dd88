"""``manage.py backup``: database + media + manifest into BACKUP_DIR (see core/backup.py)."""

from __future__ import annotations

import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core.backup import BackupError, Database, create_backup


class Command(BaseCommand):
    help = "Back up the database (pg_dump or SQLite copy) and MEDIA_ROOT, with checksums."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--backup-dir", help="Where sets are written (default BACKUP_DIR).")
        parser.add_argument(
            "--database-url", help="Database to back up (default: the configured database)."
        )
        parser.add_argument(
            "--keep", type=int, help="Complete sets to keep, newest first (default BACKUP_KEEP)."
        )

    def handle(self, *args, **options) -> None:
        backup_dir = Path(options["backup_dir"] or settings.BACKUP_DIR)
        keep = options["keep"] if options["keep"] is not None else settings.BACKUP_KEEP
        started = time.perf_counter()
        try:
            result = create_backup(
                database=(
                    Database.from_url(options["database_url"])
                    if options["database_url"]
                    else Database.from_settings(settings.DATABASES)
                ),
                media_root=Path(settings.MEDIA_ROOT),
                backup_dir=backup_dir,
                keep=keep,
            )
        except BackupError as error:
            raise CommandError(str(error)) from error
        parts = result.manifest["parts"]
        self.stdout.write(
            f"Backup written: {result.path} ({result.manifest['engine']}, database "
            f"{parts['database']['bytes']} bytes, media {parts['media']['bytes']} bytes) "
            f"in {time.perf_counter() - started:.2f} s"
        )
        for old in result.removed:
            self.stdout.write(f"Removed by retention (keep {keep}): {old.name}")
