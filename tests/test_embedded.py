"""The embedded PostgreSQL through the real `supakit db` commands: idempotent start and stop, status, url,
logical WAL, stale locks, a port in use, a data directory that is not a cluster, a bad port setting.

One data directory is initialised once for the module (initdb is the slow part) and every test runs its own
server on it, on a fresh port; each test's teardown stops the server, so no postgres outlives the module.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import psycopg
import pytest

from functions_py.embedded import EmbeddedPostgres, free_port
from tests.cli import run_cli

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Cluster:
    """A data directory and the port `supakit db ...` is told to use for it."""

    data_dir: Path
    port: int

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "postgres"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def env(self) -> dict[str, str]:
        return {"SUPAKIT_DATA_DIR": str(self.data_dir), "SUPAKIT_DB_PORT": str(self.port)}

    def db(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return run_cli("db", *args, env={**self.env, **(env or {})})


def postmasters(pgdata: Path) -> list[psutil.Process]:
    """Every live postgres process serving `pgdata`."""
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        try:
            if proc.info["name"] == "postgres" and str(pgdata) in " ".join(proc.info["cmdline"] or ()):
                found.append(proc)
        except psutil.Error:
            continue
    return found


def stop_everything(cluster: Cluster) -> None:
    """Teardown: stop the server however the test left it; kill it if a clean stop fails."""
    with contextlib.suppress(Exception):  # a failed clean stop falls through to the kill below
        EmbeddedPostgres(cluster.data_dir, cluster.port).stop()
    for proc in postmasters(cluster.pgdata):
        try:
            proc.kill()
            proc.wait(10)
        except psutil.Error:
            pass


def dead_pid() -> int:
    """The pid of a process that has exited (and was reaped): nothing runs under it now."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.fixture(scope="module")
def initialised_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A data directory initialised by a first `supakit db start` (then stopped), shared by the module."""
    cluster = Cluster(tmp_path_factory.mktemp("embedded"), free_port())
    try:
        first = cluster.db("start")
        assert first.returncode == 0, f"the first start initialises an empty data directory: {first.stderr}"
        assert "started" in first.stderr
        assert (cluster.pgdata / "PG_VERSION").exists(), "initdb ran into <data dir>/postgres"
        assert cluster.db("stop").returncode == 0
        yield cluster.data_dir
    finally:
        stop_everything(cluster)


@pytest.fixture
def cluster(initialised_dir: Path) -> Iterator[Cluster]:
    """The module's data directory on a fresh port; stopped after the test whatever happened."""
    current = Cluster(initialised_dir, free_port())
    assert not postmasters(current.pgdata), "the previous test left no server running"
    try:
        yield current
    finally:
        stop_everything(current)


def test_starting_twice_is_harmless(cluster: Cluster):
    first = cluster.db("start")
    assert first.returncode == 0, first.stderr
    assert "started" in first.stderr and "already running" not in first.stderr
    assert first.stdout.strip() == cluster.url, "start prints the URL to connect to on stdout"
    pid = json.loads(cluster.db("status", "--json").stdout)["pid"]

    second = cluster.db("start")
    assert second.returncode == 0, "starting a running database is not an error"
    assert "already running" in second.stderr, "the second start says the server was already running"
    assert second.stdout.strip() == cluster.url
    still = json.loads(cluster.db("status", "--json").stdout)["pid"]
    assert still == pid, "the running server was not restarted"
    assert len([p for p in postmasters(cluster.pgdata) if p.pid == pid]) == 1
    assert f"pid {pid}" in second.stderr


def test_status_says_where_it_runs_and_exits_3_when_stopped(cluster: Cluster):
    assert cluster.db("start").returncode == 0

    text = cluster.db("status")
    assert text.returncode == 0, "status exits 0 while the server runs"
    as_json = cluster.db("status", "--json")
    assert as_json.returncode == 0
    status = json.loads(as_json.stdout)
    assert status["running"] is True and status["initialized"] is True
    assert status["port"] == cluster.port and status["url"] == cluster.url
    assert status["pgdata"] == str(cluster.pgdata.resolve())
    assert psutil.Process(status["pid"]).name() == "postgres", "the pid reported is the live postmaster"
    for value in (cluster.url, str(status["pid"]), str(cluster.port), status["pgdata"]):
        assert value in text.stdout, f"the text status names {value}"

    assert cluster.db("stop").returncode == 0
    stopped = cluster.db("status")
    assert stopped.returncode == 3, "status exits 3 when the server is not running"
    assert "not running" in stopped.stdout and "supakit db start" in stopped.stdout
    stopped_json = cluster.db("status", "--json")
    assert stopped_json.returncode == 3
    assert json.loads(stopped_json.stdout)["running"] is False, "--json still prints valid JSON when stopped"


def test_url_prints_the_embedded_url_or_database_url(cluster: Cluster):
    embedded = cluster.db("url")
    assert embedded.returncode == 0
    assert embedded.stdout.strip() == cluster.url, "without DATABASE_URL, the embedded database's URL"

    elsewhere = "postgresql://app:pw@db.example.invalid:6543/app"
    overridden = cluster.db("url", env={"DATABASE_URL": elsewhere})
    assert overridden.returncode == 0
    assert overridden.stdout.strip() == elsewhere, "DATABASE_URL wins over the embedded database"


