"""Backup → restore into a fresh database → verify, on the project's real schema.

PostgreSQL: in-process on the test database (pg_dump/pg_restore; CI runs it, locally it needs
DATABASE_URL on PostgreSQL). SQLite: the recovery drill's smoke run in a child process, with
its own migrated files, so it runs whatever the test database is.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection

from bench.generate_dataset import generate
from core.backup import (
    Database,
    create_backup,
    drop_postgres_database,
    restore_backup,
    table_fingerprints,
)
from tests.conftest import require_or_skip

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.integration]


@pytest.mark.django_db(transaction=True)
def test_postgresql_backup_restores_into_a_fresh_database_with_identical_tables(tmp_path):
    require_or_skip(connection.vendor == "postgresql", "needs DATABASE_URL on PostgreSQL")
    # Given a tiny dataset of orders, payments, ledger entries and messages, and an upload
    counts = generate(messages=120, orders=12, buyers=4, artisans=2)
    media = tmp_path / "media"
    (media / "attachments").mkdir(parents=True)
    (media / "attachments" / "proof.png").write_bytes(b"\x89PNG proof")
    source = Database.from_settings({"default": connection.settings_dict})
    before = table_fingerprints(source)
    assert before["conversations_message"]["rows"] == counts["messages"] == 120
    assert before["commerce_ledgerentry"]["rows"] == 24

    # When it is backed up and restored into a database that does not exist yet
    result = create_backup(database=source, media_root=media, backup_dir=tmp_path / "b", keep=2)
    target = Database.from_url(source.url.rsplit("/", 1)[0] + f"/{source.name}_restored")
    drop_postgres_database(target)
    try:
        restore_backup(path=result.path, target=target, media_root=tmp_path / "restored-media")
        # Then every table the business relies on is identical, row for row
        assert table_fingerprints(target) == before
        assert (tmp_path / "restored-media" / "attachments" / "proof.png").read_bytes() == (
            b"\x89PNG proof"
        )
        # And a second restore into the now non-empty database is refused
        with pytest.raises(Exception, match="already holds tables"):
            restore_backup(path=result.path, target=target, media_root=None)
    finally:
        drop_postgres_database(target)
