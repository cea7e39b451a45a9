"""bench/dashboard.py: the local dashboard's pages with 10,000 jobs (target: each page < 300 ms).

Fills a throwaway embedded database with a world (`fill_world`: jobs over the last hour in every status, workers,
organizations with subscriptions, provisioning runs, Stripe events, outbox e-mails and maildir messages), serves
the dashboard app in process, and times each page over HTTP (median and worst of several requests after a warm-up).

    python bench/dashboard.py [--jobs 10000] [--repeat 15]

tests/test_dashboard*.py use `fill_world` too (with fewer jobs) and check, instead of timing, that each list's
query is bounded and walks an index.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from email.message import EmailMessage
from pathlib import Path

WORLD_SQL = """
insert into public.organizations (id, name, slug) values
  ('00000000-0000-4000-a000-000000000001', 'Acme', 'acme'),
  ('00000000-0000-4000-a000-000000000002', 'Globex', 'globex');

-- jobs over the last hour: mostly succeeded, some failed, queued, running and cancelled
insert into internal.jobs (kind, payload, status, attempts, max_attempts, run_at, created_at, started_at, finished_at,
  lease_owner, lease_token, lease_expires_at, error, organization_id, priority)
select kind, jsonb_build_object('n', i), status::internal.job_status,
  case when status in ('queued') then 0 when status = 'failed' then 3 else 1 end, 3,
  created, created,
  case when status in ('running', 'succeeded', 'failed') then created + interval '2 seconds' end,
  case when status in ('succeeded', 'failed', 'cancelled') then created + interval '5 seconds' end,
  case when status = 'running' then 'bench-host:1' end,
  case when status = 'running' then gen_random_uuid() end,
  case when status = 'running' then now() + interval '1 minute' end,
  case when status = 'failed' then 'RuntimeError: the model answered 529 overloaded (attempt ' || i || ')' end,
  '00000000-0000-4000-a000-000000000001', (i % 3) * 10
from (
  select i, (array['ai.generate', 'email.send', 'provisioning.run', 'billing.sync'])[1 + i % 4] as kind,
    case when i % 50 = 0 then 'failed' when i % 97 = 0 then 'cancelled' when i % 31 = 0 then 'queued'
      when i % 211 = 0 then 'running' else 'succeeded' end as status,
    now() - interval '59 minutes' + (interval '59 minutes') * i / %(jobs)s as created
  from generate_series(1, %(jobs)s) as i
) as spread;

insert into internal.workers (name, kinds, concurrency, last_seen_at)
values ('bench-host:1', '{}', 8, now()), ('bench-host:2', '{ai.generate}', 2, now() - interval '10 seconds');

-- Stripe: an applied event, a failed one (replayable), an ignored one
insert into internal.stripe_events (id, type, stripe_created_at, object_id, payload, processed_at, outcome, attempts,
  error, last_attempt_at)
values
  ('evt_bench_applied', 'customer.subscription.updated', now() - interval '20 minutes', 'sub_bench_1',
   '{"id": "evt_bench_applied", "type": "customer.subscription.updated", "data": {"object": {"id": "sub_bench_1"}}}',
   now() - interval '20 minutes', 'applied', 1, null, now() - interval '20 minutes'),
  ('evt_bench_failed', 'invoice.upcoming', now() - interval '10 minutes', 'in_bench_1',
   '{"id": "evt_bench_failed", "object": "event", "type": "invoice.upcoming", "created": 1700000000,
     "data": {"object": {"id": "in_bench_1", "object": "invoice"}}}',
   null, null, 2, 'could not apply: a deadlock was detected', now() - interval '9 minutes');

insert into public.subscriptions (organization_id, plan_id, status, stripe_subscription_id, stripe_customer_id,
  billing_interval, current_period_start, current_period_end, last_event_at)
values ('00000000-0000-4000-a000-000000000001', 'pro', 'active', 'sub_bench_1', 'cus_bench_1', 'month',
  now() - interval '3 days', now() + interval '27 days', now() - interval '20 minutes');

-- a provisioning run that failed and was rolled back: its steps compensated, its log telling the story
insert into public.provisioning_runs (id, organization_id, kind, plan_id, provider, reason, status, current_step,
  error, created_at, started_at, finished_at)
values ('00000000-0000-4000-b000-000000000001', '00000000-0000-4000-a000-000000000002', 'provision', 'team',
  'local', 'subscription active', 'rolled_back', 'dns', 'dns: the zone refused the record (SERVFAIL)',
  now() - interval '30 minutes', now() - interval '30 minutes', now() - interval '29 minutes');
insert into public.provisioning_steps (run_id, organization_id, ordinal, name, status, attempts, idempotency_key,
  error, started_at, finished_at, compensated_at)
