"""Who calls an edge function: the Supabase user JWT in `Authorization: Bearer …`, verified as Supabase does
(functions_py/tokens.py), and their role in the organization they act on.

401 when the token is missing or invalid, or is not a signed-in user's (the anon key); 403 when the user lacks
the role in the organization (a non-member included, so the answer does not reveal which organizations exist).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import psycopg
from starlette.requests import Request

from functions_py.errors import SupakitError
from functions_py.tokens import InvalidToken, TokenVerifier

membership_role_one = "select role::text from public.memberships where organization_id = %s and user_id = %s"


class Unauthorized(SupakitError):
    """Sign in: this function needs a user's access token in the Authorization header."""

    status = 401
    code = "unauthorized"


class Forbidden(SupakitError):
    """You may not do this in this organization."""

    status = 403
    code = "forbidden"


@dataclass(frozen=True)
class Caller:
    """A verified signed-in user."""

    user_id: uuid.UUID
    email: str | None


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization") or ""
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def authenticate(request: Request, verifier: TokenVerifier) -> Caller:
    """The signed-in user behind the request, or Unauthorized naming what is wrong with the token."""
    try:
        claims = verifier.verify(bearer_token(request))
    except InvalidToken as error:
        raise Unauthorized(error.message, reason=getattr(error, "reason", "invalid")) from None
    if claims.get("role") != "authenticated" or not claims.get("sub"):
        role = claims.get("role")
        what = f"the {role} key is not a signed-in user" if role in ("anon", "service_role") else \
            f"this token (role {role!r}) names no signed-in user"
        raise Unauthorized(f"{what}: sign in and send the user's access token")
    try:
        user_id = uuid.UUID(str(claims["sub"]))
    except ValueError:
        raise Unauthorized("the token's sub claim is not a user id") from None
    return Caller(user_id=user_id, email=claims.get("email") or None)


async def require_role(conn: psycopg.AsyncConnection, caller: Caller, organization_id: uuid.UUID,
                       roles: tuple[str, ...]) -> str:
    """The caller's role in the organization when it is one of `roles`; Forbidden otherwise."""
    cur = await conn.execute(membership_role_one, (organization_id, caller.user_id))
    row = await cur.fetchone()
    if row is None or row[0] not in roles:
        raise Forbidden(f"only an organization's {' or '.join(roles)} may manage its billing")
    return row[0]
