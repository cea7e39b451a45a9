"""Users of the local stack's `auth.users`, as the CLI needs them (until the local Auth API, functions_py/auth/,
owns this)."""

from __future__ import annotations

from uuid import UUID

import psycopg

user_find_by_email_one = "select id, email from auth.users where lower(email) = lower(%s)"


def find_by_email(conn: psycopg.Connection, email: str) -> tuple[UUID, str] | None:
    """(id, e-mail) of the user with that address (case-insensitive), None when there is none."""
    row = conn.execute(user_find_by_email_one, (email,)).fetchone()
    return (row[0], row[1]) if row else None
