"""The Storage API's HTTP surface (storage-api `src/http/routes/object`, `bucket`, `render`, `tus`), as an ASGI app
the gateway mounts at /storage/v1 (prefix stripped: this app sees `/object/…`, `/bucket/…`).

Every route authenticates as storage-api's jwt plugin does: `Authorization: Bearer <jwt>` verified with the
project's secret (the anon key is the anon role); a missing or bad token is AccessDenied (statusCode 403) with
jose's message. Public and signed-URL routes need no token. Errors render through errors.StorageError (HTTP 400
with the real status in `statusCode`).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from functions_py.storage import errors, limits
from functions_py.storage.buckets import BucketStore
from functions_py.storage.database import Caller, RequestInfo, fetch_all, object_find_many_names
from functions_py.storage.listing import list_v2
from functions_py.storage.objects import ObjectStore
from functions_py.storage.signing import SCOPE_DOWNLOAD, SCOPE_UPLOAD, Signer
from functions_py.storage.uploads import RequestUpload, user_metadata_header
from functions_py.tokens import InvalidToken, TokenVerifier

log = logging.getLogger("supakit.storage")

Handler = Callable[[Request, "re.Match[str]"], Awaitable[Response]]

# jose's messages, which storage-api passes through when it refuses a token
JOSE_MESSAGES = {"missing": "Invalid Compact JWS", "expired": '"exp" claim timestamp check failed',
                 "bad_signature": "signature verification failed", "malformed": "Invalid Compact JWS",
                 "no_role": "Invalid Compact JWS", "unsupported_algorithm": "Unsupported \"alg\" value",
                 "unknown_key": "no applicable key found in the JSON Web Key Set"}


@dataclass
class StorageApp:
    """The routes over one ObjectStore / BucketStore pair."""

    objects: ObjectStore
    buckets: BucketStore
    signer: Signer
    verifier: TokenVerifier
    tus: Any = None

    def __post_init__(self) -> None:
        b = r"(?P<bucket>[^/]+)"
        k = r"(?P<key>.+)"
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = [
            # signed URLs and public objects: no token needed
            ("POST", re.compile(rf"^/object/upload/sign/{b}/{k}$"), self.sign_upload),
            ("PUT", re.compile(rf"^/object/upload/sign/{b}/{k}$"), self.upload_signed),
            ("POST", re.compile(rf"^/object/sign/{b}/{k}$"), self.sign_one),
            ("POST", re.compile(rf"^/object/sign/{b}/?$"), self.sign_many),
            ("GET", re.compile(rf"^/object/sign/{b}/{k}$"), self.get_signed),
            ("HEAD", re.compile(rf"^/object/sign/{b}/{k}$"), self.get_signed),
            ("GET", re.compile(rf"^/object/public/{b}/{k}$"), self.get_public),
            ("HEAD", re.compile(rf"^/object/public/{b}/{k}$"), self.get_public),
            ("GET", re.compile(rf"^/object/info/public/{b}/{k}$"), self.info_public),
            ("GET", re.compile(rf"^/object/info/authenticated/{b}/{k}$"), self.info),
            ("GET", re.compile(rf"^/object/info/{b}/{k}$"), self.info),
            ("GET", re.compile(rf"^/object/authenticated/{b}/{k}$"), self.get_authenticated),
            ("HEAD", re.compile(rf"^/object/authenticated/{b}/{k}$"), self.get_authenticated),
            ("POST", re.compile(r"^/object/move$"), self.move),
            ("POST", re.compile(r"^/object/copy$"), self.copy),
            ("POST", re.compile(rf"^/object/list/{b}$"), self.list),
            ("POST", re.compile(rf"^/object/list-v2/{b}$"), self.list_v2),
            ("POST", re.compile(rf"^/object/{b}/{k}$"), self.upload_post),
            ("PUT", re.compile(rf"^/object/{b}/{k}$"), self.upload_put),
            ("GET", re.compile(rf"^/object/{b}/{k}$"), self.get_authenticated),
            ("HEAD", re.compile(rf"^/object/{b}/{k}$"), self.get_authenticated),
            ("DELETE", re.compile(rf"^/object/{b}/{k}$"), self.delete_one),
            ("DELETE", re.compile(rf"^/object/{b}/?$"), self.delete_many),
            ("GET", re.compile(r"^/bucket/?$"), self.bucket_list),
            ("POST", re.compile(r"^/bucket/?$"), self.bucket_create),
            ("POST", re.compile(rf"^/bucket/{b}/empty$"), self.bucket_empty),
            ("GET", re.compile(rf"^/bucket/{b}$"), self.bucket_get),
            ("PUT", re.compile(rf"^/bucket/{b}$"), self.bucket_update),
            ("DELETE", re.compile(rf"^/bucket/{b}$"), self.bucket_delete),
            ("GET", re.compile(r"^/render/image/.*$"), self.render_image),
            ("GET", re.compile(r"^/status$"), self.status),
        ]

    # -- ASGI ---------------------------------------------------------------------------------------------------

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        path = scope["path"]
        if self.tus is not None and (path == "/upload/resumable" or path.startswith("/upload/resumable/")):
            await self.tus(scope, receive, send)
            return
        request = Request(scope, receive)
        method = request.method
        response: Response
        try:
            response = await self._dispatch(request, method, path)
        except errors.StorageError as error:
            response = error.response(head=method == "HEAD")
        except ClientDisconnect:
            log.info("client disconnected during %s %s", method, path)
            return
        except Exception:
            log.exception("storage request failed: %s %s", method, path)
            response = errors.internal_error().response(head=method == "HEAD")
        await response(scope, receive, send)

    async def _dispatch(self, request: Request, method: str, path: str) -> Response:
        decoded = path  # ASGI's path is already percent-decoded (once, as Fastify decodes the route's params)
        if "\x00" in decoded:
            raise errors.invalid_key(decoded.replace("\x00", "\\0"))
        for route_method, pattern, handler in self.routes:
            if route_method != method:
                continue
            match = pattern.match(decoded)
            if match:
                return await handler(request, match)
        raise errors.route_not_found(method, path)

    # -- callers ------------------------------------------------------------------------------------------------

    def caller(self, request: Request) -> Caller:
        """The verified caller; a missing or bad token is storage-api's jwt plugin refusal (AccessDenied with
        jose's message). The gateway turns an `apikey` alone into the matching JWT, so clients always send one."""
        header = request.headers.get("authorization") or ""
        token = re.sub(r"^Bearer\s+", "", header, flags=re.IGNORECASE)
        try:
            claims = self.verifier.verify(token)
        except InvalidToken as error:
            raise errors.access_denied(JOSE_MESSAGES.get(getattr(error, "reason", ""), "Invalid Compact JWS")) \
                from None
        return Caller(str(claims["role"]), claims, token)

    @staticmethod
    def info_of(request: Request) -> RequestInfo:
        headers = {k.lower(): v for k, v in request.headers.items()}  # all of them, as storage-api passes them
        return RequestInfo(request.method, request.url.path, headers)

    @staticmethod
    async def json_body(request: Request) -> dict[str, Any]:
        raw = await request.body()
        if not raw:
            return {}
        try:
            body = json.loads(raw)
        except ValueError:
            raise errors.invalid_request("Body is not valid JSON") from None
        if not isinstance(body, dict):
            raise errors.invalid_request("body must be object")
        return body

    # -- uploads ------------------------------------------------------------------------------------------------

    async def _upload(self, request: Request, bucket: str, key: str, *, upsert: bool) -> Response:
        caller = self.caller(request)
        limits.must_be_valid_key(key)
        upload = RequestUpload(request)
        info = await upload.open()
        stored = await self.objects.upload(caller, self.info_of(request), bucket, key, info, upload.chunks(),
                                           upsert=upsert)
        return JSONResponse({"Id": str(stored.row["id"]), "Key": stored.key})

    async def upload_post(self, request: Request, m: re.Match[str]) -> Response:
        upsert = _upsert(request)
        return await self._upload(request, m["bucket"], m["key"], upsert=upsert)

    async def upload_put(self, request: Request, m: re.Match[str]) -> Response:
        return await self._upload(request, m["bucket"], m["key"], upsert=True)

    # -- downloads ----------------------------------------------------------------------------------------------

    async def get_authenticated(self, request: Request, m: re.Match[str]) -> Response:
        caller = self.caller(request)
        row = await self.objects.find(caller, self.info_of(request), m["bucket"], m["key"])
        return self.serve(request, row)

    async def get_public(self, request: Request, m: re.Match[str]) -> Response:
        await self.objects.bucket(m["bucket"], public_only=True)
        row = await self.objects.find(None, None, m["bucket"], m["key"])
        return self.serve(request, row)

    async def get_signed(self, request: Request, m: re.Match[str]) -> Response:
        token = request.query_params.get("token")
        if not token:
            raise errors.invalid_signature("Missing token")  # storage-api: querystring must have 'token'
        self.signer.verify(token, f"{m['bucket']}/{m['key']}", SCOPE_DOWNLOAD)
        row = await self.objects.find(None, None, m["bucket"], m["key"])
        return self.serve(request, row)

    def serve(self, request: Request, row: dict[str, Any]) -> Response:
        """The object's bytes with Storage's headers: type, cache control, ETag, Last-Modified; Range → 206,
        a matching If-None-Match → 304, `download` → Content-Disposition."""
        metadata = row.get("metadata") or {}
        size = self.objects.backend.size(row["version"])
        etag = metadata.get("eTag") or ""
        last_modified = row.get("updated_at") or row.get("created_at")
        headers = {
            "Content-Type": str(metadata.get("mimetype") or "application/octet-stream"),
            "Cache-Control": str(metadata.get("cacheControl") or "no-cache"),
            "ETag": etag,
            "Accept-Ranges": "bytes",
        }
        if last_modified is not None:
            headers["Last-Modified"] = email.utils.format_datetime(last_modified.astimezone(dt.UTC), usegmt=True)
        download = request.query_params.get("download")
        if download is not None:
            headers["Content-Disposition"] = _content_disposition(download)
        if_none_match = request.headers.get("if-none-match")
        if if_none_match and etag and _etag_matches(if_none_match, etag):
            return Response(status_code=304, headers={k: v for k, v in headers.items() if k != "Content-Type"})
        head = request.method == "HEAD"
        start, end, status = 0, size - 1, 200
        range_header = request.headers.get("range")
        if range_header and size > 0:
            parsed = _parse_range(range_header, size)
            if parsed is not None:
                start, end = parsed
                status = 206
                headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        length = max(end - start + 1, 0)
        headers["Content-Length"] = str(length)
        if head or length == 0:
            response = Response(b"", status_code=status, headers=headers)
            response.headers["content-length"] = str(length)
            return response
        return StreamingResponse(self.objects.backend.read(row["version"], start, end), status_code=status,
                                 headers=headers)

    async def info(self, request: Request, m: re.Match[str]) -> Response:
        caller = self.caller(request)
        row = await self.objects.find(caller, self.info_of(request), m["bucket"], m["key"],
                                      operation="storage.object.info")
        return JSONResponse(_info(row))

    async def info_public(self, request: Request, m: re.Match[str]) -> Response:
        await self.objects.bucket(m["bucket"], public_only=True)
        row = await self.objects.find(None, None, m["bucket"], m["key"], operation="storage.object.info")
        return JSONResponse(_info(row))

    # -- listing, removing, moving ------------------------------------------------------------------------------

    async def list(self, request: Request, m: re.Match[str]) -> Response:
        caller = self.caller(request)
        body = await self.json_body(request)
        rows = await self.objects.search(caller, self.info_of(request), m["bucket"], body)
        return JSONResponse([_jsonable(row) for row in rows])

    async def list_v2(self, request: Request, m: re.Match[str]) -> Response:
        caller = self.caller(request)
        body = await self.json_body(request)
        page = await list_v2(self.objects.db, caller, self.info_of(request), m["bucket"], body)
        return JSONResponse(page)

    async def delete_one(self, request: Request, m: re.Match[str]) -> Response:
        caller = self.caller(request)
        await self.objects.delete_one(caller, self.info_of(request), m["bucket"], m["key"])
        return JSONResponse({"message": "Successfully deleted"})

    async def delete_many(self, request: Request, m: re.Match[str]) -> Response:
        caller = self.caller(request)
        body = await self.json_body(request)
        prefixes = body.get("prefixes")
        if not isinstance(prefixes, list) or not prefixes or not all(isinstance(p, str) for p in prefixes):
            raise errors.invalid_parameter("prefixes", "body/prefixes must NOT have fewer than 1 items")
        rows = await self.objects.delete_many(caller, self.info_of(request), m["bucket"], prefixes)
        return JSONResponse([_jsonable(row) for row in rows])

    async def move(self, request: Request, m: re.Match[str]) -> Response:
        caller = self.caller(request)
        body = await self.json_body(request)
        bucket, source, destination = _move_params(body)
        await self.objects.move(caller, self.info_of(request), bucket, source, destination,
                                body.get("destinationBucket"))
        return JSONResponse({"message": "Successfully moved"})

    async def copy(self, request: Request, m: re.Match[str]) -> Response:
        caller = self.caller(request)
        body = await self.json_body(request)
        bucket, source, destination = _move_params(body)
        copy_metadata = body.get("copyMetadata", True) is not False
        # as storage-api's copyObject: the body's `metadata` overrides the file metadata (cacheControl, mimetype)
        # and `x-metadata` (base64 JSON) is the user metadata, both only when copyMetadata is false
        file_metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
        stored = await self.objects.copy(
            caller, self.info_of(request), bucket, source, destination, body.get("destinationBucket"),
            upsert=_upsert(request), copy_metadata=copy_metadata,
            file_metadata={k: file_metadata[k] for k in ("cacheControl", "mimetype") if k in file_metadata},
            user_metadata=user_metadata_header(request.headers.get("x-metadata")))
        return JSONResponse({"Id": str(stored.row["id"]), "Key": stored.key, **_jsonable(stored.row)})

    # -- signed URLs --------------------------------------------------------------------------------------------

    async def sign_one(self, request: Request, m: re.Match[str]) -> Response:
        caller = self.caller(request)
        body = await self.json_body(request)
        expires_in = _expires_in(body)
        await self.objects.find(caller, self.info_of(request), m["bucket"], m["key"],
                                operation="storage.object.sign")
        url = f"{m['bucket']}/{m['key']}"
        token = self.signer.sign_download(url, expires_in)
        # the path as it was signed, not percent-encoded (storage-api's signObjectUrl): storage-js runs encodeURI
        # over the whole link, which an encoded path would encode twice
        return JSONResponse({"signedURL": f"/object/sign/{url}?token={token}"})

    async def sign_many(self, request: Request, m: re.Match[str]) -> Response:
        caller = self.caller(request)
        body = await self.json_body(request)
        expires_in = _expires_in(body)
        paths = body.get("paths")
        if not isinstance(paths, list) or not paths or not all(isinstance(p, str) for p in paths):
            raise errors.invalid_parameter("paths", "body/paths must NOT have fewer than 1 items")
        async with self.objects.db.as_caller(caller, self.info_of(request), "storage.object.sign_many") as cur:
            found = {row["name"] for row in await fetch_all(cur, object_find_many_names,
                                                            {"bucket": m["bucket"], "names": paths})}
        results = []
        for path in paths:
            if path in found:
                url = f"{m['bucket']}/{path}"
                token = self.signer.sign_download(url, expires_in)
                results.append({"error": None, "path": path,
                                "signedURL": f"/object/sign/{url}?token={token}"})
            else:
                results.append({"error": "Either the object does not exist or you do not have access to it",
                                "path": path, "signedURL": None})
        return JSONResponse(results)

    async def sign_upload(self, request: Request, m: re.Match[str]) -> Response:
        caller = self.caller(request)
        bucket, key = m["bucket"], m["key"]
        limits.must_be_valid_key(key)
        await self.objects.bucket(bucket)
        upsert = _upsert(request)
        await self.objects.can_upload(caller, self.info_of(request), bucket, key, upsert=upsert, owner=caller.sub,
                                      operation="storage.object.upload_sign")
        url = f"{bucket}/{key}"
        token = self.signer.sign_upload(url, caller.sub, upsert)
        return JSONResponse({"url": f"/object/upload/sign/{_quote_path(url)}?token={token}", "token": token})

    async def upload_signed(self, request: Request, m: re.Match[str]) -> Response:
        bucket, key = m["bucket"], m["key"]
        token = request.query_params.get("token")
        if not token:
            raise errors.invalid_signature("Missing token")
        payload = self.signer.verify(token, f"{bucket}/{key}", SCOPE_UPLOAD)
        owner = payload.get("owner")
        caller = Caller("anon", {"role": "anon"}) if not owner else Caller("authenticated", {"sub": owner,
                                                                                          "role": "authenticated"})
        upload = RequestUpload(request)
        info = await upload.open()
        stored = await self.objects.upload(caller, self.info_of(request), bucket, key, info, upload.chunks(),
                                           upsert=bool(payload.get("upsert")), owner=owner or None,
                                           skip_permission_test=True)
        return JSONResponse({"Id": str(stored.row["id"]), "Key": stored.key})

    # -- buckets ------------------------------------------------------------------------------------------------

    async def bucket_list(self, request: Request, m: re.Match[str]) -> Response:
        caller = self.caller(request)
        return JSONResponse(await self.buckets.list(caller, self.info_of(request), dict(request.query_params)))

    async def bucket_get(self, request: Request, m: re.Match[str]) -> Response:
        caller = self.caller(request)
        return JSONResponse(await self.buckets.get(caller, self.info_of(request), m["bucket"]))

    async def bucket_create(self, request: Request, m: re.Match[str]) -> Response:
        caller = self.caller(request)
        return JSONResponse(await self.buckets.create(caller, self.info_of(request), await self.json_body(request)))

    async def bucket_update(self, request: Request, m: re.Match[str]) -> Response:
        caller = self.caller(request)
        await self.buckets.update(caller, self.info_of(request), m["bucket"], await self.json_body(request))
        return JSONResponse({"message": "Successfully updated"})

    async def bucket_delete(self, request: Request, m: re.Match[str]) -> Response:
        caller = self.caller(request)
        await self.buckets.delete(caller, self.info_of(request), m["bucket"])
        return JSONResponse({"message": "Successfully deleted"})

    async def bucket_empty(self, request: Request, m: re.Match[str]) -> Response:
        caller = self.caller(request)
        await self.buckets.empty(caller, self.info_of(request), m["bucket"])
        # Storage queues the work and says so; here it is done before the answer, with Storage's words
        return JSONResponse({"message": "Empty bucket has been queued. Completion may take up to an hour."})

    # -- the rest -----------------------------------------------------------------------------------------------

    async def render_image(self, request: Request, m: re.Match[str]) -> Response:
        # Supabase runs imgproxy beside Storage for this; storage-api answers the same error when the feature
        # is off for a project.
        raise errors.StorageError("NotSupported", 409, "Image transformation is not available in the local "
                                  "Storage (Supabase runs imgproxy for it): download the original from "
                                  "/object/… instead, or use hosted Supabase")

    async def status(self, request: Request, m: re.Match[str]) -> Response:
        return Response(b"", status_code=200)


