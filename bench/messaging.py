"""What the two messaging requests a chat screen sends most cost under RLS: the unread badge and a page of messages.

Run from anywhere: `python bench/messaging.py`. Everything runs on a throwaway embedded cluster (temporary data
directory, free port), migrated with the project's own files (compat, sql/, policies/), stopped and removed at the
end, whatever happens.

Data (set-based INSERT ... SELECT as the superuser, every trigger active, the broadcast trigger included, then
VACUUM ANALYZE as autovacuum would): 5 organizations of 40 members; 100 group conversations, 20 per organization,
each started by the organization's owner (so each owner takes part in 20 conversations) with 2-7 other members;
100,000 messages, 1,000 per conversation, from random participants over 90 days, inserted in time order
(organizations and conversations interleaved, as in production); 2 % soft-deleted. Each owner has read each of
their conversations up to a random point (uniform), so ~500 messages per conversation are unread (~10,000 per
owner): a heavy badge, not a typical one.

The requests, each a full PostgREST request through functions_py.postgrest (begin read only, the set_config
batch, the query, fetch, rollback) on its own connection, an owner drawn at random per round:
  unread   `authenticated`: select * from public.unread_counts()  (20 rows)
  page     `authenticated`: the newest 50 messages of one of the owner's conversations, as supabase-js asks for
           them: select id, sender_id, body, attachments, reply_to, created_at, edited_at, deleted_at
           from public.messages where conversation_id = $1 order by created_at desc limit 50
and their peers as `service_role` (RLS bypassed), the floor: the same page query, and unread_counts' own SQL with
the owner's id as a parameter (the RPC reads it from the JWT, which service_role has none of).
The four cases run interleaved (one request each per round) after a warm-up. Targets: each authenticated median
< 5 ms; the ratios against service_role are printed, not judged. Each case's plan is then printed in a line
(EXPLAIN ANALYZE in its own request context).
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

ORGANIZATIONS = 5
MEMBERS = 40  # per organization
CONVERSATIONS = 100  # 20 per organization
MESSAGES = 1_000  # per conversation
WARMUP = 50
REQUESTS = 1000
NAME = "messaging"
SEED = 20261122
TARGET_MEDIAN_MS = 5.0
SERVER_SETTINGS = {"fsync": "off", "full_page_writes": "off"}

TYPICAL_ORGS = 3  # their owners have read up to one of the last 50 messages; the others' read points are uniform
UNREAD = "select conversation_id, unread_count, last_read_at, muted from public.unread_counts()"
# unread_counts()'s body (sql/0009), with the user as a parameter instead of (select auth.uid())
UNREAD_BASELINE = """
  select p.conversation_id, count(m.created_at), p.last_read_at, p.muted
  from public.conversation_participants as p
  inner join public.memberships as mb on mb.organization_id = p.organization_id and mb.user_id = p.user_id
  left join public.messages as m
    on m.conversation_id = p.conversation_id
    and m.created_at > coalesce(p.last_read_at, '-infinity')
    and m.deleted_at is null
    and m.sender_id is distinct from p.user_id
  where p.user_id = %s
  group by p.conversation_id, p.last_read_at, p.muted"""
PAGE = ("select id, sender_id, body, attachments, reply_to, created_at, edited_at, deleted_at from public.messages"
        " where conversation_id = %s order by created_at desc limit 50")

LOAD_SQL = f"""
select setseed(0.{SEED});

create temporary table people on commit drop as
select o.n as org_n, p.n as pos, gen_random_uuid() as user_id
from generate_series(1, {ORGANIZATIONS}) as o (n), generate_series(1, {MEMBERS}) as p (n);

insert into auth.users (instance_id, id, aud, role, email, raw_app_meta_data, raw_user_meta_data,
  email_confirmed_at, created_at, updated_at)
select '00000000-0000-0000-0000-000000000000', p.user_id, 'authenticated', 'authenticated',
  'user-' || p.user_id || '@example.com', '{{"provider": "email", "providers": ["email"]}}', '{{}}',
  now(), now(), now()
from people as p;

create temporary table orgs on commit drop as
select o.n as org_n, gen_random_uuid() as id from generate_series(1, {ORGANIZATIONS}) as o (n);

insert into public.organizations (id, name, slug)
select o.id, 'Organization ' || o.org_n, 'org-' || o.org_n from orgs as o;

insert into public.memberships (organization_id, user_id, role)
select o.id, p.user_id, (case when p.pos = 1 then 'owner' else 'member' end)::public.org_role
from people as p inner join orgs as o using (org_n);

create temporary table convs on commit drop as
select c.n as conv_n, 1 + (c.n - 1) % {ORGANIZATIONS} as org_n, gen_random_uuid() as id
from generate_series(1, {CONVERSATIONS}) as c (n);

insert into public.conversations (id, organization_id, kind, title, created_by)
select c.id, o.id, 'group', 'Conversation ' || c.conv_n, p.user_id
from convs as c inner join orgs as o using (org_n)
  inner join people as p on p.org_n = c.org_n and p.pos = 1;

