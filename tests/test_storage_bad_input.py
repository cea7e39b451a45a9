"""Bad input to the Storage API: path traversal, NUL, overlong keys, unknown buckets, wrong tokens, oversized bodies,
a client that disconnects mid-upload, concurrent upserts of one key. Storage's errors every time, no partial files,
no rows without files, and the server keeps serving."""

from __future__ import annotations

import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.api_harness import SERVICE_KEY, running_api
from tests.storage_harness import build_world, object_rows

BUCKET = "message-attachments"
SERVICE = {"apikey": SERVICE_KEY, "Authorization": f"Bearer {SERVICE_KEY}"}


@pytest.fixture(scope="module")
def stack(pg_server, template_db, tmp_path_factory):
    name = pg_server.create_database(template=template_db)
    url = pg_server.url(name)
    world = build_world(url)
    data = tmp_path_factory.mktemp("storage-bad")
    with running_api(url, data_dir=data, settings={"storage.file_size_limit": 4 * 1024 * 1024}) as api:
        yield api, world, url, data / "storage"
    pg_server.drop_database(name)


def stored_files(root: Path) -> set[str]:
    return {p.name for p in root.rglob("*") if p.is_file() and ".tmp" not in p.parts and ".tus" not in p.parts}


def temp_files(root: Path) -> list[Path]:
    return [p for p in (root / ".tmp").glob("*")] if (root / ".tmp").exists() else []


def all_versions(url: str) -> set[str]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        return {v for (v,) in conn.execute("select version from storage.objects")}


@pytest.mark.parametrize("raw_key", ["%2E%2E/%2E%2E/etc/passwd", "a/%2E%2E/b.txt", "/etc/passwd", "a%00b.txt",
                                     "a//b.txt", "x" * 1100, "caf%C3%A9%E2%80%8B.txt"])
def test_unsafe_keys_are_invalid_keys(stack, raw_key):
    api, world, url, root = stack
    answer = httpx.post(f"{api.url}/storage/v1/object/{BUCKET}/{world.group}/{raw_key}".replace(
        f"{world.group}//etc", "/etc"), content=b"x", headers={**SERVICE, "content-type": "text/plain"})
    assert answer.status_code == 400
    assert answer.json()["code"] == "InvalidKey", answer.text
    assert answer.json()["statusCode"] == "400"


def test_unknown_buckets_wrong_tokens_and_oversized_bodies(stack):
    api, world, url, root = stack
    before = stored_files(root)
    answer = httpx.get(f"{api.url}/storage/v1/bucket/nope", headers=SERVICE)
    assert answer.json() == {"statusCode": "404", "code": "NoSuchBucket", "error": "Bucket not found",
                             "message": "Bucket not found"}
    expired = httpx.get(f"{api.url}/storage/v1/object/{BUCKET}/{world.group}/a.txt",
                        headers={"Authorization": "Bearer " + _expired_token(world)})
    assert expired.json() == {"statusCode": "403", "code": "AccessDenied", "error": "Unauthorized",
                              "message": '"exp" claim timestamp check failed'}
    bare = httpx.get(f"{api.url}/storage/v1/object/{BUCKET}/{world.group}/a.txt")
    assert bare.status_code == 400 and bare.json()["message"] == "Invalid Compact JWS"
    big = httpx.post(f"{api.url}/storage/v1/object/{BUCKET}/{world.group}/big.txt", content=b"x" * (5 << 20),
                     headers={**SERVICE, "content-type": "text/plain"})
    assert big.json()["statusCode"] == "413"
    assert stored_files(root) == before and temp_files(root) == []
    unsigned = httpx.get(f"{api.url}/storage/v1/object/sign/{BUCKET}/{world.group}/a.txt")
    assert unsigned.status_code == 400
    assert httpx.get(f"{api.url}/storage/v1/render/image/public/{BUCKET}/a.png").json()["code"] == "NotSupported"


def _expired_token(world) -> str:
    from functions_py.tokens import LOCAL_JWT_SECRET, user_token

    return user_token(world.people["member"], LOCAL_JWT_SECRET, now=time.time() - 7200)


