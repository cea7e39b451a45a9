"""The database side of Storage: the per-request scope storage-api sets, and the named queries (STYLE.md §10).

`as_caller()` opens a transaction as storage-api's `scope.ts` does, in one statement: `role`, the JWT claims
(`request.jwt.claims`, `request.jwt.claim.sub`, `request.jwt.claim.role`, the raw `request.jwt`), the request's
lower-cased headers, method and path, `storage.operation`, and `storage.allow_delete_query = 'true'` (which Storage's
own delete guard asks for). RLS on storage.objects / storage.buckets then decides. `as_admin()` is storage-api's
`asSuperUser()`: the gateway's own connection role, without the API role switch, for lookups Storage makes past RLS
(buckets on upload, public and signed reads, completing an upload after the permission test).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from functions_py.storage import errors


@dataclass(frozen=True)
class Caller:
    """Who is asking: the JWT's role and claims (anon with `{role: anon}` when no token came)."""

    role: str
    claims: dict[str, Any] = field(default_factory=dict)
    token: str | None = None

    @property
    def sub(self) -> str | None:
        sub = self.claims.get("sub")
        return str(sub) if sub is not None else None

    @property
    def is_service(self) -> bool:
        return self.role == "service_role"


@dataclass(frozen=True)
class RequestInfo:
    method: str
    path: str
    headers: dict[str, str]


SCOPE_SET = """
select
  set_config('role', %(role)s, true),
  set_config('request.jwt.claim.role', %(role)s, true),
  set_config('request.jwt', %(jwt)s, true),
  set_config('request.jwt.claim.sub', %(sub)s, true),
  set_config('request.jwt.claims', %(claims)s, true),
  set_config('request.headers', %(headers)s, true),
  set_config('request.method', %(method)s, true),
  set_config('request.path', %(path)s, true),
  set_config('storage.operation', %(operation)s, true),
  set_config('storage.allow_delete_query', 'true', true)
"""

ADMIN_SCOPE_SET = """
select
  set_config('storage.operation', %(operation)s, true),
  set_config('storage.allow_delete_query', 'true', true)
"""

BUCKET_COLUMNS = ("id, name, owner, owner_id, public, file_size_limit, allowed_mime_types, type, created_at, "
                  "updated_at")
OBJECT_COLUMNS = ("id, bucket_id, name, owner, owner_id, version, metadata, user_metadata, created_at, updated_at, "
                  "last_accessed_at")

bucket_find_one = f"select {BUCKET_COLUMNS} from storage.buckets where id = %(bucket)s"
bucket_insert_one = (
    "insert into storage.buckets (id, name, owner, owner_id, public, file_size_limit, allowed_mime_types, type) "
    "values (%(id)s, %(name)s, %(owner)s, %(owner_id)s, %(public)s, %(file_size_limit)s, %(allowed_mime_types)s, "
    "coalesce(%(type)s, 'STANDARD')::storage.buckettype) returning id, name"
)
bucket_update_one = (
    "update storage.buckets set public = coalesce(%(public)s, public), "
    "file_size_limit = case when %(set_limit)s then %(file_size_limit)s else file_size_limit end, "
    "allowed_mime_types = case when %(set_types)s then %(allowed_mime_types)s else allowed_mime_types end "
    "where id = %(bucket)s returning id"
)
bucket_delete_one = "delete from storage.buckets where id = %(bucket)s returning id"
bucket_has_objects = "select exists (select 1 from storage.objects where bucket_id = %(bucket)s) as found"

object_find_one = f"select {OBJECT_COLUMNS} from storage.objects where bucket_id = %(bucket)s and name = %(name)s"
object_find_one_for_update = object_find_one + " for update"
object_find_many_names = "select name from storage.objects where bucket_id = %(bucket)s and name = any(%(names)s)"
object_lock_key = "select pg_advisory_xact_lock(hashtextextended(%(bucket)s || '/' || %(name)s, 7407))"

