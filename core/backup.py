"""Backups and restores: the database, the uploaded media and a manifest of checksums.

A backup set is one directory under ``BACKUP_DIR`` named ``atelier-<UTC timestamp>``:

- ``database.dump`` — ``pg_dump --format=custom`` for PostgreSQL, or ``database.sqlite3``
  — a consistent copy through SQLite's online backup API when ``DATABASE_URL`` is unset;
- ``media.tar.gz`` — ``MEDIA_ROOT`` (uploads: product and process photos, attachments);
- ``manifest.json`` — format, engine, creation time and the sha256 + size of each part.

A set is written under a ``.partial`` name and renamed when complete, so a crash mid-backup
never leaves something that looks restorable. Retention keeps the newest ``BACKUP_KEEP``
complete sets. A restore verifies every checksum before it touches anything, and refuses a
non-empty target database (or media directory) unless forced. The operator's runbook is
``docs/operations.md``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import subprocess
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import environ

MANIFEST = "manifest.json"
FORMAT_VERSION = 1
SET_PREFIX = "atelier-"
PARTIAL_SUFFIX = ".partial"
_CHUNK = 1024 * 1024


class BackupError(Exception):
    """A backup or restore that cannot go ahead; the message says why and what to do."""


@dataclass(frozen=True)
class Database:
    """Where a database lives, parsed from a Django-style URL (or a SQLite file path)."""

    engine: str  # "postgresql" | "sqlite"
    url: str  # a libpq URL for PostgreSQL, the file path for SQLite
    name: str

    @classmethod
    def from_url(cls, url: str) -> Database:
        if not url:
            raise BackupError("No database URL given.")
        config = environ.Env.db_url_config(url)
        engine = config["ENGINE"]
        if engine == "django.db.backends.postgresql":
            # libpq accepts postgres:// and postgresql:// but not Django's other aliases.
            scheme, _, rest = url.partition("://")
            if scheme not in ("postgres", "postgresql"):
                url = f"postgresql://{rest}"
            return cls(engine="postgresql", url=url, name=config["NAME"])
        if engine == "django.db.backends.sqlite3":
            name = config["NAME"]
            if not name or name == ":memory:":
                raise BackupError("A SQLite database must be a file to back it up or restore it.")
            return cls(engine="sqlite", url=name, name=name)
        raise BackupError(f"Unsupported database engine {engine!r} (PostgreSQL or SQLite).")

    @classmethod
    def from_settings(cls, databases: dict[str, Any]) -> Database:
        default = databases["default"]
        if default["ENGINE"] == "django.db.backends.sqlite3":
            return cls(engine="sqlite", url=str(default["NAME"]), name=str(default["NAME"]))
        if default["ENGINE"] != "django.db.backends.postgresql":
            raise BackupError(f"Unsupported database engine {default['ENGINE']!r}.")
        from urllib.parse import quote

        auth = quote(default.get("USER") or "", safe="")
        if default.get("PASSWORD"):
            auth += ":" + quote(default["PASSWORD"], safe="")
        host = default.get("HOST") or "localhost"
        port = f":{default['PORT']}" if default.get("PORT") else ""
        at = f"{auth}@" if auth else ""
        url = f"postgresql://{at}{host}{port}/{quote(default['NAME'], safe='')}"
        return cls(engine="postgresql", url=url, name=default["NAME"])

    @property
    def safe_label(self) -> str:
        """The database without credentials, for manifests and messages."""
        if self.engine == "sqlite":
            return f"sqlite:{self.name}"
        config = environ.Env.db_url_config(self.url)
        return f"postgresql://{config.get('HOST') or 'localhost'}:{config.get('PORT') or 5432}/{self.name}"


@dataclass(frozen=True)
class BackupResult:
    path: Path
    manifest: dict[str, Any]
    removed: list[Path]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _run(command: list[str], *, what: str) -> None:
    try:
        result = subprocess.run(  # noqa: S603 - fixed tool, arguments we built
            command, capture_output=True, text=True, check=False
        )
    except FileNotFoundError as error:
        raise BackupError(
            f"{command[0]} is not installed; install the PostgreSQL client tools "
            "(Debian: apt-get install postgresql-client) matching the server's major version."
        ) from error
    if result.returncode != 0:
        raise BackupError(
            f"{what} failed ({command[0]} exit {result.returncode}): "
            f"{result.stderr.strip()[-2000:]}"
        )


def _dump_database(database: Database, target_dir: Path) -> Path:
    if database.engine == "postgresql":
        path = target_dir / "database.dump"
        _run(
            [
                "pg_dump",
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                f"--file={path}",
                f"--dbname={database.url}",
            ],
            what="pg_dump",
        )
        return path
    source = Path(database.url)
    if not source.exists():
        raise BackupError(f"SQLite database {source} does not exist.")
    path = target_dir / "database.sqlite3"
    # The online backup API copies a consistent snapshot even while the server writes (WAL).
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(path)
    try:
        src.backup(dst)
        # A self-contained file (no -wal/-shm beside it): the checksum covers everything,
        # and reading it later does not create files in the backup set.
        dst.execute("PRAGMA journal_mode=DELETE")
    finally:
        src.close()
        dst.close()
    return path


def _archive_media(media_root: Path, target_dir: Path) -> Path:
    path = target_dir / "media.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        if media_root.is_dir():
            for entry in sorted(media_root.iterdir()):
                archive.add(entry, arcname=entry.name)
    return path


def _part(path: Path) -> dict[str, Any]:
    return {"file": path.name, "sha256": sha256_of(path), "bytes": path.stat().st_size}


def list_backups(backup_dir: Path) -> list[Path]:
    """Complete backup sets (with a manifest), oldest first."""
    if not backup_dir.is_dir():
        return []
    return sorted(
        entry
        for entry in backup_dir.iterdir()
        if entry.is_dir()
        and entry.name.startswith(SET_PREFIX)
        and not entry.name.endswith(PARTIAL_SUFFIX)
        and (entry / MANIFEST).is_file()
    )


def apply_retention(*, backup_dir: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` complete sets (and stale partial ones)."""
    if keep < 1:
        raise BackupError("BACKUP_KEEP must be at least 1.")
    removed: list[Path] = []
    complete = list_backups(backup_dir)
    for old in complete[:-keep]:
        shutil.rmtree(old)
        removed.append(old)
    for partial in backup_dir.glob(f"{SET_PREFIX}*{PARTIAL_SUFFIX}"):
        shutil.rmtree(partial, ignore_errors=True)
        removed.append(partial)
    return removed


