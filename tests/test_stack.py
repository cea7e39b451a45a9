"""`supakit seed`, `supakit reset` and `supakit up` through the real command, against the harness's databases
(DATABASE_URL set, so the embedded database is not involved)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from typing import TYPE_CHECKING

import psycopg
import pytest
from websockets.sync.client import connect as ws_connect

from functions_py import tokens
from functions_py.embedded import free_port
from tests import factories
from tests.cli import ROOT, run_cli

if TYPE_CHECKING:  # imported for annotations only: pytest would try to collect a Test* class
    from tests.conftest import TestServer

# seed.sql's users, by id, with the full name their sign-up metadata carries.
SEED_USERS = {
    "11111111-1111-4111-8111-111111111111": "Olivia Owner",
    "22222222-2222-4222-8222-222222222222": "Manuel Manager",
    "33333333-3333-4333-8333-333333333333": "Clara Client",
    "44444444-4444-4444-8444-444444444444": "Ada Assistant",
}
RESET_PHASES = ("recreate", "compat", "migrations", "policies", "seed")
UNREACHABLE = "postgresql://postgres@127.0.0.1:1/postgres"


def supakit(url: str, *args: str):
    return run_cli(*args, env={"DATABASE_URL": url})


def counts(url: str) -> tuple[int, int]:
    """(rows in auth.users, rows in public.profiles)."""
    with psycopg.connect(url) as conn:
        return conn.execute("select (select count(*) from auth.users), (select count(*) from public.profiles)"
                            ).fetchone()


def seed_profiles(url: str) -> dict[str, str | None]:
    """full_name of the seed users' profiles, by user id (absent: no profile)."""
    with psycopg.connect(url) as conn:
        rows = conn.execute("select p.id::text, p.full_name from public.profiles p join auth.users using (id)"
                            " where p.id = any(%s::uuid[])", (list(SEED_USERS),)).fetchall()
    return dict(rows)


def relation_exists(url: str, name: str) -> bool:
    with psycopg.connect(url) as conn:
        return conn.execute("select to_regclass(%s) is not null", (name,)).fetchone()[0]


def dbname(url: str) -> str:
    return psycopg.conninfo.conninfo_to_dict(url)["dbname"]


def assert_fully_reset(url: str, *, seeded: bool = True) -> None:
    verified = supakit(url, "migrate", "verify", "--strict")
    assert verified.returncode == 0, f"the ledger matches the files and nothing is pending: {verified.stderr}"
    if seeded:
        assert seed_profiles(url) == SEED_USERS, "the seed ran: its four users have profiles with their names"
        assert counts(url) == (len(SEED_USERS), len(SEED_USERS)), "and nothing else is in auth.users"
    else:
        assert counts(url) == (0, 0)


def assert_timed_phases(stderr: str) -> None:
    for phase in RESET_PHASES:
        line = rf"^\s+{phase}\s+\d+\.\d+ s$"
        assert re.search(line, stderr, re.MULTILINE), f"reset prints how long the {phase} phase took"
    assert re.search(r"^reset in \d+\.\d+ s$", stderr, re.MULTILINE), "and the total"


# -- seed ----------------------------------------------------------------------------------------------------


def test_seeding_twice_changes_nothing(fresh_db: str):
    first = supakit(fresh_db, "seed")
    assert first.returncode == 0, first.stderr
    after_one = counts(fresh_db)
    second = supakit(fresh_db, "seed")
    assert second.returncode == 0, second.stderr
    assert counts(fresh_db) == after_one, "seed.sql is idempotent: a second run adds no rows"
    assert after_one == (len(SEED_USERS), len(SEED_USERS)), "each seed user got exactly one profile"
    assert seed_profiles(fresh_db) == SEED_USERS, "the sign-up trigger named each profile from its metadata"


def test_seeding_an_unreachable_database_exits_3_and_says_so():
    refused = supakit(UNREACHABLE, "seed")
    assert refused.returncode == 3, "an unreachable database is exit 3"
    assert "cannot connect" in refused.stderr and "127.0.0.1:1" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_a_password_in_the_url_is_never_printed():
    refused = supakit("postgresql://postgres:s3cret-pw@127.0.0.1:1/postgres", "seed")
    assert refused.returncode == 3
    assert "s3cret-pw" not in refused.stdout + refused.stderr, "the password never reaches the terminal"


# -- reset ---------------------------------------------------------------------------------------------------


def test_reset_removes_junk_and_repairs_a_half_applied_database(fresh_db: str):
    assert supakit(fresh_db, "seed").returncode == 0
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("create table public.junk (id int)")
        conn.execute("create table internal.leftover (id int)")
        factories.user(conn, "stray@example.com")
        conn.execute("delete from supakit_migrations.ledger where kind = 'versioned'")
    broken = supakit(fresh_db, "migrate")
    assert broken.returncode != 0, "the half-applied state is real: migrate cannot proceed on its own"

    reset = supakit(fresh_db, "reset")
    assert reset.returncode == 0, reset.stderr
    assert_timed_phases(reset.stderr)
    assert not relation_exists(fresh_db, "public.junk"), "tables nobody's migration creates are gone"
    assert not relation_exists(fresh_db, "internal.leftover")
    assert_fully_reset(fresh_db)


