"""What Row Level Security costs on the query a frontend sends most: "my organization's open tasks".

Run from anywhere: `python bench/rls.py`. Everything runs on a throwaway embedded cluster (temporary data
directory, free port), migrated with the project's own files (compat, sql/, policies/), that is stopped and
removed at the end, whatever happens.

Data (set-based INSERT ... SELECT generate_series as the superuser, every trigger and constraint active, then
ANALYZE): 1,000 organizations of 4-8 members each (one owner, one manager and one member guaranteed, the rest
drawn from admin/manager/member/assistant/client) plus 200 freelance assistants in 3 organizations each; 2-5
projects per organization; 100,000 tasks spread uniformly over the organizations (~100 each), ~40 % open
(todo/in_progress/blocked), ~90 % assigned to a random non-client member of their organization.

The query, as supabase-js sends it with the organization filter the client passes (Supabase's advice):
  select id, title, status, assignee_id, due_on from public.tasks
  where organization_id = $1 and status <> 'done' order by created_at desc limit 50
Cases, each a full PostgREST GET request through functions_py.postgrest (begin read only, the set_config batch,
the query, fetch, rollback) on its own connection, organizations drawn at random per request:
  manager   `authenticated`, a manager of the organization: the policy lets them see every task of it.
  member    `authenticated`, a member of the organization: the policy lets them see only tasks assigned to them.
  service   `service_role`: bypasses RLS; the floor.
The cases run interleaved (one request of each per round) after a warm-up, so drift affects all alike.
Targets: manager median / service median <= 1.5, and each authenticated median < 5 ms. Afterwards each case's
request is run once more under EXPLAIN (ANALYZE, BUFFERS, VERBOSE, FORMAT JSON) in the same request context
(VERBOSE only so the helpers can be named): the manager's plan is summarised (nodes, indexes, buffers, and
whether each RLS helper ran once, as an InitPlan or a hashed SubPlan, rather than per row), the others in a line.

The shim plans the query on every request: psycopg forgets its prepared statements at each ROLLBACK, and every
GET ends in one. PostgREST keeps its prepared statements across requests, so the planning share of the RLS
overhead (the policy expanded into the query) is paid here and not there: the ratio is an upper bound.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
from common import migrated_cluster, ms, p95, run_script

from functions_py.postgrest import as_service, as_user

ORGANIZATIONS = 1_000
TASKS = 100_000
WARMUP = 50  # requests per case before timing: plan caches, prepared statements, buffers
REQUESTS = 1000  # timed requests per case
NAME = "rls"
SEED = 20240601
TARGET_RATIO = 1.5  # manager median / service median
TARGET_MEDIAN_MS = 5.0  # each authenticated case
# A throwaway cluster need not survive a crash (as in tests/conftest.py); only the load gets faster.
SERVER_SETTINGS = {"fsync": "off", "full_page_writes": "off"}

QUERY = ("select id, title, status, assignee_id, due_on from public.tasks"
         " where organization_id = %s and status <> 'done' order by created_at desc limit 50")

# Everything as the superuser, in one transaction; random() is seeded so the data is the same every run
# (the uuids are not, which does not matter).
LOAD_SQL = f"""
select setseed(0.{SEED});

create temporary table roster on commit drop as
select o.n as org_n, p.pos, gen_random_uuid() as user_id,
  case p.pos when 1 then 'owner' when 2 then 'manager' when 3 then 'member'
    else (array['admin', 'manager', 'member', 'member', 'assistant', 'client'])[1 + floor(random() * 6)::int]
  end::public.org_role as role
from generate_series(1, {ORGANIZATIONS}) as o (n),
  lateral generate_series(1, 4 + floor(random() * 5)::int + o.n * 0) as p (pos);

create temporary table freelancers on commit drop as
select gen_random_uuid() as user_id, f.n from generate_series(1, 200) as f (n);

insert into auth.users (instance_id, id, aud, role, email, raw_app_meta_data, raw_user_meta_data,
  email_confirmed_at, created_at, updated_at)
select '00000000-0000-0000-0000-000000000000', u.user_id, 'authenticated', 'authenticated',
  'user-' || u.user_id || '@example.com', '{{"provider": "email", "providers": ["email"]}}', '{{}}',
  now(), now(), now()
from (select user_id from roster union all select user_id from freelancers) as u;