def test_a_client_that_disconnects_mid_upload_leaves_nothing(stack):
    api, world, url, root = stack
    before_files, before_rows = stored_files(root), object_rows(url, BUCKET)
    target = urlsplit(api.url)
    for _ in range(3):
        with socket.create_connection((target.hostname, target.port)) as sock:
            path = f"/storage/v1/object/{BUCKET}/{world.group}/cut.bin"
            head = (f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {SERVICE_KEY}\r\n"
                    f"apikey: {SERVICE_KEY}\r\nContent-Type: text/plain\r\nContent-Length: {3 << 20}\r\n\r\n")
            sock.sendall(head.encode() + b"y" * (512 << 10))
            time.sleep(0.2)
    deadline = time.monotonic() + 5
    while temp_files(root) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert temp_files(root) == [], "the half-written temporary file is removed"
    assert stored_files(root) == before_files and object_rows(url, BUCKET) == before_rows
    ok = httpx.post(f"{api.url}/storage/v1/object/{BUCKET}/{world.group}/after.txt", content=b"fine",
                    headers={**SERVICE, "content-type": "text/plain"})
    assert ok.status_code == 200, "the server keeps serving"


def test_concurrent_upserts_of_one_key_keep_one_row_and_one_file(stack):
    api, world, url, root = stack
    path = f"{world.group}/race.txt"
    bodies = [bytes([65 + i]) * (64 << 10) for i in range(8)]

    def put(body: bytes) -> int:
        return httpx.post(f"{api.url}/storage/v1/object/{BUCKET}/{path}", content=body, timeout=30,
                          headers={**SERVICE, "content-type": "text/plain", "x-upsert": "true"}).status_code

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(put, bodies)) == [200] * 8
    rows = [r for r in object_rows(url, BUCKET) if r[0] == path]
    assert len(rows) == 1
    assert httpx.get(f"{api.url}/storage/v1/object/{BUCKET}/{path}", headers=SERVICE).content in bodies
    assert stored_files(root) == all_versions(url), "every file has its row and every row its file"

    def create(body: bytes) -> int:
        answer = httpx.post(f"{api.url}/storage/v1/object/{BUCKET}/{world.group}/once.txt", content=body,
                            timeout=30, headers={**SERVICE, "content-type": "text/plain"})
        return int(answer.json().get("statusCode", 200)) if answer.status_code == 400 else answer.status_code

    with ThreadPoolExecutor(6) as pool:
        statuses = sorted(pool.map(create, bodies[:6]))
    assert statuses == [200] + [409] * 5
    assert stored_files(root) == all_versions(url)


def test_mime_types_compare_as_storage_compares_them():
    from functions_py.storage.limits import mime_allowed

    assert mime_allowed("image/png", ["image/*"]) and mime_allowed("text/csv", ["text/csv"])
    assert not mime_allowed("text/plain;charset=UTF-8", ["text/plain"]), "parameters are part of the subtype"
    assert mime_allowed("text/plain;charset=UTF-8", ["text/*"])
    assert not mime_allowed("IMAGE/PNG", ["image/png"]) and not mime_allowed("png", ["image/png"])
    assert not mime_allowed("image/png", ["*/*"]), "storage-api has no */* wildcard"
    assert mime_allowed("anything", None) and mime_allowed("anything", [])


def test_an_object_whose_row_commit_fails_leaves_no_file(stack):
    api, world, url, root = stack
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("""
            create function public.tg_fail_at_commit() returns trigger language plpgsql as $$
            begin
              if new.name like '%%fail-at-commit%%' then
                raise exception 'refused at commit' using errcode = 'P0001';
              end if;
              return null;
            end $$;
            create constraint trigger fail_at_commit after insert or update on storage.objects
            deferrable initially deferred for each row execute function public.tg_fail_at_commit();
        """)
    try:
        before = stored_files(root)
        answer = httpx.post(f"{api.url}/storage/v1/object/{BUCKET}/{world.group}/fail-at-commit.txt",
                            content=b"doomed", headers={**SERVICE, "content-type": "text/plain"})
        assert answer.status_code == 500 and answer.json()["statusCode"] == "500"
        assert stored_files(root) == before and temp_files(root) == [], "the new file went with the failed row"
        assert f"{world.group}/fail-at-commit.txt" not in [r[0] for r in object_rows(url, BUCKET)]
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("drop trigger fail_at_commit on storage.objects; drop function public.tg_fail_at_commit()")
