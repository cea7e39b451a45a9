"""The local Realtime server: Supabase Realtime's protocol over Starlette, so the official clients connect unchanged.

`RealtimeServer.routes()` gives the WebSocket and REST routes, for `supakit realtime serve` (its own app, see
`app()`) or for mounting beside the edge functions in one app on one port, as Supabase serves /functions/v1 and
/realtime/v1 under one URL. `start()` opens the database side (authorization pool, broadcast-from-database feed,
postgres_changes feed) and must run before sockets are served; `stop()` closes every socket with 1001 (clients
reconnect and rejoin) and releases the replication slots.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket

from functions_py import config
from functions_py.config import Settings
from functions_py.db import async_pool
from functions_py.realtime import protocol
from functions_py.realtime.authorization import Authorizer, ReadAccess
from functions_py.realtime.channels import Channel, Hub, Outgoing
from functions_py.realtime.connection import Connection, Flusher
from functions_py.realtime.messages import DatabaseMessage, MessageFeed
from functions_py.realtime.slots import RestartPointKeeper
from functions_py.tokens import InvalidToken, TokenSettings, TokenVerifier

log = logging.getLogger("supakit.realtime")

DEFAULT_PORT = 54321  # the Supabase CLI's API port: supabase-js pointed at http://127.0.0.1:54321 just works
DEFAULT_MAX_PAYLOAD_KB = 256  # Supabase's broadcast payload limit on the free plan
DEFAULT_IDLE_TIMEOUT_S = 60.0  # no frame (not even a heartbeat, sent every 25 s) for this long: the socket is dead
REAP_EVERY_S = 5.0


@dataclass(frozen=True)
class RealtimeSettings:
    """How the server runs. `database_url` None: no database (public channels only; private joins refused)."""

    database_url: str | None
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_KB * 1024
    idle_timeout_s: float = DEFAULT_IDLE_TIMEOUT_S
    token: TokenSettings = field(default_factory=TokenSettings.from_env)

    @classmethod
    def from_env(cls, database_url: str | None, *, host: str | None = None, port: int | None = None,
                 token: TokenSettings | None = None) -> RealtimeSettings:
        """from_settings with the process's settings (functions_py.config.current())."""
        return cls.from_settings(config.current(), database_url, host=host, port=port, token=token)

    @classmethod
    def from_settings(cls, settings: Settings, database_url: str | None, *, host: str | None = None,
                      port: int | None = None, token: TokenSettings | None = None) -> RealtimeSettings:
        """Options given here, else realtime.host / .port / .max_payload_kb."""
        realtime = settings.realtime
        return cls(database_url=database_url, host=host or realtime.host, port=port or realtime.port,
                   max_payload_bytes=realtime.max_payload_kb * 1024,
                   token=token or TokenSettings.from_settings(settings))


class Metrics:
    """Counters for /metrics (Prometheus text format)."""

    def __init__(self) -> None:
        self.counters: Counter[str] = Counter()

    def inc(self, name: str) -> None:
        self.counters[name] += 1

    def add(self, name: str, amount: int) -> None:
        self.counters[name] += amount


def freeze_startup_objects() -> None:
    """Collect, then move every object alive now (modules, classes, the app) out of the cyclic collector's reach
    (`gc.freeze()`): a full collection walks every tracked object with the event loop stopped, and the ~75,000
    the imports leave cost ~40 ms of CPU per walk on this project's 2-core machine, paid as a stall by every socket
    (docs/realtime-fanout-performance.md). For a server process's entry point, once, before it serves; objects
    created afterwards are collected as usual."""
    gc.collect()
    gc.freeze()


def _apikey(headers: Any, query: Any) -> str | None:
    return query.get("apikey") or headers.get("apikey") or headers.get("x-api-key") or None


def _bearer(headers: Any) -> str | None:
    value = headers.get("authorization") or ""
    return value[7:].strip() if value[:7].lower() == "bearer " else None


