"""The RLS matrix's storage rows over HTTP: every bucket x operation x actor through the Storage API, as
tests/test_rls_matrix.py does in SQL, so policies/storage.sql is shown to hold where clients meet it.

Each cell acts on its own object, created first by the bucket's natural uploader (message-attachments: the manager,
in the group conversation's folder; user-uploads: the member, in their own folder; generated-assets: the service
role, in the organization's folder). The value is Storage's `statusCode`: 200 when the operation succeeds, else the
semantic status Storage renders (HTTP 400): 404 for an object the caller cannot see, 403 for a write RLS refuses.

Actors: anon (the anon key), stranger (signed in, in no organization), outsider (a member of the organization who
takes part in no conversation), removed (a participant whose membership was deleted), the manager (who started the
conversation), member and client (participants), and the service role.
"""

from __future__ import annotations

import uuid

import httpx
import pytest

from functions_py.tokens import LOCAL_JWT_SECRET, user_token
from tests.api_harness import ANON_KEY, SERVICE_KEY, running_api
from tests.storage_harness import build_world, remove_member

ACTORS = ("anon", "stranger", "outsider", "removed", "manager", "member", "client", "service_role")

MATRIX = """
# bucket               operation  anon  stranger  outsider  removed  manager  member  client  service_role
message-attachments    download   404   404       404       404      200      200     200     200
message-attachments    upload     403   403       403       403      200      200     200     200
message-attachments    replace    403   403       403       403      200      403     403     200
message-attachments    delete     403   403       403       403      200      403     403     200
user-uploads           download   404   404       404       404      404      200     404     200
user-uploads           upload     403   403       403       403      403      200     403     200
user-uploads           replace    403   403       403       403      403      200     403     200
user-uploads           delete     403   403       403       403      403      200     403     200
generated-assets       download   404   404       200       404      200      200     200     200
generated-assets       upload     403   403       403       403      403      403     403     200
generated-assets       replace    403   403       403       403      403      403     403     200
generated-assets       delete     403   403       403       403      403      403     403     200
"""

CELLS = [
    (bucket, operation, actor, int(expected))
    for line in MATRIX.strip().splitlines() if not line.startswith("#")
    for bucket, operation, *values in [line.split()]
    for actor, expected in zip(ACTORS, values, strict=True)
]
TYPES = {"message-attachments": "text/plain", "user-uploads": "image/png", "generated-assets": "application/json"}


@pytest.fixture(scope="module")
def stack(pg_server, template_db, tmp_path_factory):
    name = pg_server.create_database(template=template_db)
    url = pg_server.url(name)
    world = build_world(url)
    remove_member(url, world, "removed")
    with running_api(url, data_dir=tmp_path_factory.mktemp("storage-matrix")) as api:
        tokens = {**world.tokens, "anon": ANON_KEY, "service_role": SERVICE_KEY,
                  "stranger": user_token(uuid.uuid4(), LOCAL_JWT_SECRET)}
        yield api, world, tokens


def folder(world, bucket: str) -> str:
    return {"message-attachments": str(world.group), "user-uploads": str(world.people["member"]),
            "generated-assets": str(world.org)}[bucket]


def uploader(bucket: str) -> str:
    return {"message-attachments": "manager", "user-uploads": "member", "generated-assets": "service_role"}[bucket]


def call(api, token: str, method: str, bucket: str, key: str, body: bytes | None = None) -> int:
    headers = {"apikey": ANON_KEY, "Authorization": f"Bearer {token}", "content-type": TYPES[bucket]}
    answer = httpx.request(method, f"{api.url}/storage/v1/object/{bucket}/{key}", headers=headers, content=body)
    if answer.status_code == 400:
        return int(answer.json()["statusCode"])
    return answer.status_code


@pytest.mark.parametrize(("bucket", "operation", "actor", "expected"), CELLS,
                         ids=[f"{b}-{o}-{a}" for b, o, a, _ in CELLS])
def test_storage_over_http(stack, bucket, operation, actor, expected):
    api, world, tokens = stack
    existing = f"{folder(world, bucket)}/{operation}-{actor}-{uuid.uuid4().hex[:6]}.bin"
    assert call(api, tokens[uploader(bucket)], "POST", bucket, existing, b"fixture") == 200
    token = tokens[actor]
    if operation == "download":
        got = call(api, token, "GET", bucket, existing)
    elif operation == "upload":
        got = call(api, token, "POST", bucket, f"{folder(world, bucket)}/new-{uuid.uuid4().hex[:8]}.bin", b"new")
    elif operation == "replace":
        got = call(api, token, "PUT", bucket, existing, b"replaced")
    else:
        got = call(api, token, "DELETE", bucket, existing)
    assert got == expected, f"{actor} {operation} in {bucket}: Storage answers {got}, the policies say {expected}"
