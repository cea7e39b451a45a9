"""`POST /object/list-v2/{bucket}`: cursor pagination over keys, with folders when `with_delimiter` is set, as
storage-js's listV2 uses it: `{prefix, limit, cursor, with_delimiter, sortBy}` → `{hasNext, folders, objects,
nextCursor}`. The cursor is the last key returned (base64), so pages stay stable while objects are added."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from functions_py.storage import errors
from functions_py.storage.database import Caller, RequestInfo, StorageDatabase, fetch_all

MAX_LIMIT = 1000

# keys after the cursor under the prefix, in C order; with a delimiter, each folder appears once (its first key)
object_list_v2 = """
select o.name, o.id, o.updated_at, o.created_at, o.last_accessed_at, o.metadata,
  case when %(delimiter)s and strpos(substr(o.name, length(%(prefix)s) + 1), '/') > 0
    then left(o.name, length(%(prefix)s) + strpos(substr(o.name, length(%(prefix)s) + 1), '/'))
  end as folder
from storage.objects as o
where o.bucket_id = %(bucket)s
  and o.name collate "C" like %(pattern)s
  and o.name collate "C" > %(after)s
order by o.name collate "C"
limit %(scan)s
"""


def _decode_cursor(cursor: Any) -> str:
    if not cursor:
        return ""
    try:
        return base64.b64decode(str(cursor)).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise errors.invalid_parameter("cursor", "Invalid Parameter cursor") from None


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def list_v2(db: StorageDatabase, caller: Caller, request: RequestInfo, bucket: str,
                  body: dict[str, Any]) -> dict[str, Any]:
    prefix = str(body.get("prefix") or "")
    limit = min(max(int(body.get("limit") or 1000), 1), MAX_LIMIT)
    delimiter = bool(body.get("with_delimiter"))
    after = _decode_cursor(body.get("cursor"))
    folders: list[dict[str, Any]] = []
    objects: list[dict[str, Any]] = []
    last_key = after
    has_next = False
    async with db.as_caller(caller, request, "storage.object.list_v2") as cur:
        while len(folders) + len(objects) < limit:
            rows = await fetch_all(cur, object_list_v2, {"bucket": bucket, "prefix": prefix, "delimiter": delimiter,
                                                         "pattern": _like_prefix(prefix), "after": last_key,
                                                         "scan": limit + 1})
            if not rows:
                break
            for row in rows:
                if len(folders) + len(objects) >= limit:
                    has_next = True
                    break
                if row["folder"] is not None:
                    folder = row["folder"]
                    folders.append({"key": folder, "name": folder[len(prefix):].rstrip("/")})
                    # skip the rest of the folder: everything below it sorts before folder[:-1] + '0'
                    last_key = folder[:-1] + chr(ord("/") + 1)
                    break
                objects.append({"id": str(row["id"]), "key": row["name"], "name": row["name"][len(prefix):],
                                "updated_at": row["updated_at"].isoformat(),
                                "created_at": row["created_at"].isoformat(),
                                "last_accessed_at": row["last_accessed_at"].isoformat()
                                if row["last_accessed_at"] else None,
                                "metadata": row["metadata"]})
                last_key = row["name"]
            else:
                if len(rows) <= limit:
                    break
                continue
            if has_next:
                break
    page: dict[str, Any] = {"hasNext": has_next, "folders": folders, "objects": objects}
    if has_next:
        page["nextCursor"] = base64.b64encode(last_key.encode()).decode()
    return page