values
  ('00000000-0000-4000-b000-000000000001', '00000000-0000-4000-a000-000000000002', 1, 'database', 'compensated', 1,
   'bench-run-1:database', null, now() - interval '30 minutes', now() - interval '30 minutes',
   now() - interval '29 minutes'),
  ('00000000-0000-4000-b000-000000000001', '00000000-0000-4000-a000-000000000002', 2, 'dns', 'failed', 3,
   'bench-run-1:dns', 'the zone refused the record (SERVFAIL)', now() - interval '30 minutes',
   now() - interval '29 minutes', null);
insert into public.provisioning_logs (run_id, organization_id, step_name, level, message)
values
  ('00000000-0000-4000-b000-000000000001', '00000000-0000-4000-a000-000000000002', 'database', 'info',
   'database created'),
  ('00000000-0000-4000-b000-000000000001', '00000000-0000-4000-a000-000000000002', 'dns', 'error',
   'the zone refused the record (SERVFAIL)'),
  ('00000000-0000-4000-b000-000000000001', '00000000-0000-4000-a000-000000000002', 'database', 'warning',
   'compensated: database dropped');

select internal.enqueue_email('owner@acme.test', 'payment_failed',
  '{"organization_name": "Acme", "amount_due": 4900, "currency": "usd",
    "hosted_invoice_url": "https://invoice.stripe.test/i/bench"}',
  '00000000-0000-4000-a000-000000000001', 'bench:payment_failed');
"""

ACME = "00000000-0000-4000-a000-000000000001"
ROLLED_BACK_RUN = "00000000-0000-4000-b000-000000000001"
FAILED_EVENT = "evt_bench_failed"


def fill_world(conn, *, jobs: int, maildir: Path | None = None) -> None:
    """The dashboard's world in `conn`'s database (committed by the caller); an Auth-style sign-in e-mail with a
    magic link is written to `maildir` when given."""
    conn.execute(WORLD_SQL.replace("%(jobs)s", str(int(jobs))))
    conn.execute("analyze internal.jobs")
    if maildir is not None:
        message = EmailMessage()
        message["From"] = "supakit <no-reply@localhost>"
        message["To"] = "ada@acme.test"
        message["Subject"] = "Your magic link"
        message.set_content("Follow this link to sign in:\n\n"
                            "http://127.0.0.1:54321/auth/v1/verify?token=bench-token&type=magiclink\n")
        for sub in ("new", "cur", "tmp"):
            (maildir / sub).mkdir(parents=True, exist_ok=True)
        (maildir / "new" / "auth-magiclink-1.eml").write_bytes(bytes(message))


PAGES = ("/queue", "/queue/summary", "/queue/jobs", "/queue/jobs?status=failed", "/queue/jobs/1",
         "/provisioning", f"/provisioning/runs/{ROLLED_BACK_RUN}", "/billing", f"/billing/events/{FAILED_EVENT}",
         "/mail", "/mail/outbox/1", "/mail/maildir/auth-magiclink-1.eml")


async def _measure(url: str, maildir: Path, repeat: int) -> dict[str, list[float]]:
    import httpx

    from functions_py.dashboard.app import DashboardConfig, build

    app = build(DashboardConfig(database_url=url, maildir=maildir))
    timings: dict[str, list[float]] = {}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:54323") as client:
            for path in PAGES:
                response = await client.get(path)
                assert response.status_code == 200, (path, response.status_code)
                samples = []
                for _ in range(repeat):
                    start = time.perf_counter()
                    response = await client.get(path)
                    samples.append((time.perf_counter() - start) * 1000)
                    assert response.status_code == 200
                timings[path] = samples
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--target-ms", type=float, default=300.0)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import psycopg
    from common import migrated_cluster  # bench/common.py

    with migrated_cluster("dashboard") as db:
        with psycopg.connect(db.url, autocommit=True) as conn:
            start = time.perf_counter()
            fill_world(conn, jobs=args.jobs, maildir=db.scratch / "mail")
            print(f"world: {args.jobs:,} jobs in {time.perf_counter() - start:.1f} s")
        timings = asyncio.run(_measure(db.url, db.scratch / "mail", args.repeat))
    worst_page = 0.0
    print(f"{'page':<52} {'median ms':>10} {'max ms':>8}")
    for path, samples in timings.items():
        median, worst = statistics.median(samples), max(samples)
        worst_page = max(worst_page, median)
        print(f"{path:<52} {median:>10.1f} {worst:>8.1f}")
    verdict = "pass" if worst_page < args.target_ms else "FAIL"
    print(f"slowest page median {worst_page:.1f} ms; target < {args.target_ms:.0f} ms: {verdict}")
    return 0 if verdict == "pass" else 1


if __name__ == "__main__":
    raise SystemExit(main())
