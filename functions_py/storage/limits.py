"""What Storage accepts: object keys, bucket names, sizes and MIME types (storage-api src/storage/limits.ts and the
uploader's checks).

Keys follow storage-api's rule (S3-safe characters only, non-empty), plus what a file backend must refuse that S3
would store literally: `.` / `..` segments, a leading `/`, empty segments and names longer than PostgreSQL's btree
can index. Bytes never live under a path built from the key (backend.py), so these checks are defence in depth, and
they answer storage-api's `InvalidKey` error.
"""

from __future__ import annotations

import re

from functions_py.storage import errors

# storage-api: word characters and ! - . * ' ( ) space & $ @ = ; : + , ? and, for keys, /
_KEY = re.compile(r"^[\w/!\-.*'() &$@=;:+,?]+$")
_BUCKET = re.compile(r"^[\w!\-.*'() &$@=;:+,?]+$")
MAX_KEY_BYTES = 1024  # S3's key limit; beyond it storage-api's backends refuse the key too
MAX_BUCKET_NAME = 63


def is_valid_key(key: str) -> bool:
    if not key or len(key.encode()) > MAX_KEY_BYTES or not _KEY.match(key):
        return False
    if key.startswith("/"):
        return False
    segments = key.split("/")
    # a trailing "/" (folder placeholder names end in a file name, so it is only the last segment) is refused too
    return all(segment not in ("", ".", "..") for segment in segments)


def must_be_valid_key(key: str | None) -> str:
    """The key, or storage-api's InvalidKey error."""
    if key is None or not is_valid_key(key):
        raise errors.invalid_key(key or "")
    return key


def is_valid_bucket_name(name: str) -> bool:
    return 0 < len(name) <= MAX_BUCKET_NAME and bool(_BUCKET.match(name))


def must_be_valid_bucket_name(name: str | None) -> str:
    if name is None or not is_valid_bucket_name(name):
        raise errors.invalid_bucket_name(name or "")
    return name


def effective_size_limit(global_limit: int, bucket_limit: int | None) -> int:
    """The bucket's limit when it is lower than the global one (storage-api getFileSizeLimit)."""
    if bucket_limit and bucket_limit < global_limit:
        return int(bucket_limit)
    return global_limit


def mime_allowed(mime_type: str, allowed: list[str] | None) -> bool:
    """Whether `mime_type` passes `allowed` exactly as storage-api's validateMimeType compares them: split at `/`,
    the type and the subtype compared as written (case and parameters included, so `text/plain;charset=UTF-8` is
    not `text/plain`), `type/*` accepting any subtype; an empty or null list allows everything."""
    if not allowed:
        return True
    requested = mime_type.split("/")
    if len(requested) < 2:
        return False
    kind, subtype = requested[0], requested[1]
    for pattern in allowed:
        wanted = pattern.split("/")
        if len(wanted) < 2:
            continue
        if wanted[0] == kind and wanted[1] in ("*", subtype):
            return True
    return False


def must_allow_mime(mime_type: str, allowed: list[str] | None) -> None:
    if not mime_allowed(mime_type, allowed):
        raise errors.invalid_mime_type(mime_type)


def parse_bucket_size(raw: object) -> int | None:
    """A bucket's file_size_limit as createBucket/updateBucket send it: a number of bytes or a string such as
    `20MB` (storage-api parseFileSizeToBytes: decimal units), null for none."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        raise errors.StorageError("InvalidRequest", 400, "Invalid file size format, hint: use 20GB / 20MB / 30KB / 3B")
    if isinstance(raw, int | float):
        return int(raw)
    match = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)(gb|mb|kb|b)?", str(raw).strip(), re.IGNORECASE)
    if not match:
        raise errors.StorageError("InvalidRequest", 400, "Invalid file size format, hint: use 20GB / 20MB / 30KB / 3B")
    value = float(match.group(1))
    unit = (match.group(2) or "b").lower()
    return int(value * {"gb": 1e9, "mb": 1e6, "kb": 1e3, "b": 1}[unit])
