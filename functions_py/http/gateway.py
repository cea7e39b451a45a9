"""The local API gateway: one ASGI app on one port in Supabase's URL shape, as the Supabase CLI's Kong serves it.

    /rest/v1/…      → the Data API (functions_py.rest)        prefix stripped: the service sees /<table>
    /auth/v1/…      → the Auth API (functions_py.auth)        /signup, /token, …
    /storage/v1/…   → the Storage API (functions_py.storage)  /object/…, /bucket/…
    /realtime/v1/…  → the Realtime server (functions_py.realtime), mounted by the edge app
    /functions/v1/… → the edge functions (functions_py.http.app)

What the gateway does for every HTTP request, before a service sees it (reference: local-api-surface.md §0):

- **CORS** as Kong's `cors` plugin with its defaults, which the CLI enables on every route: a preflight
  (`OPTIONS` with `Access-Control-Request-Method`) on any route — the services, `/functions/v1/…`, `/realtime/v1/…`
  — is answered here with 200, any origin, the requested headers echoed (the function or server never sees it);
  every other response, errors and 404s included, carries `Access-Control-Allow-Origin: *` and exposes the headers
  clients read (`Content-Range`, `Location`, …), so a browser always sees the real status.
- **Keys** as the CLI gateway translates them: `Authorization` is kept when present and not `Bearer sb_…`;
  otherwise the `apikey` header (or query parameter) picks the JWT: the secret key → the service_role JWT, the
  publishable key → the anon JWT, a legacy JWT key → itself. The service then sees `Authorization: Bearer <jwt>`.
  Keys are verified: an `apikey` that is none of the project's keys is `401 Invalid API key`; a request with neither
  `apikey` nor `Authorization` on a route that needs a key is `401 No API key found in request` (hosted Supabase's
  bodies). Routes browsers open without headers (e-mail links, public and signed Storage URLs) need no key.
  Realtime gets the CLI's translation too: its REST API (`/realtime/v1/api/…`) the `Authorization` a service gets,
  the WebSocket's `apikey` query parameter the JWT of a publishable or secret key (Kong's `QueryToken`), so
  supabase-js configured with `sb_publishable_…` connects.

A service is an object with `prefix`, `app` (an ASGI app), `needs_key(path) -> bool`, and async `start()` /
`stop()`; `SERVICE_MODULES` lists the packages whose `service(context)` builds one (a package not yet present is
skipped, so the gateway serves what exists).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qs, parse_qsl, urlencode

from psycopg_pool import AsyncConnectionPool

from functions_py import tokens
from functions_py.config import Settings
from functions_py.realtime.transport import websocket_protocol
from functions_py.tokens import InvalidToken, TokenSettings, TokenVerifier

log = logging.getLogger("supakit.gateway")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Packages that provide a gateway service through `service(context: GatewayContext) -> Service`, in mount order.
SERVICE_MODULES = ("functions_py.rest", "functions_py.auth", "functions_py.storage")

REALTIME_PREFIX = "/realtime/v1"
EDGE_ROUTE_PREFIXES = ("/functions/v1/", REALTIME_PREFIX + "/")  # routes of the edge app Kong's cors plugin covers

# Kong's cors plugin defaults (origins "*", its default method list, requested headers echoed, no max age).
CORS_ALLOW_METHODS = "GET,HEAD,PUT,PATCH,POST,DELETE,OPTIONS,TRACE,CONNECT"
# What the services behind Kong expose themselves (PostgREST's wai-cors list, GoTrue's and Storage's headers).
CORS_EXPOSE_HEADERS = ("Content-Encoding, Content-Location, Content-Range, Content-Type, Date, Location, Server, "
                       "Transfer-Encoding, Range-Unit, Preference-Applied, Proxy-Status, X-Total-Count, Link, "
                       "X-Supabase-Api-Version, x-sb-error-code, ETag, Content-Disposition, Content-Length, "
                       "Last-Modified, Cache-Control, Upload-Offset, Upload-Length, Tus-Resumable, Tus-Version, "
                       "Tus-Max-Size, Tus-Extension, Upload-Metadata")

# How long an idle kept-alive client connection stays open: nginx's (and so Kong's) keepalive_timeout. uvicorn's
# default of 5 s closes connections that client pools still hold as reusable (Node's agent, urllib3, the webhook
# bench's own pool): the next request on one meets a closed socket (issue 21, "dropped connections").
KEEP_ALIVE_S = 75

NO_KEY = {"message": "No API key found in request", "hint": "No `apikey` request header or url param was found."}
BAD_KEY = {"message": "Invalid API key", "hint": "Double check your Supabase `anon` or `service_role` API key."}
NO_ROUTE = {"message": "no Route matched with those values"}


@dataclass(frozen=True)
class ApiKeys:
    """The project's four keys: the legacy JWTs and the opaque keys that stand for them."""

    anon: str
    service_role: str
    publishable: str = field(repr=False)
    secret: str = field(repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> ApiKeys:
        secret = settings.jwt.secret or tokens.LOCAL_JWT_SECRET
        return cls(anon=tokens.api_key("anon", secret), service_role=tokens.api_key("service_role", secret),
                   publishable=settings.api.publishable_key, secret=settings.api.secret_key)


@dataclass
class GatewayContext:
    """What every service shares: the settings, the database, one connection pool (autocommit; open a
    transaction with `conn.transaction()`), the token verifier and the keys."""

    settings: Settings
    database_url: str = field(repr=False)
    pool: AsyncConnectionPool = field(repr=False)
    verifier: TokenVerifier = field(repr=False)
    keys: ApiKeys = field(repr=False)

    @property
    def external_url(self) -> str:
        """The URL clients reach the gateway at (Auth's issuer and e-mail links are built from it)."""
        api = self.settings.api
        return (api.external_url or f"http://{api.host}:{api.port}").rstrip("/")


class Service(Protocol):
    prefix: str
    app: ASGIApp

    def needs_key(self, path: str) -> bool: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def token_settings(settings: Settings, *, require_explicit: bool = False) -> TokenSettings:
    """The verification keys from the settings (the Supabase CLI's local secret when none is set, refused by
    `require_explicit`, which every non-local deployment asks for; the signing keys file when one is set)."""
    return TokenSettings.from_settings(settings, require_explicit=require_explicit)


def create_pool(database_url: str, settings: Settings, *, name: str = "supakit-api") -> AsyncConnectionPool:
    """The gateway's pool (autocommit: a service opens its transaction itself), not yet open."""
    return AsyncConnectionPool(database_url, min_size=1, max_size=settings.api.pool_size, open=False, timeout=10,
                               kwargs={"autocommit": True, "application_name": name})


def discover_services(context: GatewayContext, modules: Iterable[str] = SERVICE_MODULES) -> list[Service]:
    """The services whose packages exist, each built by its module's `service(context)`."""
    services = []
    for name in modules:
        if importlib.util.find_spec(name) is None:
            continue
        module = importlib.import_module(name)
        factory = getattr(module, "service", None)
        if factory is not None:
            services.append(factory(context))
    return services


# -- headers -------------------------------------------------------------------------------------------------------


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


def _with_header(headers: Sequence[tuple[bytes, bytes]], name: bytes, value: str | None) -> list[tuple[bytes, bytes]]:
    kept = [(k, v) for k, v in headers if k != name]
    if value is not None:
        kept.append((name, value.encode("latin-1")))
    return kept


async def _send_json(send: Send, status: int, body: Any, headers: Sequence[tuple[bytes, bytes]] = ()) -> None:
    payload = json.dumps(body, separators=(",", ":")).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json; charset=utf-8"),
                            (b"content-length", str(len(payload)).encode()), *headers]})
    await send({"type": "http.response.body", "body": payload})


