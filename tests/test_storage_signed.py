"""Signed URLs, public buckets, bucket limits and MIME types, and the bucket API, through supabase-py's storage
client and raw HTTP."""

from __future__ import annotations

import time

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
    with running_api(url, data_dir=tmp_path_factory.mktemp("storage-signed")) as api:
        yield api, world, url
    pg_server.drop_database(name)


def storage(api, world=None, who: str | None = None, key: str = ANON_KEY):
    options = ClientOptions(headers={"Authorization": f"Bearer {world.tokens[who]}"}) if who else ClientOptions()
    return create_client(api.url, key, options=options).storage


def test_signed_urls_open_without_a_token_and_expire(stack):
    api, world, url = stack
    files = storage(api, world, "member").from_(BUCKET)
    path = f"{world.group}/signed.txt"
    files.upload(path, b"signed", {"content-type": "text/plain"})
    short = files.create_signed_url(path, 1)["signedURL"]
    long = files.create_signed_url(path, 3600, {"download": "x.txt"})["signedURL"]
    answer = httpx.get(long)
    assert answer.content == b"signed"
    assert answer.headers["content-disposition"].startswith("attachment; filename=x.txt")
    time.sleep(2.1)
    expired = httpx.get(short)
    assert expired.status_code == 400
    assert expired.json() == {"statusCode": "400", "code": "InvalidJWT", "error": "InvalidJWT",
                              "message": '"exp" claim timestamp check failed'}
    token = long.split("token=")[1].split("&")[0]
    other = httpx.get(f"{api.url}/storage/v1/object/sign/{BUCKET}/{world.group}/other.txt?token={token}")
    assert other.json()["code"] == "InvalidSignature", "a token names exactly one object"
    forged = httpx.get(f"{api.url}/storage/v1/object/sign/{BUCKET}/{path}?token={token[:-3]}abc")
    assert forged.json()["code"] == "InvalidJWT"
    many = files.create_signed_urls([path, f"{world.group}/missing.txt"], 60)
    assert httpx.get(many[0]["signedURL"]).content == b"signed"
    assert many[1]["error"] == "Either the object does not exist or you do not have access to it"


def test_signed_upload_urls(stack):
    api, world, url = stack
    files = storage(api, world, "member").from_(BUCKET)
    path = f"{world.group}/via-signed-upload.txt"
    signed = files.create_signed_upload_url(path)
    files.upload_to_signed_url(path, signed["token"], b"uploaded", {"content-type": "text/plain"})
    assert files.download(path) == b"uploaded"
    (row,) = [r for r in object_rows(url, BUCKET) if r[0] == path]
    assert row[1] == str(world.people["member"]), "the token's owner owns the object"
    download_token = files.create_signed_url(path, 60)["signedURL"].split("token=")[1]
    wrong = httpx.put(f"{api.url}/storage/v1/object/upload/sign/{BUCKET}/{path}?token={download_token}",
                      content=b"x", headers={"content-type": "text/plain"})
    assert wrong.json()["message"] == "Token is not scoped for upload"
    with pytest.raises(StorageApiError) as refused:
        storage(api, world, "outsider").from_(BUCKET).create_signed_upload_url(f"{world.group}/no.txt")
    assert refused.value.status == "403", "signing an upload runs the permission test"


def test_public_buckets_serve_without_a_token_and_private_ones_do_not(stack):
    api, world, url = stack
    service = storage(api, key=SERVICE_KEY)
    service.create_bucket("avatars", options={"public": True, "allowed_mime_types": ["image/*"],
                                              "file_size_limit": "1KB"})
    service.from_("avatars").upload("me.png", b"png-bytes", {"content-type": "image/png"})
    public_url = service.from_("avatars").get_public_url("me.png")
    answer = httpx.get(public_url)
    assert answer.status_code == 200 and answer.content == b"png-bytes"
    assert answer.headers["content-type"] == "image/png"
    private = httpx.get(f"{api.url}/storage/v1/object/public/{BUCKET}/{world.group}/signed.txt")
    assert private.json()["message"] == "Bucket not found"

    with pytest.raises(StorageApiError) as refused:
        service.from_("avatars").upload("doc.pdf", b"%PDF", {"content-type": "application/pdf"})
    assert (refused.value.status, refused.value.message) == ("415", "mime type application/pdf is not supported")
    with pytest.raises(StorageApiError) as refused:
        service.from_("avatars").upload("big.png", b"x" * 1001, {"content-type": "image/png"})
    assert (refused.value.status, refused.value.message) == ("413", "The object exceeded the maximum allowed size")
    raw = httpx.post(f"{api.url}/storage/v1/object/avatars/big2.png", content=b"x" * 1001,
                     headers={"apikey": SERVICE_KEY, "Authorization": f"Bearer {SERVICE_KEY}",
                              "content-type": "image/png"})
    assert raw.json()["statusCode"] == "413"
    assert [r[0] for r in object_rows(url, "avatars")] == ["me.png"], "refused uploads leave no row"


