"""``manage.py restore <set|latest>``: verify checksums, then restore (see core/backup.py)."""

from __future__ import annotations

import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core.backup import BackupError, Database, resolve_backup, restore_backup


class Command(BaseCommand):
    help = (
        "Restore a backup set into a database (default: this project's). Checksums are "
        "verified first; a non-empty target is refused unless --force."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("backup", help="A set's directory or name in BACKUP_DIR, or 'latest'.")
        parser.add_argument(
            "--database-url",
            help="Target database, e.g. postgres://user@host:5432/atelier_restored (created "
            "if missing) or sqlite:////abs/path.sqlite3. Default: the configured database.",
        )
        parser.add_argument("--media-root", help="Where uploads are restored (default MEDIA_ROOT).")
        parser.add_argument("--skip-media", action="store_true", help="Restore the database only.")
        parser.add_argument(
            "--force", action="store_true", help="Replace a non-empty target database/media."
        )
        parser.add_argument("--backup-dir", help="Where to look up names (default BACKUP_DIR).")

    def handle(self, *args, **options) -> None:
        backup_dir = Path(options["backup_dir"] or settings.BACKUP_DIR)
        started = time.perf_counter()
        try:
            path = resolve_backup(backup=options["backup"], backup_dir=backup_dir)
            target = (
                Database.from_url(options["database_url"])
                if options["database_url"]
                else Database.from_settings(settings.DATABASES)
            )
            media_root = (
                None
                if options["skip_media"]
                else Path(options["media_root"] or settings.MEDIA_ROOT)
            )
            manifest = restore_backup(
                path=path, target=target, media_root=media_root, force=options["force"]
            )
        except BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            f"Restored {path.name} (taken {manifest['created_at']}) into {target.safe_label}"
            + ("" if media_root is None else f" and {media_root}")
            + f" in {time.perf_counter() - started:.2f} s"
        )
