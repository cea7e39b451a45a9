"""How fast our job queue is next to pgqueuer, procrastinate and a raw-SQL batch-claim loop, on one server.

Run from anywhere: `python bench/jobs.py` (needs the `bench` extra: `pip install -e '.[bench]'`). Everything runs
on ONE throwaway embedded cluster (temporary data directory, free port) that is stopped and removed at the end,
whatever happens. Each queue has its own database on it: ours migrated with the project's own files (compat,
sql/, policies/), pgqueuer and procrastinate installed through their own APIs, the raw loop a 5-line table.

The server runs the project's embedded settings (functions_py.embedded.BASE_SETTINGS: TCP on 127.0.0.1,
wal_level=logical) with synchronous_commit put back to its stock `on` (the project's development default is
`off`); fsync, full_page_writes, shared_buffers (128 MB) and everything else are PostgreSQL's defaults. The
settings in force are printed.

Figures, per queue, interleaved (the order of the queues rotates every round), median of ROUNDS rounds:
  (a) enqueue, batched  N jobs, BATCH per transaction, through each library's batch API (ours:
                        internal.enqueue_jobs via queue.enqueue_many; pgqueuer: Queries.enqueue with lists;
                        procrastinate: Task.batch_defer_async; raw: insert ... select unnest($1::jsonb[])).
      enqueue, single   SINGLE jobs, one call and one commit each.
  (b) process           N no-op jobs, with 1 and with 2 worker PROCESSES. The queue is emptied, the workers are
                        started and left to go idle, then stopped (SIGSTOP: the barrier); the queue is prefilled
                        through the batch API and ANALYZEd; the workers are released together (SIGCONT). Timed
                        from the first handler start until the database shows no queued/running row (10 ms poll).
  (c) latency           one idle worker, LATENCY_JOBS single jobs enqueued at LATENCY_RATE/s: handler start minus
                        the moment the enqueue call returned (its commit), on the host clock all processes share.
Workers: ours is the real CLI, `python -m cli.main worker --kinds system.noop` with the concurrency/batch printed
(on uvloop when installed, as `supakit worker` picks it; its JSON log line per job transition on stderr as in
production); pgqueuer a QueueManager on asyncpg, run with uvloop as its `pgq run` CLI does, batch_size=100;
procrastinate `run_worker_async` with concurrency=50 on its psycopg connector; raw: one psycopg connection
claiming LIMIT 100 with `update ... where id in (select ... for update skip locked) returning`, acking in a second
statement, LISTEN for wake-ups (no lease, heartbeat or attempt bookkeeping: the ceiling). Peer workers are this
file run with --worker.

Targets (issues 4 and 21): throughput >= 1.3x pgqueuer with 1 worker and >= 1.5x with 2 workers, and >= 0.9x the
raw loop with 1 worker (when raw runs); batched enqueue >= 2x pgqueuer; commit->handler p50 <= 2 ms. Exit 1 on any
FAIL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

N = 20_000  # jobs per throughput measurement and per batched-enqueue measurement
ROUNDS = 3
BATCH = 1_000  # jobs per transaction, batched enqueue and prefill
SINGLE = 1_000  # jobs enqueued one commit each
LATENCY_JOBS = 200
LATENCY_RATE = 50.0  # jobs/s
SETTLE_S = 1.0  # after a worker says it is up, time for it to finish its first (empty) poll before the barrier
POLL_S = 0.010  # the driver's "anything left?" poll during (b)
RUN_TIMEOUT_S = 300.0

OURS_CONCURRENCY = 200  # helper notes: concurrency = 2 x batch overlaps two claim/ack round trips
OURS_BATCH = 100
PGQ_BATCH = 100  # reference/job-queues.md: best found (its default 10 gives ~3.4k/s)
PROC_CONCURRENCY = 50  # reference/job-queues.md: best found
RAW_BATCH = 100

# Stock durability: the project's embedded default is synchronous_commit=off (a development database).
SERVER_SETTINGS = {"synchronous_commit": "on"}
SHOWN_SETTINGS = ("server_version", "fsync", "synchronous_commit", "full_page_writes", "wal_level",
                  "shared_buffers", "max_connections", "autovacuum", "listen_addresses")

TARGET_X_PGQ_1 = 1.3
TARGET_X_PGQ_2 = 1.5
TARGET_P50_MS = 2.0
TARGET_X_RAW_1 = 0.9  # issue 21: 1 worker >= 0.9x the raw batch-claim loop (with leases, heartbeats, attempts)
TARGET_X_PGQ_ENQUEUE = 2.0  # issue 21: batched enqueue >= 2x pgqueuer

RAW_SCHEMA = """
create table raw_jobs (
  id bigint generated always as identity primary key,
  kind text not null,
  payload jsonb not null default '{}',
  status text not null default 'queued',
  created_at timestamptz not null default now(),
  started_at timestamptz,
  finished_at timestamptz
);
create index raw_jobs_queued_idx on raw_jobs (id) where status = 'queued';
create function raw_notify() returns trigger language plpgsql as $$
begin perform pg_notify('raw_jobs', ''); return null; end $$;
create trigger raw_notify after insert on raw_jobs for each statement execute function raw_notify();
"""
RAW_CLAIM = f"""
update raw_jobs set status = 'running', started_at = now()
where id in (select id from raw_jobs where status = 'queued' order by id limit {RAW_BATCH} for update skip locked)
returning id, payload
"""
RAW_ACK = "update raw_jobs set status = 'done', finished_at = now() where id = any(%s)"


# ---------------------------------------------------------------------------------------------------------------
# worker side: the peers' worker processes (this file, run with --worker)
# ---------------------------------------------------------------------------------------------------------------


class Recorder:
    """What a peer worker's handler notes: the first start (a file, written once), the number of calls, and in
    latency mode each job's start as `<seq> <unix time>` lines."""

    def __init__(self, out: Path, latency: bool) -> None:
        self.out = out
        self.count = 0
        self.first = False
        self.lat = open(out.with_suffix(".lat"), "w") if latency else None  # noqa: SIM115

    def hit(self, seq: Any) -> None:
        now = time.time()
        self.count += 1
        if not self.first:
            self.first = True
            out = self.out.with_suffix(".first")
            out.write_text(repr(now))
        if self.lat is not None:
            self.lat.write(f"{seq} {now!r}\n")
            self.lat.flush()

    def close(self) -> None:
        self.out.with_suffix(".count").write_text(str(self.count))
        if self.lat is not None:
            self.lat.close()