def test_stopping_twice_is_harmless(cluster: Cluster):
    assert cluster.db("start").returncode == 0
    first = cluster.db("stop")
    assert first.returncode == 0 and "stopped" in first.stderr
    assert not postmasters(cluster.pgdata), "stop leaves no postgres process behind"
    second = cluster.db("stop")
    assert second.returncode == 0, "stopping a stopped database is not an error"
    assert "not running" in second.stderr


def test_the_server_runs_with_logical_wal(cluster: Cluster):
    assert cluster.db("start").returncode == 0
    with psycopg.connect(cluster.url) as conn:
        wal_level = conn.execute("show wal_level").fetchone()[0]
        listen = conn.execute("show listen_addresses").fetchone()[0]
    assert wal_level == "logical", "the local Realtime server needs logical decoding"
    assert listen == "127.0.0.1", "the embedded database is reachable from this machine only"


def another_clusters_postmaster(request: pytest.FixtureRequest) -> int:
    """The pid of a live postmaster serving another data directory: the harness's session server."""
    server = request.getfixturevalue("pg_server")
    with psycopg.connect(server.admin_url) as conn:
        backend = conn.execute("select pg_backend_pid()").fetchone()[0]
        try:
            postmaster = psutil.Process(backend).parent()
        except psutil.Error:
            postmaster = None
    if postmaster is None or postmaster.name() != "postgres":
        pytest.skip("the harness's PostgreSQL does not run on this machine")
    return postmaster.pid


@pytest.mark.parametrize("stale_pid", ["dead", "recycled", "another cluster"])
def test_a_stale_lock_does_not_prevent_start(cluster: Cluster, stale_pid: str, request: pytest.FixtureRequest):
    assert cluster.db("start").returncode == 0
    lock = cluster.pgdata / "postmaster.pid"
    real_lock = lock.read_text()
    assert cluster.db("stop").returncode == 0
    assert not lock.exists()

    # What a killed server leaves behind: its real 8-line lock file, naming a pid that is no postmaster of
    # ours now: nothing runs under it, or another process got the number (even another cluster's postgres).
    # PostgreSQL itself ignores a lock whose pid it cannot signal (dead, or another OS user's); a live process
    # of the server's own OS user, like another cluster's postmaster, it takes for a running server: only
    # supakit's own check clears that lock.
    pid = {"dead": dead_pid, "recycled": lambda: psutil.Process().pid,
           "another cluster": lambda: another_clusters_postmaster(request)}[stale_pid]()
    lines = real_lock.splitlines()
    assert len(lines) == 8, "postmaster.pid has PostgreSQL's 8-line format"
    lock.write_text("\n".join([str(pid), *lines[1:]]) + "\n")

    started = cluster.db("start")
    assert started.returncode == 0, f"a stale lock file must not prevent start: {started.stderr}"
    assert "started" in started.stderr
    status = json.loads(cluster.db("status", "--json").stdout)
    assert status["running"] and status["pid"] != pid, "a new postmaster runs, under a pid of its own"
    assert psutil.pid_exists(pid) == (stale_pid != "dead"), "the process the stale lock named was left alone"
    with psycopg.connect(cluster.url) as conn:
        assert conn.execute("select 1").fetchone()[0] == 1, "the restarted server accepts connections"


def test_a_port_in_use_is_named_and_nothing_is_left_running(cluster: Cluster):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", cluster.port))
        holder.listen()
        started = cluster.db("start")
    assert started.returncode == 2, "a port in use is exit 2, as for `supakit serve` (docs/cli.md, exit codes)"
    assert "in use by" in started.stderr, "the message names what holds it"
    assert str(cluster.port) in started.stderr, "the message names the port"
    assert "SUPAKIT_DB_PORT" in started.stderr, "the message says how to choose another port"
    assert "Traceback" not in started.stderr
    assert not postmasters(cluster.pgdata), "a failed start leaves no postgres running"
    assert cluster.db("status").returncode == 3


def test_a_data_directory_that_is_not_a_cluster_is_refused_and_left_untouched(tmp_path: Path):
    cluster = Cluster(tmp_path, free_port())
    cluster.pgdata.mkdir()
    (cluster.pgdata / "notes.txt").write_text("my notes, not a database\n")
    before = {p.name: (p.read_bytes(), p.stat().st_mode) for p in cluster.pgdata.iterdir()}
    mode = cluster.pgdata.stat().st_mode
    try:
        started = cluster.db("start")
        assert started.returncode == 1, started.stderr
        assert "not a PostgreSQL data directory" in started.stderr, "the error says what is wrong"
        assert str(cluster.pgdata) in started.stderr, "and where"
        assert "Traceback" not in started.stderr
        after = {p.name: (p.read_bytes(), p.stat().st_mode) for p in cluster.pgdata.iterdir()}
        assert after == before, "nothing in the folder was added, removed or changed"
        assert cluster.pgdata.stat().st_mode == mode
        assert not postmasters(cluster.pgdata)
    finally:
        stop_everything(cluster)


@pytest.mark.parametrize("command", [("start",), ("status",), ("url",)])
def test_a_port_that_is_not_a_number_is_bad_input(tmp_path: Path, command: tuple[str, ...]):
    refused = run_cli("db", *command, env={"SUPAKIT_DATA_DIR": str(tmp_path), "SUPAKIT_DB_PORT": "notaport"})
    assert refused.returncode == 2, "a malformed setting is bad input (exit 2)"
    assert "SUPAKIT_DB_PORT" in refused.stderr and "notaport" in refused.stderr
    assert not any(tmp_path.iterdir()), "nothing was initialised"