create temporary table orgs on commit drop as
select r.org_n, gen_random_uuid() as id, r.user_id as owner_id
from roster as r where r.pos = 1;

insert into public.organizations (id, name, slug, created_by)
select o.id, 'Organization ' || o.org_n, 'org-' || o.org_n, o.owner_id from orgs as o;

insert into public.memberships (organization_id, user_id, role)
select o.id, r.user_id, r.role from roster as r inner join orgs as o using (org_n)
union all
select distinct on (o.id, f.user_id) o.id, f.user_id, 'assistant'
from freelancers as f
  cross join lateral (select 1 + floor(random() * {ORGANIZATIONS})::int + f.n * 0 as org_n
                      from generate_series(1, 3)) as pick
  inner join orgs as o on o.org_n = pick.org_n;

insert into public.projects (organization_id, name, created_by)
select o.id, 'Project ' || p.n, o.owner_id
from orgs as o, lateral generate_series(1, 2 + floor(random() * 4)::int + o.org_n * 0) as p (n);

create temporary table org_arrays on commit drop as
select o.org_n, o.id, o.owner_id,
  (select array_agg(p.id) from public.projects as p where p.organization_id = o.id) as project_ids,
  (select array_agg(m.user_id) from public.memberships as m
   where m.organization_id = o.id and m.role <> 'client') as assignee_ids
from orgs as o;

insert into public.tasks (organization_id, project_id, title, status, assignee_id, due_on, created_by,
  created_at, updated_at)
select a.id,
  a.project_ids[1 + floor(random() * cardinality(a.project_ids))::int],
  'Task ' || t.g,
  t.status,
  case when random() < 0.9 then a.assignee_ids[1 + floor(random() * cardinality(a.assignee_ids))::int] end,
  case when random() < 0.7 then (t.created_at + random() * interval '60 days')::date end,
  a.owner_id, t.created_at, t.created_at
