"""Objects: upload, read, list, remove, move, copy, as storage-api's ObjectStorage and Uploader do them.

An upload (`upload()`, used by the object routes, signed upload URLs and TUS):

1. the bucket, looked up past RLS (unknown: NoSuchBucket), gives the size limit and allowed types;
2. the type is checked against `allowed_mime_types` (415) and a declared length against the limit (413);
3. the **permission test**: the row the upload would write is inserted (or upserted with `x-upsert`) as the caller,
   in a transaction that is always rolled back, so RLS answers 403 "new row violates row-level security policy" and
   an existing key without upsert answers 409 before any byte is stored;
4. the bytes are streamed to a new version's file (backend.py; over the limit mid-stream: 413, nothing kept);
5. the row is written past RLS under a per-key lock (`owner`/`owner_id` = the JWT's sub, Storage's metadata JSON);
   a failed commit deletes the new file; a committed one deletes the replaced version's file.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from psycopg.types.json import Jsonb

from functions_py.storage import errors, limits
from functions_py.storage.backend import FileBackend, WrittenFile
from functions_py.storage.database import (
    Caller,
    RequestInfo,
    StorageDatabase,
    bucket_find_one,
    fetch_all,
    fetch_one,
    object_delete_many,
    object_delete_one,
    object_find_one,
    object_find_one_for_update,
    object_insert_one,
    object_lock_key,
    object_move_one,
    object_search_many,
    object_test_insert,
    object_test_upsert,
    object_update_content,
)
from functions_py.storage.uploads import UploadInfo

MAX_OBJECTS_PER_DELETE = 1000  # storage-api rejects larger batches (schema maxItems)


def _iso_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def owner_uuid(sub: str | None) -> str | None:
    """`objects.owner` / `buckets.owner` (uuid, deprecated in Storage) from the JWT's sub, when it is a uuid."""
    if not sub:
        return None
    try:
        return str(uuid.UUID(sub))
    except ValueError:
        return None


def object_metadata(written: WrittenFile, mimetype: str, cache_control: str) -> dict[str, Any]:
    """The `metadata` JSON storage-api writes for a stored object (ObjectMetadata)."""
    return {"eTag": written.etag, "size": written.size, "mimetype": mimetype, "cacheControl": cache_control,
            "lastModified": _iso_now(), "contentLength": written.size, "httpStatusCode": 200}


@dataclass
class StoredObject:
    row: dict[str, Any]

    @property
    def key(self) -> str:
        return f"{self.row['bucket_id']}/{self.row['name']}"


