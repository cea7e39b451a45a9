"""Storage's errors as Supabase Storage renders them (local-api-surface.md §3.1).

The body is `{statusCode: "<semantic status>", code, error, message}`, and the HTTP status is 400 for every error
except those whose semantic status is 500 (storage-api's error handler, src/http/error-handler.ts): a missing object
is HTTP 400 with `statusCode: "404"`. `error` is the error's backwards-compatible name where storage-api's ERRORS
table gives one (`not_found`, `Bucket not found`, `Unauthorized`, `Duplicate`, ...; the handler sends
`error.error || code`), else the code. storage-js and storage3 read `statusCode` / `code` / `error` / `message`.
"""

from __future__ import annotations

import json

import psycopg
from starlette.responses import Response


class StorageError(Exception):
    """An error Storage answers with its JSON body; `status` is the semantic status (rendered as `statusCode`)."""

    def __init__(self, code: str, status: int, message: str, *, http_status: int | None = None,
                 body: dict | None = None, error: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.error = error or code  # storage-api's backwards-compatible `error`, where its ERRORS table sets one
        self.status = status
        self.message = message
        self.http_status = http_status if http_status is not None else (500 if status == 500 else 400)
        self._body = body

    def body(self) -> dict:
        if self._body is not None:
            return self._body
        return {"statusCode": str(self.status), "code": self.code, "error": self.error, "message": self.message}

    def response(self, *, head: bool = False) -> Response:
        payload = b"" if head else json.dumps(self.body(), separators=(",", ":")).encode()
        return Response(payload, status_code=self.http_status, media_type="application/json; charset=utf-8")


# -- the errors storage-api's ERRORS table defines, by the name it gives them ---------------------------------------


def no_such_bucket(bucket: str = "") -> StorageError:
    return StorageError("NoSuchBucket", 404, "Bucket not found", error="Bucket not found")


def no_such_key(key: str = "") -> StorageError:
    return StorageError("NoSuchKey", 404, "Object not found", error="not_found")


def no_such_upload() -> StorageError:
    return StorageError("NoSuchUpload", 404, "Upload not found")


def invalid_key(key: str) -> StorageError:
    return StorageError("InvalidKey", 400, f"Invalid key: {key}")


def invalid_bucket_name(bucket: str) -> StorageError:
    return StorageError("InvalidBucketName", 400, "Bucket name invalid", error="Invalid Input")


def invalid_jwt(message: str = "Invalid JWT") -> StorageError:
    return StorageError("InvalidJWT", 400, message)


def invalid_signature(message: str = "Invalid signature") -> StorageError:
    return StorageError("InvalidSignature", 400, message)


def expired_signature() -> StorageError:
    return StorageError("ExpiredToken", 400, "The provided token has expired.")


def access_denied(message: str = "Access denied") -> StorageError:
    return StorageError("AccessDenied", 403, message, error="Unauthorized")


def rls_violation() -> StorageError:
    return access_denied("new row violates row-level security policy")


def resource_already_exists() -> StorageError:
    return StorageError("ResourceAlreadyExists", 409, "The resource already exists", error="Duplicate")


def key_already_exists(key: str = "") -> StorageError:
    return StorageError("KeyAlreadyExists", 409, "The resource already exists", error="Duplicate")


def bucket_already_exists(bucket: str = "") -> StorageError:
    return StorageError("BucketAlreadyExists", 409, "The resource already exists", error="Duplicate")


def bucket_not_empty(bucket: str = "") -> StorageError:
    return StorageError("ResourceNotEmpty", 409, "The bucket you tried to delete is not empty")


def entity_too_large(entity: str = "object", limit: str = "the maximum allowed size") -> StorageError:
    return StorageError("EntityTooLarge", 413, f"The {entity} exceeded {limit}", error="Payload too large")


def invalid_mime_type(mime_type: str) -> StorageError:
    return StorageError("InvalidMimeType", 415, f"mime type {mime_type} is not supported",
                        error="invalid_mime_type")


def invalid_range() -> StorageError:
    return StorageError("InvalidRange", 400, "invalid range provided", error="invalid_range")


def invalid_request(message: str) -> StorageError:
    return StorageError("InvalidRequest", 400, message)


def missing_parameter(name: str) -> StorageError:
    return StorageError("MissingParameter", 400, f"Missing Required Parameter {name}")


def invalid_parameter(name: str, message: str | None = None) -> StorageError:
    return StorageError("InvalidParameter", 400, message or f"Invalid Parameter {name}")


def missing_content_length() -> StorageError:
    return StorageError("MissingContentLength", 400, "You must provide the Content-Length HTTP header.")


def not_supported(feature: str) -> StorageError:
    return StorageError("NotSupported", 409, f"The feature {feature} is not enabled for this resource")


def related_resource_not_found() -> StorageError:
    return StorageError("InvalidRequest", 404, "The related resource does not exist")


def internal_error(message: str = "Internal server error") -> StorageError:
    return StorageError("InternalError", 500, message)


def route_not_found(method: str, path: str) -> StorageError:
    """Fastify's own answer for a route storage-api does not have: the real 404, Fastify's body."""
    message = f"Route {method}:{path} not found"
    return StorageError("NotFound", 404, message, http_status=404,
                        body={"message": message, "error": "Not Found", "statusCode": 404})


def from_database(error: psycopg.Error) -> StorageError:
    """A PostgreSQL error as storage-api's database layer translates it (src/storage/database/errors.ts)."""
    sqlstate = getattr(error, "sqlstate", None)
    diag = getattr(error, "diag", None)
    message = (diag.message_primary if diag else None) or str(error)
    if sqlstate == "42501":
        return access_denied("new row violates row-level security policy" if "row-level security" in message
                             else message)
    if sqlstate == "23505":
        return resource_already_exists()
    if sqlstate == "23503":
        return related_resource_not_found()
    if sqlstate == "55P03":
        return StorageError("ResourceLocked", 423, "The resource is locked")
    if sqlstate == "57014":
        return StorageError("DatabaseTimeout", 544, "The connection to the database timed out", http_status=544)
    if sqlstate == "25006":
        return StorageError("DatabaseReadOnly", 503,
                            "The database is currently in read-only mode. Please try again later.")
    if sqlstate == "22P02":
        return invalid_parameter("value", message or "Invalid value format or type conversion failed")
    return StorageError("DatabaseError", 500, f"database error, code: {sqlstate}")
