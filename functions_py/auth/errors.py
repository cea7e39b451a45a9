"""GoTrue's error answers (supabase/auth internal/api/errors.go, apierrors/): one exception type carries the HTTP
status, the error code and the message; `render` shapes it for the client that asked.

With `X-Supabase-Api-Version: 2024-01-01` (every auth-js request) the body is `{"code": "<error_code>",
"message": "…"}` and the version header is echoed; without it the legacy body `{"code": <status>, "error_code":
"…", "msg": "…"}`. Both carry `x-sb-error-code`. OAuth-style errors (a refresh_token grant without a token) answer
`{"error": …, "error_description": …}`.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

API_VERSION_HEADER = "X-Supabase-Api-Version"
API_VERSION_2024 = "2024-01-01"


class AuthError(Exception):
    """An answer GoTrue gives as an error: `status`, `code` (apierrors.ErrorCode*), `message`; `extra` fields are
    added to the body (weak_password's reasons)."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


class OAuthError(Exception):
    """An OAuth2-shaped error (`{"error", "error_description"}`), always 400."""

    def __init__(self, error: str, description: str = "") -> None:
        super().__init__(error)
        self.error, self.description = error, description


def bad_request(code: str, message: str, **extra: Any) -> AuthError:
    return AuthError(400, code, message, **extra)


def unprocessable(code: str, message: str, **extra: Any) -> AuthError:
    return AuthError(422, code, message, **extra)


def forbidden(code: str, message: str) -> AuthError:
    return AuthError(403, code, message)


def not_found(code: str, message: str) -> AuthError:
    return AuthError(404, code, message)


def too_many(code: str, message: str) -> AuthError:
    return AuthError(429, code, message)


def validation(message: str) -> AuthError:
    return AuthError(400, "validation_failed", message)


def invalid_credentials() -> AuthError:
    return AuthError(400, "invalid_credentials", "Invalid login credentials")


def _json(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def wants_2024(request_headers: Any) -> bool:
    """Whether the client sent an API version at or after 2024-01-01 (auth-js always does)."""
    value = request_headers.get(API_VERSION_HEADER) or ""
    return value.strip() >= API_VERSION_2024 and len(value.strip()) == 10


def render(error: AuthError | OAuthError, request_headers: Any) -> Response:
    """The response for `error` in the shape the client asked for (module docstring)."""
    headers: dict[str, str] = {}
    versioned = wants_2024(request_headers)
    if versioned:  # GoTrue echoes the version it answered with on every error
        headers[API_VERSION_HEADER] = API_VERSION_2024
    if isinstance(error, OAuthError):
        body: dict[str, Any] = {"error": error.error}
        if error.description:  # omitempty
            body["error_description"] = error.description
        return Response(_json(body), 400, headers, media_type="application/json")
    headers["x-sb-error-code"] = error.code
    if versioned:
        body = {"code": error.code, "message": error.message, **error.extra}
    else:
        body = {"code": error.status, "error_code": error.code, "msg": error.message, **error.extra}
    return Response(_json(body), error.status, headers, media_type="application/json")
