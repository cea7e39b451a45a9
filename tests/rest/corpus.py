"""The conformance corpus (tests/rest/cases/*.yaml): loading, request building and the comparison rules.

A case is data:

    - id: filter-eq-int                      # unique within its file; pytest shows <file>:<id>
      doc: what PostgREST does and why        # optional
      request:
        method: GET                           # default GET
        path: /books?id=eq.1                  # below /rest/v1, query string as a client sends it
        headers: {Prefer: count=exact}
        body: {...}                           # JSON (sent as application/json unless headers say otherwise)
        raw_body: "a,b\\n1,2"                 # or a raw text body
        auth: anon                            # anon (default) | service | alice | bob | none (apikey only)
        scheme: bearer                        # the Authorization scheme for alice / bob (default Bearer)
        jwt: {role: authenticated}            # or a token minted from these claims (exp_in: seconds from now,
        jwt_secret: "..."                     #   jwt_secret: sign with another secret, i.e. forged)
        authorization: "Bearer x.y"           # or this Authorization header verbatim
        body_generate: {repeat: 3, row: {name: "n-{i}"}, last: {qty: -1}}
        body_bytes: 11000000                  # a JSON object of about that many bytes
        path_generate: {kind: self_embed_chain, depth: 50}
      expect:
        status: 200                           # or status_in: [200, 414] (body_only_if_ok: true skips the
                                              #   body rules on a non-2xx answer)
        body: [...]                           # exact JSON
        body_subset: {...}                    # every key given must match (recursively; lists exactly)
        body_text: "..."                      # exact text (CSV)
        body_empty: true
        length: 3                             # a JSON array of this many elements
        body_paths: [/paths/~1books]          # JSON pointers that must exist (body_paths_absent: must not)
        headers: {Content-Range: 0-3/*}       # exact values (names case-insensitive)
        headers_match: {Content-Range: "0-9/\\\\d+"}   # full-match regular expressions
        headers_absent: [Location]
      after:                                  # further requests, in order (e.g. "nothing was written")
        - request: {...}
          expect: {...}

Write cases (any method but GET/HEAD, or `reset: true`) run between two calls of fixture.reset().
"""

from __future__ import annotations

import http.client
import json
import re
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt as pyjwt
import yaml

from tests.api_harness import ANON_KEY, SECRET, SERVICE_KEY

CASES_DIR = Path(__file__).resolve().parent / "cases"
FIXTURE_SQL = Path(__file__).resolve().parent / "fixture.sql"
EXPOSED_SCHEMAS = ("fixture", "fixture_alt")
MAX_ROWS = 50

# The two fixture users of fixture.notes (see fixture.reset()).
USERS = {"alice": uuid.UUID("11111111-1111-4111-8111-111111111111"),
         "bob": uuid.UUID("22222222-2222-4222-8222-222222222222")}

READ_METHODS = ("GET", "HEAD")


@dataclass(frozen=True)
class Case:
    file: str
    data: Mapping[str, Any]

    @property
    def id(self) -> str:
        return f"{self.file}:{self.data['id']}"

    @property
    def writes(self) -> bool:
        steps = [self.data, *self.data.get("after", ())]
        return bool(self.data.get("reset")) or any(
            step["request"].get("method", "GET").upper() not in READ_METHODS for step in steps)


def load_cases(directory: Path = CASES_DIR) -> list[Case]:
    """Every case of every file, in file then document order; ids are checked unique."""
    cases, seen = [], set()
    for path in sorted(directory.glob("*.yaml")):
        for entry in yaml.safe_load(path.read_text()) or ():
            case = Case(path.stem, entry)
            if case.id in seen:
                raise ValueError(f"duplicate case id {case.id}")
            seen.add(case.id)
            cases.append(case)
    return cases


def mint(claims: Mapping[str, Any], secret: str = SECRET) -> str:
    """An HS256 token; `exp_in` (seconds from now) becomes `exp`."""
    payload = dict(claims)
    if "exp_in" in payload:
        payload["exp"] = int(time.time()) + int(payload.pop("exp_in"))
    return pyjwt.encode(payload, secret, algorithm="HS256")