from (
  select g, 1 + floor(random() * {ORGANIZATIONS})::int as org_n,
    now() - random() * interval '730 days' as created_at,
    (case when r < 0.60 then 'done' when r < 0.80 then 'todo' when r < 0.95 then 'in_progress'
      else 'blocked' end)::public.task_status as status
  from (select g, random() as r from generate_series(1, {TASKS}) as g) as s
) as t
inner join org_arrays as a using (org_n)
-- rows arrive in creation order, organizations interleaved, as in production (not clustered by organization)
order by t.created_at;
"""


def load(url: str) -> dict[str, Any]:
    """Generate the data set, ANALYZE it, and return its shape plus who to act as per organization."""
    with psycopg.connect(url, autocommit=True) as conn:
        run_script(conn, LOAD_SQL)
        conn.execute("analyze")
        counts = conn.execute(
            "select (select count(*) from public.organizations), (select count(*) from public.memberships),"
            " (select count(*) from public.projects), (select count(*) from public.tasks),"
            " (select count(*) from public.tasks where status <> 'done')").fetchone()
        roles = conn.execute("select role::text, count(*) from public.memberships group by role"
                             " order by internal.org_role_rank(role) desc").fetchall()
        # Per organization: one manager and one member (pos 2 and 3 of the roster: they belong to it alone).
        actors = conn.execute(
            "select o.id, (array_agg(m.user_id order by m.created_at, m.user_id)"
            "   filter (where m.role = 'manager'))[1],"
            " (array_agg(m.user_id order by m.created_at, m.user_id) filter (where m.role = 'member'))[1]"
            " from public.organizations as o join public.memberships as m on m.organization_id = o.id"
            " group by o.id").fetchall()
    return {"counts": counts, "roles": roles, "actors": actors}


def request_once(conn: psycopg.Connection, case: str, org: uuid.UUID, user: uuid.UUID | None) -> tuple[float, int]:
    """One full PostgREST GET request; returns (seconds, rows)."""
    started = time.perf_counter()
    context = (as_service(conn, method="GET", path="/tasks") if user is None
               else as_user(conn, user, method="GET", path="/tasks"))
    with context as cur:
        cur.execute(QUERY, (org,))
        rows = cur.fetchall()
    return time.perf_counter() - started, len(rows)


def walk(node: dict[str, Any], depth: int = 0) -> Iterator[tuple[int, dict[str, Any]]]:
    yield depth, node
    for child in node.get("Plans", []):
        yield from walk(child, depth + 1)


HELPER_SCHEMAS = ("internal.", "auth.")


def helpers_in(node: dict[str, Any]) -> list[str]:
    """The access helpers a node (with its children) calls, from VERBOSE output lists."""
    found: list[str] = []
    for _, inner in walk(node):
        for text in [*inner.get("Output", []), inner.get("Function Name", "")]:
            for schema in HELPER_SCHEMAS:
                at = text.find(schema)
                if at >= 0:
                    name = text[at:text.find("(", at) + 1 if "(" in text[at:] else len(text)]
                    args = text[text.find("(", at):text.find(")", at) + 1] if "(" in text[at:] else ""
                    label = (name.rstrip("(") + args).replace("::org_role[]", "")
                    if label not in found:
                        found.append(label)
            if "request.jwt.claim" in text and "auth.uid() (inlined)" not in found:
                found.append("auth.uid() (inlined)")  # a plain SQL function: its body replaces the call
    return found


def describe(node: dict[str, Any]) -> str:
    kind = node["Node Type"]
    if "Index Name" in node:
        kind += f" using {node['Index Name']}"
    if "Relation Name" in node:
        kind += f" on {node['Relation Name']}"
    if node.get("Parent Relationship") in ("InitPlan", "SubPlan"):
        kind = f"[{node.get('Subplan Name', node['Parent Relationship'])}: {', '.join(helpers_in(node))}] {kind}"
    loops = node.get("Actual Loops", 0)
    shown = f"rows={node.get('Actual Rows', 0):g} loops={loops}" if loops else "never executed"
    buffers = node.get("Shared Hit Blocks", 0) + node.get("Shared Read Blocks", 0)
    return f"{kind}  ({shown}, buffers={buffers})"


def explain(conn: psycopg.Connection, org: uuid.UUID, user: uuid.UUID | None) -> dict[str, Any]:
    """EXPLAIN ANALYZE of the query inside the same request context the timed requests use."""
    context = (as_service(conn, method="GET", path="/tasks") if user is None
               else as_user(conn, user, method="GET", path="/tasks"))
    with context as cur:
        cur.execute("explain (analyze, buffers, verbose, format json) " + QUERY, (org,))
        document = cur.fetchone()[0]
    return (json.loads(document) if isinstance(document, str) else document)[0]


def one_line(top: dict[str, Any]) -> str:
    nodes = [n for _, n in walk(top["Plan"])]
    scans = ", ".join(f"{n['Node Type']}" + (f" using {n['Index Name']}" if "Index Name" in n else "")
                      for n in nodes if "Relation Name" in n or "Index Name" in n)
    root = top["Plan"]
    return (f"{scans}; buffers={root.get('Shared Hit Blocks', 0) + root.get('Shared Read Blocks', 0)}, "
            f"rows={root.get('Actual Rows', 0):g}, execution {top.get('Execution Time', 0):.3f} ms")


def plan_summary(top: dict[str, Any]) -> list[str]:
    root = top["Plan"]
    lines = ["plan of the manager's request (EXPLAIN (ANALYZE, BUFFERS, VERBOSE, FORMAT JSON) inside the same "
             "request context):"]
    nodes = list(walk(root))
    for depth, node in nodes:
        lines.append("  " + "  " * depth + describe(node))
        for key in ("Index Cond", "Filter", "Sort Key"):
            if key in node:
                value = node[key] if isinstance(node[key], str) else ", ".join(node[key])
                lines.append("  " + "  " * depth + f"    {key}: {value}")
    indexes = sorted({n["Index Name"] for _, n in nodes if "Index Name" in n})
    seq_scans = sorted({n["Relation Name"] for _, n in nodes if n["Node Type"] == "Seq Scan"})
    hit, read = root.get("Shared Hit Blocks", 0), root.get("Shared Read Blocks", 0)
    planning = top.get("Planning", {})
    lines.append(f"  node types: {', '.join(sorted({n['Node Type'] for _, n in nodes}))}")
    lines.append(f"  indexes used: {', '.join(indexes) or 'none'}; sequential scans: {', '.join(seq_scans) or 'none'}")
    lines.append(f"  buffers: execution shared hit={hit} read={read} (the helpers' own lookups included); planning "
                 f"shared hit={planning.get('Shared Hit Blocks', 0)} read={planning.get('Shared Read Blocks', 0)}; "
                 f"planning {top.get('Planning Time', 0):.3f} ms, execution {top.get('Execution Time', 0):.3f} ms")
    # The RLS helpers must run at most once per statement, as an InitPlan (auth.uid()) or as the inner side of
    # a hashed SubPlan (current_user_org_ids), never once per task row.
    filters = " ".join(n.get("Filter", "") for _, n in nodes)
    for _, node in nodes:
        if node.get("Parent Relationship") not in ("InitPlan", "SubPlan"):
            continue
        loops = max(n.get("Actual Loops", 0) for _, n in walk(node))
        label = node.get("Subplan Name", node["Parent Relationship"])
        hashed = f"hashed {label}" in filters
        verdict = ("once" if loops == 1 else "never (the policy's OR was already true)" if loops == 0
                   else f"{loops} times: PER ROW")
        lines.append(f"  RLS {label}{' (hashed)' if hashed else ''} {', '.join(helpers_in(node))}: ran {verdict}")
    return lines


def main() -> int:
    rng = random.Random(SEED)
    with migrated_cluster(NAME, SERVER_SETTINGS) as cluster:
        url = cluster.url
        migrated = time.perf_counter()
        data = load(url)
        loaded = time.perf_counter()

        actors = data["actors"]
        cases = {"manager": 1, "member": 2, "service": None}  # column of `actors` to act as; None: service_role
        conns = {case: psycopg.connect(url, autocommit=True) for case in cases}
        timings: dict[str, list[float]] = {case: [] for case in cases}
        returned: dict[str, list[int]] = {case: [] for case in cases}
        try:
            for round_no in range(WARMUP + REQUESTS):
                org_row = rng.choice(actors)
                for case, column in cases.items():
                    user = None if column is None else org_row[column]
                    seconds, rows = request_once(conns[case], case, org_row[0], user)
                    if round_no >= WARMUP:
                        timings[case].append(seconds)
                        returned[case].append(rows)
            org_row = rng.choice(actors)
            plans = {case: explain(conns[case], org_row[0], None if column is None else org_row[column])
                     for case, column in cases.items()}
        finally:
            for conn in conns.values():
                conn.close()
        measured = time.perf_counter()

    orgs, members, projects, tasks, open_tasks = data["counts"]
    print(f"supakit bench rls: {orgs} organizations, {members} memberships "
          f"({', '.join(f'{n} {r}' for r, n in data['roles'])}), {projects} projects, {tasks} tasks "
          f"({open_tasks / tasks:.0%} open)")
    print(f"migrate {cluster.migrate_s:.1f} s, load + analyze {loaded - migrated:.1f} s, "
          f"{WARMUP} warm-up + {REQUESTS} timed requests per case {measured - loaded:.1f} s")
    print("each request: begin read only, set_config batch, the query, fetch, rollback "
          "(functions_py.postgrest, method GET); a random organization per round, cases interleaved")
    medians = {case: ms(statistics.median(values)) for case, values in timings.items()}
    print(f"{'case':<28} {'median ms':>9} {'p95 ms':>7} {'rows/req':>8} {'vs service':>10}")
    labels = {"manager": "authenticated (manager)", "member": "authenticated (member)", "service": "service_role"}
    for case, values in timings.items():
        print(f"{labels[case]:<28} {medians[case]:9.3f} {ms(p95(values)):7.3f} "
              f"{statistics.mean(returned[case]):8.1f} {medians[case] / medians['service']:9.2f}x")

    failed = False
    checks = [
        (f"manager / service median ratio {medians['manager'] / medians['service']:.2f}", f"<= {TARGET_RATIO}",
         medians["manager"] / medians["service"] <= TARGET_RATIO),
        (f"manager median {medians['manager']:.3f} ms", f"< {TARGET_MEDIAN_MS:g} ms",
         medians["manager"] < TARGET_MEDIAN_MS),
        (f"member median {medians['member']:.3f} ms", f"< {TARGET_MEDIAN_MS:g} ms",
         medians["member"] < TARGET_MEDIAN_MS),
    ]
    for what, target, ok in checks:
        failed |= not ok
        print(f"{what:<44} target {target:<9} {'PASS' if ok else 'FAIL'}")
    print()
    print("\n".join(plan_summary(plans["manager"])))
    print("the same organization, other cases (EXPLAIN ANALYZE in their own request context):")
    for case in ("member", "service"):
        print(f"  {labels[case]}: {one_line(plans[case])}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
