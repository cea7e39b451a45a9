"""Every command's known failure modes through the real `supakit` command: each exits with its documented code
(docs/cli.md "Exit codes", functions_py/errors.EXIT_CODES), says what is wrong and what to do, and prints no
traceback. Then the rough edges of issue 17 §3 with the embedded database: a second `supakit up`, `supakit reset`
while `supakit up` runs, and the data directory deleted under a running server."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from functions_py import errors
from functions_py.embedded import free_port
from tests.cli import ROOT, run_cli

UNREACHABLE = "postgresql://postgres@127.0.0.1:1/postgres"


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port something listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def failure_modes(db: str, port: int, stopped_data_dir: Path) -> list[tuple[tuple[str, ...], dict[str, str], int,
                                                                          tuple[str, ...], tuple[str, ...]]]:
    """(args, environment, exit code, words the message has, words it must not have)."""
    url = {"DATABASE_URL": db}
    embedded = {"SUPAKIT_DATA_DIR": str(stopped_data_dir), "SUPAKIT_DB_PORT": str(free_port())}
    return [
        # the database cannot be reached: exit 3, the reason kept, no `db start` hint when DATABASE_URL is set
        (("migrate", "status"), {"DATABASE_URL": UNREACHABLE}, 3, ("Connection refused", "Check DATABASE_URL"),
         ("db start", "\n\n")),
        (("seed",), {"DATABASE_URL": UNREACHABLE + "\n"}, 3, ("stray", "'\\n'", "at its end", "Fix DATABASE_URL"),
         ("db start",)),
        (("migrate",), {"DATABASE_URL": "not a url"}, 3, ("is not valid", "postgresql://user:password@host"),
         ("db start",)),
        (("migrate",), {"DATABASE_URL": "postgres://u:pw-s3cret@[::1"}, 3, ("is not valid",), ("pw-s3cret",)),
        (("migrate", "status"), embedded, 3, ("not running", "supakit db start"), ()),
        (("db", "status"), embedded, 3, (), ()),
        (("reset",), {"DATABASE_URL": "postgresql://postgres@db.example.invalid/postgres"}, 2,
         ("refusing to reset", "--force"), ()),
        # bad input: exit 2, naming the option or setting and what is expected
        (("worker", "--concurrency", "0"), url, 2, ("worker.concurrency", "from 1 to 1000"), ()),
        (("worker",), {**url, "SUPAKIT_WORKER_TIMEOUTS": "ai.generate"}, 2,
         ("SUPAKIT_WORKER_TIMEOUTS", "KIND=SECONDS"), ()),
        (("serve", "--port", "0"), url, 2, ("--port",), ()),
        (("serve", "--port", str(port)), url, 2, (f"port {port} on 127.0.0.1", "in use by", "--port"), ()),
        (("realtime", "serve", "--log-level", "loud"), url, 2, ("realtime.log_level", "debug, info"), ()),
        (("lint", "--db", "--schemas", ","), url, 2, ("names no schema",), ()),
        (("jobs", "enqueue", "system.noop", "--payload", "{oops"), url, 2, ("--payload is not JSON",), ()),
        (("jobs", "stats", "--max-failure-rate", "2"), url, 2, ("dashboard.max_failure_rate",), ()),
        (("provision", "status", "--org", "no-such-org"), url, 2, ("no organization has that id or slug",), ()),
        (("billing", "sync", "--org", "no-such-org"), {**url, "STRIPE_SECRET_KEY": "sk_test_x"}, 2,
         ("no organization has that id or slug",), ()),
        (("no-such-command",), url, 2, ("No such command",), ()),
        # the operation ran and failed: exit 1
        (("jobs", "show", "999999"), url, 1, ("job 999999 not found",), ()),
        (("billing", "replay", "evt_nope"), url, 1, ("evt_nope",), ()),
    ]


def test_every_expected_failure_exits_with_its_code_and_a_message_not_a_traceback(fresh_db: str, taken_port: int,
                                                                                 tmp_path: Path):
    wrong = []
    for args, env, code, words, absent in failure_modes(fresh_db, taken_port, tmp_path / "never-started"):
        answer = run_cli(*args, env=env, timeout=60)
        output = answer.stdout + answer.stderr
        problems = [f"exit {answer.returncode}, not {code}"] if answer.returncode != code else []
        problems += [f"no {word!r}" for word in words if word not in answer.stderr]
        problems += [f"has {word!r}" for word in absent if word in output.strip()]
        problems += ["a traceback"] if "Traceback" in output else []
        if problems:
            wrong.append(f"supakit {' '.join(args)}: {', '.join(problems)}\n{answer.stderr}")
    assert not wrong, "\n\n".join(wrong)


def test_every_documented_exit_code_is_one_commands_use():
    assert set(errors.EXIT_CODES) == {0, errors.EXIT_FAILURE, errors.EXIT_BAD_INPUT, errors.EXIT_UNAVAILABLE}
    assert errors.PortInUse.exit_code == errors.EXIT_BAD_INPUT
    assert errors.DatabaseInUse.exit_code == errors.EXIT_FAILURE
    documented = (ROOT / "docs" / "cli.md").read_text()
    for code, meaning in errors.EXIT_CODES.items():
        assert f"| {code} | {meaning} |" in documented


# -- the embedded database under `supakit up` ------------------------------------------------------------------


def _postmasters(pgdata: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        with contextlib.suppress(psutil.Error):
            if proc.info["name"] == "postgres" and str(pgdata) in " ".join(proc.info["cmdline"] or ()):
                found.append(proc)
    return found


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _wait_for(process: subprocess.Popen, stream_path: Path, text: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = stream_path.read_text(errors="replace")
        if text in seen:
            return seen
        if process.poll() is not None:
            pytest.fail(f"`supakit up` exited {process.returncode} before {text!r}:\n{seen}")
        time.sleep(0.3)
    pytest.fail(f"no {text!r} after {timeout} s:\n{stream_path.read_text(errors='replace')}")


@pytest.mark.slow
def test_up_second_up_reset_and_a_deleted_data_directory(tmp_path: Path):
    data_dir = tmp_path / "data"
    pgdata = data_dir / "postgres"
    api_port = free_port()
    env = {"SUPAKIT_DATA_DIR": str(data_dir), "SUPAKIT_DB_PORT": str(free_port())}
    base = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SUPAKIT_PROJECT_DIR",
                                                               "SUPAKIT_DATA_DIR", "SUPAKIT_DB_PORT")}
    stderr_path, stdout_path = tmp_path / "up.err", tmp_path / "up.out"
    with stderr_path.open("w") as err, stdout_path.open("w") as out:
        up = subprocess.Popen([sys.executable, "-m", "cli.main", "up", "--port", str(api_port), "--no-worker",
                               "--no-dashboard"], cwd=ROOT, env={**base, **env}, stdout=out, stderr=err, text=True)
    try:
        _wait_for(up, stderr_path, "starting the API gateway", 240)
        assert f"NEXT_PUBLIC_SUPABASE_URL=http://127.0.0.1:{api_port}" in stdout_path.read_text(), \
            "`up --port` reaches the banner"
        deadline = time.monotonic() + 60
        while not _listening(api_port):  # the gateway listens
            assert time.monotonic() < deadline and up.poll() is None, stderr_path.read_text()
            time.sleep(0.3)

        second = run_cli("up", "--port", str(api_port), "--no-worker", "--no-dashboard", env=env)
        assert second.returncode == 2, second.stderr
        assert f"port {api_port} on 127.0.0.1, which the API gateway needs, is in use by `supakit serve`" \
            in second.stderr
        assert "another `supakit up` or `supakit serve` is running" in second.stderr
        assert second.stdout == "" and "migrations" not in second.stderr, "it failed before migrating or the banner"

        reset = run_cli("reset", "--no-seed", env=env)  # the gateway's Realtime feeds hold temporary slots
        assert reset.returncode == 0, reset.stderr
        assert "Traceback" not in reset.stderr
        assert up.poll() is None, "`up` survives a reset: its feeds reconnect to the new database"

        shutil.rmtree(data_dir)
        status = run_cli("db", "status", "--json", env=env)
        assert status.returncode == 3
        answer = json.loads(status.stdout)
        assert answer["orphaned"] is True and answer["running"] is False and answer["orphan_pid"]
        started = run_cli("db", "start", env=env)
        assert started.returncode == 1 and "was deleted while its server ran" in started.stderr, started.stderr
        assert "supakit db stop" in started.stderr
        assert not (pgdata / "PG_VERSION").exists(), "no new cluster was created over the held port"

        up.wait(timeout=60)
        said = stderr_path.read_text()
        assert up.returncode == 3, said
        assert "the database is gone; stopping the API gateway" in said and "was deleted" in said
        assert "Traceback" not in said.split("the database is gone")[1], "up's own exit is a message"

        stopped = run_cli("db", "stop", env=env)
        assert stopped.returncode == 0, stopped.stderr
        assert "stopped the orphaned PostgreSQL" in stopped.stderr or "not running" in stopped.stderr
        assert not _postmasters(pgdata), "no postgres is left from the deleted directory"
    finally:
        if up.poll() is None:
            up.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                up.wait(timeout=30)
        for proc in _postmasters(pgdata):
            with contextlib.suppress(psutil.Error):
                proc.kill()