def create_backup(
    *,
    database: Database,
    media_root: Path,
    backup_dir: Path,
    keep: int,
    now: datetime | None = None,
) -> BackupResult:
    """Write one complete backup set and prune old ones; returns the set's directory."""
    created = (now or datetime.now(UTC)).astimezone(UTC)
    name = f"{SET_PREFIX}{created:%Y%m%dT%H%M%S}{created.microsecond // 1000:03d}Z"
    backup_dir.mkdir(parents=True, exist_ok=True)
    final = backup_dir / name
    if final.exists():
        raise BackupError(f"{final} already exists.")
    partial = backup_dir / f"{name}{PARTIAL_SUFFIX}"
    partial.mkdir()
    try:
        database_part = _dump_database(database, partial)
        media_part = _archive_media(media_root, partial)
        manifest = {
            "format": FORMAT_VERSION,
            "created_at": created.isoformat(),
            "engine": database.engine,
            "source": database.safe_label,
            "parts": {"database": _part(database_part), "media": _part(media_part)},
        }
        (partial / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        partial.rename(final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    removed = apply_retention(backup_dir=backup_dir, keep=keep)
    return BackupResult(path=final, manifest=manifest, removed=removed)


def resolve_backup(*, backup: str, backup_dir: Path) -> Path:
    """A set's directory from its path, its name under ``backup_dir``, or ``latest``."""
    if backup == "latest":
        sets = list_backups(backup_dir)
        if not sets:
            raise BackupError(f"No complete backup in {backup_dir}.")
        return sets[-1]
    path = Path(backup)
    if not path.is_dir() and (backup_dir / backup).is_dir():
        path = backup_dir / backup
    if not (path / MANIFEST).is_file():
        raise BackupError(f"{path} is not a backup set (no {MANIFEST}).")
    return path


def verify_backup(path: Path) -> dict[str, Any]:
    """Check the manifest and every part's size and sha256; returns the manifest."""
    try:
        manifest = json.loads((path / MANIFEST).read_text())
    except (OSError, ValueError) as error:
        raise BackupError(f"Unreadable manifest in {path}: {error}") from error
    if manifest.get("format") != FORMAT_VERSION:
        raise BackupError(f"Unknown backup format {manifest.get('format')!r} in {path}.")
    if manifest.get("engine") not in ("postgresql", "sqlite"):
        raise BackupError(f"Unknown engine {manifest.get('engine')!r} in {path}.")
    parts = manifest.get("parts") or {}
    for key in ("database", "media"):
        part = parts.get(key)
        if not part:
            raise BackupError(f"The manifest in {path} lists no {key} part.")
        file = path / Path(part["file"]).name
        if not file.is_file():
            raise BackupError(f"{file} is missing.")
        if file.stat().st_size != part["bytes"] or sha256_of(file) != part["sha256"]:
            raise BackupError(f"{file} does not match its checksum: the backup is damaged.")
    return manifest


# -- Restore ---------------------------------------------------------------------------------


def _postgres_connect(url: str, **kwargs: Any):
    import psycopg

    return psycopg.connect(url, connect_timeout=10, **kwargs)


def _ensure_postgres_database(target: Database) -> None:
    """Create the target database when it does not exist yet (a fresh restore target)."""
    import psycopg
    from psycopg import sql

    try:
        _postgres_connect(target.url).close()
        return
    except psycopg.OperationalError as error:
        if "does not exist" not in str(error):
            raise BackupError(f"Cannot reach {target.safe_label}: {error}") from error
    config = environ.Env.db_url_config(target.url)
    maintenance = target.url.rsplit("/", 1)[0] + "/postgres"
    query = target.url.partition("?")[2]
    if query:
        maintenance += f"?{query}"
    with _postgres_connect(maintenance, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(config["NAME"])))


def _postgres_table_count(target: Database) -> int:
    with _postgres_connect(target.url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
        ).fetchone()
    return int(row[0])


def _sqlite_table_count(path: Path) -> int:
    if not path.exists() or path.stat().st_size == 0:
        return 0
    conn = sqlite3.connect(path)
    try:
        (count,) = conn.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        ).fetchone()
    finally:
        conn.close()
    return int(count)