_CORS_HEADERS = ((b"access-control-allow-origin", b"*"),
                 (b"access-control-expose-headers", CORS_EXPOSE_HEADERS.encode()))
_CORS_NAMES = frozenset(name for name, _ in _CORS_HEADERS)


def _cors_headers() -> list[tuple[bytes, bytes]]:
    return list(_CORS_HEADERS)


class Resolution:
    """What the key check decided: the bearer the service sees and the role of the key used (when a key was)."""

    __slots__ = ("bearer", "key_role", "error")

    def __init__(self, bearer: str | None, key_role: str | None = None, error: dict | None = None) -> None:
        self.bearer, self.key_role, self.error = bearer, key_role, error


class KeyTranslator:
    """The CLI gateway's key rule, with the keys verified (module docstring)."""

    def __init__(self, keys: ApiKeys, verifier: TokenVerifier) -> None:
        self.keys = keys
        self.verifier = verifier
        self._known_jwts = {keys.anon: "anon", keys.service_role: "service_role"}

    def _key_role(self, apikey: str) -> str | None:
        """The role a key stands for, or None when it is not one of this project's keys."""
        if apikey == self.keys.secret:
            return "service_role"
        if apikey == self.keys.publishable:
            return "anon"
        if apikey in self._known_jwts:
            return self._known_jwts[apikey]
        if apikey.startswith("sb_"):
            return None
        try:  # a legacy key minted with the project's secret (a custom expiry, say)
            role = self.verifier.verify(apikey).get("role")
        except InvalidToken:
            return None
        return role if role in ("anon", "service_role") else None

    def _jwt_for(self, role: str) -> str:
        return self.keys.service_role if role == "service_role" else self.keys.anon

    def jwt_for_key(self, key: str) -> str | None:
        """The JWT a publishable or secret key (`sb_…`) stands for; None for anything else."""
        role = self._key_role(key) if key.startswith("sb_") else None
        return self._jwt_for(role) if role is not None else None

    def resolve(self, apikey: str | None, authorization: str | None, *, key_required: bool) -> Resolution:
        bearer = None
        if authorization and authorization[:7].lower() == "bearer ":
            bearer = authorization[7:].strip()
        elif authorization:
            bearer = None
        key_role = None
        if apikey:
            key_role = self._key_role(apikey)
            if key_role is None and key_required:
                return Resolution(None, error=BAD_KEY)
        if bearer and bearer.startswith("sb_"):
            role = self._key_role(bearer)
            if role is None:
                return Resolution(None, error=BAD_KEY) if key_required else Resolution(None)
            return Resolution(self._jwt_for(role), key_role=role)
        if authorization:  # kept as sent: the service validates it
            return Resolution(bearer if bearer is not None else "", key_role=key_role)
        if key_role is not None:
            return Resolution(self._jwt_for(key_role), key_role=key_role)
        if key_required and not apikey:
            return Resolution(None, error=NO_KEY)
        return Resolution(None)


