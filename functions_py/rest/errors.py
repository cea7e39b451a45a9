"""PostgREST's errors: the JSON body `{code, details, hint, message}`, the HTTP status of every PGRST code and of
every SQLSTATE (`mapSQLtoHTTP` in PostgREST's Error.hs), and the decoding of the `response.status` /
`response.headers` settings a function may set (reference: postgrest-protocol.md §4, §6, §7).

This module is the one copy of that mapping: functions_py/postgrest.py (the in-process request shim the tests
use) imports it from here.
"""

from __future__ import annotations

import json
import re
from typing import Any

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
_LEADING_DIGITS = re.compile(r"[0-9]+")

# SQLSTATE (exact, or class prefix) -> HTTP status, from PostgREST's mapSQLtoHTTP (Error.hs).
_EXACT_STATUS = {
    "23503": 409, "23505": 409, "25006": 405, "53400": 500, "57P01": 503,
    "42883": 404, "42P01": 404, "42P17": 500,
}
_CLASS_STATUS = {
    "08": 503, "09": 500, "0L": 403, "0P": 403, "25": 500, "28": 403, "2D": 500, "38": 500, "39": 500,
    "3B": 500, "40": 500, "53": 503, "54": 500, "55": 500, "58": 500, "F0": 500, "HV": 500, "XX": 500,
    "57": 500,
}


def http_status(sqlstate: str, *, message: str = "", role: str | None = None, anon_role: str = "anon") -> int:
    """The HTTP status PostgREST answers for a database error with this SQLSTATE, raised under `role`."""
    if sqlstate == "42501":
        return 401 if role == anon_role else 403
    if sqlstate == "P0001":
        return 400
    if sqlstate.startswith("P0"):
        return 500
    if sqlstate.startswith("PT"):
        return int(sqlstate[2:]) if sqlstate[2:].isdigit() and 100 <= int(sqlstate[2:]) <= 999 else 500
    if sqlstate == "21000":
        return 400 if message.endswith("requires a WHERE clause") else 500
    if sqlstate == "22023" and message.startswith("role") and message.endswith("does not exist"):
        return 401
    if sqlstate == "42883" and message.startswith("function xmlagg("):
        return 406
    if sqlstate in _EXACT_STATUS:
        return _EXACT_STATUS[sqlstate]
    return _CLASS_STATUS.get(sqlstate[:2], 400)


class ApiError(Exception):
    """An answer PostgREST gives as an error: `status`, the body's four keys, and extra `headers`."""

    def __init__(self, status: int, code: str, message: str, details: Any = None, hint: Any = None,
                 headers: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details, self.hint = status, code, message, details, hint
        self.headers = list(headers or [])

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "details": self.details, "hint": self.hint, "message": self.message}

    def payload(self) -> bytes:
        return json.dumps(self.body(), separators=(",", ":"), ensure_ascii=False).encode()


# -- the request errors (PGRST1xx) -------------------------------------------------------------------------------


def parse_error(message: str, details: str) -> ApiError:
    return ApiError(400, "PGRST100", message, details)


def invalid_body(message: str) -> ApiError:
    return ApiError(400, "PGRST102", message)


def invalid_range(details: str) -> ApiError:
    return ApiError(416, "PGRST103", "Requested range not satisfiable", details)


def out_of_bounds(offset: int, total: int) -> ApiError:
    return invalid_range(f"An offset of {offset} was requested, but there are only {total} rows.")


def invalid_rpc_method(method: str) -> ApiError:
    return ApiError(405, "PGRST101", f"Cannot use the {method} method on RPC")


def put_filters() -> ApiError:
    return ApiError(405, "PGRST105", "Filters must include all and only primary key columns with 'eq' operators")


def unacceptable_schema(schema: str, schemas: list[str]) -> ApiError:
    return ApiError(406, "PGRST106", f"Invalid schema: {schema}", None,
                    "Only the following schemas are exposed: " + ", ".join(schemas))


def media_type_error(types: list[str]) -> ApiError:
    return ApiError(406, "PGRST107", "None of these media types are available: " + ", ".join(types))


