"""The gateway (functions_py/http/gateway.py) over real HTTP: prefixes stripped, the CLI's key translation, keys
verified with hosted Supabase's 401 bodies, and Kong's CORS on every answer (preflight, errors, 404s).

The service behind the gateway here is a probe that echoes what it was given: it stands for /rest/v1 so the
gateway's own behaviour is observed without depending on the Data API."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.api_harness import ANON_KEY, PUBLISHABLE_KEY, SECRET_KEY, SERVICE_KEY, running_api


class EchoService:
    prefix = "/rest/v1"

    def __init__(self) -> None:
        self.started = False

    def needs_key(self, path: str) -> bool:
        return path != "/open"

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.started = False

    async def app(self, scope, receive, send) -> None:
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        body = json.dumps({"path": scope["path"], "root_path": scope["root_path"],
                           "authorization": headers.get("authorization"),
                           "authorizations": [v.decode() for k, v in scope["headers"] if k == b"authorization"],
                           "key_role": scope["state"].get("key_role")}).encode()
        await send({"type": "http.response.start", "status": 418,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})


@pytest.fixture(scope="module")
def api(pg_server, template_db):
    name = pg_server.create_database(template=template_db)
    service = EchoService()
    with running_api(pg_server.url(name), services=[service]) as running:
        assert service.started, "the gateway starts its services in its lifespan"
        yield running
    pg_server.drop_database(name)


def test_the_prefix_is_stripped_as_the_cli_gateway_does(api):
    answer = httpx.get(f"{api.url}/rest/v1/tasks?select=id", headers=api.anon_headers)
    assert answer.status_code == 418
    assert answer.json()["path"] == "/tasks"
    assert answer.json()["root_path"] == "/rest/v1"
    assert httpx.get(f"{api.url}/rest/v1", headers=api.anon_headers).json()["path"] == "/"


@pytest.mark.parametrize(("apikey", "role", "jwt"), [
    (PUBLISHABLE_KEY, "anon", ANON_KEY),
    (SECRET_KEY, "service_role", SERVICE_KEY),
    (ANON_KEY, "anon", ANON_KEY),
    (SERVICE_KEY, "service_role", SERVICE_KEY),
])
def test_a_key_without_a_bearer_becomes_the_matching_jwt(api, apikey, role, jwt):
    answer = httpx.get(f"{api.url}/rest/v1/tasks", headers={"apikey": apikey}).json()
    assert answer == {**answer, "authorization": f"Bearer {jwt}", "key_role": role}


def test_an_opaque_key_as_bearer_is_translated_and_a_user_jwt_is_kept(api):
    answer = httpx.get(f"{api.url}/rest/v1/t", headers={"apikey": PUBLISHABLE_KEY,
                                                         "Authorization": f"Bearer {PUBLISHABLE_KEY}"}).json()
    assert answer["authorization"] == f"Bearer {ANON_KEY}"
    answer = httpx.get(f"{api.url}/rest/v1/t", headers={"apikey": PUBLISHABLE_KEY,
                                                         "Authorization": "Bearer user.jwt.here"}).json()
    assert answer["authorization"] == "Bearer user.jwt.here", "a session's token reaches the service unchanged"
    answer = httpx.get(f"{api.url}/rest/v1/t?apikey={SECRET_KEY}").json()
    assert answer["authorization"] == f"Bearer {SERVICE_KEY}", "Kong's key-auth also reads ?apikey="


def test_a_repeated_authorization_header_reaches_the_service_as_the_one_the_gateway_checked(api):
    raw = [(b"apikey", PUBLISHABLE_KEY.encode()), (b"authorization", f"Bearer {ANON_KEY}".encode()),
           (b"authorization", b"Bearer forged.token.here")]
    answer = httpx.get(f"{api.url}/rest/v1/t", headers=raw).json()
    assert answer["authorizations"] == [f"Bearer {ANON_KEY}"], \
        "the service must not read a second Authorization the gateway never looked at"


def test_missing_and_invalid_keys_are_401_with_hosted_bodies_and_cors(api):
    missing = httpx.get(f"{api.url}/rest/v1/tasks", headers={"Origin": "http://localhost:3000"})
    assert missing.status_code == 401
    assert missing.json() == {"message": "No API key found in request",
                              "hint": "No `apikey` request header or url param was found."}
    assert missing.headers["access-control-allow-origin"] == "*"
    for bad in ("sb_publishable_nottheprojectskey", "not-a-key", "eyJhbGciOiJIUzI1NiJ9.e30.x"):
        invalid = httpx.get(f"{api.url}/rest/v1/tasks", headers={"apikey": bad})
        assert invalid.status_code == 401, bad
        assert invalid.json()["message"] == "Invalid API key"
    forged_bearer = httpx.get(f"{api.url}/rest/v1/tasks", headers={"Authorization": "Bearer sb_secret_guess"})
    assert forged_bearer.status_code == 401


def test_a_bearer_alone_reaches_the_service_which_validates_it(api):
    answer = httpx.get(f"{api.url}/rest/v1/tasks", headers={"Authorization": f"Bearer {ANON_KEY}"})
    assert answer.status_code == 418
    assert answer.json()["key_role"] is None


def test_routes_that_need_no_key_pass_without_one(api):
    answer = httpx.get(f"{api.url}/rest/v1/open")
    assert answer.status_code == 418
    assert answer.json()["authorization"] is None


def test_preflight_is_answered_by_the_gateway_with_kongs_cors(api):
    answer = httpx.options(f"{api.url}/rest/v1/tasks", headers={
        "Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, apikey, content-type, prefer, x-client-info"})
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == "*"
    assert "PATCH" in answer.headers["access-control-allow-methods"]
    assert answer.headers["access-control-allow-headers"] == \
        "authorization, apikey, content-type, prefer, x-client-info"


def test_every_answer_exposes_the_headers_clients_read(api):
    answer = httpx.get(f"{api.url}/rest/v1/tasks", headers=api.anon_headers)
    assert answer.headers["access-control-allow-origin"] == "*"
    exposed = {h.strip().lower() for h in answer.headers["access-control-expose-headers"].split(",")}
    assert {"content-range", "location", "preference-applied", "x-total-count", "range-unit"} <= exposed


def test_an_unknown_path_is_kongs_404_with_cors(api):
    answer = httpx.get(f"{api.url}/nothing/here", headers={"Origin": "http://x"})
    assert answer.status_code == 404
    assert answer.json() == {"message": "no Route matched with those values"}
    assert answer.headers["access-control-allow-origin"] == "*"


def test_the_edge_functions_are_still_served_beside(api):
    answer = httpx.get(f"{api.url}/functions/v1/")
    assert answer.status_code == 200
    assert "stripe-webhook" in answer.json()["functions"]


def test_an_idle_kept_alive_connection_is_still_served_after_uvicorns_old_5_s(api):
    """Issue 21: uvicorn closed idle connections after 5 s, so a client pool's next request on one met a closed
    socket (the webhook bench's dropped connections). The gateway keeps them as long as nginx/Kong does."""
    import socket
    import time

    request = (f"GET /rest/v1/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\napikey: {ANON_KEY}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", api.port), timeout=10) as conn:
        conn.sendall(request)
        assert conn.recv(65536).startswith(b"HTTP/1.1 418")
        time.sleep(6)  # the thing under test is an idle period: there is no event to await
        conn.sendall(request)
        assert conn.recv(65536).startswith(b"HTTP/1.1 418"), "the kept-alive connection was closed while idle"


def test_a_request_line_too_long_to_parse_is_a_414_with_json_and_cors(api):
    """The HTTP parser takes request lines up to 64 KiB; beyond that the answer is Kong's 414, readable by a
    browser, not uvicorn's bare text 400."""
    import socket

    with socket.create_connection(("127.0.0.1", api.port), timeout=10) as conn:
        conn.sendall(b"GET /rest/v1/tasks?or=(" + b"n.eq.1," * 15000 + b"n.eq.2) HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 414")
    assert b"access-control-allow-origin: *" in head
    assert json.loads(body)["message"] == "Request-URI Too Long"
    assert httpx.get(f"{api.url}/rest/v1/tasks", headers=api.anon_headers).status_code == 418, "still serving"
