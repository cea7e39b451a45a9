"""A local stand-in for Twilio's Messages API, for running the real `twilio` SDK without a network.

`POST /2010-04-01/Accounts/{AccountSid}/Messages.json` checks what Twilio checks first — HTTP Basic auth with the
account SID and auth token, the account in the path, a form body with `To`, `From` and `Body` — and answers in
Twilio's shapes: a Message resource (201) or an error body `{"code", "message", "more_info", "status"}`. Tests
script failures with a queue (`reply_error`); every request received is recorded.

    with FakeTwilioAPI(account_sid="AC…", auth_token="…") as api:
        api.reply_error(400, 21211, "Invalid 'To' Phone Number")
        ...  # point TWILIO_API_BASE at api.url
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
from collections import deque
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl


@dataclass
class Received:
    path: str
    form: dict[str, str]


@dataclass
class FakeTwilioAPI:
    account_sid: str
    auth_token: str
    requests: list[Received] = field(default_factory=list)
    _errors: deque = field(default_factory=deque)

    def reply_error(self, status: int, code: int, message: str) -> None:
        """The next valid request is answered with this Twilio error."""
        self._errors.append((status, code, message))

    def __enter__(self) -> FakeTwilioAPI:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _send(self, status: int, body: dict[str, Any]) -> None:
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("Twilio-Request-Id", "RQ" + secrets.token_hex(16))
                self.end_headers()
                self.wfile.write(payload)

            def _error(self, status: int, code: int, message: str) -> None:
                self._send(status, {"code": code, "message": message, "status": status,
                                    "more_info": f"https://www.twilio.com/docs/errors/{code}"})

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))
                expected = "Basic " + base64.b64encode(f"{fake.account_sid}:{fake.auth_token}".encode()).decode()
                if self.headers.get("Authorization") != expected:
                    return self._error(401, 20003, "Authenticate")
                prefix = f"/2010-04-01/Accounts/{fake.account_sid}/Messages.json"
                if self.path != prefix:
                    return self._error(404, 20404, f"The requested resource {self.path} was not found")
                fake.requests.append(Received(self.path, form))
                for name in ("To", "From"):
                    if not form.get(name):
                        code = 21604 if name == "To" else 21603
                        return self._error(400, code, f"A '{name}' phone number is required.")
                if not form.get("Body") and not form.get("MediaUrl"):
                    return self._error(400, 21602, "Message body is required.")
                if fake._errors:
                    status, code, message = fake._errors.popleft()
                    return self._error(status, code, message)
                sid = "SM" + secrets.token_hex(16)
                now = formatdate(usegmt=True)
                self._send(201, {
                    "account_sid": fake.account_sid, "api_version": "2010-04-01", "body": form["Body"],
                    "date_created": now, "date_updated": now, "date_sent": None, "direction": "outbound-api",
                    "error_code": None, "error_message": None, "from": form["From"], "to": form["To"],
                    "messaging_service_sid": None, "num_media": "0", "num_segments": "1", "price": None,
                    "price_unit": "USD", "sid": sid, "status": "queued",
                    "subresource_uris": {"media": f"/2010-04-01/Accounts/{fake.account_sid}/Messages/{sid}/Media.json"},
                    "uri": f"/2010-04-01/Accounts/{fake.account_sid}/Messages/{sid}.json",
                })

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"
