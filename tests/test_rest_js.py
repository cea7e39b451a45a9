"""postgrest-js (tests/js, as supabase-js 2.119.2 ships it) against /rest/v1 over HTTP: the README quick-start
and the client features that depend on PostgREST's exact statuses and headers (counts, ranges, single, upsert,
rpc, errors, CSV)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.api_harness import ANON_KEY
from tests.rest_fixture import fixture_api

JS_DIR = Path(__file__).parent / "js"
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(NODE is None or not (JS_DIR / "node_modules" / "@supabase" / "postgrest-js").is_dir(),
                                reason="needs node and `npm ci` in tests/js")


def test_supabase_js_from_and_rpc(pg_server, template_db):
    with fixture_api(pg_server, template_db) as (api, _):
        done = subprocess.run([NODE, "rest_quickstart.mjs", api.url, ANON_KEY], cwd=JS_DIR, capture_output=True,
                              text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["select"]["data"] == [{"id": 1, "name": "Microsoft", "projects": [{"name": "Windows 7"},
                                                                                 {"name": "Windows 10"}]}]
    assert out["filters"]["data"] == [{"name": "apple"}, {"name": "carrot"}]
    assert out["count"]["count"] == 5 and out["count"]["data"] is None
    assert out["range"]["data"] == [{"id": 2}, {"id": 3}] and out["range"]["status"] == 200
    assert out["single"]["data"] == {"name": "Apple"}
    assert out["maybeSingle"]["data"] is None and out["maybeSingle"]["error"] is None
    assert out["insert"]["data"] == [{"id": 500, "name": "js"}] and out["insert"]["status"] == 201
    assert out["upsert"]["data"] == [{"id": 500, "name": "js2"}]
    assert out["update"]["data"] == [{"name": "js3"}]
    assert out["delete"]["status"] == 204 and out["delete"]["error"] is None
    assert out["rpc"]["data"] == 5
    assert out["rpcGet"]["data"] == [{"name": "IOS"}, {"name": "OSX"}]
    assert out["missing"]["error"]["code"] == "PGRST205" and out["missing"]["status"] == 404
    assert out["csv"]["data"] == "id,name\n1,Microsoft\n2,Apple"
