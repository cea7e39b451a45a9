"""Buckets: `/bucket` routes as storage-api answers them, every statement as the caller (RLS on storage.buckets
decides; the service role bypasses it)."""

from __future__ import annotations

from typing import Any

from psycopg import sql

from functions_py.storage import errors, limits
from functions_py.storage.backend import FileBackend
from functions_py.storage.database import (
    BUCKET_COLUMNS,
    Caller,
    RequestInfo,
    StorageDatabase,
    bucket_delete_one,
    bucket_find_one,
    bucket_has_objects,
    bucket_insert_one,
    bucket_update_one,
    fetch_all,
    fetch_one,
    object_delete_all_in_bucket,
)
from functions_py.storage.objects import owner_uuid

SORT_COLUMNS = ("id", "name", "created_at", "updated_at")
EMPTY_BATCH = 1000


def _types(raw: Any) -> list[str] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise errors.invalid_parameter("allowed_mime_types", "body/allowed_mime_types must be array")
    return raw


class BucketStore:
    def __init__(self, db: StorageDatabase, backend: FileBackend) -> None:
        self.db = db
        self.backend = backend

    async def list(self, caller: Caller, request: RequestInfo, query: dict[str, str]) -> list[dict[str, Any]]:
        column = query.get("sortColumn") or "name"
        order = (query.get("sortOrder") or "asc").lower()
        if column not in SORT_COLUMNS or order not in ("asc", "desc"):
            raise errors.invalid_parameter("sortColumn")
        try:
            limit = int(query["limit"]) if query.get("limit") else None
            offset = int(query.get("offset") or 0)
        except ValueError:
            raise errors.invalid_parameter("limit") from None
        statement = sql.SQL("select {columns} from storage.buckets where (%(search)s = '' or name ilike "
                            "'%%' || %(search)s || '%%') order by {column} {order} limit %(limit)s "
                            "offset %(offset)s").format(columns=sql.SQL(BUCKET_COLUMNS),
                                                       column=sql.Identifier(column),
                                                       order=sql.SQL(order))
        async with self.db.as_caller(caller, request, "storage.bucket.list") as cur:
            rows = await fetch_all(cur, statement, {"search": query.get("search") or "", "limit": limit,
                                                    "offset": offset})
        return [render(row) for row in rows]

    async def get(self, caller: Caller, request: RequestInfo, bucket_id: str) -> dict[str, Any]:
        async with self.db.as_caller(caller, request, "storage.bucket.get") as cur:
            row = await fetch_one(cur, bucket_find_one, {"bucket": bucket_id})
        if row is None:
            raise errors.no_such_bucket(bucket_id)
        return render(row)

    async def create(self, caller: Caller, request: RequestInfo, body: dict[str, Any]) -> dict[str, Any]:
        name = body.get("name") or body.get("id")
        bucket_id = body.get("id") or name
        if not isinstance(name, str):
            raise errors.missing_parameter("name")
        limits.must_be_valid_bucket_name(name)
        limits.must_be_valid_bucket_name(bucket_id)
        bucket_type = body.get("type")
        if bucket_type not in (None, "STANDARD", "ANALYTICS", "VECTOR"):
            raise errors.invalid_parameter("type")
        params = {"id": bucket_id, "name": name, "owner": owner_uuid(caller.sub), "owner_id": caller.sub,
                  "public": bool(body.get("public", False)),
                  "file_size_limit": limits.parse_bucket_size(body.get("file_size_limit")),
                  "allowed_mime_types": _types(body.get("allowed_mime_types")), "type": bucket_type}
        try:
            async with self.db.as_caller(caller, request, "storage.bucket.create") as cur:
                await fetch_one(cur, bucket_insert_one, params)
        except errors.StorageError as error:
            if error.code == "ResourceAlreadyExists":
                raise errors.bucket_already_exists(bucket_id) from None
            raise
        return {"name": name}  # the body's name, as storage-api's createBucket answers (the id may differ)

    async def update(self, caller: Caller, request: RequestInfo, bucket_id: str, body: dict[str, Any]) -> None:
        params = {"bucket": bucket_id, "public": body.get("public"),
                  "set_limit": "file_size_limit" in body,
                  "file_size_limit": limits.parse_bucket_size(body.get("file_size_limit")),
                  "set_types": "allowed_mime_types" in body,
                  "allowed_mime_types": _types(body.get("allowed_mime_types"))}
        async with self.db.as_caller(caller, request, "storage.bucket.update") as cur:
            if await fetch_one(cur, bucket_update_one, params) is None:
                raise errors.no_such_bucket(bucket_id)

    async def delete(self, caller: Caller, request: RequestInfo, bucket_id: str) -> None:
        async with self.db.as_caller(caller, request, "storage.bucket.delete") as cur:
            if await fetch_one(cur, bucket_find_one, {"bucket": bucket_id}) is None:
                raise errors.no_such_bucket(bucket_id)
            if (await fetch_one(cur, bucket_has_objects, {"bucket": bucket_id}) or {}).get("found"):
                raise errors.bucket_not_empty(bucket_id)
            if await fetch_one(cur, bucket_delete_one, {"bucket": bucket_id}) is None:
                raise errors.no_such_bucket(bucket_id)

    async def empty(self, caller: Caller, request: RequestInfo, bucket_id: str) -> None:
        """Delete every object the caller may delete (Storage queues this; here it runs before answering)."""
        async with self.db.as_caller(caller, request, "storage.bucket.empty") as cur:
            if await fetch_one(cur, bucket_find_one, {"bucket": bucket_id}) is None:
                raise errors.no_such_bucket(bucket_id)
        while True:
            async with self.db.as_caller(caller, request, "storage.bucket.empty") as cur:
                rows = await fetch_all(cur, object_delete_all_in_bucket, {"bucket": bucket_id,
                                                                            "limit": EMPTY_BATCH})
            self.backend.delete(*(row["version"] for row in rows))
            if len(rows) < EMPTY_BATCH:
                return


def render(row: dict[str, Any]) -> dict[str, Any]:
    """A bucket as Storage's JSON shows it (timestamps in ISO 8601)."""
    out = {key: value for key, value in row.items() if key != "owner_id"}  # storage-api's selected columns
    for key in ("created_at", "updated_at"):
        if out.get(key) is not None:
            out[key] = out[key].isoformat()
    if out.get("owner") is not None:
        out["owner"] = str(out["owner"])
    out["owner"] = out.get("owner") or ""  # Storage answers "" for a bucket without owner (storage3 expects a str)
    return out