def test_reset_builds_an_empty_database(empty_db: str):
    reset = supakit(empty_db, "reset")
    assert reset.returncode == 0, reset.stderr
    assert_timed_phases(reset.stderr)
    assert_fully_reset(empty_db)


def test_reset_recreates_a_dropped_database(fresh_db: str, pg_server: TestServer):
    pg_server.drop_database(dbname(fresh_db))
    with psycopg.connect(pg_server.admin_url) as conn:
        gone = conn.execute("select not exists (select from pg_database where datname = %s)",
                            (dbname(fresh_db),)).fetchone()[0]
    assert gone, "the database really was dropped"

    reset = supakit(fresh_db, "reset")
    assert reset.returncode == 0, reset.stderr
    assert_fully_reset(fresh_db)


def test_reset_twice_in_a_row_gives_the_same_database(fresh_db: str):
    assert supakit(fresh_db, "reset").returncode == 0
    assert supakit(fresh_db, "reset").returncode == 0, "reset is repeatable"
    assert_fully_reset(fresh_db)


def test_reset_refuses_a_database_that_is_not_local():
    refused = supakit("postgresql://postgres@db.example.invalid:5432/postgres", "reset")
    assert refused.returncode == 2, "resetting a remote database is refused as bad input"
    assert "refusing to reset" in refused.stderr and "--force" in refused.stderr
    assert "cannot connect" not in refused.stderr, "it refused before trying to connect"


def test_reset_without_seed_leaves_no_seed_users(fresh_db: str):
    assert supakit(fresh_db, "seed").returncode == 0
    reset = supakit(fresh_db, "reset", "--no-seed")
    assert reset.returncode == 0, reset.stderr
    assert not re.search(r"^\s+seed\s", reset.stderr, re.MULTILINE), "no seed phase was run"
    assert_fully_reset(fresh_db, seeded=False)


def test_reset_terminates_open_sessions(fresh_db: str):
    with psycopg.connect(fresh_db) as idle:
        idle.execute("select 1")
        reset = supakit(fresh_db, "reset")
        assert reset.returncode == 0, f"an open session does not block reset: {reset.stderr}"
        with pytest.raises(psycopg.OperationalError):
            idle.execute("select 1")  # the session was on the dropped database
    assert_fully_reset(fresh_db)


def test_reset_stops_a_session_holding_a_temporary_replication_slot(fresh_db: str):
    """What `supakit up`'s Realtime feeds do: a session holds a temporary logical slot, which makes PostgreSQL
    refuse to drop the database even `with (force)`. Reset stops that session, says so, and goes on."""
    with psycopg.connect(fresh_db, autocommit=True) as feed:
        feed.execute("select pg_create_logical_replication_slot('supakit_test_feed', 'pgoutput', true)")
        reset = supakit(fresh_db, "reset", "--no-seed", "--json")
        assert reset.returncode == 0, reset.stderr
        assert "stopped the session holding replication slot supakit_test_feed" in reset.stderr
        with pytest.raises(psycopg.OperationalError):
            feed.execute("select 1")
    report = json.loads(reset.stdout)
    assert set(report["phases"]) == {"recreate", "compat", "migrations", "policies"} and report["seeded"] is False
    assert report["applied"] > 0 and report["total_seconds"] >= sum(report["phases"].values()) - 0.01
    assert_fully_reset(fresh_db, seeded=False)


def test_reset_refuses_a_permanent_replication_slot_naming_it_without_a_traceback(fresh_db: str):
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("select pg_create_logical_replication_slot('someones_subscription', 'pgoutput')")
    try:
        refused = supakit(fresh_db, "reset")
        assert refused.returncode == 1, refused.stderr
        assert "someones_subscription" in refused.stderr and "pg_drop_replication_slot" in refused.stderr
        assert "Traceback" not in refused.stderr and "ObjectInUse" not in refused.stderr
        assert relation_exists(fresh_db, "internal.jobs"), "nothing was dropped"
    finally:
        with psycopg.connect(fresh_db, autocommit=True) as conn:
            conn.execute("select pg_drop_replication_slot('someones_subscription')")