# -- helpers --------------------------------------------------------------------------------------------------------


def _quote_path(path: str) -> str:
    return quote(path, safe="/!$&'()*+,;=:@-._~")


def _content_disposition(download: str) -> str:
    if download == "" or download.lower() == "true":
        return "attachment;"
    encoded = quote(download, safe="")
    return f"attachment; filename={encoded}; filename*=UTF-8''{encoded};"


def _etag_matches(header: str, etag: str) -> bool:
    wanted = {item.strip().removeprefix("W/") for item in header.split(",")}
    return "*" in wanted or etag in wanted or etag.strip('"') in {w.strip('"') for w in wanted}


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    """One byte range (`bytes=a-b`, `a-`, `-n`) clamped to the object; an unsatisfiable one is InvalidRange;
    a malformed or multi-range header is ignored (the whole object, as S3 does)."""
    match = _RANGE.match(header.strip())
    if not match:
        return None
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if first == "":
        length = int(last)
        if length == 0:
            raise errors.invalid_range()
        return max(size - length, 0), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if start >= size or end < start:
        raise errors.invalid_range()
    return start, min(end, size - 1)


def _expires_in(body: dict[str, Any]) -> int:
    raw = body.get("expiresIn")
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise errors.invalid_parameter("expiresIn", "body must have required property 'expiresIn'") from None
    if value < 1:
        raise errors.invalid_parameter("expiresIn", "body/expiresIn must be >= 1")
    return value