def not_embedded(resource: str) -> ApiError:
    return ApiError(400, "PGRST108", f"'{resource}' is not an embedded resource in this request", None,
                    f"Verify that '{resource}' is included in the 'select' query parameter.")


GUC_HEADERS_ERROR = ("PGRST111", "response.headers guc must be a JSON array composed of objects with a single key "
                                 "and a string value")
GUC_STATUS_ERROR = ("PGRST112", "response.status guc must be a valid status code")


def put_limit() -> ApiError:
    return ApiError(400, "PGRST114", "limit/offset querystring parameters are not allowed for PUT")


def put_matching_pk() -> ApiError:
    return ApiError(400, "PGRST115", "Payload values do not match URL in primary key column(s)")


def singularity(rows: int) -> ApiError:
    return ApiError(406, "PGRST116", "Cannot coerce the result to a single JSON object",
                    f"The result contains {rows} rows")


def unsupported_method(method: str) -> ApiError:
    return ApiError(405, "PGRST117", f"Unsupported HTTP method: {method}")


def related_order(origin: str, target: str) -> ApiError:
    return ApiError(400, "PGRST118", f"A related order on '{target}' is not possible",
                    f"'{origin}' and '{target}' do not form a many-to-one or one-to-one relationship")


def unacceptable_filter(target: str) -> ApiError:
    return ApiError(400, "PGRST120", f"Bad operator on the '{target}' embedded resource",
                    "Only is null or not is null filters are allowed on embedded resources")


def invalid_preferences(prefs: list[str]) -> ApiError:
    return ApiError(400, "PGRST122", "Invalid preferences given with handling=strict",
                    "Invalid preferences: " + ", ".join(prefs))


def aggregates_not_allowed() -> ApiError:
    return ApiError(400, "PGRST123", "Use of aggregate functions is not allowed")


def max_affected(rows: int) -> ApiError:
    return ApiError(400, "PGRST124", "Query result exceeds max-affected preference constraint",
                    f"The query affects {rows} rows")


def invalid_path() -> ApiError:
    return ApiError(404, "PGRST125", "Invalid path specified in request URL")


def openapi_disabled() -> ApiError:
    return ApiError(404, "PGRST126", "Root endpoint metadata is disabled")


def not_implemented(details: str) -> ApiError:
    return ApiError(400, "PGRST127", "Feature not implemented", details)


def max_affected_rpc() -> ApiError:
    return ApiError(400, "PGRST128", "Function must return SETOF or TABLE when max-affected preference is used "
                                     "with handling=strict")


# -- schema cache errors (PGRST2xx) ------------------------------------------------------------------------------


def no_relationship(parent: str, child: str, hint: str | None, schema: str, suggestion: str | None) -> ApiError:
    using = f"' using the hint '{hint}" if hint else ""
    return ApiError(400, "PGRST200", f"Could not find a relationship between '{parent}' and '{child}' in the "
                                     "schema cache",
                    f"Searched for a foreign key relationship between '{parent}' and '{child}{using}' in the "
                    f"schema '{schema}', but no matches were found.", suggestion)


def column_not_found(relation: str, column: str) -> ApiError:
    return ApiError(400, "PGRST204", f"Could not find the '{column}' column of '{relation}' in the schema cache")


def table_not_found(schema: str, name: str, suggestion: str | None) -> ApiError:
    return ApiError(404, "PGRST205", f"Could not find the table '{schema}.{name}' in the schema cache", None,
                    f"Perhaps you meant the table '{schema}.{suggestion}'" if suggestion else None)


def schema_cache_not_ready() -> ApiError:
    return ApiError(503, "PGRST002", "Could not query the database for the schema cache. Retrying.")


# -- JWT errors (PGRST3xx) ---------------------------------------------------------------------------------------


def jwt_decode(message: str, details: str | None = None) -> ApiError:
    return ApiError(401, "PGRST301", message, details, None, [("WWW-Authenticate", _invalid_token(message))])


def jwt_required() -> ApiError:
    return ApiError(401, "PGRST302", "Anonymous access is disabled", None, None, [("WWW-Authenticate", "Bearer")])


