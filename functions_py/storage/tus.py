"""Resumable uploads at /upload/resumable: the TUS 1.0.0 protocol as Storage serves it to tus-js-client and tuspy
(extensions creation, creation-with-upload, termination).

    POST   /upload/resumable[/sign] Upload-Length, Upload-Metadata (bucketName, objectName, contentType,
                                    cacheControl, metadata), optional x-upsert → 201, Location …/<upload id>
    HEAD   /upload/resumable/<id>   → Upload-Offset, Upload-Length
    PATCH  /upload/resumable/<id>   Upload-Offset, application/offset+octet-stream body → 204, new Upload-Offset
    DELETE /upload/resumable/<id>   → 204, the partial upload is gone

`/upload/resumable/sign` is the same with a signed upload URL's token in `x-signature` instead of a JWT.
Creation runs Storage's checks before a byte is accepted: a valid key, the bucket (NoSuchBucket), its MIME types
and size limit, and the permission test as the caller. Partial bytes live in `<root>/.tus/` (never visible: no row
exists until the last PATCH completes the upload, which writes the row exactly as a plain upload does). The upload
id is `base64url(<bucket>/<key>/<version>)`, as storage-api names its uploads; only the version names a file.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import json
import os
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from functions_py.storage import errors, limits
from functions_py.storage.backend import WrittenFile
from functions_py.storage.uploads import UploadInfo

TUS_VERSION = "1.0.0"
EXTENSIONS = "creation,creation-with-upload,termination"
EXPIRY_S = 24 * 3600  # incomplete uploads older than this are removed at start


@dataclass
class TusUpload:
    bucket: str
    name: str
    version: str
    length: int
    mimetype: str
    cache_control: str
    upsert: bool
    owner: str | None
    role: str
    user_metadata: dict[str, Any] | None
    created: float


def _metadata(header: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in header.split(","))):
        key, _, encoded = item.partition(" ")
        try:
            values[key] = base64.b64decode(encoded).decode() if encoded else ""
        except (binascii.Error, UnicodeDecodeError):
            raise errors.invalid_request(f"Upload-Metadata {key} is not base64") from None
    return values


def _upload_id(bucket: str, name: str, version: str) -> str:
    return base64.urlsafe_b64encode(f"{bucket}/{name}/{version}".encode()).decode().rstrip("=")


def _version_of(upload_id: str) -> str:
    try:
        decoded = base64.urlsafe_b64decode(upload_id + "=" * (-len(upload_id) % 4)).decode()
        version = decoded.rsplit("/", 1)[1]
        return str(uuid.UUID(version))
    except (binascii.Error, UnicodeDecodeError, IndexError, ValueError):
        raise errors.no_such_upload() from None


class TusApp:
    """The TUS routes over the Storage app's object store (its caller checks and upload completion)."""

    def __init__(self, storage: Any, directory: Path) -> None:
        self.storage = storage
        self.directory = Path(directory)
        self._locks: dict[str, asyncio.Lock] = {}

    def _data(self, version: str) -> Path:
        return self.directory / f"{version}.part"

    def _info(self, version: str) -> Path:
        return self.directory / f"{version}.json"

    def sweep(self) -> None:
        if not self.directory.is_dir():
            return
        cutoff = time.time() - EXPIRY_S
        for entry in self.directory.iterdir():
            with contextlib.suppress(FileNotFoundError):
                if entry.stat().st_mtime < cutoff:
                    entry.unlink()

    def _headers(self, **extra: str) -> dict[str, str]:
        return {"Tus-Resumable": TUS_VERSION, **extra}

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        request = Request(scope, receive)
        try:
            response = await self._dispatch(request)
        except errors.StorageError as error:
            body = b"" if request.method == "HEAD" else json.dumps(
                {**error.body()}, separators=(",", ":")).encode()
            status = error.status if 400 <= error.status < 600 else 400
            response = Response(body, status_code=status, media_type="application/json",
                                headers=self._headers())
        except ClientDisconnect:
            return
        await response(scope, receive, send)

    async def _dispatch(self, request: Request) -> Response:
        path = request.url.path
        rest = path[len("/upload/resumable"):].strip("/")
        method = request.method
        if method == "OPTIONS":
            return Response(status_code=204, headers=self._headers(
                **{"Tus-Version": TUS_VERSION, "Tus-Extension": EXTENSIONS,
                   "Tus-Max-Size": str(self.storage.objects.global_limit)}))
        signed = rest == "sign" or rest.startswith("sign/")
        if signed:
            rest = rest[len("sign"):].strip("/")
        if not rest:
            if method == "POST":
                return await self.create(request, signed=signed)
            raise errors.route_not_found(method, path)
        if "/" in rest:
            raise errors.no_such_upload()
        version = _version_of(rest)
        if method == "HEAD":
            return await self.head(request, version)
        if method == "PATCH":
            return await self.patch(request, version)
        if method == "DELETE":
            return await self.terminate(request, version)
        raise errors.route_not_found(method, path)

    def _load(self, version: str) -> TusUpload:
        try:
            return TusUpload(**json.loads(self._info(version).read_text()))
        except (FileNotFoundError, ValueError, TypeError):
            raise errors.no_such_upload() from None

    def _signature(self, request: Request, bucket: str, name: str) -> dict[str, Any]:
        """The signed upload URL token of `x-signature` (a TUS upload through createSignedUploadUrl's token)."""
        from functions_py.storage.signing import SCOPE_UPLOAD

        return self.storage.signer.verify(request.headers.get("x-signature"), f"{bucket}/{name}", SCOPE_UPLOAD)

    def _check_caller(self, request: Request, upload: TusUpload) -> None:
        if request.headers.get("x-signature") is not None:
            payload = self._signature(request, upload.bucket, upload.name)
            if (payload.get("owner") or None) != upload.owner:
                raise errors.no_such_upload()
            return
        caller = self.storage.caller(request)
        if not caller.is_service and (caller.sub or None) != upload.owner:
            raise errors.no_such_upload()

    async def create(self, request: Request, *, signed: bool = False) -> Response:
        raw_length = request.headers.get("upload-length")
        if raw_length is None or not raw_length.isdigit():
            raise errors.invalid_request("Upload-Length header is required (deferred lengths are not supported)")
        length = int(raw_length)
        meta = _metadata(request.headers.get("upload-metadata", ""))
        bucket_id, name = meta.get("bucketName"), meta.get("objectName")
        if not bucket_id:
            raise errors.invalid_request("metadata bucketName is required")
        limits.must_be_valid_key(name)
        assert name is not None
        objects = self.storage.objects
        bucket = await objects.bucket(bucket_id)
        if length > objects.size_limit(bucket):
            raise errors.entity_too_large()
        mimetype = meta.get("contentType") or "application/octet-stream"
        limits.must_allow_mime(mimetype, bucket.get("allowed_mime_types"))
        cache = meta.get("cacheControl")
        user_metadata = None
        if meta.get("metadata"):
            try:
                user_metadata = json.loads(meta["metadata"])
            except ValueError:
                raise errors.invalid_parameter("metadata") from None
        if signed:
            payload = self._signature(request, bucket_id, name)
            owner = payload.get("owner") or None
            caller = None
            upsert = bool(payload.get("upsert"))
        else:
            caller = self.storage.caller(request)
            owner = caller.sub
            upsert = request.headers.get("x-upsert") == "true"
        info = UploadInfo(mimetype=mimetype, cache_control=f"max-age={cache}" if cache and cache.isdigit()
                          else (cache or "no-cache"), user_metadata=user_metadata, content_length=length)
        if caller is not None:  # a signed upload URL passed the permission test when it was signed
            await objects.can_upload(caller, self.storage.info_of(request), bucket_id, name, upsert=upsert,
                                     owner=owner, info=info, operation="storage.object.upload_resumable")
        version = str(uuid.uuid4())
        upload = TusUpload(bucket=bucket_id, name=name, version=version, length=length, mimetype=info.mimetype,
                           cache_control=info.cache_control, upsert=upsert, owner=owner,
                           role=caller.role if caller else "authenticated",
                           user_metadata=user_metadata, created=time.time())
        self.directory.mkdir(parents=True, exist_ok=True)
        self._data(version).touch()
        self._info(version).write_text(json.dumps(asdict(upload)))
        upload_id = _upload_id(bucket_id, name, version)
        location = self._location(request, ("sign/" if signed else "") + upload_id)
        headers = self._headers(Location=location)
        if request.headers.get("content-type") == "application/offset+octet-stream":
            offset, done = await self._append(request, upload, 0)
            headers["Upload-Offset"] = str(offset)
            if done:
                await self._complete(upload)
        elif length == 0:
            headers["Upload-Offset"] = "0"
            await self._complete(upload)
        return Response(status_code=201, headers=headers)

    @staticmethod
    def _location(request: Request, upload_id: str) -> str:
        host = request.headers.get("x-forwarded-host") or request.headers.get("host") or "127.0.0.1"
        scheme = request.headers.get("x-forwarded-proto") or request.url.scheme
        return f"{scheme}://{host}{request.scope.get('root_path', '')}/upload/resumable/{upload_id}"

    async def head(self, request: Request, version: str) -> Response:
        upload = self._load(version)
        self._check_caller(request, upload)
        offset = self._data(version).stat().st_size if self._data(version).exists() else 0
        return Response(status_code=200, headers=self._headers(**{
            "Upload-Offset": str(offset), "Upload-Length": str(upload.length), "Cache-Control": "no-store"}))

    async def patch(self, request: Request, version: str) -> Response:
        upload = self._load(version)
        self._check_caller(request, upload)
        if request.headers.get("content-type") != "application/offset+octet-stream":
            return Response(status_code=415, headers=self._headers())
        raw_offset = request.headers.get("upload-offset", "")
        if not raw_offset.isdigit():
            raise errors.invalid_request("Upload-Offset header is required")
        offset, done = await self._append(request, upload, int(raw_offset))
        if done:
            await self._complete(upload)
        return Response(status_code=204, headers=self._headers(**{"Upload-Offset": str(offset)}))

    async def _append(self, request: Request, upload: TusUpload, offset: int) -> tuple[int, bool]:
        """Append the body at `offset` (which must be the current size: 409 otherwise); bytes a disconnect cut
        off are kept, so the client resumes from them."""
        lock = self._locks.setdefault(upload.version, asyncio.Lock())
        async with lock:
            data = self._data(upload.version)
            if not data.exists():
                raise errors.no_such_upload()
            current = data.stat().st_size
            if offset != current:
                raise errors.StorageError("InvalidRequest", 409, "Upload-Offset conflict")
            fd = os.open(data, os.O_WRONLY | os.O_APPEND)
            try:
                async for chunk in request.stream():
                    if not chunk:
                        continue
                    if current + len(chunk) > upload.length:
                        raise errors.entity_too_large()
                    view = memoryview(chunk)
                    while view:
                        written = os.write(fd, view)
                        view = view[written:]
                    current += len(chunk)
            finally:
                os.close(fd)
            return current, current == upload.length

    async def _complete(self, upload: TusUpload) -> None:
        data = self._data(upload.version)
        digest = await asyncio.to_thread(_md5, data)
        objects = self.storage.objects
        objects.backend.adopt(data, upload.version)
        written = WrittenFile(upload.version, upload.length, f'"{digest}"')
        info = UploadInfo(mimetype=upload.mimetype, cache_control=upload.cache_control,
                          user_metadata=upload.user_metadata)
        try:
            await objects.complete(upload.bucket, upload.name, written, info, upsert=upload.upsert,
                                   owner=upload.owner)
        finally:
            with contextlib.suppress(FileNotFoundError):
                self._info(upload.version).unlink()
            self._locks.pop(upload.version, None)

    async def terminate(self, request: Request, version: str) -> Response:
        upload = self._load(version)
        self._check_caller(request, upload)
        for path in (self._data(version), self._info(version)):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        return Response(status_code=204, headers=self._headers())


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
