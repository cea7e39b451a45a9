"""Shared set-up for the provisioning tests: an organization with an owner, committed in a fresh database, and
the AWS settings for moto."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import psycopg
import pytest
from moto import mock_aws

from functions_py.provisioning.provider import Provider
from functions_py.provisioning.saga import RunOutcome, execute_run
from tests import factories


def make_org(conn: psycopg.Connection, slug: str | None = None, plan: str = "pro") -> dict[str, Any]:
    """An organization with an owner (and a member), committed; its plan assigned."""
    tag = uuid.uuid4().hex[:8]
    slug = slug or f"acme-{tag}"
    owner, member = uuid.uuid4(), uuid.uuid4()
    for user, email in ((owner, f"owner-{tag}@example.com"), (member, f"member-{tag}@example.com")):
        factories.user(conn, email, user_id=user)
    org = factories.organization(conn, f"Acme {tag}", slug, owner=owner, created_by=owner)
    factories.membership(conn, org, member)
    conn.execute("insert into internal.plan_assignments (organization_id, plan_id) values (%s, %s)", (org, plan))
    return {"id": org, "slug": slug, "owner": owner, "member": member, "owner_email": f"owner-{tag}@example.com"}


def request(conn: psycopg.Connection, org: uuid.UUID, reason: str = "test") -> uuid.UUID:
    return conn.execute("select internal.request_provisioning(%s, %s)", (org, reason)).fetchone()[0]


def run_saga(url: str, run_id: uuid.UUID, provider: Provider | None = None, final_attempt: bool = True) -> RunOutcome:
    return asyncio.run(execute_run(url, run_id, provider=provider, final_attempt=final_attempt))


def steps(conn: psycopg.Connection, run_id: uuid.UUID) -> list[tuple[str, str, int]]:
    return conn.execute("select name, status, attempts from public.provisioning_steps where run_id = %s"
                        " order by ordinal", (run_id,)).fetchall()


def run_row(conn: psycopg.Connection, run_id: uuid.UUID) -> dict[str, Any]:
    cur = conn.execute("select * from public.provisioning_runs where id = %s", (run_id,))
    names = [c.name for c in cur.description]
    return dict(zip(names, cur.fetchone(), strict=True))


def infra(conn: psycopg.Connection, org: uuid.UUID) -> dict[str, Any]:
    cur = conn.execute("select * from public.customer_infrastructure where organization_id = %s", (org,))
    names = [c.name for c in cur.description]
    row = cur.fetchone()
    return dict(zip(names, row, strict=True)) if row else {}


def emails(conn: psycopg.Connection, org: uuid.UUID, template: str) -> list[tuple[str, dict]]:
    return conn.execute("select to_address, data from internal.outbox_emails where organization_id = %s"
                        " and template = %s order by id", (org, template)).fetchall()


def undo_order(conn: psycopg.Connection, run_id: uuid.UUID) -> list[str]:
    return [r[0] for r in conn.execute("select step_name from public.provisioning_logs where run_id = %s"
                                       " and message = 'undoing step' order by id", (run_id,))]


def broadcasts(conn: psycopg.Connection, org: uuid.UUID) -> list[dict]:
    return [r[0] for r in conn.execute("select payload from realtime.messages where topic = %s order by inserted_at",
                                       (f"org:{org}:provisioning",))]


def use_local_provider(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The local provider's settings: everything under tmp_path (the body of the `local_env` fixtures)."""
    for name in ("SUPAKIT_PROVISIONING_DIR", "SUPAKIT_MAILDIR", "SUPAKIT_PROVISIONING_DOMAIN",
                 "SUPAKIT_PROVISIONING_STEP_DELAY_S", "SUPAKIT_SMTP_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SUPAKIT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SUPAKIT_PROVISIONING_PROVIDER", "local")
    return tmp_path


def moto_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """moto's in-process AWS with a hosted zone for customers' subdomains; the aws provider selected (the body of
    the `aws` fixtures)."""
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_DEFAULT_REGION", "us-east-1"), ("SUPAKIT_PROVISIONING_PROVIDER", "aws")):
        monkeypatch.setenv(name, value)
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "SUPAKIT_AWS_AMI_ID", "SUPAKIT_PROVISIONING_STEP_DELAY_S"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        route53 = boto3.client("route53")
        zone = route53.create_hosted_zone(Name="customers.example.com", CallerReference=uuid.uuid4().hex)
        zone_id = zone["HostedZone"]["Id"].split("/")[-1]
        monkeypatch.setenv("SUPAKIT_AWS_HOSTED_ZONE_ID", zone_id)
        yield {"zone_id": zone_id, "ec2": boto3.client("ec2"), "route53": route53, "ses": boto3.client("ses"),
               "ssm": boto3.client("ssm")}