def jwt_claims(message: str) -> ApiError:
    return ApiError(401, "PGRST303", message, None, None, [("WWW-Authenticate", _invalid_token(message))])


def _invalid_token(message: str) -> str:
    return f'Bearer error="invalid_token", error_description={json.dumps(message)}'


# -- database errors ---------------------------------------------------------------------------------------------


def _raise_pgrst(message: str, detail: str | None) -> ApiError:
    """`RAISE SQLSTATE 'PGRST'` with JSON message and detail: the status, headers and body it carries."""
    try:
        body = json.loads(message)
        if not isinstance(body, dict) or "code" not in body or "message" not in body:
            raise ValueError
    except ValueError:
        return ApiError(500, "PGRST121", "Could not parse JSON in the \"RAISE SQLSTATE 'PGRST'\" error",
                        f"Invalid JSON value for MESSAGE: '{message}'",
                        "MESSAGE must be a JSON object with obligatory keys: 'code', 'message' and optional keys: "
                        "'details', 'hint'.")
    hint = ("DETAIL must be a JSON object with obligatory keys: 'status', 'headers' and optional key: "
            "'status_text'.")
    if detail is None:
        return ApiError(500, "PGRST121", "Could not parse JSON in the \"RAISE SQLSTATE 'PGRST'\" error",
                        "DETAIL is missing in the RAISE statement", hint)
    try:
        extra = json.loads(detail)
        if not isinstance(extra, dict) or "status" not in extra or "headers" not in extra:
            raise ValueError
        status = int(extra["status"])
        headers = [(str(k), str(v)) for k, v in dict(extra["headers"]).items()]
    except (ValueError, TypeError):
        return ApiError(500, "PGRST121", "Could not parse JSON in the \"RAISE SQLSTATE 'PGRST'\" error",
                        f"Invalid JSON value for DETAIL: '{detail}'", hint)
    return ApiError(status, str(body["code"]), str(body["message"]), body.get("details"), body.get("hint"),
                    headers)


def database_error(sqlstate: str | None, message: str, details: str | None, hint: str | None, *,
                   authenticated: bool) -> ApiError:
    """PostgREST's answer for an error the database raised (`authenticated`: the role is not the anon role)."""
    sqlstate = sqlstate or "XX000"
    if sqlstate == "PGRST":
        return _raise_pgrst(message, details)
    status = http_status(sqlstate, message=message, role="x" if authenticated else "anon", anon_role="anon")
    headers = [("WWW-Authenticate", "Bearer")] if status == 401 else []
    return ApiError(status, sqlstate, message, details, hint, headers)


def decode_response_settings(status: str | None, headers: str | None) -> tuple[int | None, list[tuple[str, str]]]:
    """`response.status` and `response.headers` as PostgREST reads them (empty counts as unset): the status is
    the value's leading decimal digits, the headers a JSON array of objects with one key and a string value.
    Raises ApiError 500 PGRST112 / PGRST111 for anything else."""
    code: int | None = None
    if status:
        digits = _LEADING_DIGITS.match(status)
        if digits is None:
            raise ApiError(500, *GUC_STATUS_ERROR)
        code = int(digits.group())
    pairs: list[tuple[str, str]] = []
    if headers:
        try:
            items = json.loads(headers)
        except ValueError:
            raise ApiError(500, *GUC_HEADERS_ERROR) from None
        if not isinstance(items, list):
            raise ApiError(500, *GUC_HEADERS_ERROR)
        for item in items:
            if not (isinstance(item, dict) and len(item) == 1 and isinstance(next(iter(item.values())), str)):
                raise ApiError(500, *GUC_HEADERS_ERROR)
            pairs.append(next(iter(item.items())))
    return code, pairs


def overlay_headers(own: list[tuple[str, str]], extra: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """PostgREST's headers with a function's `response.headers` laid over them: a name the function set
    (case-insensitive) replaces PostgREST's; the function's own repeats (Set-Cookie) are all kept."""
    names = {name.lower() for name, _ in extra}
    return [(k, v) for k, v in own if k.lower() not in names] + list(extra)
