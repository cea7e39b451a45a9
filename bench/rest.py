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

Measured: requests/s at concurrency CONCURRENCY, p50 latency at concurrency 1, and CPU per request: the server
process plus every PostgreSQL backend of the cluster for the API, this process plus the backends for the floor
(from /proc). Finally the server's RSS after RSS_REQUESTS requests of (a).

Targets: (a) >= 1,500 requests/s at concurrency 16; p50 < 5 ms at concurrency 1 for (a); CPU per request <= 2.0x
the floor's for each scenario; the server's RSS < 200 MB after 100,000 requests (checked when RSS_REQUESTS reaches
100,000, i.e. at full scale). Prints the figures and ratios; exit 1 on a miss. Do not run at full scale on a shared
machine while others work: everything shares the same cores.
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

SCALE = float(os.environ.get("BENCH_SCALE", "1"))
CONCURRENCY = 16
REQUESTS = max(50, int(20_000 * SCALE))  # per scenario and path at concurrency 16
LATENCY_REQUESTS = max(20, int(2_000 * SCALE))  # at concurrency 1
RSS_REQUESTS = max(100, int(100_000 * SCALE))
TASKS, PROJECTS, TASKS_PER_PROJECT = 60, 5, 10
TARGET_RPS, TARGET_P50_MS, TARGET_CPU_RATIO, TARGET_RSS_MB = 1500, 5.0, 2.0, 200
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


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
    total = 0.0
    for pid in postgres_pids(port):
        with contextlib.suppress(OSError):  # a backend may exit between listing and reading
            total += cpu_seconds(pid)
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


async def sql_load(url: str, run_one, total: int, concurrency: int) -> tuple[float, list[float]]:
    latencies: list[float] = []
    counter = iter(range(total))

    async def worker() -> None:
        conn = await psycopg.AsyncConnection.connect(url, autocommit=True, prepare_threshold=0)
        try:
            for i in counter:
                started = time.perf_counter()
                await run_one(conn, i)
                latencies.append(time.perf_counter() - started)
        finally:
            await conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
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


def start_server(url: str, port: int) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url, "SUPAKIT_DATABASE_URL": url, "SUPAKIT_API_PORT": str(port)}
    supakit = Path(sys.executable).with_name("supakit")
    process = subprocess.Popen([str(supakit), "serve", "--no-realtime", "--port", str(port)],
                               cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    import socket  # noqa: PLC0415

    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"supakit serve exited: {process.stderr.read().decode()[-2000:]}") from None
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("supakit serve did not listen")


async def measure(url: str, pg_port: int, port: int, server_pid: int, world: dict) -> bool:
    ok = True
    print(f"{'scenario':<36} {'path':<6} {'req/s c16':>10} {'p50 ms c1':>10} {'cpu ms/req':>11}", flush=True)
    for name, (make_http, run_sql) in scenarios(world).items():
        await http_load(port, make_http, 50, 4)  # warm the server, its pool and the plans
        await sql_load(url, run_sql, 50, 4)
        figures = {}
        for path in ("rest", "floor"):
            own_pid = server_pid if path == "rest" else os.getpid()
            cpu_before = cpu_seconds(own_pid) + cluster_cpu(pg_port)
            if path == "rest":
                wall, _ = await http_load(port, make_http, REQUESTS, CONCURRENCY)
            else:
                wall, _ = await sql_load(url, run_sql, REQUESTS, CONCURRENCY)
            cpu = (cpu_seconds(own_pid) + cluster_cpu(pg_port) - cpu_before) / REQUESTS * 1000
            if path == "rest":
                _, latencies = await http_load(port, make_http, LATENCY_REQUESTS, 1)
            else:
                _, latencies = await sql_load(url, run_sql, LATENCY_REQUESTS, 1)
            figures[path] = (REQUESTS / wall, statistics.median(latencies) * 1000, cpu)
            rps, p50, cpu_ms = figures[path]
            print(f"{name:<36} {path:<6} {rps:>10.0f} {p50:>10.2f} {cpu_ms:>11.3f}", flush=True)
        ratio = figures["rest"][2] / figures["floor"][2]
        print(f"{'':<36} ratio  {figures['rest'][0] / figures['floor'][0]:>10.2f} "
              f"{figures['rest'][1] / figures['floor'][1]:>10.2f} {ratio:>11.2f}  (rest / floor)")
        if ratio > TARGET_CPU_RATIO:
            print(f"  MISS: CPU per request {ratio:.2f}x the floor (target <= {TARGET_CPU_RATIO}x)")
            ok = False
        if name.startswith("b."):  # (c) embeds the project's tasks: measure it on the world's rows, not 40,000 more
            async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
                await conn.execute("delete from public.tasks where title like 'http task %' or title like 'sql task %'")
        if name.startswith("a."):
            if figures["rest"][0] < TARGET_RPS:
                print(f"  MISS: {figures['rest'][0]:.0f} GET/s at concurrency {CONCURRENCY} (target >= {TARGET_RPS})")
                ok = False
            if figures["rest"][1] >= TARGET_P50_MS:
                print(f"  MISS: p50 {figures['rest'][1]:.2f} ms at concurrency 1 (target < {TARGET_P50_MS} ms)")
                ok = False
    make_http = scenarios(world)["a. open tasks (GET, RLS, 50 rows)"][0]
    before = rss_mb(server_pid)
    await http_load(port, make_http, RSS_REQUESTS, CONCURRENCY)
    after = rss_mb(server_pid)
    print(f"server RSS: {before:.0f} MB before, {after:.0f} MB after {RSS_REQUESTS:,} more requests of (a)")
    if RSS_REQUESTS >= 100_000 and after >= TARGET_RSS_MB:
        print(f"  MISS: RSS {after:.0f} MB (target < {TARGET_RSS_MB} MB)")
        ok = False
    elif RSS_REQUESTS < 100_000:
        print("  (RSS target checked at full scale only)")
    return ok


def main() -> int:
    with migrated_cluster("rest") as cluster:
        world = seed(cluster.url)
        pg_port = int(cluster.url.rsplit(":", 1)[1].split("/")[0])
        port = free_port()
        server = start_server(cluster.url, port)
        try:
            ok = asyncio.run(measure(cluster.url, pg_port, port, server.pid, world))
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
    print("all targets met" if ok else "targets missed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