insert into public.conversation_participants (conversation_id, user_id)
select distinct c.id, p.user_id
from convs as c
  cross join lateral (
    select 2 + floor(random() * {MEMBERS - 1})::int + c.conv_n * 0 as pos
    from generate_series(1, 2 + floor(random() * 6)::int + c.conv_n * 0)
  ) as pick
  inner join people as p on p.org_n = c.org_n and p.pos = pick.pos;

create temporary table conv_people on commit drop as
select p.conversation_id as id, array_agg(p.user_id) as members
from public.conversation_participants as p group by p.conversation_id;

insert into public.messages (conversation_id, sender_id, body, created_at)
select t.id, t.members[1 + floor(random() * cardinality(t.members))::int],
  'Message ' || t.g || ': ' || repeat('lorem ipsum ', 1 + floor(random() * 8)::int), t.created_at
from (
  select cp.id, cp.members, g.g, now() - random() * interval '90 days' as created_at
  from conv_people as cp, generate_series(1, {MESSAGES}) as g (g)
) as t
order by t.created_at;

update public.messages set deleted_at = now() where random() < 0.02;

update public.conversation_participants as p
set last_read_at = (
  select m.created_at from public.messages as m where m.conversation_id = p.conversation_id
  order by m.created_at desc
  offset floor(random() * (
    case when p.organization_id in (select o.id from orgs as o where o.org_n <= {TYPICAL_ORGS}) then 50
    else {MESSAGES} end
  ))::int
  limit 1
)
where p.role = 'owner';
"""


def load(url: str) -> dict[str, Any]:
    """Generate the data set, VACUUM ANALYZE it, and return its shape and the owners with their conversations."""
    with psycopg.connect(url, autocommit=True) as conn:
        run_script(conn, LOAD_SQL)
        conn.execute("vacuum analyze")
        counts = conn.execute(
            "select (select count(*) from public.conversations),"
            " (select count(*) from public.conversation_participants), (select count(*) from public.messages),"
            " (select count(*) from public.messages where deleted_at is not null),"
            " (select count(*) from realtime.messages)").fetchone()
        owners = []
        rows = conn.execute(
            "select p.user_id, array_agg(p.conversation_id), substr(o.slug, 5)::int <= %s"
            " from public.conversation_participants as p join public.organizations as o on o.id = p.organization_id"
            " where p.role = 'owner' group by p.user_id, o.slug", (TYPICAL_ORGS,)).fetchall()
        for user, conversations, typical in rows:
            unread = sum(n for _, n, _, _ in conn.execute(UNREAD_BASELINE, (user,)).fetchall())
            owners.append((user, conversations, typical, unread))
    return {"counts": counts, "owners": owners}


def request_once(conn: psycopg.Connection, case: str, user: uuid.UUID,
                 conversation: uuid.UUID) -> tuple[float, int]:
    """One full PostgREST GET request; returns (seconds, rows)."""
    started = time.perf_counter()
    if case.startswith("unread") and not case.endswith("_service"):
        with as_user(conn, user, method="GET", path="/rpc/unread_counts") as cur:
            rows = cur.execute(UNREAD).fetchall()
    elif case.startswith("unread"):
        with as_service(conn, method="GET", path="/rpc/unread_counts") as cur:
            rows = cur.execute(UNREAD_BASELINE, (user,)).fetchall()
    elif case == "page":
        with as_user(conn, user, method="GET", path="/messages") as cur:
            rows = cur.execute(PAGE, (conversation,)).fetchall()
    else:
        with as_service(conn, method="GET", path="/messages") as cur:
            rows = cur.execute(PAGE, (conversation,)).fetchall()
    return time.perf_counter() - started, len(rows)


def walk(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from walk(child)


def explain(conn: psycopg.Connection, case: str, user: uuid.UUID, conversation: uuid.UUID) -> str:
    """EXPLAIN ANALYZE of the case's statement inside the same request context, summarised in a line. For unread,
    the RPC's body is explained as the RPC runs it: in the user's request context (their claims), with the role
    switched to the function's owner, as security definer does (explaining the call itself would hide the plan)."""
    if case.startswith("unread"):
        query, params = ((UNREAD_BASELINE, (user,)) if case.endswith("_service")
                         else (UNREAD_BASELINE.replace("%s", "(select auth.uid())"), ()))
    else:
        query, params = PAGE, (conversation,)
    context = (as_service(conn, method="GET") if case.endswith("_service") else as_user(conn, user, method="GET"))
    with context as cur:
        if case in ("unread", "unread_heavy"):
            cur.execute("select set_config('role', pg_get_userbyid(p.proowner), true) from pg_proc as p"
                        " where p.oid = 'public.unread_counts()'::regprocedure")
        document = cur.execute("explain (analyze, buffers, format json) " + query, params).fetchone()[0]
    top = (json.loads(document) if isinstance(document, str) else document)[0]
    nodes = list(walk(top["Plan"]))
    scans = ", ".join(
        n["Node Type"] + (f" using {n['Index Name']}" if "Index Name" in n else "")
        + (f" on {n['Relation Name']}" if "Relation Name" in n and "Index Name" not in n else "")
        + (f" (heap fetches {n['Heap Fetches']})" if "Heap Fetches" in n else "")
        for n in nodes if "Relation Name" in n or "Index Name" in n)
    root = top["Plan"]
    return (f"{scans}; buffers={root.get('Shared Hit Blocks', 0) + root.get('Shared Read Blocks', 0)}, "
            f"rows={root.get('Actual Rows', 0):g}, planning {top.get('Planning Time', 0):.3f} ms, "
            f"execution {top.get('Execution Time', 0):.3f} ms")


