"""The local Data API (/rest/v1) over HTTP against the same SQL through psycopg (the floor), in the same run.

Run from anywhere: `python bench/rest.py` (BENCH_SCALE=0.01 for a smoke run). A throwaway embedded cluster is
migrated with the project's files and loaded with one organization: a manager, a member with TASKS open tasks
assigned to them, PROJECTS projects of TASKS_PER_PROJECT tasks each. `supakit serve --no-realtime` runs as a
subprocess (one uvicorn process); the load comes from a lean HTTP/1.1 client on asyncio streams in this process.

Scenarios (issue 14, section 3), each through the gateway and through psycopg with PostgREST's per-request protocol
(a transaction, READ ONLY for reads, `set_config` of role and claims, the statement, commit):

  a. "open tasks of my organization": GET /tasks?select=...&status=neq.done&order=created_at.desc&limit=50 as the
     member (RLS decides: their 50 assigned tasks);
  b. single-row insert with return=representation: POST /tasks as the manager;
  c. embedded select: GET /projects?select=*,tasks(*) as the manager.

Paths, measured in the same run: "rest" (this checkout's server), "ceiling" (CeilingApp: a bare ASGI app under the
same uvicorn answering with the floor's SQL in one round trip: what Python's HTTP serving alone costs), "floor"
(psycopg in this process, CONCURRENCY connections opened once and kept, as the server keeps its pool) and, with
BENCH_REST_BASELINE=<another checkout> (e.g. `git archive main | tar -x -C /tmp/base`), "before": that checkout's
`supakit serve`. Per scenario the paths run interleaved, BENCH_ROUNDS rounds (default 5) with the order rotating;
figures are medians over the rounds.

Measured: requests/s at concurrency CONCURRENCY, p50 latency at concurrency 1, and CPU per request, split into the
path's own process (the server; for the floor this process) and PostgreSQL: every process of the cluster,
including backends that exited during the window (their time is read from the postmaster's reaped-children
counters). Finally the server's RSS every quarter of RSS_REQUESTS requests of (a).

Targets: (a) >= 1,500 requests/s at concurrency 16; p50 < 5 ms at concurrency 1 for (a); CPU per request <= 2.0x
the floor's for each scenario; the server's RSS < 200 MB after 100,000 requests and flat after the first quarter
(<= TARGET_RSS_GROWTH_B bytes per request; checked when RSS_REQUESTS reaches 100,000, i.e. at full scale). Prints
the figures and ratios; exit 1 on a miss. Do not run at full scale on a shared machine while others work:
everything shares the same cores.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
from common import ROOT, migrated_cluster

from functions_py import tokens  # noqa: E402  (common puts the project on sys.path)
from functions_py.embedded import free_port  # noqa: E402
from functions_py.rest.wire import Batch  # noqa: E402

SCALE = float(os.environ.get("BENCH_SCALE", "1"))
CONCURRENCY = 16
REQUESTS = max(50, int(20_000 * SCALE))  # per scenario and path at concurrency 16
LATENCY_REQUESTS = max(20, int(2_000 * SCALE))  # at concurrency 1
RSS_REQUESTS = max(100, int(100_000 * SCALE))
# Another checkout (e.g. `git worktree add /tmp/base main`) measured in the same run as "before"
BASELINE = os.environ.get("BENCH_REST_BASELINE")
TASKS, PROJECTS, TASKS_PER_PROJECT = 60, 5, 10
TARGET_RPS, TARGET_P50_MS, TARGET_CPU_RATIO, TARGET_RSS_MB = 1500, 5.0, 2.0, 200
# "no growth per request": a leak of even one small object per request (a dict, a str of the URL) is >= 100 B;
# below this the residue is allocator noise (a few pages over 75,000 requests)
TARGET_RSS_GROWTH_B = 32
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
ONLY = os.environ.get("BENCH_ONLY", "")  # e.g. "b": only scenario (b) (for profiling); the RSS check still runs
SECRET = tokens.LOCAL_JWT_SECRET
ANON_KEY = tokens.api_key("anon", SECRET)

OPEN_TASKS_PATH = ("/rest/v1/tasks?select=id,title,status,project_id,due_on,created_at&status=neq.done"
                   "&order=created_at.desc&limit=50")
EMBED_PATH = "/rest/v1/projects?select=*,tasks(*)"

# The floor: what PostgREST's transaction amounts to, written by hand.
PROTOCOL = ("select set_config('role', 'authenticated', true), set_config('request.jwt.claims', %s, true),"
            " set_config('request.method', %s, true), set_config('request.path', %s, true)")
OPEN_TASKS_SQL = """
select coalesce(json_agg(t), '[]')::text from (
  select id, title, status, project_id, due_on, created_at from public.tasks
  where status <> 'done' order by created_at desc limit 50) t"""
INSERT_SQL = """
with inserted as (
  insert into public.tasks (organization_id, project_id, title) values (%s, %s, %s) returning *)
