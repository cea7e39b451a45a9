"""The Storage API over HTTP with supabase-py's storage client (storage3) and raw requests: uploads, downloads,
headers, listing, removal, move and copy, with Storage's error shape (HTTP 400, the real status in statusCode)."""

from __future__ import annotations

import base64
import json

import httpx
import pytest
from storage3.exceptions import StorageApiError

from supabase import ClientOptions, create_client
from tests.api_harness import ANON_KEY, SERVICE_KEY, running_api
from tests.storage_harness import build_world, object_rows

BUCKET = "message-attachments"


@pytest.fixture(scope="module")
def stack(pg_server, template_db, tmp_path_factory):
    name = pg_server.create_database(template=template_db)
    url = pg_server.url(name)
    world = build_world(url)
    with running_api(url, data_dir=tmp_path_factory.mktemp("storage-data")) as api:
        yield api, world, url
    pg_server.drop_database(name)


def client(api, token: str | None = None):
    options = ClientOptions(headers={"Authorization": f"Bearer {token}"}) if token else ClientOptions()
    return create_client(api.url, ANON_KEY, options=options)


def test_a_participant_uploads_downloads_and_sees_storage_metadata(stack):
    api, world, url = stack
    files = client(api, world.tokens["member"]).storage.from_(BUCKET)
    path = f"{world.group}/hello.txt"
    result = files.upload(path, b"hello world", {"content-type": "text/plain"})
    assert result.path == path
    assert files.download(path) == b"hello world"
    (name, owner_id, version, metadata), = [row for row in object_rows(url, BUCKET) if row[0] == path]
    assert owner_id == str(world.people["member"])
    assert metadata["size"] == 11 and metadata["mimetype"] == "text/plain"
    assert metadata["cacheControl"] == "max-age=3600"
    assert metadata["eTag"].startswith('"') and metadata["httpStatusCode"] == 200
    other = client(api, world.tokens["client"]).storage.from_(BUCKET)
    assert other.download(path) == b"hello world", "another participant reads the attachment"