def user_token(name: str) -> str:
    return mint({"sub": str(USERS[name]), "role": "authenticated", "aud": "authenticated", "exp_in": 3600,
                 "email": f"{name}@example.com"})


def _auth_headers(request: Mapping[str, Any]) -> dict[str, str]:
    if "authorization" in request:
        return {"apikey": ANON_KEY, "Authorization": request["authorization"]}
    if "jwt" in request:
        token = mint(request["jwt"], request.get("jwt_secret", SECRET))
        return {"apikey": ANON_KEY, "Authorization": f"Bearer {token}"}
    auth = request.get("auth", "anon")
    if auth == "anon":
        return {"apikey": ANON_KEY, "Authorization": f"Bearer {ANON_KEY}"}
    if auth == "service":
        return {"apikey": SERVICE_KEY, "Authorization": f"Bearer {SERVICE_KEY}"}
    if auth == "none":
        return {"apikey": ANON_KEY}
    if auth in USERS:
        return {"apikey": ANON_KEY, "Authorization": f"{request.get('scheme', 'Bearer')} {user_token(auth)}"}
    raise ValueError(f"unknown auth {auth!r}")


def _fill(value: Any, i: int) -> Any:
    if value == "{i}":
        return i
    if isinstance(value, str):
        return value.replace("{i}", str(i))
    if isinstance(value, dict):
        return {k: _fill(v, i) for k, v in value.items()}
    return value


def _generated_body(spec: Mapping[str, Any]) -> list[dict]:
    rows = [_fill(spec["row"], i) for i in range(1, int(spec["repeat"]) + 1)]
    if "last" in spec:
        rows[-1] = {**rows[-1], **spec["last"]}
    return rows


def _generated_path(spec: Mapping[str, Any]) -> str:
    kind = spec["kind"]
    if kind == "self_embed_chain":  # employees -> manager -> manager ..., `depth` embeds deep
        inner = "id"
        for _ in range(int(spec["depth"])):
            inner = f"id,manager:manager_id({inner})"
        return f"/employees?id=eq.4&select={inner}"
    if kind == "or_terms":
        terms = ",".join(f"n.eq.{k}" for k in range(1, int(spec["count"]) + 1))
        return f"/numbers?select=n&n=lte.3&order=n&or=({terms})"
    if kind == "nested_parens":  # a select of `depth` unknown embeds: a(a(a(...)))
        inner = "id"
        for _ in range(int(spec["depth"])):
            inner = f"nope({inner})"
        return f"/authors?select={inner}"
    raise ValueError(f"unknown path generator {kind!r}")


def build_request(request: Mapping[str, Any]) -> tuple[str, str, dict[str, str], bytes | None]:
    """(method, path, headers, body) for one request of a case."""
    method = request.get("method", "GET").upper()
    path = _generated_path(request["path_generate"]) if "path_generate" in request else request["path"]
    headers = _auth_headers(request)
    given = {str(k): str(v) for k, v in (request.get("headers") or {}).items()}
    body: bytes | None = None
    if "raw_body" in request:
        body = str(request["raw_body"]).encode()
    elif "body" in request:
        body = json.dumps(request["body"]).encode()
    elif "body_generate" in request:
        body = json.dumps(_generated_body(request["body_generate"]), separators=(",", ":")).encode()
    elif "body_bytes" in request:
        body = b'{"name":"' + b"x" * int(request["body_bytes"]) + b'"}'
    if body is not None and not any(k.lower() == "content-type" for k in given):
        headers["Content-Type"] = "application/json"
    headers.update(given)
    return method, path, headers, body


# httpx refuses URLs above 64 KiB; longer ones (the 10,000-term or) go out through http.client unchanged.
LONG_URL = 60_000