class RealtimeServer:
    """Supabase Realtime's protocol (realtime-protocol.md) for the local stack."""

    def __init__(self, settings: RealtimeSettings) -> None:
        self.settings = settings
        self.verifier = TokenVerifier(settings.token)
        self.hub = Hub()
        self.metrics = Metrics()
        self.connections: set[Connection] = set()
        self.flusher = Flusher()  # one write-out per loop turn for every socket with frames queued
        self.pool: AsyncConnectionPool | None = None
        self.authorizer: Authorizer | None = None
        self.messages: MessageFeed | None = None
        self.changes: Any = None  # functions_py.realtime.changes.ChangeFeed, when available
        self.changes_error: str | None = None
        self._subscriptions: dict[str, Channel] = {}
        self._reaper: asyncio.Task | None = None
        self._keeper: asyncio.Task | None = None
        self.started = False

    # -- lifecycle ---------------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect to the database (when one is configured) and start the feeds and the socket reaper."""
        if self.started:
            return
        url = self.settings.database_url
        if url:
            # check: a connection broken by a database restart is replaced before a join uses it
            self.pool = async_pool(url, application_name="supakit realtime authorization", check=True)
            await self.pool.open(wait=True, timeout=10)
            self.authorizer = Authorizer(self.pool)
            self.messages = MessageFeed(url, self._deliver_database_message,
                                        wanted=lambda: bool(self.hub.topics))
            await self.messages.start()
            await self._start_changes(url)
            keeper = RestartPointKeeper(self.pool, lambda: (getattr(feed, "slot", None)
                                                            for feed in (self.messages, self.changes)))
            self._keeper = asyncio.create_task(keeper.run(), name="realtime-slot-restart-points")
        self._reaper = asyncio.create_task(self._reap(), name="realtime-reaper")
        self.started = True
        log.info("realtime: started (database %s)", "connected" if url else "none: public channels only")

    async def _start_changes(self, url: str) -> None:
        try:
            from functions_py.realtime.changes import ChangeFeed  # built in functions_py/realtime/changes/
        except ImportError as error:
            self.changes_error = f"postgres_changes are not available in this build ({error})"
            log.warning("realtime: %s", self.changes_error)
            return
        feed = ChangeFeed(url, self._deliver_changes)
        try:
            await feed.start()
        except Exception as error:  # broadcast and presence still work without postgres_changes
            self.changes_error = f"postgres_changes are unavailable: the change feed did not start ({error})"
            log.error("realtime: %s", self.changes_error)
            with contextlib.suppress(Exception):
                await feed.stop()
            return
        self.changes = feed

    async def stop(self) -> None:
        """Close every socket (code 1001: clients reconnect) and release the database side."""
        for task in (self._reaper, self._keeper):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._reaper = self._keeper = None
        await asyncio.gather(*(conn.close(1001, "server shutting down") for conn in list(self.connections)))
        for feed in (self.changes, self.messages):
            if feed is not None:
                with contextlib.suppress(Exception):
                    await feed.stop()
        self.changes = self.messages = None
        if self.pool is not None:
            await self.pool.close()
            self.pool = self.authorizer = None
        self.started = False

    async def _reap(self) -> None:
        """Close sockets that sent nothing (not even a heartbeat) for `idle_timeout_s`."""
        while True:
            await asyncio.sleep(REAP_EVERY_S)
            deadline = time.monotonic() - self.settings.idle_timeout_s
            for conn in list(self.connections):
                if conn.last_seen < deadline and not conn.closed:
                    log.info("realtime: reaping socket %s (no heartbeat for %.0f s)", conn.id,
                             self.settings.idle_timeout_s)
                    self.metrics.inc("sockets_reaped_total")
                    conn.close_soon(1000, "heartbeat timeout")

    # -- routes ------------------------------------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        """The routes to mount: the two WebSocket paths, the broadcast REST API and the metrics."""
        return [
            WebSocketRoute("/realtime/v1/websocket", self.websocket_endpoint),
            WebSocketRoute("/socket/websocket", self.websocket_endpoint),
            Route("/realtime/v1/api/broadcast", self.rest_broadcast, methods=["POST"]),
            Route("/realtime/v1/api/broadcast/{topic}/events/{event}", self.rest_broadcast_one, methods=["POST"]),
            Route("/realtime/v1/metrics", self.metrics_endpoint, methods=["GET"]),
        ]

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[RealtimeServer]:
        """`start()` ... `stop()` around a block: what an app mounting `routes()` enters in its lifespan."""
        await self.start()
        try:
            yield self
        finally:
            await self.stop()

    def app(self) -> Starlette:
        """A standalone app: the routes plus /metrics, starting and stopping with the ASGI lifespan."""

        @contextlib.asynccontextmanager
        async def lifespan(_app: Starlette) -> AsyncIterator[None]:
            async with self.running():
                yield

        return Starlette(routes=[*self.routes(), Route("/metrics", self.metrics_endpoint, methods=["GET"])],
                         lifespan=lifespan)

    async def websocket_endpoint(self, websocket: WebSocket) -> None:
        vsn = websocket.query_params.get("vsn") or protocol.VSN_1
        if vsn not in protocol.VERSIONS:
            await websocket.send_denial_response(JSONResponse(
                {"error": f"unsupported protocol version vsn={vsn}; use 1.0.0 or 2.0.0"}, status_code=400))
            return
        try:
            claims = self.verifier.verify(_apikey(websocket.headers, websocket.query_params))
        except InvalidToken as error:
            self.metrics.inc("connections_refused_total")
            log.info("realtime: refused a socket: %s", error.message)
            await websocket.send_denial_response(JSONResponse({"error": error.message}, status_code=401))
            return
        if not self.started:
            await websocket.send_denial_response(JSONResponse(
                {"error": "the Realtime server is not started yet; retry in a moment"}, status_code=503))
            return
        await websocket.accept()
        conn = Connection(self, websocket, vsn, claims, self.flusher)
        self.connections.add(conn)
        self.metrics.inc("connections_total")
        client = websocket.client
        log.debug("realtime: socket %s connected (vsn %s, role %s, from %s)", conn.id, vsn, claims.get("role"),
                  f"{client.host}:{client.port}" if client else "?")
        try:
            await conn.run()
        finally:
            self.connections.discard(conn)
            log.debug("realtime: socket %s closed", conn.id)

    async def metrics_endpoint(self, _request: Request) -> Response:
        gauges = {"connections": len(self.connections), "channels": self.hub.channel_count,
                  "topics": len(self.hub.topics)}
        counters = dict(self.metrics.counters)
        if self.messages is not None:
            counters["database_broadcasts_total"] = self.messages.delivered
            counters.update({f"messages_{k}": v for k, v in self.messages.stats().items()})
        if self.changes is not None and hasattr(self.changes, "stats"):
            counters.update({f"changes_{k}": v for k, v in self.changes.stats().items()})
        lines = []
        for name, value in sorted(gauges.items()):
            lines += [f"# TYPE realtime_{name} gauge", f"realtime_{name} {value}"]
        for name, value in sorted(counters.items()):
            lines += [f"# TYPE realtime_{name} counter", f"realtime_{name} {value}"]
        return PlainTextResponse("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")

    # -- REST broadcast ----------------------------------------------------------------------------------------

    def _rest_claims(self, request: Request) -> dict[str, Any]:
        """The caller's claims: the bearer token when it is a JWT, else the apikey (Realtime's auth_tenant plug
        reads `Authorization` first and falls back to `apikey`; only the one used is verified)."""
        bearer = _bearer(request.headers)
        if bearer and not bearer.startswith("sb_"):
            return self.verifier.verify(bearer)
        return self.verifier.verify(_apikey(request.headers, request.query_params))

    def _rest_refusal(self, error: InvalidToken) -> Response:
        """Realtime's auth_tenant plug: 401 `{"message": "Unauthorized"}` whatever the reason (logged here)."""
        log.info("realtime: refused a REST broadcast: %s", error.message)
        return JSONResponse({"message": "Unauthorized"}, status_code=401)

    async def rest_broadcast(self, request: Request) -> Response:
        """POST /api/broadcast {messages:[{topic, event, payload, private?}]} -> 202; an invalid batch is 422
        `{"errors": ...}` as Realtime's BatchBroadcast changeset renders it."""
        try:
            claims = self._rest_claims(request)
        except InvalidToken as error:
            return self._rest_refusal(error)
        try:
            body = json.loads(await request.body())
        except ValueError:
            return JSONResponse({"error": "the body is not JSON; send {\"messages\": [{\"topic\", \"event\", "
                                          "\"payload\", \"private\"}]}"}, status_code=400)
        problems = batch_errors(body)
        if problems is not None:
            return JSONResponse({"errors": problems}, status_code=422)
        messages = body["messages"]
        encoded = [protocol.dumps(message["payload"]) for message in messages]
        for payload_json in encoded:
            if len(payload_json) > self.settings.max_payload_bytes:
                return JSONResponse({"error": f"a payload is {len(payload_json)} bytes; the limit is "
                                              f"{self.settings.max_payload_bytes}"}, status_code=413)
        for message, payload_json in zip(messages, encoded, strict=True):
            await self._rest_deliver(message["topic"], message["event"], payload_json, bool(message.get("private")),
                                     claims)
        return Response(status_code=202)

    async def rest_broadcast_one(self, request: Request) -> Response:
        """POST /api/broadcast/:topic/events/:event[?private=true] (realtime-py http_send) -> 202, as Realtime's
        SingleBroadcast: 415 for a body neither JSON nor bytes, 422 for one over the payload limit, 403 for a
        private message the caller may not write."""
        try:
            claims = self._rest_claims(request)
        except InvalidToken as error:
            return self._rest_refusal(error)
        content_type = request.headers.get("content-type")
        binary = content_type is not None and content_type.startswith("application/octet-stream")
        if content_type is not None and not binary and not content_type.startswith("application/json"):
            return JSONResponse({"error": "Unsupported Media Type. Use application/json or application/octet-stream"},
                                status_code=415)
        raw = await request.body()
        if len(raw) > self.settings.max_payload_bytes:
            return JSONResponse({"errors": {"payload": ["Payload size exceeds tenant limit"]}}, status_code=422)
        private = request.query_params.get("private", "").lower() == "true"
        topic, event = request.path_params["topic"], request.path_params["event"]
        payload_json = None
        if not binary:
            try:
                payload_json = protocol.dumps(json.loads(raw or b"{}"))
            except ValueError:
                return JSONResponse({"error": "the body is not JSON (send application/octet-stream for bytes)"},
                                    status_code=400)
        if not await self._rest_deliver(topic, event, payload_json, private, claims, binary=raw if binary else None):
            return JSONResponse({"message": "Unauthorized"}, status_code=403)
        return Response(status_code=202)

    async def _rest_deliver(self, name: str, event: str, payload_json: str | None, private: bool,
                            claims: dict[str, Any], *, binary: bytes | None = None) -> bool:
        """Private messages need write access, as a socket broadcast does; False (not delivered) when denied."""
        if private and (self.authorizer is None or not await self.authorizer.write(name, claims, "broadcast")):
            self.metrics.inc("broadcasts_denied_total")
            return False
        message = Outgoing(topic=f"realtime:{name}", event=event, payload_json=payload_json, binary=binary,
                           prefer_binary=binary is not None)
        self.metrics.add("broadcasts_delivered_total", self.hub.broadcast((private, name), message))
        return True

    # -- ChannelHost: what connections use (connection.py) ----------------------------------------------------

    @property
    def max_payload_bytes(self) -> int:
        return self.settings.max_payload_bytes

    def count(self, name: str, amount: int = 1) -> None:
        self.metrics.counters[name] += amount

    def verify(self, token: str) -> dict[str, Any]:
        return self.verifier.verify(token)

    async def joined(self, channel: Channel) -> list[str]:
        self.hub.add(channel)
        errors = await self.subscribe_changes(channel) if channel.bindings else []
        self.schedule_expiry(channel)
        return errors

    async def refreshed(self, channel: Channel) -> None:
        self.schedule_expiry(channel)
        if channel.bindings:
            await self.resubscribe_changes(channel)

    def broadcast(self, channel: Channel, message: Outgoing) -> None:
        self.metrics.add("broadcasts_delivered_total", self.hub.broadcast(channel.key, message, sender=channel))

    def presence_state(self, channel: Channel) -> dict:
        return self.hub.presence_state(channel.key)

    def track(self, channel: Channel, payload: dict) -> None:
        self.hub.send_presence_diff(channel.key, self.hub.track(channel, payload))

    def untrack(self, channel: Channel) -> None:
        diff = self.hub.untrack(channel)
        if diff is not None:
            self.hub.send_presence_diff(channel.key, diff)

    async def authorize_read(self, channel: Channel) -> ReadAccess:
        if self.authorizer is None:
            return ReadAccess(False, False)
        return await self.authorizer.read(channel.name, channel.claims, presence=channel.presence_enabled)

    async def authorize_write(self, channel: Channel, extension: str) -> bool:
        """Checked once per channel and token, at the first broadcast or track."""
        allowed = channel.write.get(extension)
        if allowed is None:
            allowed = self.authorizer is not None and await self.authorizer.write(channel.name, channel.claims,
                                                                                 extension)
            channel.write[extension] = allowed
        return allowed

    def schedule_expiry(self, channel: Channel) -> None:
        """Close the channel when its token expires, as Supabase does (system error, then phx_close)."""
        if channel.expiry is not None:
            channel.expiry.cancel()
            channel.expiry = None
        exp = channel.claims.get("exp")
        if not isinstance(exp, (int, float)):
            return
        delay = max(0.0, exp - time.time())
        if delay > 86400 * 30:
            return  # API keys: years away

        def expire() -> None:
            asyncio.ensure_future(channel.conn.close_channel(channel, "Token has expired 0 seconds ago"))

        channel.expiry = asyncio.get_running_loop().call_later(delay, expire)

    async def drop_channel(self, channel: Channel) -> None:
        """Forget a channel: membership, presence (leaves are broadcast), postgres_changes subscriptions."""
        conn = channel.conn
        if conn.channels.get(channel.topic) is channel:
            del conn.channels[channel.topic]
        if channel.expiry is not None:
            channel.expiry.cancel()
            channel.expiry = None
        self.hub.remove(channel)
        for _, sub_id, _ in channel.bindings:
            if self._subscriptions.pop(sub_id, None) is not None and self.changes is not None:
                with contextlib.suppress(Exception):
                    await self.changes.remove_subscription(sub_id)

    async def subscribe_changes(self, channel: Channel) -> list[str]:
        """Subscribe the channel's postgres_changes bindings; returns the error messages (empty: all live)."""
        if self.changes is None:
            return [self.changes_error or "postgres_changes need a database (start the server with one)"]
        errors = []
        for _, sub_id, binding in channel.bindings:
            try:
                await self.changes.add_subscription(sub_id, role=channel.role, claims=channel.claims,
                                                    binding=binding)
                self._subscriptions[sub_id] = channel
            except Exception as error:  # SubscriptionError carries the message for the client
                errors.append(getattr(error, "message", None) or str(error))
        return errors

    async def resubscribe_changes(self, channel: Channel) -> None:
        """After a token refresh: the feed checks RLS with the new claims."""
        if self.changes is None:
            return
        for _, sub_id, _ in channel.bindings:
            if self._subscriptions.pop(sub_id, None) is not None:
                await self.changes.remove_subscription(sub_id)
        errors = await self.subscribe_changes(channel)
        for message in errors:
            channel.conn.system(channel, "postgres_changes", "error", message)

    # -- feeds -------------------------------------------------------------------------------------------------

    def _deliver_database_message(self, message: DatabaseMessage) -> None:
        """A committed realtime.messages row: to the private or the public topic of that name."""
        payload_json = message.payload_json
        if payload_json is None and message.binary_payload is None:
            payload_json = "{}"
        outgoing = Outgoing(topic=f"realtime:{message.topic}", event=message.event, payload_json=payload_json,
                            binary=message.binary_payload if payload_json is None else None,
                            meta={"id": message.id}, prefer_binary=True)
        self.metrics.add("broadcasts_delivered_total", self.hub.broadcast((message.private, message.topic),
                                                                          outgoing))

    async def _deliver_changes(self, deliveries: Sequence[tuple[frozenset[str], dict]]) -> None:
        """One change: each group of subscribers shares one `data`, encoded once per protocol version."""
        for sub_ids, data in deliveries:
            per_channel: dict[Channel, list[int]] = {}
            for sub_id in sub_ids:
                channel = self._subscriptions.get(sub_id)
                if channel is None:
                    continue
                for binding_id, candidate, _ in channel.bindings:
                    if candidate == sub_id:
                        per_channel.setdefault(channel, []).append(binding_id)
            if not per_channel:
                continue
            data_json = protocol.dumps(data)
            for channel, ids in per_channel.items():
                payload = f'{{"data":{data_json},"ids":{protocol.dumps(ids)}}}'
                channel.conn.enqueue(protocol.encode_raw(channel.conn.vsn, channel.topic, "postgres_changes",
                                                         payload))
                self.metrics.inc("changes_delivered_total")


def batch_errors(body: Any) -> dict[str, Any] | None:
    """What Realtime's BatchBroadcast changeset says of a batch (`messages` required; each message's topic,
    event and payload required, payload a map, private a boolean), as Ecto renders its errors; None when valid."""
    messages = body.get("messages") if isinstance(body, dict) else None
    if messages is None or messages == []:
        return {"messages": ["can't be blank"]}
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        return {"messages": ["is invalid"]}
    found = []
    for message in messages:
        problems: dict[str, list[str]] = {}
        for name in ("topic", "event"):
            value = message.get(name)
            if value is not None and not isinstance(value, str):
                problems[name] = ["is invalid"]
            elif value is None or not value.strip():
                problems[name] = ["can't be blank"]
        payload = message.get("payload")
        if payload is None:
            problems["payload"] = ["can't be blank"]
        elif not isinstance(payload, dict):
            problems["payload"] = ["is invalid"]
        if message.get("private") is not None and not isinstance(message.get("private"), bool):
            problems["private"] = ["is invalid"]
        found.append(problems)
    return {"messages": found} if any(found) else None
