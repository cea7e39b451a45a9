"""A local stand-in for the parts of Stripe's API supakit calls, so the official `stripe` SDK runs unchanged
(pointed at it with STRIPE_API_BASE / `base_addresses`).

It speaks Stripe's shapes: form-encoded requests with bracketed keys (`line_items[0][price]`), Bearer API keys,
`Idempotency-Key` (a repeated key answers the first response again, with `Idempotent-Replayed: true`), JSON
objects carrying an `object` field, lists as `{"object": "list", "data": [...], "has_more": false}`, and errors as
`{"error": {"type", "code", "message", "param"}}`. Every request is recorded with its decoded parameters.

    with FakeStripeAPI(api_key="sk_test_123") as api:
        ...  # STRIPE_API_BASE=api.url
        assert api.requests_to("POST", "/v1/checkout/sessions")[0].params["mode"] == "subscription"
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

Reply = tuple[int, dict[str, Any], dict[str, str]]


def _id(prefix: str) -> str:
    return prefix + secrets.token_hex(8)


def decode_form(raw: str) -> dict[str, Any]:
    """Stripe's form encoding back into nested dicts and lists: `a[b][0][c]=x` → {"a": {"b": [{"c": "x"}]}}."""
    root: dict[str, Any] = {}
    for key, value in parse_qsl(raw, keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+", key)
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return _lists(root)


def _lists(node: Any) -> Any:
    if isinstance(node, dict):
        if node and all(k.isdigit() for k in node):
            return [_lists(node[k]) for k in sorted(node, key=int)]
        return {k: _lists(v) for k, v in node.items()}
    return node


@dataclass(frozen=True)
class RecordedRequest:
    """One request: `headers` keys lower-case, `params` the decoded form body or query string."""

    method: str
    path: str
    headers: dict[str, str]
    params: dict[str, Any]


def error(status: int, message: str, *, type_: str = "invalid_request_error", code: str | None = None,
          param: str | None = None) -> Reply:
    body: dict[str, Any] = {"type": type_, "message": message}
    if code:
        body["code"] = code
    if param:
        body["param"] = param
    return status, {"error": body}, {}


class FakeStripeAPI:
    """The fake server on 127.0.0.1 at a free port once started (`url`). `customers` and `subscriptions` hold
    what it knows (tests may add subscriptions for `supakit billing sync`)."""

    def __init__(self, api_key: str, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.api_key = api_key
        self.requests: list[RecordedRequest] = []
        self.customers: dict[str, dict[str, Any]] = {}
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self._idempotent: dict[str, Reply] = {}
        self._failures: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), _make_handler(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeStripeAPI:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-stripe", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fail_next(self, status: int, message: str, *, type_: str = "invalid_request_error",
                  code: str | None = None) -> None:
        """Answer the next authenticated request with this Stripe error."""
        with self._lock:
            self._failures.append(error(status, message, type_=type_, code=code))

    def add_subscription(self, subscription: dict[str, Any]) -> None:
        with self._lock:
            self.subscriptions[subscription["id"]] = subscription

    def requests_to(self, method: str, path: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.method == method and r.path == path]

    # -- the API --------------------------------------------------------------------------------------------

    def answer(self, method: str, target: str, headers: dict[str, str], raw: bytes) -> Reply:
        split = urlsplit(target)
        path = split.path
        params = decode_form(raw.decode() if method == "POST" else split.query)
        with self._lock:
            self.requests.append(RecordedRequest(method, path, headers, params))
        authorization = headers.get("authorization", "")
        if not authorization.startswith("Bearer "):
            return error(401, "You did not provide an API key. Provide it in the Authorization header "
                              "(Authorization: Bearer YOUR_SECRET_KEY).")
        if authorization[len("Bearer "):] != self.api_key:
            key = authorization[len("Bearer "):]
            return error(401, f"Invalid API Key provided: {key[:8]}{'*' * 8}{key[-4:]}")
        key = headers.get("idempotency-key")
        with self._lock:
            if key and (method, path, key) in self._idempotent:
                status, body, extra = self._idempotent[(method, path, key)]
                return status, body, {**extra, "idempotent-replayed": "true"}
            if self._failures:
                return self._failures.popleft()
        reply = self._route(method, path, params)
        if key and method == "POST":
            with self._lock:
                self._idempotent[(method, path, key)] = reply
        return reply

    def _route(self, method: str, path: str, params: dict[str, Any]) -> Reply:
        now = int(time.time())
        if (method, path) == ("POST", "/v1/customers"):
            customer = {"id": _id("cus_"), "object": "customer", "created": now, "livemode": False,
                        "email": params.get("email"), "name": params.get("name"),
                        "metadata": params.get("metadata", {}), "deleted": False}
            with self._lock:
                self.customers[customer["id"]] = customer
            return 200, customer, {}
        if match := re.fullmatch(r"/v1/customers/([^/]+)", path):
            customer = self.customers.get(match[1])
            if method == "GET" and customer:
                return 200, customer, {}
            return error(404, f"No such customer: '{match[1]}'", code="resource_missing", param="id")
        if (method, path) == ("POST", "/v1/checkout/sessions"):
            return self._checkout(params, now)
        if (method, path) == ("POST", "/v1/billing_portal/sessions"):
            customer = params.get("customer")
            if not customer:
                return error(400, "Missing required param: customer.", code="parameter_missing", param="customer")
            if customer not in self.customers:
                return error(400, f"No such customer: '{customer}'", code="resource_missing", param="customer")
            session_id = _id("bps_")
            return 200, {"id": session_id, "object": "billing_portal.session", "created": now, "customer": customer,
                         "livemode": False, "return_url": params.get("return_url"),
                         "url": f"https://billing.stripe.com/p/session/test_{session_id}"}, {}
        if (method, path) == ("GET", "/v1/subscriptions"):
            with self._lock:
                data = [s for s in self.subscriptions.values()
                        if params.get("customer") in (None, s.get("customer"))
                        and (params.get("status") == "all" or s.get("status") != "canceled")]
            return 200, {"object": "list", "data": data, "has_more": False, "url": "/v1/subscriptions"}, {}
        return error(404, f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs or we "
                          "can help at https://support.stripe.com/.")

    def _checkout(self, params: dict[str, Any], now: int) -> Reply:
        for name in ("mode", "success_url"):
            if not params.get(name):
                return error(400, f"Missing required param: {name}.", code="parameter_missing", param=name)
        if params["mode"] == "subscription" and not params.get("line_items"):
            return error(400, "You must provide at least one recurring price in `subscription` mode when using "
                              "prices.", param="line_items")
        customer = params.get("customer")
        if customer and customer not in self.customers:
            return error(400, f"No such customer: '{customer}'", code="resource_missing", param="customer")
        session_id = "cs_test_" + secrets.token_hex(16)
        return 200, {
            "id": session_id, "object": "checkout.session", "created": now, "expires_at": now + 86400,
            "livemode": False, "mode": params["mode"], "status": "open", "payment_status": "unpaid",
            "customer": customer, "client_reference_id": params.get("client_reference_id"),
            "metadata": params.get("metadata", {}), "success_url": params["success_url"],
            "cancel_url": params.get("cancel_url"), "subscription": None,
            "url": f"https://checkout.stripe.com/c/pay/{session_id}",
        }, {}


def _make_handler(api: FakeStripeAPI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            headers = {name.lower(): value for name, value in self.headers.items()}
            status, body, extra = api.answer(self.command, self.path, headers, raw)
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.send_header("request-id", _id("req_"))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet: pytest shows failures
            pass

    return Handler