select coalesce(json_agg(inserted), '[]')::text from inserted"""
EMBED_SQL = """
select coalesce(json_agg(p), '[]')::text from (
  select projects.*, coalesce((select json_agg(tasks) from public.tasks where tasks.project_id = projects.id
                               and tasks.organization_id = projects.organization_id), '[]') as tasks
  from public.projects) p"""


def cpu_seconds(pid: int, *, reaped: bool = False) -> float:
    """User + system CPU of the process; with `reaped`, plus what its exited children used (reaped by it)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if reaped else 0)
    return ticks / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def postgres_pids(port: int) -> list[int]:
    """Every process of the cluster listening on `port` (postmaster, backends, background workers)."""
    postmaster = None
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if cmdline and cmdline[0].endswith(b"postgres") and str(port).encode() in b" ".join(cmdline):
                postmaster = int(entry.name)
    if postmaster is None:
        return []
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError):
                continue
            if ppid == postmaster:
                children.append(int(entry.name))
    return [postmaster, *children]


def cluster_cpu(port: int) -> float:
    """CPU the cluster has used so far: every live process, plus the backends that exited (the postmaster reaps
    them, and the kernel adds their time to its children's counters). Without the second part a backend that
    starts and ends inside a measurement is not counted at all."""
    total = 0.0
    for i, pid in enumerate(postgres_pids(port)):
        with contextlib.suppress(OSError):  # a backend may exit between listing and reading
            total += cpu_seconds(pid, reaped=i == 0)
    return total


def seed(url: str) -> dict:
    ids = {name: uuid.uuid4() for name in ("manager", "member")}
    with psycopg.connect(url, autocommit=True) as conn:
        for name, user_id in ids.items():
            conn.execute(
                "insert into auth.users (instance_id, id, aud, role, email, raw_app_meta_data, raw_user_meta_data,"
                " email_confirmed_at, created_at, updated_at) values ('00000000-0000-0000-0000-000000000000', %s,"
                " 'authenticated', 'authenticated', %s, '{}', '{}', now(), now(), now())",
                (user_id, f"{name}@bench.example"))
        org = conn.execute("insert into public.organizations (name, slug) values ('Bench', 'bench') returning id"
                           ).fetchone()[0]
        conn.execute("insert into public.memberships (organization_id, user_id, role) values (%s, %s, 'owner')",
                     (org, ids["manager"]))
        conn.execute("insert into public.memberships (organization_id, user_id, role) values (%s, %s, 'member')",
                     (org, ids["member"]))
        projects = [conn.execute("insert into public.projects (organization_id, name) values (%s, %s) returning id",
                                 (org, f"project {i}")).fetchone()[0] for i in range(PROJECTS)]
        for i in range(TASKS):
            conn.execute("insert into public.tasks (organization_id, project_id, title, assignee_id)"
                         " values (%s, %s, %s, %s)", (org, projects[0], f"open task {i}", ids["member"]))
        for project in projects:
            for i in range(TASKS_PER_PROJECT):
                conn.execute("insert into public.tasks (organization_id, project_id, title, status)"
                             " values (%s, %s, %s, 'done')", (org, project, f"done task {i}"))
        conn.execute("analyze")
    claims = {name: {"sub": str(user_id), "role": "authenticated", "aud": "authenticated",
                     "exp": int(time.time()) + 86400} for name, user_id in ids.items()}
    return {"org": org, "project": projects[1], "claims": claims,
            "tokens": {name: tokens.user_token(user_id, SECRET) for name, user_id in ids.items()}}