class Gateway:
    """The ASGI app: routes by prefix to the services (stripped), everything else to `fallback` (the edge app
    with /functions/v1 and /realtime/v1); CORS and keys as the module docstring says."""

    def __init__(self, services: Sequence[Service], fallback: ASGIApp, translator: KeyTranslator) -> None:
        self.services = sorted(services, key=lambda s: len(s.prefix), reverse=True)
        self.fallback = fallback
        self.translator = translator

    def _service_for(self, path: str) -> Service | None:
        for service in self.services:
            if path == service.prefix or path.startswith(service.prefix + "/"):
                return service
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan, or a WebSocket (Realtime's socket)
            if scope["type"] == "websocket" and scope["path"].startswith(REALTIME_PREFIX + "/"):
                scope = self._with_socket_key(scope)
            await self.fallback(scope, receive, send)
            return
        path = scope["path"]
        service = self._service_for(path)
        preflight = scope["method"] == "OPTIONS" and _header(scope, b"access-control-request-method") is not None
        if service is None:
            if preflight and path.startswith(EDGE_ROUTE_PREFIXES):
                await _answer_preflight(scope, send)
                return
            if path.startswith(REALTIME_PREFIX + "/api/"):
                scope = self._with_bearer(scope)
            await self.fallback(scope, receive, _with_cors(send, replace=False))
            return
        inner = path[len(service.prefix):] or "/"
        if preflight:
            await _answer_preflight(scope, send)
            return
        apikey = authorization = None
        authorizations = 0
        headers = scope.get("headers", ())
        for key, value in headers:
            if key == b"apikey":
                apikey = apikey or value.decode("latin-1")
            elif key == b"authorization":
                authorization = authorization or value.decode("latin-1")
                authorizations += 1
        if apikey is None:
            apikey = _query_apikey(scope)
        resolution = self.translator.resolve(apikey, authorization, key_required=service.needs_key(inner))
        if resolution.error is not None:
            await _send_json(send, 401, resolution.error, _cors_headers())
            return
        # rewritten unless the request already carries exactly that one header (the common case: no copy)
        if resolution.bearer and (authorizations != 1 or authorization != f"Bearer {resolution.bearer}"):
            headers = _with_header(headers, b"authorization", f"Bearer {resolution.bearer}")
        child = dict(scope)
        child["headers"] = headers
        child["path"] = inner
        child["raw_path"] = inner.encode()
        child["root_path"] = scope.get("root_path", "") + service.prefix
        state = dict(scope.get("state") or {})
        state["key_role"] = resolution.key_role
        child["state"] = state
        await service.app(child, receive, _with_cors(send, replace=True))

    def _with_socket_key(self, scope: Scope) -> Scope:
        """A Realtime socket whose `apikey` query parameter is a publishable or secret key, with the JWT it stands
        for in its place (the CLI's Kong `QueryToken`); anything else as it came (the server verifies it)."""
        query = scope.get("query_string") or b""
        if b"apikey=sb_" not in query:
            return scope
        pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
        changed = False
        for index, (name, value) in enumerate(pairs):
            jwt = self.translator.jwt_for_key(value) if name == "apikey" else None
            if jwt is not None:
                pairs[index], changed = (name, jwt), True
        return {**scope, "query_string": urlencode(pairs).encode("latin-1")} if changed else scope

    def _with_bearer(self, scope: Scope) -> Scope:
        """Realtime's REST API with the `Authorization` a service would get (the CLI's Kong `BearerToken`)."""
        apikey = _header(scope, b"apikey")
        if apikey is None:
            apikey = _query_apikey(scope)
        resolution = self.translator.resolve(apikey, _header(scope, b"authorization"), key_required=False)
        if not resolution.bearer:
            return scope
        return {**scope, "headers": _with_header(scope.get("headers", ()), b"authorization",
                                                 f"Bearer {resolution.bearer}")}


def _query_apikey(scope: Scope) -> str | None:
    """The `apikey` query parameter (Kong's key-auth reads it too), or None."""
    if not scope.get("query_string"):
        return None
    values = parse_qs(scope["query_string"].decode("latin-1")).get("apikey")
    return values[0] if values else None


async def _answer_preflight(scope: Scope, send: Send) -> None:
    """Kong's cors plugin answering a preflight itself: 200, any origin, its methods, the requested headers."""
    requested = _header(scope, b"access-control-request-headers")
    headers = [(b"access-control-allow-origin", b"*"),
               (b"access-control-allow-methods", CORS_ALLOW_METHODS.encode()),
               (b"vary", b"Access-Control-Request-Headers")]
    if requested:
        headers.append((b"access-control-allow-headers", requested.encode("latin-1")))
    await send({"type": "http.response.start", "status": 200, "headers": [*headers, (b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})


def _with_cors(send: Send, *, replace: bool) -> Send:
    """`send` with the CORS headers added to the response start (kept when the app set its own, unless
    `replace`: Kong's plugin overrides what the service says about the origin)."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = message.get("headers", ())
            if replace:
                headers = [h for h in headers if h[0] not in _CORS_NAMES]
                headers.extend(_CORS_HEADERS)
            else:
                names = {k.lower() for k, _ in headers}
                headers = [*headers, *(h for h in _CORS_HEADERS if h[0] not in names)]
            message = {**message, "headers": headers}
        await send(message)

    return wrapped


async def not_found(scope: Scope, receive: Receive, send: Send) -> None:
    """Kong's answer for a path no route matches."""
    if scope["type"] == "http":
        await _send_json(send, 404, NO_ROUTE)


def build(settings: Settings, database_url: str, *, edge: Any, realtime: Any = None,
          require_explicit_jwt_secret: bool = False, services: Sequence[Service] | None = None,
          on_startup: Sequence[Callable[[], Any]] = (), on_shutdown: Sequence[Callable[[], Any]] = ()) -> Gateway:
    """The whole gateway for `supakit serve`: the edge app (functions_py.http.app, with `edge` its
    EdgeSettings) with the Realtime server's routes when `realtime` is given, and the discovered services (or
    `services`), sharing one lifespan: the pool opens, then the services and Realtime start; they stop in reverse."""
    from functions_py.http.app import create_app

    verifier = TokenVerifier(token_settings(settings, require_explicit=require_explicit_jwt_secret))
    pool = create_pool(database_url, settings)
    context = GatewayContext(settings=settings, database_url=database_url, pool=pool, verifier=verifier,
                             keys=ApiKeys.from_settings(settings))
    chosen = list(services) if services is not None else discover_services(context)

    async def open_pool() -> None:
        await pool.open(wait=False)

    async def start_services() -> None:
        for service in chosen:
            await service.start()

    async def stop_services() -> None:
        for service in reversed(chosen):
            try:
                await service.stop()
            except Exception:  # noqa: BLE001 - one service failing to stop must not keep the others running
                log.exception("stopping %s failed", service.prefix)
        await pool.close()

    startup = [open_pool, start_services, *([realtime.start] if realtime else []), *on_startup]
    shutdown = [*on_shutdown, *([realtime.stop] if realtime else []), stop_services]
    app = create_app(edge, extra_routes=realtime.routes() if realtime else (), on_startup=startup,
                     on_shutdown=shutdown, fallback=not_found)
    gateway = Gateway(chosen, app, KeyTranslator(context.keys, verifier))
    gateway.context = context  # type: ignore[attr-defined]  # tests and `supakit status` read it
    return gateway


URI_TOO_LONG = {"message": "Request-URI Too Long",
                "hint": "The request line is over 64 KiB, more than the gateway's HTTP parser takes: send fewer "
                        "filter terms (an `in.(…)` list instead of a long `or`), or call an RPC with a POST body."}


def _http_protocol() -> type:
    """uvicorn's httptools protocol, answering a request line it cannot parse because it is too long with 414 and a
    JSON body carrying CORS (as Kong answers an overlong URI), instead of a bare text 400 a browser cannot read."""
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class GatewayHttpProtocol(HttpToolsProtocol):
        def send_400_response(self, msg: str) -> None:
            # httptools parses URLs with 16-bit offsets: a longer one fails after the headers were read
            if len(getattr(self, "url", b"")) <= 65535:
                super().send_400_response(msg)
                return
            payload = json.dumps(URI_TOO_LONG, separators=(",", ":")).encode()
            head = (b"HTTP/1.1 414 URI Too Long\r\ncontent-type: application/json; charset=utf-8\r\n"
                    b"access-control-allow-origin: *\r\ncontent-length: " + str(len(payload)).encode()
                    + b"\r\nconnection: close\r\n\r\n")
            self.transport.write(head + payload)
            self.transport.close()

    return GatewayHttpProtocol


def uvicorn_options() -> dict[str, Any]:
    """uvicorn settings every server of the gateway runs with (`supakit serve`, the test harness, the benches);
    `ws`: uvicorn's WebSocket protocol with the Realtime server's direct frame writes (realtime/transport.py)."""
    return {"timeout_keep_alive": KEEP_ALIVE_S, "server_header": False, "http": _http_protocol(),
            "ws": websocket_protocol()}
