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
  and (o.name collate "C" > %(after)s or (%(inclusive)s and o.name collate "C" = %(after)s))
order by o.name collate "C"
limit %(scan)s
"""


def _decode_cursor(cursor: Any) -> tuple[str, bool]:
    """(position, inclusive): after a key (exclusive), or from the first key past a folder (inclusive)."""
    if not cursor:
        return "", False
    try:
        text = base64.b64decode(str(cursor), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise errors.invalid_parameter("cursor") from None
    kind, _, key = text.partition(":")
    if kind == "k":
        return key, False
    if kind == "f" and key.endswith("/"):
        return _past_folder(key), True
    raise errors.invalid_parameter("cursor")


def _past_folder(folder: str) -> str:
    return folder[:-1] + chr(ord("/") + 1)  # every key below `folder` sorts before this


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def list_v2(db: StorageDatabase, caller: Caller, request: RequestInfo, bucket: str,
                  body: dict[str, Any]) -> dict[str, Any]:
    prefix = str(body.get("prefix") or "")
    try:
        limit = min(max(int(body.get("limit") or MAX_LIMIT), 1), MAX_LIMIT)
    except (TypeError, ValueError):
        raise errors.invalid_parameter("limit") from None
    delimiter = bool(body.get("with_delimiter"))
    after, inclusive = _decode_cursor(body.get("cursor"))
    entries: list[tuple[str, dict[str, Any]]] = []  # (cursor, entry) with one extra to tell hasNext
    async with db.as_caller(caller, request, "storage.object.list_v2") as cur:
        while len(entries) <= limit:
            rows = await fetch_all(cur, object_list_v2, {
                "bucket": bucket, "prefix": prefix, "delimiter": delimiter, "pattern": _like_prefix(prefix),
                "after": after, "inclusive": inclusive, "scan": limit + 1})
            if not rows:
                break
            requery = False
            for row in rows:
                if row["folder"] is not None:
                    folder = row["folder"]
                    entries.append((f"f:{folder}", {"kind": "folder", "key": folder,
                                                    "name": folder[len(prefix):].rstrip("/")}))
                    after, inclusive, requery = _past_folder(folder), True, True
                    break
                entries.append((f"k:{row['name']}", {"kind": "object", "row": row}))
                after, inclusive = row["name"], False
                if len(entries) > limit:
                    break
            if not requery and len(rows) <= limit:
                break
    has_next = len(entries) > limit
    entries = entries[:limit]
    folders = [{"key": e["key"], "name": e["name"]} for _, e in entries if e["kind"] == "folder"]
    objects = [_object(e["row"], prefix) for _, e in entries if e["kind"] == "object"]
    page: dict[str, Any] = {"hasNext": has_next, "folders": folders, "objects": objects}
    if has_next:
        page["nextCursor"] = base64.b64encode(entries[-1][0].encode()).decode()
    return page


def _object(row: dict[str, Any], prefix: str) -> dict[str, Any]:
    return {"id": str(row["id"]), "key": row["name"], "name": row["name"][len(prefix):],
            "updated_at": row["updated_at"].isoformat(), "created_at": row["created_at"].isoformat(),
            "last_accessed_at": row["last_accessed_at"].isoformat() if row["last_accessed_at"] else None,
            "metadata": row["metadata"]}