def _move_params(body: dict[str, Any]) -> tuple[str, str, str]:
    for name in ("bucketId", "sourceKey", "destinationKey"):
        if not isinstance(body.get(name), str) or not body[name]:
            raise errors.invalid_parameter(name, f"body must have required property '{name}'")
    return body["bucketId"], body["sourceKey"], body["destinationKey"]


def _upsert(request: Request) -> bool:
    """`x-upsert: true`, compared exactly as storage-api does."""
    return request.headers.get("x-upsert") == "true"


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in row.items():
        if hasattr(value, "isoformat"):
            value = value.isoformat()
        elif isinstance(value, uuid.UUID):
            value = str(value)
        out[key] = value
    return out


def _info(row: dict[str, Any]) -> dict[str, Any]:
    """Object info as storage-api's info renderer answers it."""
    metadata = row.get("metadata") or {}
    return _jsonable({
        "id": row["id"], "name": row["name"], "version": row["version"], "bucket_id": row["bucket_id"],
        "size": metadata.get("size"), "content_type": metadata.get("mimetype"),
        "cache_control": metadata.get("cacheControl"), "etag": metadata.get("eTag"),
        "metadata": row.get("user_metadata"), "last_modified": row.get("updated_at"),
        "created_at": row.get("created_at"),
    })