# -- the HTTP side: a lean keep-alive HTTP/1.1 client --------------------------------------------------------------


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        if line.lower().startswith("content-length:"):
            length = int(line.split(":", 1)[1])
    body = await reader.readexactly(length) if length else b""
    return status, body


def _request_bytes(method: str, path: str, token: str, body: bytes | None, prefer: str | None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"apikey: {ANON_KEY}", f"Authorization: Bearer {token}"]
    if prefer:
        lines.append(f"Prefer: {prefer}")
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


async def http_load(port: int, make_request, total: int, concurrency: int) -> tuple[float, list[float]]:
    """(wall seconds, latencies) for `total` requests over `concurrency` keep-alive connections."""
    latencies: list[float] = []
    counter = iter(range(total))

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for i in counter:
                started = time.perf_counter()
                writer.write(make_request(i))
                status, body = await _read_response(reader)
                if status >= 300:
                    raise RuntimeError(f"/rest/v1 answered {status}: {body[:300]!r}")
                latencies.append(time.perf_counter() - started)
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started, latencies


# -- the floor: psycopg with the same protocol --------------------------------------------------------------------


async def floor_connections(url: str) -> list[psycopg.AsyncConnection]:
    """The floor's connections, opened once and kept, as the server keeps its pool's: what a request costs, not
    what starting a backend costs."""
    return [await psycopg.AsyncConnection.connect(url, autocommit=True, prepare_threshold=0)
            for _ in range(CONCURRENCY)]


async def sql_load(conns: list[psycopg.AsyncConnection], run_one, total: int,
                   concurrency: int) -> tuple[float, list[float]]:
    latencies: list[float] = []
    counter = iter(range(total))

    async def worker(conn: psycopg.AsyncConnection) -> None:
        for i in counter:
            started = time.perf_counter()
            await run_one(conn, i)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker(conn) for conn in conns[:concurrency]))
    return time.perf_counter() - started, latencies


def scenarios(world: dict):
    member, manager = world["tokens"]["member"], world["tokens"]["manager"]
    member_claims = json.dumps(world["claims"]["member"])
    manager_claims = json.dumps(world["claims"]["manager"])
    org, project = str(world["org"]), str(world["project"])

    async def open_tasks_sql(conn, _i):
        async with conn.transaction():
            await conn.execute("set transaction read only")
            await conn.execute(PROTOCOL, (member_claims, "GET", "/tasks"))
            await (await conn.execute(OPEN_TASKS_SQL)).fetchone()

    async def insert_sql(conn, i):
        async with conn.transaction():
            await conn.execute(PROTOCOL, (manager_claims, "POST", "/tasks"))
            await (await conn.execute(INSERT_SQL, (org, project, f"sql task {i}"))).fetchone()

    async def embed_sql(conn, _i):
        async with conn.transaction():
            await conn.execute("set transaction read only")
            await conn.execute(PROTOCOL, (manager_claims, "GET", "/projects"))
            await (await conn.execute(EMBED_SQL)).fetchone()

    def insert_http(i):
        body = json.dumps({"organization_id": org, "project_id": project, "title": f"http task {i}"}).encode()
        return _request_bytes("POST", "/rest/v1/tasks", manager, body, "return=representation")

    return {
        "a. open tasks (GET, RLS, 50 rows)": (lambda i: _request_bytes("GET", OPEN_TASKS_PATH, member, None, None),
                                             open_tasks_sql),
        "b. insert, return=representation": (insert_http, insert_sql),
        "c. projects?select=*,tasks(*)": (lambda i: _request_bytes("GET", EMBED_PATH, manager, None, None),
                                          embed_sql),
    }


