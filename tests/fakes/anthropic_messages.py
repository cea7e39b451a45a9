"""A local stand-in for Anthropic's Messages API, for running the real `anthropic` SDK without a network.

`POST /v1/messages` checks what the real API checks first — the key (`x-api-key`, or `Authorization: Bearer`
as recent SDKs send it), the `anthropic-version` header, a JSON body with `model`, `max_tokens` and `messages`
— and answers in the API's shapes: a `message` object with a `request-id` header, or an error body
`{"type": "error", "error": {"type": ..., "message": ...}}`. Tests script the answers to valid requests with a
queue (`reply_text`, `reply_error`); with the queue empty it echoes. Every request received is recorded.

    with FakeMessagesAPI(api_key="sk-ant-test") as api:
        api.reply_error(529, "overloaded_error", "Overloaded")
        ...  # point ANTHROPIC_BASE_URL at api.url
        assert api.requests[0].body["model"] == "..."
"""

from __future__ import annotations

import json
import secrets
import threading
from collections import deque
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# Anthropic's error types by status (https://docs.anthropic.com/en/api/errors).
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
STATUS_PHRASES = {529: "Overloaded"}  # not in http.HTTPStatus


def _id(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(18).replace("-", "x").replace("_", "y")


def _tokens(text: str) -> int:
    """A rough token count (the fake need not match Anthropic's tokenizer, only be plausible)."""
    return max(1, len(text.split()))


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake received it; `headers` keys are lowercase, `body` is the parsed JSON (or None),
    `peer` the client's (host, port), which tells connections apart."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    peer: tuple[str, int] = ("", 0)


@dataclass
class CannedReply:
    """A scripted answer: `status` with `body` (None: a success built from the request), after `delay_s`."""

    status: int = 200
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    text: str | None = None
    delay_s: float = 0.0
    stop_reason: str = "end_turn"


class FakeMessagesAPI:
    """The fake server, listening on 127.0.0.1 at a free port once started (`url`)."""

    def __init__(self, api_key: str, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.api_key = api_key
        self.requests: list[RecordedRequest] = []
        self._replies: deque[CannedReply] = deque()
        self._lock = threading.Lock()
        self._released = threading.Event()  # set on stop: delayed replies give up waiting
        self._server = ThreadingHTTPServer((host, port), _make_handler(self))
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeMessagesAPI:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-anthropic", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop answering and close the port: later connections are refused."""
        self._released.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> FakeMessagesAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- scripting ------------------------------------------------------------------------------------------

    def reply_text(self, text: str, *, stop_reason: str = "end_turn", delay_s: float = 0.0) -> None:
        """Answer the next valid request with a message whose content is `text`."""
        self._push(CannedReply(text=text, stop_reason=stop_reason, delay_s=delay_s))

    def reply_error(self, status: int, error_type: str | None = None, message: str = "error", *,
                    headers: dict[str, str] | None = None, delay_s: float = 0.0) -> None:
        """Answer the next valid request with Anthropic's error body at `status`."""
        error_type = error_type or ERROR_TYPES.get(status, "api_error")
        body = {"type": "error", "error": {"type": error_type, "message": message}}
        self._push(CannedReply(status=status, body=body, headers=headers or {}, delay_s=delay_s))

    def reply_raw(self, reply: CannedReply) -> None:
        """Answer the next valid request with exactly `reply`."""
        self._push(reply)

    def _push(self, reply: CannedReply) -> None:
        with self._lock:
            self._replies.append(reply)

    def _next_reply(self) -> CannedReply:
        with self._lock:
            return self._replies.popleft() if self._replies else CannedReply()

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    # -- the API --------------------------------------------------------------------------------------------

    def answer(self, method: str, path: str, headers: dict[str, str], raw: bytes, peer: tuple[str, int] = ("", 0)
               ) -> tuple[int, dict[str, Any], dict[str, str]]:
        """(status, body, extra headers) for one request, checked in the order the real API checks."""
        body: Any = None
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        self._record(RecordedRequest(method, path, headers, body, peer))

        if path.split("?")[0] != "/v1/messages":
            return _error(404, "not_found_error", "Not Found")
        if method != "POST":
            return _error(405, "invalid_request_error", f"Method {method} not allowed")
        key = headers.get("x-api-key")
        authorization = headers.get("authorization", "")
        if key is None and authorization.lower().startswith("bearer "):
            key = authorization[len("bearer "):]
        if not key:
            return _error(401, "authentication_error", "x-api-key header is required")
        if key != self.api_key:
            return _error(401, "authentication_error", "invalid x-api-key")
        if not headers.get("anthropic-version"):
            return _error(400, "invalid_request_error", "anthropic-version: header is required")
        if not isinstance(body, dict):
            return _error(400, "invalid_request_error", "There was an issue with the request body: not valid JSON")
        if problem := _body_problem(body):
            return _error(400, "invalid_request_error", problem)

        reply = self._next_reply()
        if reply.delay_s:
            self._released.wait(reply.delay_s)
        if reply.body is not None:
            return reply.status, reply.body, reply.headers
        text = reply.text if reply.text is not None else f"echo: {_last_user_text(body)}"
        prompt_text = " ".join([_system_text(body.get("system")), *(_content_text(m) for m in body["messages"])])
        message = {
            "id": _id("msg_"),
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": [{"type": "text", "text": text}],
            "stop_reason": reply.stop_reason,
            "stop_sequence": None,
            "usage": {
                "input_tokens": _tokens(prompt_text),
                "output_tokens": min(_tokens(text), body["max_tokens"]),
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
            },
        }
        return reply.status, message, reply.headers


def _error(status: int, error_type: str, message: str) -> tuple[int, dict[str, Any], dict[str, str]]:
    return status, {"type": "error", "error": {"type": error_type, "message": message}}, {}


def _body_problem(body: dict[str, Any]) -> str | None:
    """The real API's message for the first invalid field, or None."""
    for name in ("model", "max_tokens", "messages"):
        if name not in body:
            return f"{name}: Field required"
    if not isinstance(body["model"], str) or not body["model"]:
        return "model: Input should be a valid string"
    max_tokens = body["max_tokens"]
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        return "max_tokens: Input should be greater than or equal to 1"
    messages = body["messages"]
    if not isinstance(messages, list) or not messages:
        return "messages: at least one message is required"
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            return f"messages.{index}.role: Input should be 'user' or 'assistant'"
        content = message.get("content")
        if not (isinstance(content, str) and content) and not (isinstance(content, list) and content):
            return f"messages.{index}.content: messages must have non-empty content"
    if messages[0]["role"] != "user":
        return "messages: first message must use the \"user\" role"
    system = body.get("system")
    if system is not None and not isinstance(system, str | list):
        return "system: Input should be a valid string or a list of text blocks"
    return None


def _content_text(message: dict[str, Any]) -> str:
    content = message["content"]
    if isinstance(content, str):
        return content
    return " ".join(block.get("text", "") for block in content if isinstance(block, dict))


def _system_text(system: Any) -> str:
    if isinstance(system, list):
        return " ".join(block.get("text", "") for block in system if isinstance(block, dict))
    return system or ""


def _last_user_text(body: dict[str, Any]) -> str:
    users = [m for m in body["messages"] if m.get("role") == "user"]
    return _content_text(users[-1]) if users else ""


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return STATUS_PHRASES.get(status, "")


def _make_handler(api: FakeMessagesAPI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's connection pool expects

        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            headers = {name.lower(): value for name, value in self.headers.items()}
            status, body, extra_headers = api.answer(self.command, self.path, headers, raw,
                                                             tuple(self.client_address[:2]))
            request_id = _id("req_")
            if body.get("type") == "error":
                body = {**body, "request_id": request_id}
            payload = json.dumps(body).encode()
            self.send_response(status, _phrase(status))
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.send_header("request-id", request_id)
            for name, value in extra_headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        do_POST = do_GET = do_PUT = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet: pytest shows failures
            pass

    return Handler
