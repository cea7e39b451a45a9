"""`supakit jobs`: list, show, enqueue, cancel, retry, stats (and stats --check for cron alerts)."""

from __future__ import annotations

import json

import psycopg

from tests.cli import run_cli


def jobs(url: str, *args: str):
    return run_cli("jobs", *args, env={"DATABASE_URL": url})


def test_enqueue_list_show_cancel_and_retry(fresh_db):
    created = jobs(fresh_db, "enqueue", "system.sleep", "--payload", '{"seconds": 1}', "--priority", "5")
    assert created.returncode == 0, created.stderr
    job_id = created.stdout.strip()
    listed = json.loads(jobs(fresh_db, "list", "--json").stdout)
    assert [(str(j["id"]), j["kind"], j["status"], j["priority"]) for j in listed] == [
        (job_id, "system.sleep", "queued", 5)]
    shown = json.loads(jobs(fresh_db, "show", job_id).stdout)
    assert shown["payload"] == {"seconds": 1} and shown["max_attempts"] == 3

    cancelled = jobs(fresh_db, "cancel", job_id)
    assert cancelled.stdout.strip() == "cancelled" and "cancelled" in cancelled.stderr
    assert jobs(fresh_db, "retry", job_id).stdout.strip() == "queued", "a cancelled job can run again"
    assert jobs(fresh_db, "list", "--status", "queued", "--json").stdout.count('"id"') == 1


def test_list_has_a_header_row_and_enqueue_json_warns_about_a_kind_no_handler_has(fresh_db):
    known = jobs(fresh_db, "enqueue", "system.noop", "--json")
    assert known.returncode == 0, known.stderr
    answer = json.loads(known.stdout)
    assert answer["kind"] == "system.noop" and answer["handler_registered"] is True and isinstance(answer["id"], int)
    assert "warning" not in known.stderr
    unknown = jobs(fresh_db, "enqueue", "nobody.handles.this", "--json")
    assert unknown.returncode == 0, "the job is queued all the same (another deployment may run it)"
    assert json.loads(unknown.stdout)["handler_registered"] is False
    assert "warning: no registered handler has the kind 'nobody.handles.this'" in unknown.stderr
    assert "system.noop" in unknown.stderr, "and it lists the kinds that are registered"
    lines = jobs(fresh_db, "list").stdout.splitlines()
    assert lines[0].split() == ["ID", "KIND", "STATUS", "PRI", "TRIES", "CREATED", "(UTC)", "WORKER", "/", "ERROR"]
    assert len(lines) == 3 and str(answer["id"]) in lines[2] and "system.noop" in lines[2]
    assert lines[0].index("KIND") == lines[2].index("system.noop"), "the header's columns line up with the rows"


def test_a_dedupe_key_returns_the_existing_job(fresh_db):
    first = jobs(fresh_db, "enqueue", "system.noop", "--dedupe-key", "nightly").stdout
    assert jobs(fresh_db, "enqueue", "system.noop", "--dedupe-key", "nightly").stdout == first


def test_bad_input_is_refused_with_exit_2_and_unknown_jobs_with_exit_1(fresh_db):
    for args, words in [
        (("enqueue", "system.noop", "--payload", "{not json"), "--payload is not JSON"),
        (("enqueue", "system.noop", "--payload", "[1]"), "must be a JSON object"),
        (("enqueue", "Not A Kind"), "is not a job kind"),
        (("list", "--status", "stuck"), "is not a job status"),
        (("stats", "--window", "forever"), "is not a duration"),
    ]:
        refused = jobs(fresh_db, *args)
        assert refused.returncode == 2 and words in refused.stderr, (args, refused.stderr)
    for args in (("show", "999999"), ("cancel", "999999"), ("retry", "999999")):
        missing = jobs(fresh_db, *args)
        assert missing.returncode == 1 and "job 999999 not found" in missing.stderr
    queued = jobs(fresh_db, "enqueue", "system.noop").stdout.strip()
    refused = jobs(fresh_db, "retry", queued)
    assert refused.returncode == 2 and "only failed or cancelled jobs" in refused.stderr


def test_stats_reports_depth_failure_rate_oldest_and_workers_and_check_alerts(fresh_db):
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("select internal.enqueue_jobs('system.noop', array_fill('{}'::jsonb, array[3]))")
        conn.execute("select internal.enqueue_job('system.fail', run_at => now() - interval '90 seconds')")
        claimed = conn.execute("select id, lease_token from internal.claim_jobs('w1', 2, array['system.noop'])")
        rows = claimed.fetchall()
        conn.execute("select internal.complete_jobs(%s, %s)", ([rows[0][0]], [rows[0][1]]))
        conn.execute("select internal.fail_job(%s, %s, 'boom', false)", (rows[1][0], rows[1][1]))
        conn.execute("select internal.worker_seen('host:123', array['system.noop'], 3)")
    report = json.loads(jobs(fresh_db, "stats", "--json").stdout)
    assert report["queued"] == 2 and report["failed_in_window"] == 1 and report["finished_in_window"] == 2
    assert report["failure_rate"] == 0.5
    assert report["oldest_queued_seconds"] >= 89, "the oldest ready job has waited since its run_at"
    assert [w["name"] for w in report["workers"]] == ["host:123"]
    assert {(d["kind"], d["status"], d["count"]) for d in report["depth"]} == {
        ("system.noop", "queued", 1), ("system.noop", "succeeded", 1), ("system.noop", "failed", 1),
        ("system.fail", "queued", 1)}

    alarm = jobs(fresh_db, "stats", "--check")
    assert alarm.returncode == 1 and "failure rate 50.0%" in alarm.stderr, "50% failures is above the 5% default"
    calm = run_cli("jobs", "stats", "--check", env={"DATABASE_URL": fresh_db, "SUPAKIT_JOBS_MAX_FAILURE_RATE": "0.6",
                                                    "SUPAKIT_JOBS_MAX_QUEUED": "2"})
    assert calm.returncode == 0 and "check passed" in calm.stderr
    busy = run_cli("jobs", "stats", "--check", "--max-queued", "1", "--max-failure-rate", "1",
                   env={"DATABASE_URL": fresh_db})
    assert busy.returncode == 1 and "2 jobs queued (more than 1)" in busy.stderr