# -- the Python ceiling: the least a Python HTTP server can do for the same request ------------------------------


class CeilingApp:
    """A bare ASGI app under the same uvicorn (httptools, uvloop) that answers each scenario with the floor's SQL
    on one pooled connection in one round trip (BEGIN, the protocol's set_config, the statement, COMMIT, through
    the Data API's own wire module) and the body PostgreSQL rendered passed through: no routing, parsing,
    planning, negotiation or headers beyond Content-Type. Tokens are verified once and their claims cached by the
    header's bytes. What it costs over the floor is the HTTP parse, ASGI and the event loop: the part of a Python
    Data API nothing can remove."""

    def __init__(self, url: str) -> None:
        from psycopg_pool import AsyncConnectionPool  # noqa: PLC0415

        self.pool = AsyncConnectionPool(url, min_size=10, max_size=10, open=False, kwargs={"autocommit": True})
        self.verifier = tokens.TokenVerifier(tokens.TokenSettings(secret=SECRET))
        self.claims: dict[bytes, str] = {}

    async def __call__(self, scope: dict, receive, send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await self.pool.open(wait=True)
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await self.pool.close()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        authorization = next(v for k, v in scope["headers"] if k == b"authorization")
        claims = self.claims.get(authorization)
        if claims is None:
            claims = json.dumps(self.verifier.verify(authorization[7:].decode()))
            self.claims[authorization] = claims
        method, path = scope["method"], scope["path"]
        body = b""
        if method == "POST":
            message = await receive()
            body = message.get("body", b"")
        conn = await self.pool.getconn()
        try:
            batch = Batch(conn)
            batch.add("BEGIN READ ONLY" if method == "GET" else "BEGIN")
            batch.add(PROTOCOL, (claims, method, path[8:]))
            if method == "POST":
                row = json.loads(body)
                batch.add(INSERT_SQL, (row["organization_id"], row["project_id"], row["title"]))
            else:
                batch.add(OPEN_TASKS_SQL if path == "/rest/v1/tasks" else EMBED_SQL)
            batch.add("COMMIT")
            results = await batch.run()
            payload = results[2].get_value(0, 0)
        finally:
            await self.pool.putconn(conn)
        await send({"type": "http.response.start", "status": 201 if method == "POST" else 200,
                    "headers": [(b"content-type", b"application/json; charset=utf-8"),
                                (b"content-length", str(len(payload)).encode())]})
        await send({"type": "http.response.body", "body": payload})


def run_ceiling(url: str, port: int) -> None:
    import uvicorn  # noqa: PLC0415

    from functions_py.http import gateway  # noqa: PLC0415

    uvicorn.run(CeilingApp(url), host="127.0.0.1", port=port, log_level="warning", access_log=False,
                lifespan="on", **gateway.uvicorn_options())


def _wait_listening(process: subprocess.Popen, port: int, what: str) -> subprocess.Popen:
    import socket  # noqa: PLC0415

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"{what} exited: {process.stderr.read().decode()[-2000:]}") from None
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{what} did not listen")


