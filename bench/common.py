"""What the benchmarks share: a throwaway embedded cluster migrated with the project's own files, and the small
timing arithmetic. Each benchmark script runs as `python bench/<name>.py`, so this module imports as `common`."""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from functions_py.embedded import EmbeddedPostgres, free_port  # noqa: E402
from functions_py.migrations.engine import Migrator  # noqa: E402


@dataclass(frozen=True)
class Cluster:
    url: str
    scratch: Path  # a directory removed with the cluster, for logs and other files of the run
    migrate_s: float


@contextmanager
def migrated_cluster(name: str, settings: dict[str, str] | None = None) -> Iterator[Cluster]:
    """A fresh embedded PostgreSQL on a free port, migrated (compat, sql/, policies/); stopped and removed on
    exit, even when the benchmark fails (a failure to stop is reported, not raised)."""
    scratch = Path(tempfile.mkdtemp(prefix=f"supakit-bench-{name}-"))
    cluster = EmbeddedPostgres(scratch / "stack", free_port(), extra_settings=settings)
    try:
        status, _ = cluster.start()
        started = time.perf_counter()
        Migrator(status.url, root=ROOT, compat_dir=ROOT / "supabase" / "compat", sql_dir=ROOT / "sql",
                 policies_dir=ROOT / "policies").migrate()
        yield Cluster(status.url, scratch, time.perf_counter() - started)
    finally:
        try:
            cluster.stop()
        except Exception as error:  # noqa: BLE001 - report, keep cleaning up
            print(f"warning: could not stop {cluster.pgdata}: {error}", file=sys.stderr)
        shutil.rmtree(scratch, ignore_errors=True)


def run_script(conn: psycopg.Connection, script: str) -> None:
    """Run `;`-and-newline separated statements in one transaction."""
    with conn.transaction():
        for statement in script.split(";\n"):
            if statement.strip():
                conn.execute(statement)


def ms(seconds: float) -> float:
    return seconds * 1000.0


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18]
