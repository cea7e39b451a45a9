"""Test data as Supabase and our RPCs would leave it, for any connection (the `db` fixture's, or one of a fresh
database): users, organizations, memberships, projects. Every default is unique and satisfies every constraint.
The conftest fixtures `make_user`, `make_organization`, `add_member` and `make_project` are these bound to `db`.
"""

from __future__ import annotations

import uuid

import psycopg
from psycopg.types.json import Jsonb

# an auth.users row as Supabase Auth inserts it for an e-mail sign-up
user_insert_one = (
    "insert into auth.users (instance_id, id, aud, role, email, raw_app_meta_data, raw_user_meta_data,"
    " email_confirmed_at, created_at, updated_at)"
    " values ('00000000-0000-0000-0000-000000000000', %s, 'authenticated', 'authenticated', %s,"
    " '{\"provider\": \"email\", \"providers\": [\"email\"]}', %s, now(), now(), now())"
)
organization_insert_one = ("insert into public.organizations (id, name, slug, created_by)"
                           " values (coalesce(%s, gen_random_uuid()), %s, %s, %s) returning id")
membership_insert_one = "insert into public.memberships (organization_id, user_id, role) values (%s, %s, %s)"
project_insert_one = "insert into public.projects (organization_id, name) values (%s, %s) returning id"


def user(conn: psycopg.Connection, email: str | None = None, user_id: uuid.UUID | None = None,
         **user_meta: object) -> uuid.UUID:
    """A signed-up, confirmed user; `user_meta` becomes raw_user_meta_data (e.g. full_name for the profile)."""
    user_id = user_id or uuid.uuid4()
    conn.execute(user_insert_one, (user_id, email or f"user-{user_id.hex[:8]}@example.com", Jsonb(user_meta)))
    return user_id


def organization(conn: psycopg.Connection, name: str | None = None, slug: str | None = None,
                 owner: uuid.UUID | None = None, *, org_id: uuid.UUID | str | None = None,
                 created_by: uuid.UUID | None = None) -> uuid.UUID:
    """An organization (inserted as the superuser, as the seeds do); `owner` becomes its owner."""
    tag = uuid.uuid4().hex[:10]
    org_id, = conn.execute(organization_insert_one, (org_id, name or f"Organization {tag}", slug or f"org-{tag}",
                                                     created_by)).fetchone()
    if owner is not None:
        membership(conn, org_id, owner, "owner")
    return org_id


def membership(conn: psycopg.Connection, org: uuid.UUID, user_id: uuid.UUID, role: str = "member") -> uuid.UUID:
    """`user_id` joins `org` with `role`; returns the user's id."""
    conn.execute(membership_insert_one, (org, user_id, role))
    return user_id


def project(conn: psycopg.Connection, org: uuid.UUID, name: str | None = None) -> uuid.UUID:
    """A project of `org`."""
    project_id, = conn.execute(project_insert_one, (org, name or f"Project {uuid.uuid4().hex[:6]}")).fetchone()
    return project_id
