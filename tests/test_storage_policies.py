"""policies/storage.sql over HTTP: the README's message-attachment flow through supabase-py's storage client as a
participant, the other participants, a non-participant, a removed member and the service role; user-uploads
private to their owner; generated-assets read by members and written only by the service role."""

from __future__ import annotations

import pytest
from storage3.exceptions import StorageApiError

from supabase import ClientOptions, create_client
from tests.api_harness import ANON_KEY, SERVICE_KEY, running_api
from tests.storage_harness import build_world, object_rows, remove_member

BUCKET = "message-attachments"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(scope="module")
def stack(pg_server, template_db, tmp_path_factory):
    name = pg_server.create_database(template=template_db)
    url = pg_server.url(name)
    world = build_world(url)
    with running_api(url, data_dir=tmp_path_factory.mktemp("storage-policies")) as api:
        yield api, world, url
    pg_server.drop_database(name)


def files(api, world, who: str, bucket: str = BUCKET):
    options = ClientOptions(headers={"Authorization": f"Bearer {world.tokens[who]}"})
    return create_client(api.url, ANON_KEY, options=options).storage.from_(bucket)


def refused(call) -> StorageApiError:
    with pytest.raises(StorageApiError) as error:
        call()
    return error.value


def test_the_message_attachment_flow(stack):
    api, world, url = stack
    path = f"{world.group}/plan.png"
    member = files(api, world, "member")
    member.upload(path, PNG, {"content-type": "image/png"})
    signed = member.create_signed_url(path, 3600)
    import httpx

    assert httpx.get(signed["signedURL"]).content == PNG, "a signed URL needs no token"
    assert files(api, world, "client").download(path) == PNG, "other participants read it"
    assert files(api, world, "manager").download(path) == PNG

    error = refused(lambda: files(api, world, "outsider").download(path))
    # storage3's `code` is the body's `error`: storage-api's `not_found` for NoSuchKey
    assert (error.status, error.code) == ("404", "not_found"), "a non-participant cannot tell it exists"
    error = refused(lambda: files(api, world, "outsider").create_signed_url(path, 60))
    assert error.status == "404"
    error = refused(lambda: files(api, world, "outsider").upload(f"{world.group}/mine.png", PNG,
                                                                  {"content-type": "image/png"}))
    assert (error.status, error.message) == ("403", "new row violates row-level security policy")

    error = refused(lambda: files(api, world, "client").update(path, b"replaced", {"content-type": "image/png"}))
    assert error.status == "403", "only the uploader replaces an attachment"
    member.update(path, PNG + b"v2", {"content-type": "image/png"})
    assert files(api, world, "client").download(path) == PNG + b"v2"
    assert files(api, world, "client").remove([path]) == [], "others cannot remove it"

    assert files(api, world, "removed").download(path) == PNG + b"v2"
    remove_member(url, world, "removed")
    error = refused(lambda: files(api, world, "removed").download(path))
    assert error.status == "404", "someone removed from the organization loses the attachments at once"

    assert [row["name"] for row in member.remove([path])] == [path]
    assert [row for row in object_rows(url, BUCKET) if row[0] == path] == []


def test_an_existing_key_without_upsert_is_409_and_with_upsert_replaces(stack):
    api, world, url = stack
    path = f"{world.group}/twice.png"
    member = files(api, world, "member")
    member.upload(path, PNG, {"content-type": "image/png"})
    error = refused(lambda: member.upload(path, PNG, {"content-type": "image/png"}))
    assert (error.status, error.message) == ("409", "The resource already exists")
    member.upload(path, b"new", {"content-type": "image/png", "upsert": "true"})
    assert member.download(path) == b"new"


def test_user_uploads_are_private_to_their_owner(stack):
    api, world, url = stack
    mine = f"{world.people['member']}/avatar.png"
    files(api, world, "member", "user-uploads").upload(mine, PNG, {"content-type": "image/png"})
    assert files(api, world, "member", "user-uploads").download(mine) == PNG
    assert refused(lambda: files(api, world, "manager", "user-uploads").download(mine)).status == "404"
    error = refused(lambda: files(api, world, "manager", "user-uploads").upload(mine + ".png", PNG,
                                                                                 {"content-type": "image/png"}))
    assert error.status == "403", "nobody writes into someone else's folder"


def test_generated_assets_are_read_by_members_and_written_by_the_service_role_only(stack):
    api, world, url = stack
    path = f"{world.org}/report.pdf"
    error = refused(lambda: files(api, world, "manager", "generated-assets").upload(
        path, b"%PDF-1.4", {"content-type": "application/pdf"}))
    assert error.status == "403"
    service = create_client(api.url, SERVICE_KEY).storage.from_("generated-assets")
    service.upload(path, b"%PDF-1.4", {"content-type": "application/pdf"})
    assert files(api, world, "client", "generated-assets").download(path) == b"%PDF-1.4"
    (row,) = [r for r in object_rows(url, "generated-assets") if r[0] == path]
    assert row[1] is None, "the service role has no sub: owner_id stays null"
    anon = create_client(api.url, ANON_KEY).storage.from_("generated-assets")
    assert refused(lambda: anon.download(path)).status == "404"