def test_seed_migrate_and_verify_print_json(empty_db: str):
    dry = supakit(empty_db, "migrate", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    planned = json.loads(dry.stdout)
    assert planned["dry_run"] is True and planned["applied"] == [] and len(planned["would_apply"]) > 3
    assert {"kind", "key", "path"} <= set(planned["would_apply"][0])
    done = json.loads(supakit(empty_db, "migrate", "--json").stdout)
    assert [f["path"] for f in done["applied"]] == [f["path"] for f in planned["would_apply"]]
    assert all(f["seconds"] >= 0 for f in done["applied"])
    assert json.loads(supakit(empty_db, "migrate", "--json").stdout)["applied"] == [], "a second run applies nothing"
    verified = supakit(empty_db, "migrate", "verify", "--json")
    assert verified.returncode == 0 and json.loads(verified.stdout) == {"ok": True, "strict": False, "drift": [],
                                                                          "pending": []}
    seeded = supakit(empty_db, "seed", "--json")
    assert seeded.returncode == 0 and json.loads(seeded.stdout)["seeded"] is True
    with psycopg.connect(empty_db, autocommit=True) as conn:
        conn.execute("update supakit_migrations.ledger set checksum = repeat('0', 64) where kind = 'versioned' "
                     "and key = (select min(key) from supakit_migrations.ledger where kind = 'versioned')")
    drifted = supakit(empty_db, "migrate", "verify", "--json")
    assert drifted.returncode == 1 and "Traceback" not in drifted.stderr
    answer = json.loads(drifted.stdout)
    assert answer["ok"] is False and len(answer["drift"]) == 1


# -- up ------------------------------------------------------------------------------------------------------


def test_up_with_database_url_migrates_seeds_and_prints_the_url(empty_db: str):
    up = supakit(empty_db, "up", "--no-services")
    assert up.returncode == 0, up.stderr
    assert f"DATABASE_URL={empty_db}" in up.stdout.splitlines(), "stdout carries the URL to export"
    assert "NEXT_PUBLIC_SUPABASE_URL=http://127.0.0.1:54321" in up.stdout.splitlines(), \
        "and the frontend's .env block, as `supakit status -o env` prints it"
    assert any(line.startswith("NEXT_PUBLIC_SUPABASE_ANON_KEY=ey") for line in up.stdout.splitlines())
    assert_fully_reset(empty_db)

    again = supakit(empty_db, "up", "--no-services")
    assert again.returncode == 0, again.stderr
    assert "migrations: up to date" in again.stderr, "a second up applies nothing"
    assert counts(empty_db) == (len(SEED_USERS), len(SEED_USERS)), "and seeds nothing twice"


def test_up_with_an_unreachable_database_url_exits_3():
    refused = supakit(UNREACHABLE, "up", "--no-services")
    assert refused.returncode == 3
    assert "cannot connect" in refused.stderr



def test_up_runs_the_gateway_and_a_worker_in_the_foreground_until_it_is_told_to_stop(empty_db: str):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SUPAKIT_PROJECT_DIR")}
    port = free_port()
    up = subprocess.Popen([sys.executable, "-m", "cli.main", "up"], cwd=ROOT,
                          env={**env, "DATABASE_URL": empty_db, "SUPAKIT_API_PORT": str(port)},
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        job_id, functions, heartbeat = None, None, None
        while time.monotonic() < deadline and not (functions and heartbeat and job_id is not None):
            with psycopg.connect(empty_db, autocommit=True) as conn:
                if job_id is None and conn.execute("select to_regclass('internal.jobs') is not null").fetchone()[0] \
                        and conn.execute("select count(*) from public.profiles").fetchone()[0]:
                    job_id = conn.execute("select internal.enqueue_job('system.noop')").fetchone()[0]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/functions/v1/", timeout=2) as response:
                    functions = json.load(response)["functions"]
                with ws_connect(f"ws://127.0.0.1:{port}/realtime/v1/websocket?vsn=1.0.0&apikey="
                                f"{tokens.api_key('anon', tokens.LOCAL_JWT_SECRET)}", open_timeout=2) as socket:
                    socket.send(json.dumps({"topic": "phoenix", "event": "heartbeat", "payload": {}, "ref": "1"}))
                    heartbeat = json.loads(socket.recv(timeout=2))
            except OSError:
                pass
            time.sleep(0.2)
        assert functions and "stripe-webhook" in functions, "the gateway serves the edge functions"
        assert heartbeat and heartbeat["event"] == "phx_reply" and heartbeat["payload"]["status"] == "ok", \
            "and Realtime, on the same port"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with psycopg.connect(empty_db, autocommit=True) as conn:
                if conn.execute("select status from internal.jobs where id = %s", (job_id,)).fetchone()[0] \
                        == "succeeded":
                    break
            time.sleep(0.2)
        else:
            pytest.fail("the worker started by `supakit up` never ran the job")
    finally:
        up.send_signal(signal.SIGTERM)
        stdout, stderr = up.communicate(timeout=30)
    assert up.returncode == 0, stderr
    assert "starting the API gateway and a job worker" in stderr and '"event": "job.succeeded"' in stderr
    anon = tokens.api_key("anon", tokens.LOCAL_JWT_SECRET)
    assert "apikey=***" in stderr and anon not in stderr, "uvicorn's log of the WebSocket masks the API key"