def ready(out: Path) -> None:
    out.with_suffix(".ready").write_text("ready")


async def pgqueuer_worker(url: str, rec: Recorder) -> None:
    import asyncpg
    from pgqueuer.models import Job
    from pgqueuer.qm import QueueManager
    from pgqueuer.queries import Queries

    conn = await asyncpg.connect(url)
    qm = QueueManager(Queries.from_asyncpg_connection(conn))

    @qm.entrypoint("noop")
    async def noop(job: Job) -> None:
        rec.hit(job.payload.decode() if job.payload else "")

    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, qm.shutdown.set)
    ready(rec.out)
    await qm.run(batch_size=PGQ_BATCH)
    await conn.close()


def procrastinate_app(url: str, rec: Recorder | None) -> tuple[Any, Any]:
    import procrastinate

    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=url))

    @app.task(name="noop")
    async def noop(seq: int = 0) -> None:
        if rec is not None:
            rec.hit(seq)

    return app, noop


async def procrastinate_worker(url: str, rec: Recorder) -> None:
    app, _ = procrastinate_app(url, rec)
    async with app.open_async():
        ready(rec.out)
        await app.run_worker_async(concurrency=PROC_CONCURRENCY, wait=True, install_signal_handlers=True)


async def raw_worker(url: str, rec: Recorder) -> None:
    stop = asyncio.Event()
    wake = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)

    async def handler(job_id: int, payload: Any) -> None:  # the no-op job
        rec.hit(payload.get("seq", "") if isinstance(payload, dict) else "")

    async def listen() -> None:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as lconn:
            await lconn.execute("listen raw_jobs")
            async for _ in lconn.notifies():
                wake.set()

    listener = asyncio.create_task(listen())
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        ready(rec.out)
        while not stop.is_set():
            wake.clear()
            rows = await (await conn.execute(RAW_CLAIM)).fetchall()
            if not rows:
                waiter = asyncio.create_task(wake.wait())
                stopper = asyncio.create_task(stop.wait())
                await asyncio.wait({waiter, stopper}, timeout=1.0, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                stopper.cancel()
                continue
            for job_id, payload in rows:
                await handler(job_id, payload)
            await conn.execute(RAW_ACK, ([r[0] for r in rows],))
    listener.cancel()


def worker_main(kind: str, url: str, out: Path, latency: bool) -> None:
    rec = Recorder(out, latency)
    try:
        if kind == "pgqueuer":
            import uvloop  # pgqueuer's own CLI (`pgq run`) runs on uvloop; it is one of its dependencies

            uvloop.run(pgqueuer_worker(url, rec))
        elif kind == "procrastinate":
            asyncio.run(procrastinate_worker(url, rec))
        elif kind == "raw":
            asyncio.run(raw_worker(url, rec))
        else:
            raise SystemExit(f"unknown worker {kind}")
    finally:
        rec.close()


# ---------------------------------------------------------------------------------------------------------------
# driver side: one class per queue
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class Worker:
    proc: subprocess.Popen
    out: Path  # base name of its files (.ready .first .count .lat, .log for stderr)
    log: Any


class Queue:
    name = ""
    database = ""
    tables: tuple[str, ...] = ()  # truncated before each measurement (in this order, cascade)
    analyze: tuple[str, ...] = ()
    remaining_sql = ""

    def __init__(self, base_url: str, scratch: Path) -> None:
        self.url = f"{base_url}/{self.database}"
        self.scratch = scratch

    # setup and reset
    def install(self) -> None:
        raise NotImplementedError

    def reset(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f"truncate {', '.join(self.tables)} cascade")

    def analyze_tables(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            for table in self.analyze:
                conn.execute(f"analyze {table}")

    def remaining(self, conn: psycopg.Connection) -> bool:
        return bool(conn.execute(self.remaining_sql).fetchone()[0])

    # enqueue: return seconds (batched: n jobs, BATCH per transaction; single: n commits), or commit times
    def enqueue_batched(self, n: int) -> float:
        raise NotImplementedError

    def enqueue_single(self, n: int) -> float:
        raise NotImplementedError

    def enqueue_paced(self, n: int, rate: float) -> dict[Any, float]:
        """n single jobs at `rate`/s; returns {job key: unix time the enqueue call returned}."""
        raise NotImplementedError

    # workers
    def command(self, out: Path, latency: bool) -> tuple[list[str], dict[str, str]]:
        env = dict(os.environ)
        return ([sys.executable, str(Path(__file__).resolve()), "--worker", self.name, "--url", self.url,
                 "--out", str(out)] + (["--latency"] if latency else []), env)

    def is_ready(self, worker: Worker) -> bool:
        return worker.out.with_suffix(".ready").exists()

    def first_start(self, workers: list[Worker]) -> float | None:
        starts = [float(w.out.with_suffix(".first").read_text()) for w in workers
                  if w.out.with_suffix(".first").exists()]
        return min(starts) if starts else None

    def processed(self, workers: list[Worker]) -> int:
        return sum(int(w.out.with_suffix(".count").read_text()) for w in workers
                   if w.out.with_suffix(".count").exists())

    def handler_starts(self, workers: list[Worker]) -> dict[Any, float]:
        starts: dict[Any, float] = {}
        for w in workers:
            for line in w.out.with_suffix(".lat").read_text().splitlines():
                key, ts = line.split()
                starts.setdefault(key, float(ts))
        return starts

    def config(self) -> str:
        return ""


def _sleep_until(t: float) -> None:
    delay = t - time.perf_counter()
    if delay > 0:
        time.sleep(delay)


async def _asleep_until(t: float) -> None:
    delay = t - time.perf_counter()
    if delay > 0:
        await asyncio.sleep(delay)


class Ours(Queue):
    name = "supakit"
    database = "bench_supakit"
    tables = ("internal.jobs", "internal.workers")
    analyze = ("internal.jobs",)
    remaining_sql = "select exists (select 1 from internal.jobs where status in ('queued', 'running'))"

    def install(self) -> None:
        from functions_py.migrations.engine import Migrator

        Migrator(self.url, root=ROOT, compat_dir=ROOT / "supabase" / "compat", sql_dir=ROOT / "sql",
                 policies_dir=ROOT / "policies").migrate()

    def enqueue_batched(self, n: int) -> float:
        from functions_py.jobs import queue

        payloads = [{}] * BATCH
        with psycopg.connect(self.url, autocommit=True) as conn:
            started = time.perf_counter()
            for _ in range(n // BATCH):
                queue.enqueue_many(conn, "system.noop", payloads)
            return time.perf_counter() - started

    def enqueue_single(self, n: int) -> float:
        from functions_py.jobs import queue

        with psycopg.connect(self.url, autocommit=True) as conn:
            started = time.perf_counter()
            for _ in range(n):
                queue.enqueue(conn, "system.noop", {})
            return time.perf_counter() - started

    def enqueue_paced(self, n: int, rate: float) -> dict[Any, float]:
        from functions_py.jobs import queue

        done: dict[Any, float] = {}
        with psycopg.connect(self.url, autocommit=True) as conn:
            t0 = time.perf_counter()
            for i in range(n):
                _sleep_until(t0 + i / rate)
                job_id = queue.enqueue(conn, "system.noop", {"seq": i})
                done[str(job_id)] = time.time()
        return done

    def command(self, out: Path, latency: bool) -> tuple[list[str], dict[str, str]]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SUPAKIT_")}
        env["DATABASE_URL"] = self.url
        return ([sys.executable, "-m", "cli.main", "worker", "--kinds", "system.noop",
                 "--concurrency", str(OURS_CONCURRENCY), "--batch-size", str(OURS_BATCH)], env)

    def _events(self, worker: Worker, event: str) -> list[dict[str, Any]]:
        found = []
        for line in worker.out.with_suffix(".log").read_text().splitlines():
            if f'"{event}"' in line:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if record.get("event") == event:
                    found.append(record)
        return found

    def is_ready(self, worker: Worker) -> bool:
        return '"worker.started"' in worker.out.with_suffix(".log").read_text()

    def first_start(self, workers: list[Worker]) -> float | None:
        # the job.started log line, written just before the handler's task is created (ms resolution)
        starts = []
        for w in workers:
            with open(w.out.with_suffix(".log")) as log:
                for line in log:
                    if '"job.started"' in line:
                        starts.append(json.loads(line)["ts"])
                        break
        return min(starts) if starts else None

    def processed(self, workers: list[Worker]) -> int:
        return sum(len(self._events(w, "job.succeeded")) for w in workers)

    def handler_starts(self, workers: list[Worker]) -> dict[Any, float]:
        starts: dict[Any, float] = {}
        for w in workers:
            for record in self._events(w, "job.started"):
                starts.setdefault(str(record["job_id"]), float(record["ts"]))
        return starts

    def db_latencies(self) -> list[float]:
        """started_at - created_at per job, in ms: claim transaction start minus enqueue transaction start."""
        with psycopg.connect(self.url, autocommit=True) as conn:
            rows = conn.execute("select extract(epoch from started_at - created_at) * 1000 from internal.jobs"
                                " where started_at is not null").fetchall()
        return [float(r[0]) for r in rows]

    def config(self) -> str:
        return f"--concurrency {OURS_CONCURRENCY} --batch-size {OURS_BATCH}"


class Pgqueuer(Queue):
    name = "pgqueuer"
    database = "bench_pgqueuer"
    tables = ("pgqueuer", "pgqueuer_log", "pgqueuer_statistics")
    analyze = ("pgqueuer",)
    remaining_sql = "select exists (select 1 from pgqueuer)"  # finished jobs are deleted (and logged)

    async def _with_queries(self, action: Callable[[Any], Any]) -> Any:
        import asyncpg
        from pgqueuer.db import AsyncpgDriver
        from pgqueuer.queries import Queries

        conn = await asyncpg.connect(self.url)
        try:
            return await action(Queries(AsyncpgDriver(conn)))
        finally:
            await conn.close()

    def install(self) -> None:
        async def go(q: Any) -> None:
            await q.install()

        asyncio.run(self._with_queries(go))

    def enqueue_batched(self, n: int) -> float:
        async def go(q: Any) -> float:
            entrypoints, payloads, priorities = ["noop"] * BATCH, [None] * BATCH, [0] * BATCH
            started = time.perf_counter()
            for _ in range(n // BATCH):
                await q.enqueue(entrypoints, payloads, priorities)
            return time.perf_counter() - started

        return asyncio.run(self._with_queries(go))

    def enqueue_single(self, n: int) -> float:
        async def go(q: Any) -> float:
            started = time.perf_counter()
            for _ in range(n):
                await q.enqueue("noop", None)
            return time.perf_counter() - started

        return asyncio.run(self._with_queries(go))

    def enqueue_paced(self, n: int, rate: float) -> dict[Any, float]:
        async def go(q: Any) -> dict[Any, float]:
            done: dict[Any, float] = {}
            t0 = time.perf_counter()
            for i in range(n):
                await _asleep_until(t0 + i / rate)
                await q.enqueue("noop", str(i).encode())
                done[str(i)] = time.time()
            return done

        return asyncio.run(self._with_queries(go))

    def config(self) -> str:
        return f"batch_size={PGQ_BATCH}, asyncpg, uvloop"


class Procrastinate(Queue):
    name = "procrastinate"
    database = "bench_procrastinate"
    tables = ("procrastinate_jobs", "procrastinate_workers")
    analyze = ("procrastinate_jobs",)
    remaining_sql = "select exists (select 1 from procrastinate_jobs where status in ('todo', 'doing'))"

    async def _with_app(self, action: Callable[[Any, Any], Any]) -> Any:
        app, task = procrastinate_app(self.url, None)
        async with app.open_async():
            return await action(app, task)

    def install(self) -> None:
        async def go(app: Any, task: Any) -> None:
            await app.schema_manager.apply_schema_async()

        asyncio.run(self._with_app(go))

    def enqueue_batched(self, n: int) -> float:
        async def go(app: Any, task: Any) -> float:
            args = [{}] * BATCH
            started = time.perf_counter()
            for _ in range(n // BATCH):
                await task.batch_defer_async(*args)
            return time.perf_counter() - started

        return asyncio.run(self._with_app(go))

    def enqueue_single(self, n: int) -> float:
        async def go(app: Any, task: Any) -> float:
            started = time.perf_counter()
            for _ in range(n):
                await task.defer_async()
            return time.perf_counter() - started

        return asyncio.run(self._with_app(go))

    def enqueue_paced(self, n: int, rate: float) -> dict[Any, float]:
        async def go(app: Any, task: Any) -> dict[Any, float]:
            done: dict[Any, float] = {}
            t0 = time.perf_counter()
            for i in range(n):
                await _asleep_until(t0 + i / rate)
                await task.defer_async(seq=i)
                done[str(i)] = time.time()
            return done

        return asyncio.run(self._with_app(go))

    def config(self) -> str:
        return f"concurrency={PROC_CONCURRENCY}, psycopg"


class Raw(Queue):
    name = "raw"
    database = "bench_raw"
    tables = ("raw_jobs",)
    analyze = ("raw_jobs",)
    remaining_sql = "select exists (select 1 from raw_jobs where status in ('queued', 'running'))"

    def install(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(RAW_SCHEMA)

    def enqueue_batched(self, n: int) -> float:
        payloads = ["{}"] * BATCH
        with psycopg.connect(self.url, autocommit=True) as conn:
            started = time.perf_counter()
            for _ in range(n // BATCH):
                conn.execute("insert into raw_jobs (kind, payload) select 'noop', p from unnest(%s::jsonb[]) as p",
                             (payloads,))
            return time.perf_counter() - started

    def enqueue_single(self, n: int) -> float:
        with psycopg.connect(self.url, autocommit=True) as conn:
            started = time.perf_counter()
            for _ in range(n):
                conn.execute("insert into raw_jobs (kind, payload) values ('noop', '{}')")
            return time.perf_counter() - started

    def enqueue_paced(self, n: int, rate: float) -> dict[Any, float]:
        done: dict[Any, float] = {}
        with psycopg.connect(self.url, autocommit=True) as conn:
            t0 = time.perf_counter()
            for i in range(n):
                _sleep_until(t0 + i / rate)
                conn.execute("insert into raw_jobs (kind, payload) values ('noop', %s)", (json.dumps({"seq": i}),))
                done[str(i)] = time.time()
        return done

    def config(self) -> str:
        return f"claim LIMIT {RAW_BATCH}, ack in a 2nd statement, psycopg"


# ---------------------------------------------------------------------------------------------------------------
# driver: measurements
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class Run:
    """One throughput measurement."""

    seconds: float
    processed: int
    worker_cpu_s: float
    server_cpu_s: float


@dataclass
class Results:
    batched: dict[str, list[float]] = field(default_factory=dict)  # jobs/s per round
    single: dict[str, list[float]] = field(default_factory=dict)
    process: dict[tuple[str, int], list[Run]] = field(default_factory=dict)
    latency: dict[str, list[float]] = field(default_factory=dict)  # ms, all rounds pooled
    latency_db: list[float] = field(default_factory=list)  # ours, started_at - created_at


class Cluster:
    def __init__(self, scratch: Path) -> None:
        from functions_py.embedded import EmbeddedPostgres, free_port

        self.pg = EmbeddedPostgres(scratch / "cluster", free_port(), extra_settings=SERVER_SETTINGS)
        self.base_url = f"postgresql://postgres@127.0.0.1:{self.pg.port}"

    def postmaster(self) -> psutil.Process | None:
        pid = self.pg._postmaster()  # noqa: SLF001 - (pid, port) from postmaster.pid
        return psutil.Process(pid[0]) if pid else None

    def cpu(self) -> dict[int, float]:
        """CPU seconds (user + system) of every server process, by pid."""
        times: dict[int, float] = {}
        master = self.postmaster()
        if master is None:
            return times
        for proc in [master, *master.children()]:
            try:
                t = proc.cpu_times()
                times[proc.pid] = t.user + t.system
            except psutil.Error:
                pass
        return times


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(t - before.get(pid, 0.0) for pid, t in after.items())


def process_cpu(proc: subprocess.Popen) -> float:
    try:
        t = psutil.Process(proc.pid).cpu_times()
        return t.user + t.system
    except psutil.Error:
        return 0.0


def start_workers(q: Queue, count: int, tag: str, latency: bool) -> list[Worker]:
    workers = []
    for i in range(count):
        out = q.scratch / f"{q.name}-{tag}-{i}"
        for suffix in (".ready", ".first", ".count", ".lat"):
            out.with_suffix(suffix).unlink(missing_ok=True)
        argv, env = q.command(out, latency)
        log = open(out.with_suffix(".log"), "w")  # noqa: SIM115 - closed in stop_workers
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=log)
        workers.append(Worker(proc, out, log))
    deadline = time.monotonic() + 60
    for w in workers:
        while not q.is_ready(w):
            if w.proc.poll() is not None:
                raise RuntimeError(f"{q.name} worker exited ({w.proc.returncode}) before it was ready:\n"
                                   f"{w.out.with_suffix('.log').read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{q.name} worker not ready after 60 s")
            time.sleep(0.02)
    time.sleep(SETTLE_S)
    return workers


def stop_workers(workers: list[Worker]) -> None:
    for w in workers:
        if w.proc.poll() is None:
            with _suppress():
                w.proc.send_signal(signal.SIGCONT)
                w.proc.terminate()
    for w in workers:
        try:
            w.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            w.proc.kill()
            w.proc.wait()
        w.log.close()


class _suppress:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return exc[0] is not None and issubclass(exc[0], ProcessLookupError | OSError)  # type: ignore[arg-type]


def measure_process(q: Queue, cluster: Cluster, n: int, count: int, tag: str) -> Run:
    q.reset()
    workers = start_workers(q, count, tag, latency=False)
    try:
        for w in workers:
            w.proc.send_signal(signal.SIGSTOP)  # the barrier
        q.enqueue_batched(n)  # prefill through the batch API
        q.analyze_tables()
        with psycopg.connect(q.url, autocommit=True) as poll:
            server_before = cluster.cpu()
            workers_before = [process_cpu(w.proc) for w in workers]
            released = time.time()
            for w in workers:
                w.proc.send_signal(signal.SIGCONT)
            while True:
                time.sleep(POLL_S)
                if not q.remaining(poll):
                    ended = time.time()
                    break
                if time.time() - released > RUN_TIMEOUT_S:
                    raise RuntimeError(f"{q.name}: {n} jobs not done after {RUN_TIMEOUT_S:.0f} s")
                for w in workers:
                    if w.proc.poll() is not None:
                        raise RuntimeError(f"{q.name} worker died:\n{w.out.with_suffix('.log').read_text()[-3000:]}")
            worker_cpu = sum(process_cpu(w.proc) for w in workers) - sum(workers_before)
            server_cpu = cpu_delta(server_before, cluster.cpu())
    finally:
        stop_workers(workers)
    first = q.first_start(workers)
    if first is None:
        raise RuntimeError(f"{q.name}: no handler start recorded")
    processed = q.processed(workers)
    if processed != n:
        print(f"  warning: {q.name} x{count}: {processed} handler runs recorded for {n} jobs", file=sys.stderr)
    return Run(ended - first, processed, worker_cpu, server_cpu)


def measure_latency(q: Queue, n: int, rate: float) -> list[float]:
    q.reset()
    workers = start_workers(q, 1, "latency", latency=True)
    try:
        committed = q.enqueue_paced(n, rate)
        deadline = time.monotonic() + 30
        with psycopg.connect(q.url, autocommit=True) as poll:
            while q.remaining(poll):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{q.name}: latency jobs not done after 30 s")
                time.sleep(POLL_S)
        time.sleep(0.2)  # the last log lines
        started = q.handler_starts(workers)
    finally:
        stop_workers(workers)
    missing = set(committed) - set(started)
    if missing:
        print(f"  warning: {q.name}: {len(missing)} of {n} latency jobs have no recorded start", file=sys.stderr)
    return [(started[k] - committed[k]) * 1000 for k in committed if k in started]


# ---------------------------------------------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    if not values:
        return float("nan")
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def fmt_rate(v: float) -> str:
    return f"{v:,.0f}"


def report(results: Results, queues: list[Queue], n: int, rounds: int) -> bool:
    names = [q.name for q in queues]
    cols = [*names, "sk/pgq", "sk/raw"]
    width = 14
    print()
    print(f"{'metric (jobs/s unless noted; median of ' + str(rounds) + ')':<46}"
          + "".join(f"{c:>{width}}" for c in cols))

    def row(label: str, values: dict[str, float], ratio: bool = True, fmt: Callable[[float], str] = fmt_rate,
            spreads: dict[str, str] | None = None) -> None:
        cells = [fmt(values[name]) if name in values else "-" for name in names]
        if ratio and "supakit" in values:
            cells.append(f"{values['supakit'] / values['pgqueuer']:.2f}x" if values.get("pgqueuer") else "-")
            cells.append(f"{values['supakit'] / values['raw']:.2f}x" if values.get("raw") else "-")
        else:
            cells += ["", ""]
        print(f"{label:<46}" + "".join(f"{c:>{width}}" for c in cells))
        if spreads:
            print(f"{'  (min-max over rounds)':<46}" + "".join(f"{spreads.get(name, ''):>{width}}" for name in names))

    def spread(values: list[float]) -> str:
        return f"{min(values) / 1000:.1f}-{max(values) / 1000:.1f}k"

    med = {k: statistics.median(v) for k, v in results.batched.items()}
    row(f"(a) enqueue, batched ({BATCH:,}/txn)", med, spreads={k: spread(v) for k, v in results.batched.items()})
    med_single = {k: statistics.median(v) for k, v in results.single.items()}
    row("(a) enqueue, single (1 commit each)", med_single)
    process: dict[int, dict[str, float]] = {}
    for workers in (1, 2):
        rates = {name: [r.processed / r.seconds for r in runs] for (name, w), runs in results.process.items()
                 if w == workers}
        process[workers] = {k: statistics.median(v) for k, v in rates.items()}
        row(f"(b) process, {workers} worker process{'es' if workers > 1 else ''}", process[workers],
            spreads={k: spread(v) for k, v in rates.items()})
    scaling = {k: process[2][k] / process[1][k] for k in process[2] if k in process[1]}
    row("    2-worker scaling", scaling, ratio=False, fmt=lambda v: f"{v:.2f}x")
    for workers in (1, 2):
        cpu = {name: statistics.median([r.worker_cpu_s / r.processed * 1e6 for r in runs])
               for (name, w), runs in results.process.items() if w == workers}
        srv = {name: statistics.median([r.server_cpu_s / r.processed * 1e6 for r in runs])
               for (name, w), runs in results.process.items() if w == workers}
        row(f"    CPU us/job, worker procs ({workers}w)", cpu, ratio=False, fmt=lambda v: f"{v:.0f}")
        row(f"    CPU us/job, PostgreSQL ({workers}w)", srv, ratio=False, fmt=lambda v: f"{v:.0f}")
    p50 = {k: pct(v, 0.5) for k, v in results.latency.items()}
    p95 = {k: pct(v, 0.95) for k, v in results.latency.items()}
    row("(c) commit->handler p50, ms", p50, ratio=False, fmt=lambda v: f"{v:.2f}")
    row("(c) commit->handler p95, ms", p95, ratio=False, fmt=lambda v: f"{v:.2f}")
    if results.latency_db:
        print(f"    supakit from the database (started_at - created_at, claim txn start - enqueue txn start): "
              f"p50 {pct(results.latency_db, 0.5):.2f} ms, p95 {pct(results.latency_db, 0.95):.2f} ms")

    if not {"supakit", "pgqueuer"} <= set(names):
        print("\n(targets need supakit and pgqueuer in the run)")
        return True
    checks = [
        (f"throughput, 1 worker  >= {TARGET_X_PGQ_1}x pgqueuer", process[1]["supakit"] / process[1]["pgqueuer"],
         TARGET_X_PGQ_1, "x"),
        (f"throughput, 2 workers >= {TARGET_X_PGQ_2}x pgqueuer", process[2]["supakit"] / process[2]["pgqueuer"],
         TARGET_X_PGQ_2, "x"),
        (f"batched enqueue >= {TARGET_X_PGQ_ENQUEUE:g}x pgqueuer", med["supakit"] / med["pgqueuer"],
         TARGET_X_PGQ_ENQUEUE, "x"),
    ]
    if "raw" in names:
        checks.append((f"throughput, 1 worker  >= {TARGET_X_RAW_1}x raw", process[1]["supakit"] / process[1]["raw"],
                       TARGET_X_RAW_1, "x"))
    print()
    print("targets (issues 4 and 21)")
    failed = False
    for label, value, target, unit in checks:
        ok = value >= target
        failed |= not ok
        print(f"  {label:<40} {value:6.2f}{unit}   {'PASS' if ok else 'FAIL'}")
    ok = p50["supakit"] <= TARGET_P50_MS
    failed |= not ok
    print(f"  {'commit->handler p50 <= ' + format(TARGET_P50_MS, 'g') + ' ms':<40} {p50['supakit']:6.2f}ms  "
          f"{'PASS' if ok else 'FAIL'}")
    return not failed


# ---------------------------------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    global OURS_CONCURRENCY, OURS_BATCH
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=N, help="jobs per throughput / batched-enqueue measurement")
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--only", default=None, help="comma-separated queues (default: all)")
    parser.add_argument("--ours-concurrency", type=int, default=OURS_CONCURRENCY,
                        help="supakit worker --concurrency (to sweep configurations)")
    parser.add_argument("--ours-batch", type=int, default=OURS_BATCH, help="supakit worker --batch-size")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--latency", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker_main(args.worker, args.url, Path(args.out), args.latency)
        return 0
    n = max(BATCH, args.n // BATCH * BATCH)
    OURS_CONCURRENCY, OURS_BATCH = args.ours_concurrency, args.ours_batch

    started = time.monotonic()
    scratch = Path(tempfile.mkdtemp(prefix="supakit-bench-jobs-"))
    os.chmod(scratch, 0o755)
    cluster = Cluster(scratch)
    work = scratch / "runs"
    work.mkdir()
    kinds = [Ours, Pgqueuer, Procrastinate, Raw]
    if args.only:
        wanted = set(args.only.split(","))
        kinds = [k for k in kinds if k.name in wanted]
    queues: list[Queue] = []
    results = Results()
    try:
        cluster.pg.start()
        with psycopg.connect(f"{cluster.base_url}/postgres", autocommit=True) as conn:
            for kind in kinds:
                conn.execute(f"create database {kind.database}")
            settings = {name: conn.execute(f"show {name}").fetchone()[0] for name in SHOWN_SETTINGS}
        cpu_count = os.cpu_count()
        print(f"supakit bench: job queues on one embedded PostgreSQL ({cpu_count} CPUs, Python "
              f"{sys.version.split()[0]}); N = {n:,} jobs per throughput measurement, {rounds_text(args.rounds)}")
        print("server: " + ", ".join(f"{k}={v}" for k, v in settings.items()) + " (TCP over 127.0.0.1)")
        for kind in kinds:
            q = kind(cluster.base_url, work)
            q.install()
            queues.append(q)
        print("workers: " + "; ".join(f"{q.name}: {q.config()}" for q in queues))
        versions = []
        for package in ("pgqueuer", "procrastinate", "asyncpg", "psycopg"):
            with _suppress_import():
                from importlib.metadata import version

                versions.append(f"{package} {version(package)}")
        print("versions: " + ", ".join(versions))
        for name in [q.name for q in queues]:
            results.batched[name], results.single[name], results.latency[name] = [], [], []
            results.process[(name, 1)], results.process[(name, 2)] = [], []

        for r in range(args.rounds):
            order = queues[r % len(queues):] + queues[:r % len(queues)]
            t_round = time.monotonic()
            for q in order:  # (a)
                q.reset()
                results.batched[q.name].append(n / q.enqueue_batched(n))
                q.reset()
                results.single[q.name].append(SINGLE / q.enqueue_single(SINGLE))
            for workers in (1, 2):  # (b)
                for q in order:
                    run = measure_process(q, cluster, n, workers, f"r{r}w{workers}")
                    results.process[(q.name, workers)].append(run)
            for q in order:  # (c)
                results.latency[q.name] += measure_latency(q, LATENCY_JOBS, LATENCY_RATE)
                if isinstance(q, Ours):
                    results.latency_db += q.db_latencies()
            summary = ", ".join(
                f"{q.name} {results.process[(q.name, 1)][-1].processed / results.process[(q.name, 1)][-1].seconds:,.0f}"
                f"/{results.process[(q.name, 2)][-1].processed / results.process[(q.name, 2)][-1].seconds:,.0f}"
                for q in queues)
            print(f"round {r + 1}/{args.rounds} ({time.monotonic() - t_round:.0f} s): jobs/s 1w/2w: {summary}",
                  flush=True)
    finally:
        try:
            cluster.pg.stop()
        except Exception as error:  # noqa: BLE001 - report, keep cleaning up
            print(f"warning: could not stop {cluster.pg.pgdata}: {error}", file=sys.stderr)
        shutil.rmtree(scratch, ignore_errors=True)

    ok = report(results, queues, n, args.rounds)
    print(f"\nwhole run {time.monotonic() - started:.0f} s")
    return 0 if ok else 1


def rounds_text(rounds: int) -> str:
    return f"median of {rounds} interleaved round{'s' if rounds != 1 else ''}"


class _suppress_import:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return exc[0] is not None and issubclass(exc[0], Exception)  # type: ignore[arg-type]


if __name__ == "__main__":
    sys.exit(main())