# The permission test: the row the upload would write, as the caller; the transaction is always rolled back.
object_test_insert = (
    "insert into storage.objects (bucket_id, name, owner, owner_id, metadata, user_metadata, version) "
    "values (%(bucket)s, %(name)s, %(owner)s, %(owner_id)s, %(metadata)s, %(user_metadata)s, %(version)s)"
)
object_test_upsert = object_test_insert + (
    " on conflict (bucket_id, name) do update set owner = excluded.owner, owner_id = excluded.owner_id, "
    "metadata = excluded.metadata, user_metadata = excluded.user_metadata, version = excluded.version"
)
object_insert_one = object_test_insert + f" returning {OBJECT_COLUMNS}"
object_update_content = (
    "update storage.objects set owner = %(owner)s, owner_id = %(owner_id)s, metadata = %(metadata)s, "
    "user_metadata = %(user_metadata)s, version = %(version)s, last_accessed_at = now() "
    f"where bucket_id = %(bucket)s and name = %(name)s returning {OBJECT_COLUMNS}"
)
object_delete_one = (f"delete from storage.objects where bucket_id = %(bucket)s and name = %(name)s "
                     f"returning {OBJECT_COLUMNS}")
object_delete_many = (f"delete from storage.objects where bucket_id = %(bucket)s and name = any(%(names)s) "
                      f"returning {OBJECT_COLUMNS}")
object_delete_all_in_bucket = ("delete from storage.objects where id in (select id from storage.objects "
                               "where bucket_id = %(bucket)s limit %(limit)s) returning version")
object_move_one = (
    "update storage.objects set bucket_id = %(to_bucket)s, name = %(to_name)s, owner = %(owner)s, "
    "owner_id = %(owner_id)s, last_accessed_at = now() "
    f"where bucket_id = %(bucket)s and name = %(name)s returning {OBJECT_COLUMNS}"
)
object_search_many = (
    "select name, id, updated_at, created_at, last_accessed_at, metadata "
    "from storage.search(%(prefix)s, %(bucket)s, %(limit)s, %(offset)s, %(search)s, %(sort_column)s, "
    "%(sort_order)s)"
)


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


class StorageDatabase:
    """Transactions on the gateway's pool, scoped as storage-api scopes them."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    @contextlib.asynccontextmanager
    async def as_caller(self, caller: Caller, request: RequestInfo, operation: str, *,
                        rollback: bool = False) -> AsyncIterator[psycopg.AsyncCursor]:
        """A cursor (dict rows) in a transaction under the caller's role and claims; `rollback` always rolls
        it back (the upload permission test)."""
        claims = caller.claims or {"role": caller.role}
        params = {"role": caller.role, "jwt": caller.token or "", "sub": caller.sub or "",
                  "claims": _json(claims), "headers": _json(request.headers), "method": request.method,
                  "path": request.path, "operation": operation}
        async with self._transaction(rollback) as cur:
            await cur.execute(SCOPE_SET, params)
            yield cur

    @contextlib.asynccontextmanager
    async def as_admin(self, operation: str = "", *, rollback: bool = False) -> AsyncIterator[psycopg.AsyncCursor]:
        async with self._transaction(rollback) as cur:
            await cur.execute(ADMIN_SCOPE_SET, {"operation": operation})
            yield cur

    @contextlib.asynccontextmanager
    async def _transaction(self, rollback: bool) -> AsyncIterator[psycopg.AsyncCursor]:
        try:
            # pipeline mode: BEGIN, the scope and the first statement travel together (one round trip, not three)
            async with self.pool.connection() as conn, conn.pipeline():
                if rollback:
                    async with conn.transaction(force_rollback=True), conn.cursor(row_factory=dict_row) as cur:
                        yield cur
                else:
                    async with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
                        yield cur
        except psycopg.Error as error:
            raise errors.from_database(error) from error


async def fetch_one(cur: psycopg.AsyncCursor, query: str, params: dict[str, Any]) -> dict[str, Any] | None:
    await cur.execute(query, params)
    return await cur.fetchone()


async def fetch_all(cur: psycopg.AsyncCursor, query: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    await cur.execute(query, params)
    return await cur.fetchall()
