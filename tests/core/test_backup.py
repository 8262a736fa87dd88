"""core/backup.py on plain SQLite files: checksums, refusals, retention (no server needed).

The full backup → restore → verify round trips on the project's schema are in
tests/integration/test_backup_restore.py (PostgreSQL) and the recovery drill's smoke run.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from core.backup import (
    BackupError,
    Database,
    apply_retention,
    create_backup,
    list_backups,
    resolve_backup,
    restore_backup,
    verify_backup,
)


def sqlite_db(path: Path, rows: int = 3) -> Database:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT)")
    conn.executemany("INSERT INTO item (name) VALUES (?)", [(f"n{i}",) for i in range(rows)])
    conn.commit()
    conn.close()
    return Database.from_url(f"sqlite:///{path}")


def items(path: Path) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT id, name FROM item ORDER BY id").fetchall()
    finally:
        conn.close()


@pytest.fixture
def source(tmp_path) -> tuple[Database, Path]:
    media = tmp_path / "media"
    (media / "products").mkdir(parents=True)
    (media / "products" / "bowl.jpg").write_bytes(b"\xff\xd8 jpeg bytes")
    return sqlite_db(tmp_path / "src.sqlite3"), media


def test_backup_writes_parts_and_a_manifest_of_their_checksums(tmp_path, source):
    database, media = source
    result = create_backup(database=database, media_root=media, backup_dir=tmp_path / "b", keep=3)
    manifest = json.loads((result.path / "manifest.json").read_text())
    assert manifest["engine"] == "sqlite"
    assert manifest["format"] == 1
    assert sorted(p.name for p in result.path.iterdir()) == [
        "database.sqlite3",
        "manifest.json",
        "media.tar.gz",
    ]
    assert len(manifest["parts"]["database"]["sha256"]) == 64
    assert verify_backup(result.path) == manifest


def test_restore_round_trip_into_a_fresh_database_and_media_root(tmp_path, source):
    database, media = source
    result = create_backup(database=database, media_root=media, backup_dir=tmp_path / "b", keep=3)
    target = Database.from_url(f"sqlite:///{tmp_path / 'restored.sqlite3'}")
    restore_backup(path=result.path, target=target, media_root=tmp_path / "media2")
    assert items(tmp_path / "restored.sqlite3") == items(tmp_path / "src.sqlite3")
    assert (tmp_path / "media2" / "products" / "bowl.jpg").read_bytes() == b"\xff\xd8 jpeg bytes"


def test_a_damaged_part_is_refused_before_anything_is_touched(tmp_path, source):
    database, media = source
    result = create_backup(database=database, media_root=media, backup_dir=tmp_path / "b", keep=3)
    with (result.path / "database.sqlite3").open("r+b") as handle:
        handle.seek(200)
        handle.write(b"X")
    target_path = tmp_path / "target.sqlite3"
    with pytest.raises(BackupError, match="does not match its checksum"):
        restore_backup(
            path=result.path,
            target=Database.from_url(f"sqlite:///{target_path}"),
            media_root=tmp_path / "media2",
        )
    assert not target_path.exists()
    assert not (tmp_path / "media2").exists()


def test_a_missing_part_is_refused(tmp_path, source):
    database, media = source
    result = create_backup(database=database, media_root=media, backup_dir=tmp_path / "b", keep=3)
    (result.path / "media.tar.gz").unlink()
    with pytest.raises(BackupError, match="missing"):
        verify_backup(result.path)


def test_a_non_empty_target_is_refused_unless_forced(tmp_path, source):
    database, media = source
    result = create_backup(database=database, media_root=media, backup_dir=tmp_path / "b", keep=3)
    existing = sqlite_db(tmp_path / "live.sqlite3", rows=10)
    with pytest.raises(BackupError, match="already holds tables"):
        restore_backup(path=result.path, target=existing, media_root=None)
    assert len(items(tmp_path / "live.sqlite3")) == 10
    restore_backup(path=result.path, target=existing, media_root=None, force=True)
    assert items(tmp_path / "live.sqlite3") == items(tmp_path / "src.sqlite3")


def test_a_non_empty_media_root_is_refused_unless_forced(tmp_path, source):
    database, media = source
    result = create_backup(database=database, media_root=media, backup_dir=tmp_path / "b", keep=3)
    live_media = tmp_path / "live-media"
    live_media.mkdir()
    (live_media / "new-upload.jpg").write_bytes(b"new")
    target = Database.from_url(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    with pytest.raises(BackupError, match="is not empty"):
        restore_backup(path=result.path, target=target, media_root=live_media)
    assert not (tmp_path / "fresh.sqlite3").exists()
    restore_backup(path=result.path, target=target, media_root=live_media, force=True)
    assert sorted(p.name for p in live_media.rglob("*")) == ["bowl.jpg", "products"]


def test_retention_keeps_the_newest_sets_and_drops_partial_ones(tmp_path, source):
    database, media = source
    backups = tmp_path / "b"
    start = datetime(2026, 3, 1, tzinfo=UTC)
    for day in range(4):
        create_backup(
            database=database,
            media_root=media,
            backup_dir=backups,
            keep=10,
            now=start + timedelta(days=day),
        )
    (backups / "atelier-20260101T000000000Z.partial").mkdir()
    removed = apply_retention(backup_dir=backups, keep=2)
    assert [p.name for p in list_backups(backups)] == [
        "atelier-20260303T000000000Z",
        "atelier-20260304T000000000Z",
    ]
    assert len(removed) == 3
    assert resolve_backup(backup="latest", backup_dir=backups).name.endswith("0304T000000000Z")


def test_a_backup_of_another_engine_is_refused(tmp_path, source):
    database, media = source
    result = create_backup(database=database, media_root=media, backup_dir=tmp_path / "b", keep=3)
    manifest = json.loads((result.path / "manifest.json").read_text())
    manifest["engine"] = "postgresql"
    (result.path / "manifest.json").write_text(json.dumps(manifest))
    target = Database.from_url(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    with pytest.raises(BackupError, match="postgresql database; the target is sqlite"):
        restore_backup(path=result.path, target=target, media_root=None)


def test_bad_inputs_get_clear_errors(tmp_path):
    with pytest.raises(BackupError, match="Unsupported database engine"):
        Database.from_url("mysql://u@h/db")
    with pytest.raises(BackupError, match="must be a file"):
        Database.from_url("sqlite://:memory:")
    with pytest.raises(BackupError, match="No complete backup"):
        resolve_backup(backup="latest", backup_dir=tmp_path)
    with pytest.raises(BackupError, match="not a backup set"):
        resolve_backup(backup=str(tmp_path), backup_dir=tmp_path)
    with pytest.raises(BackupError, match="at least 1"):
        apply_retention(backup_dir=tmp_path, keep=0)


def test_postgres_urls_keep_credentials_out_of_the_label():
    database = Database.from_url("postgres://app:s3cret@db.internal:5433/atelier")
    assert database.engine == "postgresql"
    assert database.name == "atelier"
    assert "s3cret" not in database.safe_label
    assert database.safe_label == "postgresql://db.internal:5433/atelier"


def test_the_commands_back_up_and_restore_the_configured_files(tmp_path, settings, source):
    database, media = source
    settings.MEDIA_ROOT = media
    settings.BACKUP_DIR = tmp_path / "b"
    settings.BACKUP_KEEP = 2
    call_command("backup", f"--database-url=sqlite:///{database.url}")
    (backup_set,) = list_backups(tmp_path / "b")
    with pytest.raises(CommandError, match="already holds tables"):
        call_command("restore", "latest", f"--database-url=sqlite:///{database.url}")
    call_command(
        "restore",
        backup_set.name,
        f"--database-url=sqlite:///{tmp_path / 'r.sqlite3'}",
        f"--media-root={tmp_path / 'm'}",
    )
    assert items(tmp_path / "r.sqlite3") == items(Path(database.url))
    assert (tmp_path / "m" / "products" / "bowl.jpg").exists()