def start_server(url: str, port: int, source: Path | None = None) -> subprocess.Popen:
    """`supakit serve` of this checkout, or of the checkout at `source` (run from there, so its code is imported)."""
    env = {**os.environ, "DATABASE_URL": url, "SUPAKIT_DATABASE_URL": url, "SUPAKIT_API_PORT": str(port)}
    command = [str(Path(sys.executable).with_name("supakit"))]
    if source is not None:
        env["PYTHONPATH"] = str(source)
        command = [sys.executable, "-m", "cli.main"]
    process = subprocess.Popen([*command, "serve", "--no-realtime", "--port", str(port)],
                               cwd=source or ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return _wait_listening(process, port, "supakit serve")


def start_ceiling(url: str, port: int) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--ceiling", url, str(port)],
                               cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return _wait_listening(process, port, "the ceiling server")


async def _one_path(floor: list[psycopg.AsyncConnection], pg_port: int, path: str,
                    servers: dict[str, tuple[int, int]], make_http, run_sql, total: int) -> tuple[float, float, float]:
    """(requests/s at CONCURRENCY, ms of the path's own process per request, ms of PostgreSQL per request)."""
    http_port, own_pid = servers.get(path, (0, os.getpid()))
    own_before, pg_before = cpu_seconds(own_pid), cluster_cpu(pg_port)
    if path != "floor":
        wall, _ = await http_load(http_port, make_http, total, CONCURRENCY)
    else:
        wall, _ = await sql_load(floor, run_sql, total, CONCURRENCY)
    own = (cpu_seconds(own_pid) - own_before) / total * 1000
    return total / wall, own, (cluster_cpu(pg_port) - pg_before) / total * 1000


async def measure(url: str, pg_port: int, servers: dict[str, tuple[int, int]], world: dict) -> bool:
    """`servers`: path name → (HTTP port, pid) for "rest", "ceiling" and, when measured, "before".

    Per scenario the paths run interleaved, ROUNDS rounds of REQUESTS / ROUNDS requests each, the order rotating
    every round (the machine's load drifts; a path measured alone in a quiet minute would look better than it is);
    the figures are medians over the rounds."""
    ok = True
    paths = ["rest", *(["before"] if "before" in servers else []), "ceiling", "floor"]
    print(f"{'scenario':<36} {'path':<8} {'req/s c16':>10} {'p50 ms c1':>10} {'cpu ms/req':>11} "
          f"{'= process':>10} {'+ postgres':>11}", flush=True)
    per_round = max(50, REQUESTS // ROUNDS)
    floor = await floor_connections(url)
    for name, (make_http, run_sql) in scenarios(world).items():
        if ONLY and name[0] not in ONLY:
            continue
        for http_port, _ in servers.values():
            await http_load(http_port, make_http, 200, CONCURRENCY)  # warm the server, its pool and the plans
        await sql_load(floor, run_sql, 200, CONCURRENCY)
        rounds: dict[str, list[tuple[float, float, float]]] = {path: [] for path in paths}
        for r in range(ROUNDS):
            for path in paths[r % len(paths):] + paths[:r % len(paths)]:
                rounds[path].append(await _one_path(floor, pg_port, path, servers, make_http, run_sql, per_round))
        figures = {}
        for path in paths:
            if path != "floor":
                _, latencies = await http_load(servers[path][0], make_http, LATENCY_REQUESTS, 1)
            else:
                _, latencies = await sql_load(floor, run_sql, LATENCY_REQUESTS, 1)
            rps = statistics.median(f[0] for f in rounds[path])
            own = statistics.median(f[1] for f in rounds[path])
            pg = statistics.median(f[2] for f in rounds[path])
            figures[path] = (rps, statistics.median(latencies) * 1000, own + pg)
            spread = [f[1] + f[2] for f in rounds[path]]
            print(f"{name:<36} {path:<8} {rps:>10.0f} {figures[path][1]:>10.2f} {own + pg:>11.3f} {own:>10.3f} "
                  f"{pg:>11.3f}   rounds {min(spread):.3f}-{max(spread):.3f}", flush=True)
        ratio = figures["rest"][2] / figures["floor"][2]
        print(f"{'':<36} {'ratio':<8} {figures['rest'][0] / figures['floor'][0]:>10.2f} "
              f"{figures['rest'][1] / figures['floor'][1]:>10.2f} {ratio:>11.2f}  (rest / floor)")
        for other, what in (("before", "the baseline checkout"), ("ceiling", "what Python's HTTP serving alone costs")):
            if other in figures:
                print(f"{'':<36} {'':<8} {'':>10} {'':>10} {figures[other][2] / figures['floor'][2]:>11.2f}"
                      f"  ({other} / floor: {what})")
        print(f"{'':<36} {'':<8} {'':>10} {'':>10} {figures['rest'][2] / figures['ceiling'][2]:>11.2f}"
              f"  (rest / ceiling: what the Data API adds to it)")
        if ratio > TARGET_CPU_RATIO:
            print(f"  MISS: CPU per request {ratio:.2f}x the floor (target <= {TARGET_CPU_RATIO}x)")
            ok = False
        if name.startswith("b."):  # (c) embeds the project's tasks: measure it on the world's rows, not 40,000 more
            async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
                await conn.execute("delete from public.tasks where title like 'http task %' or title like 'sql task %'")
                await conn.execute("vacuum analyze public.tasks")  # and not on their dead index entries either
        if name.startswith("a."):
            if figures["rest"][0] < TARGET_RPS:
                print(f"  MISS: {figures['rest'][0]:.0f} GET/s at concurrency {CONCURRENCY} (target >= {TARGET_RPS})")
                ok = False
            if figures["rest"][1] >= TARGET_P50_MS:
                print(f"  MISS: p50 {figures['rest'][1]:.2f} ms at concurrency 1 (target < {TARGET_P50_MS} ms)")
                ok = False
    make_http = scenarios(world)["a. open tasks (GET, RLS, 50 rows)"][0]
    port, server_pid = servers["rest"]
    # RSS after every quarter of RSS_REQUESTS: the first quarter may still fill caches (pymalloc arenas, the plan
    # and token caches, prepared statements); after it the curve must be flat
    samples = [rss_mb(server_pid)]
    for _ in range(4):
        await http_load(port, make_http, RSS_REQUESTS // 4, CONCURRENCY)
        samples.append(rss_mb(server_pid))
    growth = samples[4] - samples[1]
    per_request = growth * 1024 * 1024 / (RSS_REQUESTS * 3 // 4)
    print(f"server RSS: {' -> '.join(f'{s:.1f}' for s in samples)} MB over {RSS_REQUESTS:,} requests of (a) "
          f"(every {RSS_REQUESTS // 4:,}); after the first quarter {growth:+.1f} MB = {per_request:+.0f} B/request")
    if RSS_REQUESTS >= 100_000:
        if samples[4] >= TARGET_RSS_MB:
            print(f"  MISS: RSS {samples[4]:.0f} MB (target < {TARGET_RSS_MB} MB)")
            ok = False
        if per_request > TARGET_RSS_GROWTH_B:
            print(f"  MISS: RSS grows {per_request:.0f} B per request (target flat: <= {TARGET_RSS_GROWTH_B} B)")
            ok = False
    else:
        print("  (RSS targets checked at full scale only)")
    for conn in floor:
        await conn.close()
    return ok


def main() -> int:
    with migrated_cluster("rest") as cluster:
        world = seed(cluster.url)
        pg_port = int(cluster.url.rsplit(":", 1)[1].split("/")[0])
        port, ceiling_port = free_port(), free_port()
        processes = [start_server(cluster.url, port)]
        try:
            processes.append(start_ceiling(cluster.url, ceiling_port))
            servers = {"rest": (port, processes[0].pid), "ceiling": (ceiling_port, processes[1].pid)}
            if BASELINE:
                before_port = free_port()
                processes.append(start_server(cluster.url, before_port, Path(BASELINE)))
                servers["before"] = (before_port, processes[2].pid)
            ok = asyncio.run(measure(cluster.url, pg_port, servers, world))
        finally:
            for process in processes:
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
    print("all targets met" if ok else "targets missed")
    return 0 if ok else 1


if __name__ == "__main__":
    if sys.argv[1:2] == ["--ceiling"]:
        run_ceiling(sys.argv[2], int(sys.argv[3]))
        sys.exit(0)
    sys.exit(main())