def target_is_empty(target: Database) -> bool:
    if target.engine == "postgresql":
        _ensure_postgres_database(target)
        return _postgres_table_count(target) == 0
    return _sqlite_table_count(Path(target.url)) == 0


def _restore_database(*, part: Path, engine: str, target: Database, force: bool) -> None:
    if engine != target.engine:
        raise BackupError(f"This backup is of a {engine} database; the target is {target.engine}.")
    if target.engine == "postgresql":
        command = ["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error"]
        if force:
            command += ["--clean", "--if-exists"]
        # One transaction: a restore that fails half-way leaves the target as it was.
        command += ["--single-transaction", f"--dbname={target.url}", str(part)]
        _run(command, what="pg_restore")
        return
    destination = Path(target.url)
    destination.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("-wal", "-shm"):
        Path(f"{destination}{suffix}").unlink(missing_ok=True)
    src = sqlite3.connect(f"file:{part}?mode=ro", uri=True)
    dst = sqlite3.connect(destination)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


def _restore_media(*, part: Path, media_root: Path, force: bool) -> None:
    if media_root.exists() and any(media_root.iterdir()):
        if not force:
            raise BackupError(f"{media_root} is not empty; pass --force to replace it.")
        shutil.rmtree(media_root)
    media_root.mkdir(parents=True, exist_ok=True)
    with tarfile.open(part, "r:gz") as archive:
        # The "data" filter refuses absolute paths, links out of the tree and device files.
        archive.extractall(media_root, filter="data")


