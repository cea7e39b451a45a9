"""The Storage API with storage-js (through supabase-js 2.119) and tus-js-client, driven by tests/js/storage-flow.mjs:
the README's message-attachment snippet as participant, other participant, uploader, non-participant and removed
member; a 50 MB resumable upload; an interrupted one that leaves nothing visible."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.api_harness import ANON_KEY, SERVICE_KEY, running_api
from tests.storage_harness import build_world, object_rows, remove_member

JS_DIR = Path(__file__).resolve().parent / "js"
NODE = shutil.which("node")
BUCKET = "message-attachments"

pytestmark = pytest.mark.skipif(
    NODE is None or not (JS_DIR / "node_modules" / "@supabase" / "supabase-js").is_dir(),
    reason="needs node and `npm ci` in tests/js (make test installs them)")


@pytest.fixture(scope="module")
def stack(pg_server, template_db, tmp_path_factory):
    name = pg_server.create_database(template=template_db)
    url = pg_server.url(name)
    world = build_world(url)
    data = tmp_path_factory.mktemp("storage-js")
    with running_api(url, data_dir=data) as api:
        yield api, world, url, data / "storage"
    pg_server.drop_database(name)


def scenario(api, world, name: str, timeout: float = 240, **env: str) -> dict:
    tokens = {**world.tokens, "service": SERVICE_KEY}
    done = subprocess.run(
        [NODE, "storage-flow.mjs", name], cwd=JS_DIR, capture_output=True, text=True, timeout=timeout,
        env={**os.environ, "API_URL": api.url, "ANON_KEY": ANON_KEY, "GROUP": str(world.group),
             "TOKENS": json.dumps(tokens), **env})
    assert done.stdout.strip(), done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert "crashed" not in result, result["crashed"]
    return result


def test_the_readme_attachment_flow_with_storage_js(stack):
    api, world, url, root = stack
    out = scenario(api, world, "readmeFlow")
    path = out["path"]
    assert out["upload"]["error"] is None and out["upload"]["data"]["fullPath"] == f"{BUCKET}/{path}"
    if importlib.util.find_spec("functions_py.rest") is not None:
        assert out["insertError"] is None, "the message with its attachment is posted through /rest/v1"
    assert out["signError"] is None and out["signedBody"] == "attachment body"
    assert out["spacedSignedBody"] == "spaced body", "a signed link to a key with a space opens from storage-js"
    assert out["otherParticipantReads"] == "attachment body"
    assert out["otherParticipantReplace"]["status"] == "403"
    assert out["uploaderReplace"] is None
    assert out["outsiderDownload"]["status"] == "404" and out["outsiderDownload"]["code"] == "NoSuchKey"
    assert out["outsiderUpload"]["message"] == "new row violates row-level security policy"
    assert out["outsiderSign"]["status"] == "404"
    assert out["exists"] is True and out["missingExists"] is False
    assert out["info"]["size"] == 2 and out["info"]["contentType"] == "text/plain"
    assert path.split("/", 1)[1] in out["list"]
    assert out["rawUpload"] is None and out["rawInfo"]["metadata"] == {"purpose": "test"}
    assert out["removedBefore"] is True
    remove_member(url, world, "removed")
    after = scenario(api, world, "removedMember", PATH_TO_READ=path)
    assert after["removedDownload"]["status"] == "404", "a removed member loses the attachments at once"


def test_a_50_mb_resumable_upload_and_an_interrupted_one(stack):
    api, world, url, root = stack
    service = {"apikey": SERVICE_KEY, "Authorization": f"Bearer {SERVICE_KEY}"}
    created = httpx.post(f"{api.url}/storage/v1/bucket", headers=service,
                         json={"id": "videos", "name": "videos", "file_size_limit": 60 * 1024 * 1024})
    assert created.status_code == 200, created.text
    out = scenario(api, world, "resumable", timeout=600, BIG_BUCKET="videos")
    assert out["interrupted"].get("aborted"), out["interrupted"]
    assert out["interruptedVisible"] is False, "an interrupted upload is not visible"
    assert out["member"].get("ok") and out["memberSame"] is True, "participants upload resumably under RLS"
    assert out["full"].get("ok"), out["full"]
    assert out["size"] == 50 * 1024 * 1024 and out["same"] is True
    assert out["outsider"]["status"] == 403 and "row-level security" in out["outsider"]["body"]
    names = [row[0] for row in object_rows(url, BUCKET)]
    assert f"{world.group}/member.zip" in names and f"{world.group}/interrupted.zip" not in names
    assert [row[0] for row in object_rows(url, "videos")] == ["big.zip"]