def test_a_raw_upload_keeps_headers_and_answers_ranges_etags_and_downloads(stack):
    api, world, url = stack
    path = f"{world.group}/raw.csv"
    headers = {**world.headers("member", ANON_KEY), "content-type": "text/csv", "cache-control": "max-age=60",
               "x-metadata": base64.b64encode(json.dumps({"origin": "test"}).encode()).decode()}
    answer = httpx.post(f"{api.url}/storage/v1/object/{BUCKET}/{path}", content=b"a,b\n1,2\n", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["Key"] == f"{BUCKET}/{path}" and answer.json()["Id"]
    auth = world.headers("client", ANON_KEY)
    got = httpx.get(f"{api.url}/storage/v1/object/authenticated/{BUCKET}/{path}", headers=auth)
    assert got.content == b"a,b\n1,2\n"
    assert got.headers["content-type"] == "text/csv"
    assert got.headers["cache-control"] == "max-age=60"
    etag = got.headers["etag"]
    part = httpx.get(f"{api.url}/storage/v1/object/{BUCKET}/{path}", headers={**auth, "Range": "bytes=2-4"})
    assert part.status_code == 206 and part.content == b"b\n1"
    assert part.headers["content-range"] == "bytes 2-4/8"
    cached = httpx.get(f"{api.url}/storage/v1/object/{BUCKET}/{path}", headers={**auth, "If-None-Match": etag})
    assert cached.status_code == 304
    named = httpx.get(f"{api.url}/storage/v1/object/{BUCKET}/{path}?download=report.csv", headers=auth)
    assert named.headers["content-disposition"].startswith("attachment; filename=report.csv")
    head = httpx.head(f"{api.url}/storage/v1/object/{BUCKET}/{path}", headers=auth)
    assert head.status_code == 200 and head.headers["content-length"] == "8"
    info = client(api, world.tokens["client"]).storage.from_(BUCKET).info(path)
    assert info["size"] == 8 and info["content_type"] == "text/csv" and info["metadata"] == {"origin": "test"}


def test_errors_have_storages_shape(stack):
    api, world, url = stack
    auth = world.headers("member", ANON_KEY)
    missing = httpx.get(f"{api.url}/storage/v1/object/{BUCKET}/{world.group}/nope.txt", headers=auth)
    assert missing.status_code == 400
    assert missing.json() == {"statusCode": "404", "code": "NoSuchKey", "error": "not_found",
                              "message": "Object not found"}
    bucket = httpx.post(f"{api.url}/storage/v1/object/no-such-bucket/a.txt", content=b"x", headers=auth)
    assert bucket.json() == {"statusCode": "404", "code": "NoSuchBucket", "error": "Bucket not found",
                             "message": "Bucket not found"}
    bad = httpx.get(f"{api.url}/storage/v1/object/{BUCKET}/a.txt",
                    headers={"apikey": ANON_KEY, "Authorization": "Bearer not-a-jwt"})
    assert bad.status_code == 400
    assert bad.json() == {"statusCode": "403", "code": "AccessDenied", "error": "Unauthorized",
                          "message": "Invalid Compact JWS"}
    with pytest.raises(StorageApiError) as refused:
        client(api, world.tokens["outsider"]).storage.from_(BUCKET).upload(f"{world.group}/x.txt", b"x",
                                                                          {"content-type": "text/plain"})
    assert refused.value.status == "403"
    assert refused.value.message == "new row violates row-level security policy"
    with pytest.raises(StorageApiError) as refused:
        client(api, world.tokens["member"]).storage.from_(BUCKET).upload(f"{world.group}/y.txt", b"y")
    assert refused.value.status == "415", "storage3's default type text/plain;charset=UTF-8 is not text/plain"


def test_listing_moving_copying_and_removing(stack):
    api, world, url = stack
    files = client(api, world.tokens["manager"]).storage.from_(BUCKET)
    base = f"{world.group}/list"
    for name in ("b.txt", "a.txt", "sub/c.txt", "sub/d.txt"):
        files.upload(f"{base}/{name}", name.encode(), {"content-type": "text/plain"})
    entries = files.list(base)
    assert [(e["name"], e["id"] is None) for e in entries] == [("a.txt", False), ("b.txt", False), ("sub", True)]
    assert [e["name"] for e in files.list(base, {"search": "b"})] == ["b.txt"]
    assert [e["name"] for e in files.list(base, {"limit": 1, "offset": 1})] == ["b.txt"]
    page = files.list_v2({"prefix": f"{base}/", "with_delimiter": True})
    assert [f.name for f in page.folders] == ["sub"] and [o.name for o in page.objects] == ["a.txt", "b.txt"]
    files.move(f"{base}/a.txt", f"{base}/moved.txt")
    assert files.download(f"{base}/moved.txt") == b"a.txt"
    files.copy(f"{base}/b.txt", f"{base}/copied.txt")
    assert files.download(f"{base}/copied.txt") == b"b.txt"
    removed = files.remove([f"{base}/moved.txt", f"{base}/copied.txt", f"{base}/never.txt"])
    assert sorted(row["name"] for row in removed) == [f"{base}/copied.txt", f"{base}/moved.txt"]
    assert [e["name"] for e in files.list(base)] == ["b.txt", "sub"]
    service = create_client(api.url, SERVICE_KEY).storage.from_(BUCKET)
    assert service.download(f"{base}/b.txt") == b"b.txt", "the service role bypasses RLS"


def test_list_v2_pages_with_a_cursor_through_files_and_folders(stack):
    api, world, url = stack
    files = client(api, world.tokens["manager"]).storage.from_(BUCKET)
    base = f"{world.group}/v2/"
    for name in ("a.txt", "b/1.txt", "b/2.txt", "c.txt", "d/1.txt", "e.txt"):
        files.upload(base + name, b"x", {"content-type": "text/plain"})
    seen, cursor = [], None
    while True:
        options = {"prefix": base, "with_delimiter": True, "limit": 2}
        if cursor:
            options["cursor"] = cursor
        page = files.list_v2(options)
        seen += [("dir", f.name) for f in page.folders] + [("obj", o.name) for o in page.objects]
        if not page.hasNext:
            break
        cursor = page.nextCursor
    assert sorted(seen) == [("dir", "b"), ("dir", "d"), ("obj", "a.txt"), ("obj", "c.txt"), ("obj", "e.txt")]
    flat = files.list_v2({"prefix": base})
    assert [o.name for o in flat.objects] == ["a.txt", "b/1.txt", "b/2.txt", "c.txt", "d/1.txt", "e.txt"]
    assert flat.hasNext is False


def test_copy_keeps_or_replaces_metadata_as_storage_api_does(stack):
    """copyMetadata (default true) carries the source's file and user metadata; false takes cacheControl and
    mimetype from the body's `metadata` and the user metadata from `x-metadata` (base64 JSON). The answer is the
    new object's row with Id and Key."""
    api, world, url = stack
    token = world.tokens["manager"]
    auth = {"apikey": ANON_KEY, "Authorization": f"Bearer {token}"}
    base = f"{world.group}/copies"
    source = httpx.post(f"{api.url}/storage/v1/object/{BUCKET}/{base}/src.txt", content=b"source", headers={
        **auth, "content-type": "text/plain", "cache-control": "max-age=10",
        "x-metadata": base64.b64encode(json.dumps({"origin": "upload"}).encode()).decode()})
    assert source.status_code == 200, source.text

    def copy(destination: str, body: dict, headers: dict | None = None) -> dict:
        answer = httpx.post(f"{api.url}/storage/v1/object/copy", headers={**auth, **(headers or {})}, json={
            "bucketId": BUCKET, "sourceKey": f"{base}/src.txt", "destinationKey": f"{base}/{destination}", **body})
        assert answer.status_code == 200, answer.text
        return answer.json()

    def info(name: str) -> dict:
        return httpx.get(f"{api.url}/storage/v1/object/info/{BUCKET}/{base}/{name}", headers=auth).json()

    kept = copy("kept.txt", {})
    assert kept["Key"] == f"{BUCKET}/{base}/kept.txt" and kept["name"] == f"{base}/kept.txt"
    assert kept["Id"] == kept["id"] and kept["owner_id"] == str(world.people["manager"])
    assert kept["user_metadata"] == {"origin": "upload"} and kept["metadata"]["cacheControl"] == "max-age=10"
    assert kept["created_at"] and kept["bucket_id"] == BUCKET

    replaced = copy("replaced.txt", {"copyMetadata": False, "metadata": {"cacheControl": "max-age=60"}},
                    {"x-metadata": base64.b64encode(json.dumps({"origin": "copy"}).encode()).decode()})
    assert replaced["user_metadata"] == {"origin": "copy"}
    assert replaced["metadata"]["cacheControl"] == "max-age=60" and replaced["metadata"]["mimetype"] == "text/plain"
    assert info("replaced.txt")["cache_control"] == "max-age=60"
    bare = copy("bare.txt", {"copyMetadata": False})
    assert bare["user_metadata"] is None, "without x-metadata a copy that does not copy metadata has none"
    assert bare["metadata"]["cacheControl"] == "max-age=10", "the source's file metadata stays unless overridden"