class ObjectStore:
    """The object operations over one database and one file backend."""

    def __init__(self, db: StorageDatabase, backend: FileBackend, global_limit: int) -> None:
        self.db = db
        self.backend = backend
        self.global_limit = global_limit

    # -- buckets as uploads see them ----------------------------------------------------------------------------

    async def bucket(self, bucket_id: str, *, public_only: bool = False) -> dict[str, Any]:
        """The bucket looked up past RLS (storage-api's asSuperUser().findBucketById); NoSuchBucket if absent."""
        async with self.db.as_admin("storage.bucket.find") as cur:
            row = await fetch_one(cur, bucket_find_one, {"bucket": bucket_id})
        if row is None or (public_only and not row["public"]):
            raise errors.no_such_bucket(bucket_id)
        return row

    def size_limit(self, bucket: dict[str, Any]) -> int:
        return limits.effective_size_limit(self.global_limit, bucket.get("file_size_limit"))

    # -- upload -------------------------------------------------------------------------------------------------

    async def can_upload(self, caller: Caller, request: RequestInfo, bucket_id: str, name: str, *,
                         upsert: bool, owner: str | None, info: UploadInfo | None = None,
                         operation: str = "storage.object.upload") -> None:
        """Storage's permission test: the row written as the caller, always rolled back."""
        metadata = None
        if info is not None:
            metadata = {"mimetype": info.mimetype, "contentLength": info.content_length, "size": info.content_length}
        params = {"bucket": bucket_id, "name": name, "owner": owner_uuid(owner), "owner_id": owner,
                  "metadata": _jsonb(metadata), "user_metadata": _jsonb(info.user_metadata if info else None),
                  "version": str(uuid.uuid4())}
        async with self.db.as_caller(caller, request, operation, rollback=True) as cur:
            await cur.execute(object_test_upsert if upsert else object_test_insert, params)

    async def upload(self, caller: Caller, request: RequestInfo, bucket_id: str, name: str,
                     info: UploadInfo, chunks: AsyncIterator[bytes], *, upsert: bool,
                     owner: str | None = None, skip_permission_test: bool = False,
                     operation: str = "storage.object.upload") -> StoredObject:
        """Store one object (module docstring); `owner` defaults to the caller's sub."""
        limits.must_be_valid_key(name)
        bucket = await self.bucket(bucket_id)
        limit = self.size_limit(bucket)
        limits.must_allow_mime(info.mimetype, bucket.get("allowed_mime_types"))
        if info.content_length is not None and info.content_length > limit:
            raise errors.entity_too_large()
        owner = owner if owner is not None else caller.sub
        if not skip_permission_test:
            await self.can_upload(caller, request, bucket_id, name, upsert=upsert, owner=owner, info=info,
                                  operation=operation)
        written = await self.backend.write(chunks, limit)
        return await self.complete(bucket_id, name, written, info, upsert=upsert, owner=owner)

    async def complete(self, bucket_id: str, name: str, written: WrittenFile, info: UploadInfo, *, upsert: bool,
                       owner: str | None) -> StoredObject:
        """Write the row for bytes already in place; on failure the new version's file is removed."""
        params = {"bucket": bucket_id, "name": name, "owner": owner_uuid(owner), "owner_id": owner,
                  "metadata": _jsonb(object_metadata(written, info.mimetype, info.cache_control)),
                  "user_metadata": _jsonb(info.user_metadata), "version": written.version}
        replaced = None
        try:
            async with self.db.as_admin("storage.object.upload") as cur:
                await cur.execute(object_lock_key, params)
                current = await fetch_one(cur, object_find_one_for_update, params)
                if current is not None and not upsert:
                    raise errors.resource_already_exists()
                if current is not None:
                    row = await fetch_one(cur, object_update_content, params)
                    replaced = current["version"]
                else:
                    row = await fetch_one(cur, object_insert_one, params)
        except BaseException:
            self.backend.delete(written.version)
            raise
        assert row is not None
        if replaced and replaced != written.version:
            self.backend.delete(replaced)
        return StoredObject(row)

    # -- reading ------------------------------------------------------------------------------------------------

    async def find(self, caller: Caller | None, request: RequestInfo | None, bucket_id: str, name: str, *,
                   operation: str = "storage.object.get") -> dict[str, Any]:
        """The object's row as the caller sees it (None caller: past RLS); NoSuchKey otherwise. A row whose
        bytes are missing is answered as missing too."""
        limits.must_be_valid_key(name)
        params = {"bucket": bucket_id, "name": name}
        if caller is None or request is None:
            async with self.db.as_admin(operation) as cur:
                row = await fetch_one(cur, object_find_one, params)
        else:
            async with self.db.as_caller(caller, request, operation) as cur:
                row = await fetch_one(cur, object_find_one, params)
        if row is None or not self.backend.exists(row["version"]):
            raise errors.no_such_key(name)
        return row

    async def search(self, caller: Caller, request: RequestInfo, bucket_id: str, body: dict[str, Any]
                     ) -> list[dict[str, Any]]:
        """`POST /object/list/{bucket}`: storage.search as the caller."""
        sort_by = body.get("sortBy") or {}
        prefix = str(body.get("prefix") or "")
        if prefix and not prefix.endswith("/"):
            prefix += "/"  # storage-api lists the folder a prefix names
        params = {"bucket": bucket_id, "prefix": prefix,
                  "limit": _int(body.get("limit"), 100, "limit"), "offset": _int(body.get("offset"), 0, "offset"),
                  "search": str(body.get("search") or ""),
                  "sort_column": str(sort_by.get("column") or "name"),
                  "sort_order": str(sort_by.get("order") or "asc")}
        async with self.db.as_caller(caller, request, "storage.object.list") as cur:
            return await fetch_all(cur, object_search_many, params)

    # -- removing -----------------------------------------------------------------------------------------------

    async def delete_one(self, caller: Caller, request: RequestInfo, bucket_id: str, name: str) -> None:
        """storage-api deleteObject: the object must exist (NoSuchKey), and the caller's DELETE must remove it
        (otherwise AccessDenied); the bytes go after the commit."""
        limits.must_be_valid_key(name)
        params = {"bucket": bucket_id, "name": name}
        async with self.db.as_admin("storage.object.delete") as cur:
            if await fetch_one(cur, object_find_one, params) is None:
                raise errors.no_such_key(name)
        async with self.db.as_caller(caller, request, "storage.object.delete") as cur:
            row = await fetch_one(cur, object_delete_one, params)
            if row is None:
                raise errors.access_denied()
        self.backend.delete(row["version"])

    async def delete_many(self, caller: Caller, request: RequestInfo, bucket_id: str, names: list[str]
                          ) -> list[dict[str, Any]]:
        """`DELETE /object/{bucket}` with `{prefixes}`: the rows the caller could delete."""
        if len(names) > MAX_OBJECTS_PER_DELETE:
            raise errors.invalid_parameter("prefixes", f"prefixes must NOT have more than "
                                           f"{MAX_OBJECTS_PER_DELETE} items")
        async with self.db.as_caller(caller, request, "storage.object.delete_many") as cur:
            rows = await fetch_all(cur, object_delete_many, {"bucket": bucket_id, "names": names})
        self.backend.delete(*(row["version"] for row in rows))
        return rows

    # -- move and copy ------------------------------------------------------------------------------------------

    async def move(self, caller: Caller, request: RequestInfo, bucket_id: str, source: str, destination: str,
                   destination_bucket: str | None = None) -> None:
        """The row renamed by the caller's UPDATE (RLS: the source must pass USING, the destination WITH CHECK);
        the bytes stay (they are addressed by version)."""
        limits.must_be_valid_key(source)
        limits.must_be_valid_key(destination)
        target_bucket = destination_bucket or bucket_id
        if target_bucket != bucket_id:
            await self.bucket(target_bucket)
        await self.find(caller, request, bucket_id, source, operation="storage.object.move")
        params = {"bucket": bucket_id, "name": source, "to_bucket": target_bucket, "to_name": destination,
                  "owner": owner_uuid(caller.sub), "owner_id": caller.sub}
        async with self.db.as_caller(caller, request, "storage.object.move") as cur:
            await cur.execute(object_lock_key, {"bucket": target_bucket, "name": destination})
            row = await fetch_one(cur, object_move_one, params)
            if row is None:
                raise errors.no_such_key(source)

    async def copy(self, caller: Caller, request: RequestInfo, bucket_id: str, source: str, destination: str,
                   destination_bucket: str | None = None, *, upsert: bool = False,
                   user_metadata: dict[str, Any] | None = None, copy_metadata: bool = True,
                   file_metadata: dict[str, Any] | None = None) -> StoredObject:
        """A new object with the source's bytes: SELECT on the source and INSERT (UPDATE with upsert) on the
        destination, as the caller. With `copy_metadata` the source's metadata and user metadata go along;
        without it `file_metadata` (cacheControl, mimetype) overrides the source's and `user_metadata` replaces
        its user metadata (storage-api's copyObject)."""
        limits.must_be_valid_key(source)
        limits.must_be_valid_key(destination)
        target_bucket = destination_bucket or bucket_id
        bucket = await self.bucket(target_bucket)
        row = await self.find(caller, request, bucket_id, source, operation="storage.object.copy")
        metadata = dict(row["metadata"] or {})
        if not copy_metadata:
            metadata.update(file_metadata or {})
        limits.must_allow_mime(str(metadata.get("mimetype") or "application/octet-stream"),
                               bucket.get("allowed_mime_types"))
        if int(metadata.get("size") or 0) > self.size_limit(bucket):
            raise errors.entity_too_large()
        version = self.backend.copy(row["version"])
        metadata["lastModified"] = _iso_now()
        params = {"bucket": target_bucket, "name": destination, "owner": owner_uuid(caller.sub),
                  "owner_id": caller.sub, "metadata": _jsonb(metadata),
                  "user_metadata": _jsonb(row["user_metadata"] if copy_metadata else user_metadata),
                  "version": version}
        replaced = None
        try:
            async with self.db.as_caller(caller, request, "storage.object.copy") as cur:
                await cur.execute(object_lock_key, params)
                current = await fetch_one(cur, object_find_one_for_update, params) if upsert else None
                if current is not None:
                    created = await fetch_one(cur, object_update_content, params)
                    replaced = current["version"]
                else:
                    created = await fetch_one(cur, object_insert_one, params)
        except BaseException:
            self.backend.delete(version)
            raise
        if created is None:
            self.backend.delete(version)
            raise errors.rls_violation()
        if replaced:
            self.backend.delete(replaced)
        return StoredObject(created)


def _jsonb(value: Any) -> Any:
    return None if value is None else Jsonb(value)


def _int(raw: Any, default: int, name: str) -> int:
    if raw is None:
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise errors.invalid_parameter(name, f"body/{name} must be integer") from None
    if value < 0:
        raise errors.invalid_parameter(name, f"body/{name} must be >= 0")
    return value