def _send_long(client: httpx.Client, method: str, path: str, headers: dict[str, str],
               body: bytes | None) -> httpx.Response:
    url = client.base_url
    connection = http.client.HTTPConnection(url.host, url.port, timeout=client.timeout.read)
    try:
        connection.request(method, url.raw_path.decode().rstrip("/") + path, body=body, headers=headers)
        answer = connection.getresponse()
        return httpx.Response(answer.status, headers=answer.getheaders(), content=answer.read())
    finally:
        connection.close()


def send(client: httpx.Client, request: Mapping[str, Any]) -> httpx.Response:
    method, path, headers, body = build_request(request)
    if len(path) > LONG_URL:
        return _send_long(client, method, path, headers, body)
    return client.request(method, path, headers=headers, content=body)


def _pointer(document: Any, pointer: str) -> bool:
    node = document
    for part in pointer.lstrip("/").split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False
    return True


def subset_mismatches(expected: Any, actual: Any, where: str = "$") -> Iterator[str]:
    """Where `actual` fails to contain `expected` (dicts: the given keys; anything else: equal)."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            yield f"{where}: expected an object, got {actual!r}"
            return
        for key, value in expected.items():
            if key not in actual:
                yield f"{where}.{key}: missing"
            else:
                yield from subset_mismatches(value, actual[key], f"{where}.{key}")
    elif expected != actual or type(expected) is bool and type(actual) is not bool:
        yield f"{where}: expected {expected!r}, got {actual!r}"


def mismatches(expect: Mapping[str, Any], response: httpx.Response) -> list[str]:
    """Every way `response` differs from `expect` (empty when it conforms)."""
    problems: list[str] = []
    status = response.status_code
    if "status" in expect and status != expect["status"]:
        problems.append(f"status: expected {expect['status']}, got {status}")
    if "status_in" in expect and status not in expect["status_in"]:
        problems.append(f"status: expected one of {expect['status_in']}, got {status}")
    only_if_ok = expect.get("body_only_if_ok", False)
    check_body = not only_if_ok or 200 <= status < 300
    parsed: Any = None
    needs_json = check_body and any(k in expect for k in ("body", "body_subset", "length", "body_paths",
                                                          "body_paths_absent"))
    if needs_json:
        try:
            parsed = response.json()
        except ValueError:
            problems.append(f"body: not JSON: {response.text[:300]!r}")
            needs_json = False
    if needs_json:
        if "body" in expect and parsed != expect["body"]:
            problems.append(f"body: expected {json.dumps(expect['body'])[:1500]}, "
                            f"got {json.dumps(parsed)[:1500]}")
        if "body_subset" in expect:
            problems.extend(f"body {m}" for m in subset_mismatches(expect["body_subset"], parsed))
        if "length" in expect and (not isinstance(parsed, list) or len(parsed) != expect["length"]):
            problems.append(f"length: expected {expect['length']}, got "
                            f"{len(parsed) if isinstance(parsed, list) else type(parsed).__name__}")
        for pointer in expect.get("body_paths", ()):
            if not _pointer(parsed, pointer):
                problems.append(f"body: no {pointer}")
        for pointer in expect.get("body_paths_absent", ()):
            if _pointer(parsed, pointer):
                problems.append(f"body: {pointer} should be absent")
    if check_body and "body_text" in expect and response.text != expect["body_text"]:
        problems.append(f"body text: expected {expect['body_text']!r}, got {response.text[:1500]!r}")
    if expect.get("body_empty") and response.content != b"":
        problems.append(f"body: expected empty, got {response.text[:300]!r}")
    for name, value in (expect.get("headers") or {}).items():
        got = response.headers.get(name)
        if got != str(value):
            problems.append(f"header {name}: expected {value!r}, got {got!r}")
    for name, pattern in (expect.get("headers_match") or {}).items():
        got = response.headers.get(name)
        if got is None or re.fullmatch(str(pattern), got) is None:
            problems.append(f"header {name}: expected to match {pattern!r}, got {got!r}")
    for name in expect.get("headers_absent", ()):
        if name in response.headers:
            problems.append(f"header {name}: expected absent, got {response.headers[name]!r}")
    return problems