def test_message_attachments_enforce_the_migrations_limits(stack):
    api, world, url = stack
    files = storage(api, world, "member").from_(BUCKET)
    with pytest.raises(StorageApiError) as refused:
        files.upload(f"{world.group}/run.sh", b"#!/bin/sh", {"content-type": "application/x-sh"})
    assert refused.value.status == "415"


def test_the_bucket_api(stack):
    api, world, url = stack
    service = storage(api, key=SERVICE_KEY)
    assert service.create_bucket("scratch").get("name") == "scratch"
    with pytest.raises(StorageApiError) as refused:
        service.create_bucket("scratch")
    assert refused.value.status == "409"
    assert refused.value.code == "Duplicate", "storage3 reads `error`: storage-api's name for the 409"
    # storage-api answers the body's name, which may differ from the id
    assert service.create_bucket("named-id", name="Display name").get("name") == "Display name"
    assert service.get_bucket("named-id").name == "Display name"
    bucket = service.get_bucket("scratch")
    assert bucket.public is False and bucket.file_size_limit is None
    service.update_bucket("scratch", {"public": True, "file_size_limit": 2048, "allowed_mime_types": ["text/*"]})
    bucket = service.get_bucket("scratch")
    assert (bucket.public, bucket.file_size_limit, bucket.allowed_mime_types) == (True, 2048, ["text/*"])
    assert "scratch" in [b.id for b in service.list_buckets()]
    service.from_("scratch").upload("a.txt", b"a", {"content-type": "text/plain"})
    with pytest.raises(StorageApiError) as refused:
        service.delete_bucket("scratch")
    assert refused.value.status == "409"
    service.empty_bucket("scratch")
    assert object_rows(url, "scratch") == []
    service.delete_bucket("scratch")
    with pytest.raises(StorageApiError) as refused:
        service.get_bucket("scratch")
    assert refused.value.status == "404"
    user = storage(api, world, "member")
    assert [b.id for b in user.list_buckets()] == [], "RLS on storage.buckets: no policy lets users see buckets"
    with pytest.raises(StorageApiError) as refused:
        user.create_bucket("mine")
    assert refused.value.status == "403"


def test_a_signed_url_carries_the_path_unencoded_and_exists_answers_for_storage3(stack):
    """storage-api puts the signed path into signedURL as it was signed (storage-js encodes the whole link once);
    a missing object's `error` is storage-api's `not_found`, which storage3's exists() relies on."""
    api, world, url = stack
    files = storage(api, world, "member").from_(BUCKET)
    path = f"{world.group}/my notes (1).txt"
    files.upload(path, b"spaced", {"content-type": "text/plain"})
    auth = {"apikey": ANON_KEY, "Authorization": f"Bearer {world.tokens['member']}"}
    one = httpx.post(f"{api.url}/storage/v1/object/sign/{BUCKET}/{path}", json={"expiresIn": 60}, headers=auth)
    assert one.json()["signedURL"].startswith(f"/object/sign/{BUCKET}/{path}?token="), one.text
    many = httpx.post(f"{api.url}/storage/v1/object/sign/{BUCKET}", json={"expiresIn": 60, "paths": [path]},
                      headers=auth).json()
    assert many[0]["signedURL"].startswith(f"/object/sign/{BUCKET}/{path}?token=")
    assert httpx.get(files.create_signed_url(path, 60)["signedURL"]).content == b"spaced"
    assert files.exists(path) is True
    assert files.exists(f"{world.group}/missing.txt") is False
