"""Organizations as the CLI finds them: by id or by slug (`--org acme` or `--org 5f0c…`), one lookup for every
command that takes `--org`."""

from __future__ import annotations

from uuid import UUID

import psycopg

# id::text, so a slug that is not a UUID never fails the cast; slugs are unique (sql/0002)
organization_find_one = "select id from public.organizations where id::text = lower(%(org)s) or slug = %(org)s"
organization_list_some = "select slug from public.organizations order by created_at limit %s"


def find(conn: psycopg.Connection, org: str) -> UUID | None:
    """The id of the organization whose id or slug is `org`, None when there is none."""
    row = conn.execute(organization_find_one, {"org": org.strip()}).fetchone()
    return row[0] if row else None


def some_slugs(conn: psycopg.Connection, limit: int = 5) -> list[str]:
    """A few slugs, oldest first, to suggest in an error."""
    return [row[0] for row in conn.execute(organization_list_some, (limit,)).fetchall()]