def restore_backup(
    *,
    path: Path,
    target: Database,
    media_root: Path | None,
    force: bool = False,
) -> dict[str, Any]:
    """Verify a set, then restore its database into ``target`` (and media unless None).

    Nothing is touched before every checksum matches; a non-empty target database or media
    directory is refused unless ``force``. Returns the verified manifest.
    """
    manifest = verify_backup(path)
    parts = manifest["parts"]
    if not target_is_empty(target) and not force:
        raise BackupError(
            f"{target.safe_label} already holds tables; restore into a fresh database "
            "or pass --force to replace its contents."
        )
    if media_root is not None and media_root.exists() and any(media_root.iterdir()) and not force:
        raise BackupError(f"{media_root} is not empty; pass --force to replace it.")
    _restore_database(
        part=path / parts["database"]["file"],
        engine=manifest["engine"],
        target=target,
        force=force,
    )
    if media_root is not None:
        _restore_media(part=path / parts["media"]["file"], media_root=media_root, force=force)
    return manifest


# -- Verification (used by the recovery drill and its tests) ---------------------------------

# Stable columns: what a restore must reproduce exactly, per table the business relies on.
FINGERPRINT_TABLES: dict[str, tuple[str, ...]] = {
    "commerce_order": (
        "id", "reference", "buyer_id", "artisan_id", "total", "currency", "status",
        "amount_paid", "amount_refunded", "created_at",
    ),
    "commerce_payment": (
        "id", "order_id", "provider", "provider_payment_id", "amount", "currency", "status",
        "idempotency_key", "created_at",
    ),
    "commerce_ledgerentry": (
        "id", "artisan_id", "kind", "amount", "currency", "order_id", "payment_id", "created_at",
    ),
    "conversations_message": (
        "id", "conversation_id", "seq", "author_id", "kind", "text", "client_id", "created_at",
    ),
}  # fmt: skip


def _connect_any(database: Database):
    if database.engine == "postgresql":
        return _postgres_connect(database.url)
    return sqlite3.connect(f"file:{database.url}?mode=ro", uri=True)


def table_fingerprints(
    database: Database, tables: dict[str, Iterable[str]] | None = None
) -> dict[str, dict[str, Any]]:
    """Row count and a sha256 over the stable columns of each table, in primary-key order."""
    result: dict[str, dict[str, Any]] = {}
    conn = _connect_any(database)
    try:
        for table, columns in (tables or FINGERPRINT_TABLES).items():
            cursor = conn.cursor()
            # Table and column names come from the constant above, never from input.
            cursor.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY id")  # noqa: S608
            digest = hashlib.sha256()
            count = 0
            while rows := cursor.fetchmany(5000):
                for row in rows:
                    digest.update(repr(row).encode())
                    digest.update(b"\n")
                count += len(rows)
            cursor.close()
            result[table] = {"rows": count, "sha256": digest.hexdigest()}
    finally:
        conn.close()
    return result


def drop_postgres_database(database: Database) -> None:
    """Drop a PostgreSQL database (the drill's throw-away targets)."""
    from psycopg import sql

    maintenance = database.url.rsplit("/", 1)[0] + "/postgres"
    with _postgres_connect(maintenance, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database.name))
        )
