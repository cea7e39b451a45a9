"""Resumable (TUS) uploads with tuspy: chunked upload, resume after an interruption (nothing visible before the last
byte), termination, the size limit at creation, and a signed upload URL's token in `x-signature`."""

from __future__ import annotations

import io
import os

import httpx
import pytest
from tusclient import client as tus_client
from tusclient.exceptions import TusCommunicationError

from supabase import ClientOptions, create_client
from tests.api_harness import ANON_KEY, running_api
from tests.storage_harness import build_world, object_rows

BUCKET = "message-attachments"


@pytest.fixture(scope="module")
def stack(pg_server, template_db, tmp_path_factory):
    name = pg_server.create_database(template=template_db)
    url = pg_server.url(name)
    world = build_world(url)
    with running_api(url, data_dir=tmp_path_factory.mktemp("storage-tus")) as api:
        yield api, world, url
    pg_server.drop_database(name)


def tus(api, headers: dict[str, str], path: str = "/storage/v1/upload/resumable") -> tus_client.TusClient:
    return tus_client.TusClient(f"{api.url}{path}", headers=headers)


def meta(world, name: str, content_type: str = "application/pdf") -> dict[str, str]:
    return {"bucketName": BUCKET, "objectName": f"{world.group}/{name}", "contentType": content_type,
            "cacheControl": "3600"}


def test_a_chunked_upload_resumes_and_is_invisible_until_complete(stack):
    api, world, url = stack
    data = os.urandom(3 * 1024 * 1024 + 17)
    client = tus(api, world.headers("member", ANON_KEY))
    first = client.uploader(file_stream=io.BytesIO(data), chunk_size=1024 * 1024, metadata=meta(world, "doc.pdf"))
    first.upload_chunk()
    head = httpx.head(first.url, headers=world.headers("member", ANON_KEY))
    assert head.status_code == 200 and head.headers["upload-offset"] == str(1024 * 1024)
    assert head.headers["upload-length"] == str(len(data)) and head.headers["tus-resumable"] == "1.0.0"
    assert f"{world.group}/doc.pdf" not in [r[0] for r in object_rows(url, BUCKET)], "nothing visible yet"
    others = httpx.head(first.url, headers=world.headers("client", ANON_KEY))
    assert others.status_code == 404, "an upload belongs to whoever started it"
    resumed = client.uploader(file_stream=io.BytesIO(data), url=first.url, chunk_size=1024 * 1024)
    resumed.upload()
    files = create_client(api.url, ANON_KEY, options=ClientOptions(
        headers={"Authorization": f"Bearer {world.tokens['client']}"})).storage.from_(BUCKET)
    assert files.download(f"{world.group}/doc.pdf") == data
    (row,) = [r for r in object_rows(url, BUCKET) if r[0] == f"{world.group}/doc.pdf"]
    assert row[1] == str(world.people["member"]) and row[3]["size"] == len(data)
    assert row[3]["mimetype"] == "application/pdf" and row[3]["cacheControl"] == "max-age=3600"


def test_termination_and_the_limits_at_creation(stack):
    api, world, url = stack
    client = tus(api, world.headers("member", ANON_KEY))
    uploader = client.uploader(file_stream=io.BytesIO(b"x" * 2048), chunk_size=1024, metadata=meta(world, "gone.pdf"))
    uploader.upload_chunk()
    assert httpx.delete(uploader.url, headers={**world.headers("member", ANON_KEY),
                                               "Tus-Resumable": "1.0.0"}).status_code == 204
    assert httpx.head(uploader.url, headers=world.headers("member", ANON_KEY)).status_code == 404
    too_big = httpx.post(f"{api.url}/storage/v1/upload/resumable", headers={
        **world.headers("member", ANON_KEY), "Tus-Resumable": "1.0.0", "Upload-Length": str(30 * 1024 * 1024),
        "Upload-Metadata": "bucketName bWVzc2FnZS1hdHRhY2htZW50cw==,objectName YS50eHQ="})
    assert too_big.status_code == 413 and too_big.json()["code"] == "EntityTooLarge"
    with pytest.raises(TusCommunicationError):
        client.uploader(file_stream=io.BytesIO(b"#!"), metadata=meta(world, "x.sh", "application/x-sh")).upload()
    outsider = tus(api, world.headers("outsider", ANON_KEY))
    with pytest.raises(TusCommunicationError) as refused:
        outsider.uploader(file_stream=io.BytesIO(b"%PDF"), metadata=meta(world, "o.pdf")).upload()
    assert refused.value.status_code == 403


def test_a_signed_upload_url_token_authorises_a_resumable_upload(stack):
    api, world, url = stack
    files = create_client(api.url, ANON_KEY, options=ClientOptions(
        headers={"Authorization": f"Bearer {world.tokens['member']}"})).storage.from_(BUCKET)
    path = f"{world.group}/signed-tus.pdf"
    signed = files.create_signed_upload_url(path)
    client = tus(api, {"x-signature": signed["token"]}, "/storage/v1/upload/resumable/sign")
    client.uploader(file_stream=io.BytesIO(b"%PDF-signed"), chunk_size=4,
                    metadata=meta(world, "signed-tus.pdf")).upload()
    assert files.download(path) == b"%PDF-signed"
    wrong = tus(api, {"x-signature": signed["token"]}, "/storage/v1/upload/resumable/sign")
    with pytest.raises(TusCommunicationError):
        wrong.uploader(file_stream=io.BytesIO(b"%PDF"), metadata=meta(world, "other.pdf")).upload()
