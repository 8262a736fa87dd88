"""Recovery drill: back up, lose the database, restore into a fresh one, prove nothing changed.

For each dataset it builds a source database of its own (migrate + data), fingerprints the
tables the business cannot lose (orders, payments, ledger entries, messages: row counts and
a sha256 over stable columns, core/backup.py FINGERPRINT_TABLES) and the media files, then
times what an operator would run:

  1. ``manage.py backup``                          (pg_dump -Fc / SQLite copy + media + manifest)
  2. the source database is dropped                (the incident)
  3. ``manage.py restore <set> --database-url <fresh database>``  (verify checksums, restore)
  4. ``manage.py migrate --check``                 (the restored schema is what the code expects)
  5. fingerprints of the restored database and media compared with the source's

and prints the timings and sizes. Datasets: ``demo`` (``manage.py seed_demo``) and
``generated`` (bench/generate_dataset.py; default 100,000 messages and 10,000 orders).

  DATABASE_URL=postgres://postgres@127.0.0.1:5432/atelier_ops python bench/recovery_drill.py
  python bench/recovery_drill.py --engine sqlite --datasets generated --messages 2000 --orders 200
  python bench/recovery_drill.py --smoke    # tiny generated dataset (the CI tests run this)

With PostgreSQL the drill's databases are ``<DRILL_DB_PREFIX>_<dataset>_src|_dst`` on the
server of DATABASE_URL (default prefix ``atelier_ops_drill``); they are dropped at the end
unless --keep. Exit status 1 when anything differs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.backup import (  # noqa: E402 - after the path fix above
    Database,
    drop_postgres_database,
    list_backups,
    table_fingerprints,
)

_TEST_ONLY = ("PYTEST", "ATELIER_TESTING", "DJANGO_SETTINGS_MODULE")


def _child_env(database_url: str, media_root: Path, backup_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_TEST_ONLY)}
    env.update(
        {
            "DATABASE_URL": database_url,
            "MEDIA_ROOT": str(media_root),
            "BACKUP_DIR": str(backup_dir),
            "BACKUP_KEEP": "3",
            "DB_POOL": "false",
            "DB_STATEMENT_TIMEOUT_MS": "0",  # a restore or a big seed is not a web request
            "LOG_LEVEL": "WARNING",
        }
    )
    return env


def _run(args: list[str], env: dict[str, str], *, timeout: float = 3600) -> float:
    return _run_with_output(args, env, timeout=timeout)[0]


def _command_seconds(stdout: str) -> float:
    """The time a backup/restore command reports for its own work (without interpreter
    start-up, which on a loaded box can dwarf it)."""
    match = re.search(r" in (\d+(?:\.\d+)?) s$", stdout.strip())
    return float(match.group(1)) if match else float("nan")


def _run_with_output(
    args: list[str], env: dict[str, str], *, timeout: float = 3600
) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(
            f"`{' '.join(args)}` failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return elapsed, result.stdout


def _media_fingerprint(root: Path) -> dict[str, str]:
    if not root.is_dir():
        return {}
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def _database_urls(engine: str, dataset: str, base_url: str, prefix: str, work: Path):
    if engine == "sqlite":
        return (
            f"sqlite:///{work / f'{dataset}-src.sqlite3'}",
            f"sqlite:///{work / f'{dataset}-dst.sqlite3'}",
        )
    server = base_url.rsplit("/", 1)[0]
    return f"{server}/{prefix}_{dataset}_src", f"{server}/{prefix}_{dataset}_dst"


def _fresh(database: Database) -> None:
    if database.engine == "postgresql":
        drop_postgres_database(database)
        from psycopg import sql

        from core.backup import _postgres_connect

        with _postgres_connect(
            database.url.rsplit("/", 1)[0] + "/postgres", autocommit=True
        ) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database.name)))
    else:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database.url}{suffix}").unlink(missing_ok=True)


def _lose(database: Database) -> None:
    """The incident: the source database is gone."""
    if database.engine == "postgresql":
        drop_postgres_database(database)
    else:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database.url}{suffix}").unlink(missing_ok=True)


def drill(
    *, engine: str, dataset: str, base_url: str, prefix: str, messages: int, orders: int,
    keep: bool,
) -> dict:  # fmt: skip
    work = Path(tempfile.mkdtemp(prefix=f"atelier-drill-{dataset}-"))
    src_url, dst_url = _database_urls(engine, dataset, base_url, prefix, work)
    source, target = Database.from_url(src_url), Database.from_url(dst_url)
    media_src, media_dst, backups = work / "media-src", work / "media-dst", work / "backups"
    media_src.mkdir()
    env_src = _child_env(src_url, media_src, backups)
    env_dst = _child_env(dst_url, media_dst, backups)
    figures: dict = {"dataset": dataset, "engine": engine}
    try:
        _fresh(source)
        if engine == "postgresql":
            drop_postgres_database(target)
        else:
            _lose(target)
        figures["prepare_migrate_s"] = _run(["manage.py", "migrate", "--noinput", "-v0"], env_src)
        if dataset == "demo":
            figures["prepare_data_s"] = _run(["manage.py", "seed_demo"], env_src)
        else:
            figures["prepare_data_s"] = _run(
                [
                    "bench/generate_dataset.py",
                    f"--messages={messages}",
                    f"--orders={orders}",
                ],
                env_src,
            )
        before = table_fingerprints(source)
        media_before = _media_fingerprint(media_src)

        figures["backup_s"], out = _run_with_output(["manage.py", "backup"], env_src)
        figures["backup_work_s"] = _command_seconds(out)
        (backup_set,) = list_backups(backups)
        manifest = json.loads((backup_set / "manifest.json").read_text())
        figures["database_part_bytes"] = manifest["parts"]["database"]["bytes"]
        figures["media_part_bytes"] = manifest["parts"]["media"]["bytes"]

        _lose(source)
        started = time.perf_counter()
        figures["restore_s"], out = _run_with_output(
            ["manage.py", "restore", backup_set.name, f"--database-url={dst_url}"], env_dst
        )
        figures["restore_work_s"] = _command_seconds(out)
        figures["migrate_check_s"] = _run(["manage.py", "migrate", "--check", "-v0"], env_dst)
        verify_started = time.perf_counter()
        after = table_fingerprints(target)
        media_after = _media_fingerprint(media_dst)
        figures["verify_s"] = time.perf_counter() - verify_started
        figures["recovery_total_s"] = time.perf_counter() - started
        figures["tables"] = {
            table: {"rows": before[table]["rows"], "match": before[table] == after[table]}
            for table in before
        }
        figures["media_files"] = len(media_before)
        figures["media_match"] = media_before == media_after
        figures["match"] = (
            all(t["match"] for t in figures["tables"].values()) and figures["media_match"]
        )
    finally:
        if not keep:
            if engine == "postgresql":
                drop_postgres_database(source)
                drop_postgres_database(target)
            shutil.rmtree(work, ignore_errors=True)
        else:
            figures["work_dir"] = str(work)
    return figures


def _print(figures: dict) -> None:
    tables = ", ".join(
        f"{name.split('_', 1)[1]} {t['rows']:,} {'ok' if t['match'] else 'DIFFERENT'}"
        for name, t in figures["tables"].items()
    )
    print(
        f"[{figures['engine']} / {figures['dataset']}] backup {figures['backup_s']:.1f} s "
        f"(of which the work {figures['backup_work_s']:.1f} s) "
        f"(database {figures['database_part_bytes'] / 1e6:.1f} MB, media "
        f"{figures['media_part_bytes'] / 1e6:.2f} MB, {figures['media_files']} files) | "
        f"restore {figures['restore_s']:.1f} s (work {figures['restore_work_s']:.1f} s)"
        f" + migrate --check {figures['migrate_check_s']:.1f}"
        f" s + verify {figures['verify_s']:.1f} s = recovery {figures['recovery_total_s']:.1f} s"
        f" | {tables} | media {'ok' if figures['media_match'] else 'DIFFERENT'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=["postgresql", "sqlite"])
    parser.add_argument(
        "--datasets", default="demo,generated", help="Comma-separated: demo, generated."
    )
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--smoke", action="store_true", help="Tiny generated dataset only.")
    parser.add_argument("--keep", action="store_true", help="Keep the drill's databases/files.")
    parser.add_argument("--json", action="store_true", help="Print one JSON line per dataset.")
    args = parser.parse_args()

    base_url = os.environ.get("DATABASE_URL", "")
    engine = args.engine or ("postgresql" if base_url.startswith("postgres") else "sqlite")
    if engine == "postgresql" and not base_url.startswith("postgres"):
        raise SystemExit("--engine postgresql needs DATABASE_URL=postgres://… (any database).")
    if args.smoke:
        args.datasets, args.messages, args.orders = "generated", 300, 30
    prefix = os.environ.get("DRILL_DB_PREFIX", "atelier_ops_drill")
    ok = True
    for dataset in [d.strip() for d in args.datasets.split(",") if d.strip()]:
        if dataset not in ("demo", "generated"):
            raise SystemExit(f"Unknown dataset {dataset!r} (demo, generated).")
        figures = drill(
            engine=engine,
            dataset=dataset,
            base_url=base_url,
            prefix=prefix,
            messages=args.messages,
            orders=args.orders,
            keep=args.keep,
        )
        print(json.dumps(figures) if args.json else "", end="\n" if args.json else "")
        if not args.json:
            _print(figures)
        ok = ok and figures["match"]
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
