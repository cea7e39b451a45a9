"""Private-channel authorization, as Supabase Realtime does it (realtime-protocol.md §8, supabase-surface.md §5.4).

Read (at join): in one transaction, probe rows (topic, extension) are inserted into realtime.messages as the
server's own role, the request settings are set locally (role, realtime.topic, request.jwt.claims and the per-claim
forms), a SELECT of the probes runs under RLS, and the transaction is rolled back. Each visible probe grants read
on its extension. Write (at the first broadcast or track): an INSERT as the user, rolled back; 42501 (RLS WITH
CHECK or no privilege) means denied. Nothing is ever committed.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

log = logging.getLogger("supakit.realtime")

SET_REQUEST = """
select set_config('role', %(role)s, true),
       set_config('realtime.topic', %(topic)s, true),
       set_config('request.jwt.claims', %(claims)s, true),
       set_config('request.jwt.claim.sub', %(sub)s, true),
       set_config('request.jwt.claim.role', %(role)s, true),
       set_config('request.headers', '{}', true)
"""
PROBE_INSERT_MANY = """
insert into realtime.messages (topic, extension, private)
select %(topic)s, extension, true from unnest(%(extensions)s::text[]) as e (extension)
returning id, extension
"""
PROBE_VISIBLE_MANY = "select extension from realtime.messages where id = any(%(ids)s::uuid[])"
WRITE_PROBE_ONE = "insert into realtime.messages (topic, extension, private) values (%(topic)s, %(extension)s, true)"


@dataclass(frozen=True)
class ReadAccess:
    """What a private channel's subscriber may receive."""

    broadcast: bool
    presence: bool

    @property
    def any(self) -> bool:
        return self.broadcast or self.presence


def _request(topic: str, claims: dict[str, Any]) -> dict[str, Any]:
    return {"role": str(claims.get("role") or "anon"), "topic": topic, "claims": json.dumps(claims),
            "sub": str(claims.get("sub") or "")}


class Authorizer:
    """Runs the probes on a small pool of connections to the project database."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def read(self, topic: str, claims: dict[str, Any], *, presence: bool) -> ReadAccess:
        """Which extensions the token may read on private topic `topic` (without the `realtime:` prefix)."""
        extensions = ["broadcast", "presence"] if presence else ["broadcast"]
        params = {**_request(topic, claims), "extensions": extensions}
        try:
            async with self.pool.connection() as conn, conn.transaction(force_rollback=True):
                rows = await (await conn.execute(PROBE_INSERT_MANY, params)).fetchall()
                await conn.execute(SET_REQUEST, params)
                visible = await (await conn.execute(PROBE_VISIBLE_MANY, {"ids": [r[0] for r in rows]})).fetchall()
        except psycopg.errors.InsufficientPrivilege:
            return ReadAccess(False, False)
        except psycopg.Error as error:
            log.warning("realtime: read authorization for topic %r failed: %s", topic, error)
            return ReadAccess(False, False)
        seen = {row[0] for row in visible}
        return ReadAccess(broadcast="broadcast" in seen, presence="presence" in seen)

    async def write(self, topic: str, claims: dict[str, Any], extension: str) -> bool:
        """Whether the token may broadcast (`extension` 'broadcast') or track ('presence') on `topic`."""
        params = {**_request(topic, claims), "extension": extension}
        try:
            async with self.pool.connection() as conn, conn.transaction(force_rollback=True):
                await conn.execute(SET_REQUEST, params)
                await conn.execute(WRITE_PROBE_ONE, params)
        except psycopg.errors.InsufficientPrivilege:
            return False
        except psycopg.Error as error:
            log.warning("realtime: write authorization for topic %r failed: %s", topic, error)
            return False
        return True