CASES = ("unread", "unread_service", "unread_heavy", "unread_heavy_service", "page", "page_service")
LABELS = {
    "unread": "unread_counts() authenticated", "unread_service": "  same SQL as service_role",
    "unread_heavy": "unread_counts() heavy, auth.", "unread_heavy_service": "  same SQL as service_role",
    "page": "page of 50 authenticated", "page_service": "  same query as service_role",
}


def main() -> int:
    rng = random.Random(SEED)
    with migrated_cluster(NAME, SERVER_SETTINGS) as cluster:
        url = cluster.url
        migrated = time.perf_counter()
        data = load(url)
        loaded = time.perf_counter()

        typical = [o for o in data["owners"] if o[2]]
        heavy = [o for o in data["owners"] if not o[2]]
        conns = {case: psycopg.connect(url, autocommit=True) for case in CASES}
        timings: dict[str, list[float]] = {case: [] for case in CASES}
        returned: dict[str, list[int]] = {case: [] for case in CASES}
        try:
            for round_no in range(WARMUP + REQUESTS):
                picks = {"": rng.choice(typical), "_heavy": rng.choice(heavy)}
                conversation = rng.choice(picks[""][1])
                for case in CASES:
                    owner = picks["_heavy" if "heavy" in case else ""]
                    seconds, rows = request_once(conns[case], case, owner[0], conversation)
                    if round_no >= WARMUP:
                        timings[case].append(seconds)
                        returned[case].append(rows)
            plans = {case: explain(conns[case], case, (heavy if "heavy" in case else typical)[0][0],
                                   typical[0][1][0]) for case in CASES}
        finally:
            for conn in conns.values():
                conn.close()
        measured = time.perf_counter()

    conversations, participants, messages, deleted, broadcasts = data["counts"]
    per_owner = len(typical[0][1])
    print(f"supakit bench messaging: {ORGANIZATIONS} organizations x {MEMBERS} members, {conversations} conversations, "
          f"{participants} participants, {messages} messages ({deleted} deleted), {broadcasts} broadcast rows")
    print(f"each owner takes part in {per_owner} conversations; unread per conversation: "
          f"~{statistics.mean(o[3] for o in typical) / per_owner:.0f} for the {len(typical)} typical owners (read up "
          f"to one of the last 50), ~{statistics.mean(o[3] for o in heavy) / per_owner:.0f} for the {len(heavy)} "
          "heavy ones (read up to a uniform random point)")
    print(f"migrate {cluster.migrate_s:.1f} s, load + vacuum analyze {loaded - migrated:.1f} s, "
          f"{WARMUP} warm-up + {REQUESTS} timed requests per case {measured - loaded:.1f} s")
    print("each request: begin read only, set_config batch, the query, fetch, rollback "
          "(functions_py.postgrest, method GET); random owners per round, cases interleaved")
    medians = {case: ms(statistics.median(values)) for case, values in timings.items()}
    print(f"{'case':<32} {'median ms':>9} {'p95 ms':>7} {'rows/req':>8} {'vs service':>10}")
    for case, values in timings.items():
        floor = medians[case if case.endswith("_service") else f"{case}_service"]
        print(f"{LABELS[case]:<32} {medians[case]:9.3f} {ms(p95(values)):7.3f} "
              f"{statistics.mean(returned[case]):8.1f} {medians[case] / floor:9.2f}x")

    failed = False
    for case in ("unread", "unread_heavy", "page"):
        ok = medians[case] < TARGET_MEDIAN_MS
        failed |= not ok
        what = f"{LABELS[case]} median {medians[case]:.3f} ms"
        print(f"{what:<52} target < {TARGET_MEDIAN_MS:g} ms  {'PASS' if ok else 'FAIL'}")
    loaded_floor = [case for case in CASES if case.endswith("_service") and medians[case] >= TARGET_MEDIAN_MS]
    if loaded_floor:
        print(f"note: the service_role floor itself is at or above {TARGET_MEDIAN_MS:g} ms "
              f"({', '.join(f'{medians[c]:.1f} ms' for c in loaded_floor)}): the machine is too loaded for the "
              "absolute target to say anything; the ratios still do. Run again when it is quiet.")
    print()
    print("plans (EXPLAIN (ANALYZE, BUFFERS) in each case's request context):")
    for case in CASES:
        print(f"  {LABELS[case].strip()}: {plans[case]}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
