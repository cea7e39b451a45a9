"""The Starlette app behind /auth/v1 (routes as supabase/auth internal/api/api.go): request parsing, bearer
authentication and admin checks as GoTrue's middleware does them, and one handler per route. The gateway strips
the prefix and puts the key's JWT (or the user's) in `Authorization`."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from functions_py.auth import admin, flows, mfa, passwords, sessions, users
from functions_py.auth.context import AuthContext
from functions_py.auth.errors import (
    AuthError,
    OAuthError,
    bad_request,
    forbidden,
    invalid_credentials,
    render,
    unprocessable,
)
from functions_py.tokens import InvalidToken

GOTRUE_VERSION = "v2.180.0"
VERIFIED_CACHE_SIZE = 10_000
# How GoTrue names an HTTP status in a redirect's `error` (errors.go, oauthErrorMap)
OAUTH_ERRORS = {400: "invalid_request", 401: "unauthorized_client", 403: "access_denied", 500: "server_error",
                503: "temporarily_unavailable"}
PROVIDERS = ("apple", "azure", "bitbucket", "discord", "facebook", "figma", "fly", "github", "gitlab", "google",
             "keycloak", "kakao", "linkedin", "linkedin_oidc", "notion", "spotify", "slack", "slack_oidc", "workos",
             "twitch", "twitter", "x", "zoom")
NO_SMS = ("Phone signups are disabled: supakit's local Auth has no SMS provider. Sign up with an email address "
          "locally, or use a hosted Supabase project with an SMS provider configured")


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, separators=(",", ":")), status, headers, media_type="application/json")


class Authed:
    """The caller of an authenticated endpoint: claims, the user row, the session id."""

    __slots__ = ("claims", "user", "session_id")

    def __init__(self, claims: dict[str, Any], user: dict[str, Any], session_id: str | None) -> None:
        self.claims, self.user, self.session_id = claims, user, session_id


class AuthApp:
    def __init__(self, context: AuthContext) -> None:
        self.context = context
        self._verified: dict[str, dict[str, Any]] = {}
        routes = [
            Route("/health", self.health, methods=["GET"]),
            Route("/settings", self.settings, methods=["GET"]),
            Route("/signup", self.signup, methods=["POST"]),
            Route("/token", self.token, methods=["POST"]),
            Route("/user", self.get_user, methods=["GET"]),
            Route("/user", self.put_user, methods=["PUT"]),
            Route("/logout", self.logout, methods=["POST"]),
            Route("/otp", self.otp, methods=["POST"]),
            Route("/magiclink", self.magiclink, methods=["POST"]),
            Route("/verify", self.verify_get, methods=["GET"]),
            Route("/verify", self.verify_post, methods=["POST"]),
            Route("/recover", self.recover, methods=["POST"]),
            Route("/resend", self.resend, methods=["POST"]),
            Route("/reauthenticate", self.reauthenticate, methods=["GET", "POST"]),
            Route("/authorize", self.authorize, methods=["GET"]),
            Route("/callback", self.authorize, methods=["GET", "POST"]),
            Route("/sso", self.sso, methods=["POST"]),
            Route("/.well-known/jwks.json", self.jwks, methods=["GET"]),
            Route("/factors", self.factors_enroll, methods=["POST"]),
            Route("/factors/{factor_id}/challenge", self.factors_challenge, methods=["POST"]),
            Route("/factors/{factor_id}/verify", self.factors_verify, methods=["POST"]),
            Route("/factors/{factor_id}", self.factors_delete, methods=["DELETE"]),
            Route("/invite", self.invite, methods=["POST"]),
            Route("/admin/users", self.admin_list, methods=["GET"]),
            Route("/admin/users", self.admin_create, methods=["POST"]),
            Route("/admin/users/{user_id}", self.admin_get, methods=["GET"]),
            Route("/admin/users/{user_id}", self.admin_update, methods=["PUT"]),
            Route("/admin/users/{user_id}", self.admin_delete, methods=["DELETE"]),
            Route("/admin/generate_link", self.admin_generate_link, methods=["POST"]),
        ]
        self.starlette = Starlette(routes=routes)
        self.starlette.add_exception_handler(AuthError, self._error)  # type: ignore[arg-type]
        self.starlette.add_exception_handler(OAuthError, self._error)  # type: ignore[arg-type]
        self.starlette.add_exception_handler(404, self._not_found)  # type: ignore[arg-type]
        self.starlette.add_exception_handler(405, self._not_allowed)  # type: ignore[arg-type]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.starlette(scope, receive, send)

    async def _error(self, request: Request, error: Exception) -> Response:
        assert isinstance(error, AuthError | OAuthError)
        return render(error, request.headers)

    async def _not_found(self, request: Request, error: Exception) -> Response:
        # GoTrue's router (chi) answers unknown paths with its default plain-text 404
        return Response("404 page not found\n", 404, media_type="text/plain; charset=utf-8")

    async def _not_allowed(self, request: Request, error: Exception) -> Response:
        return Response(status_code=405)

    # -- request helpers -----------------------------------------------------------------------------------------

    @property
    def auth(self) -> Any:
        return self.context.auth

    async def body(self, request: Request) -> dict[str, Any]:
        raw = await request.body()
        if not raw.strip():
            return {}
        try:
            parsed = json.loads(raw)
        except ValueError as error:
            raise bad_request("bad_json", f"Could not parse request body as JSON: {error}") from None
        if not isinstance(parsed, dict):
            raise bad_request("bad_json", "Could not parse request body as JSON: json: cannot unmarshal "
                                          f"{type(parsed).__name__} into Go value of type api.RequestParams")
        return parsed

    def ip(self, request: Request) -> str:
        forwarded = request.headers.get("x-forwarded-for")
        if forwarded:
            return forwarded.split(",")[0].strip()
        return request.client.host if request.client else "unknown"

    def bearer_claims(self, request: Request) -> dict[str, Any]:
        header = request.headers.get("authorization") or ""
        if not header.lower().startswith("bearer ") or not header[7:].strip():
            raise AuthError(401, "no_authorization", "This endpoint requires a valid Bearer token")
        token = header[7:].strip()
        cached = self._verified.get(token)
        if cached is not None and cached.get("exp", 0) > time.time():
            return cached
        try:
            claims = self.context.verifier.verify(token)
        except InvalidToken as error:
            raise forbidden("bad_jwt", f"invalid JWT: unable to parse or verify signature, {error.message}") \
                from None
        # Verified tokens are remembered until they expire (GET /user in a loop is what clients do most); only a
        # token whose signature checked out is ever stored, and the cache is bounded.
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = claims
        return claims

    async def authed(self, request: Request, conn: Any) -> Authed:
        claims = self.bearer_claims(request)
        sub = claims.get("sub")
        try:
            user_id = uuid.UUID(str(sub))
        except ValueError:
            raise forbidden("bad_jwt", "invalid claim: missing sub claim") from None
        session_id = claims.get("session_id") or None
        try:
            if session_id is not None:
                uuid.UUID(str(session_id))
        except ValueError:
            raise forbidden("bad_jwt", "invalid claim: session_id claim must be a UUID") from None
        user = await users.fetch_with_session(conn, user_id, session_id)
        if user is None:
            raise forbidden("user_not_found", "User from sub claim in JWT does not exist")
        if session_id is not None and not user["session_exists"]:
            raise forbidden("session_not_found", "Session from session_id claim in JWT does not exist")
        return Authed(claims, user, session_id)

    def require_admin(self, request: Request) -> dict[str, Any]:
        claims = self.bearer_claims(request)
        if claims.get("role") not in self.auth.admin_roles:
            raise forbidden("not_admin", "User not allowed")
        return claims

    def redirect_to(self, request: Request, body: dict[str, Any] | None = None) -> str:
        asked = request.query_params.get("redirect_to") or (body or {}).get("redirect_to")
        return flows.redirect_target(self.context, asked)

    # -- health, settings ----------------------------------------------------------------------------------------

    async def health(self, request: Request) -> Response:
        return _json({"version": GOTRUE_VERSION, "name": "GoTrue",
                      "description": "GoTrue is a user registration and authentication API"})

    async def settings(self, request: Request) -> Response:
        external = {name: False for name in PROVIDERS}
        external.update({"anonymous_users": bool(self.auth.enable_anonymous_sign_ins),
                         "email": bool(self.auth.enable_email_signup), "phone": False})
        return _json({"external": dict(sorted(external.items())), "disable_signup": not self.auth.enable_signup,
                      "mailer_autoconfirm": self.context.autoconfirm, "phone_autoconfirm": False,
                      "sms_provider": "", "saml_enabled": False})

    async def jwks(self, request: Request) -> Response:
        # GoTrue's Jwks: the asymmetric keys' public halves; none with HS256 only (auth-js's getClaims then falls
        # back to GET /user).
        return _json(self.context.jwks())

    async def authorize(self, request: Request) -> Response:
        provider = request.query_params.get("provider") or ""
        raise bad_request("validation_failed",
                          f"Unsupported provider: provider {provider or '(none)'} is not enabled. OAuth providers need "
                          "their own servers, which supakit's local Auth does not fake: sign in with email locally, "
                          "or use a hosted Supabase project with the provider configured")

    async def sso(self, request: Request) -> Response:
        raise bad_request("saml_provider_disabled", "SAML 2.0 is disabled: SSO needs a hosted Supabase project")

    # -- sign-up and sign-in -------------------------------------------------------------------------------------

    async def signup(self, request: Request) -> Response:
        body = await self.body(request)
        if not self.auth.enable_signup:
            raise unprocessable("signup_disabled", "Signups not allowed for this instance")
        email = users.normalize_email(body.get("email"))
        phone = str(body.get("phone") or "").strip()
        password = body.get("password")
        data = body.get("data") if isinstance(body.get("data"), dict) else {}
        ip = self.ip(request)
        if not email and not phone:
            if password:
                raise bad_request("validation_failed", "To signup, please provide your email")
            return await self._anonymous(request, data, ip)
        self.context.limiter.check("sign_in_sign_ups", ip, int(self.auth.rate_limit_sign_in_sign_ups))
        if email and phone:
            raise bad_request("validation_failed",
                              "Only an email address or phone number should be provided on signup.")
        if phone:
            raise bad_request("phone_provider_disabled", NO_SMS)
        if not password:
            raise bad_request("validation_failed", "Signup requires a valid password")
        weak = passwords.weakness(str(password), int(self.auth.minimum_password_length),
                                  self.auth.password_requirements)
        if weak is not None:
            raise weak
        pkce = flows.pkce_params(body)
        if not self.auth.enable_email_signup:
            raise bad_request("email_provider_disabled", "Email signups are disabled")
        if not users.valid_email(email):
            raise bad_request("email_address_invalid", "Unable to validate email address: invalid format")
        redirect = self.redirect_to(request, body)
        async with self.context.pool.connection() as conn:
            existing = await users.fetch_by_email(conn, email)
            if existing is not None:
                if users.is_confirmed(existing):
                    if self.context.autoconfirm:
                        raise unprocessable("user_already_exists", "User already registered")
                    return _json(_obfuscated_user(email, data))
                await flows.send_token_mail(self.context, conn, existing, "signup", redirect, pkce)
                return _json(users.user_json(await users.fetch_by_id(conn, existing["id"]) or existing))
            hashed = await passwords.hash_password(str(password))
            user = await _insert_email_user(conn, email, hashed, data, confirmed=self.context.autoconfirm)
            if self.context.autoconfirm:
                return _json(await sessions.start_session(self.context, conn, user, "password", request))
            await flows.send_token_mail(self.context, conn, user, "signup", redirect, pkce)
            fresh = await users.fetch_by_id(conn, user["id"])
            return _json(users.user_json(fresh or user))

    async def _anonymous(self, request: Request, data: dict[str, Any], ip: str) -> Response:
        if not self.auth.enable_anonymous_sign_ins:
            raise unprocessable("anonymous_provider_disabled", "Anonymous sign-ins are disabled")
        self.context.limiter.check("anonymous_users", ip, int(self.auth.rate_limit_anonymous_users), 3600.0)
        user_id = str(uuid.uuid4())
        async with self.context.pool.connection() as conn:
            await conn.execute(users.USER_INSERT_ONE, {
                "id": user_id, "aud": "authenticated", "role": "authenticated", "email": None, "phone": None,
                "password": "", "app_metadata": "{}", "user_metadata": json.dumps(data), "is_anonymous": True,
                "email_confirmed_at": None, "phone_confirmed_at": None, "invited_at": None, "banned_until": None})
            user = await users.fetch_by_id(conn, user_id)
            assert user is not None
            return _json(await sessions.start_session(self.context, conn, user, "anonymous", request))

    async def token(self, request: Request) -> Response:
        grant = request.query_params.get("grant_type")
        if grant == "password":
            return await self._password_grant(request)
        if grant == "refresh_token":
            body = await self.body(request)
            self.context.limiter.check("token_refresh", self.ip(request), int(self.auth.rate_limit_token_refresh))
            presented = body.get("refresh_token")
            if not presented or not isinstance(presented, str):
                raise OAuthError("invalid_request", "refresh_token required")
            async with self.context.pool.connection() as conn:
                return _json(await sessions.refresh(self.context, conn, presented, request.client.host if request.client
                                                     else None))
        if grant == "pkce":
            body = await self.body(request)
            self.context.limiter.check("token_verifications", self.ip(request),
                                       int(self.auth.rate_limit_token_verifications))
            async with self.context.pool.connection() as conn:
                user, method = await flows.exchange_code(conn, str(body.get("auth_code") or ""),
                                                         str(body.get("code_verifier") or ""))
                return _json(await sessions.start_session(self.context, conn, user, method, request))
        if grant in ("id_token", "web3"):
            raise bad_request("provider_disabled", f"grant_type={grant} needs an identity provider, which supakit's "
                                                   "local Auth does not have; use a hosted Supabase project")
        # GoTrue's Token: apierrors.NewBadRequestError(ErrorCodeInvalidCredentials, "unsupported_grant_type")
        raise bad_request("invalid_credentials", "unsupported_grant_type")

    async def _password_grant(self, request: Request) -> Response:
        body = await self.body(request)
        self.context.limiter.check("sign_in_sign_ups", self.ip(request), int(self.auth.rate_limit_sign_in_sign_ups))
        email = users.normalize_email(body.get("email"))
        phone = str(body.get("phone") or "")
        password = str(body.get("password") or "")
        if email and phone:
            raise bad_request("validation_failed", "Only an email address or phone number should be provided on "
                                                   "login.")
        if not email:
            if phone:
                raise unprocessable("phone_provider_disabled", "Phone logins are disabled: supakit's local Auth has "
                                                               "no SMS provider")
            raise bad_request("validation_failed", "missing email or phone")
        async with self.context.pool.connection() as conn:
            user = await users.fetch_by_email(conn, email)
            if user is not None and users.is_banned(user):
                # GoTrue checks the ban before the password (ResourceOwnerPasswordGrant)
                raise bad_request("user_banned", "User is banned")
            # the hash is checked for unknown users too, so timing does not tell which addresses exist
            valid = await passwords.verify_password(password, user["encrypted_password"] if user else None)
            if user is None or not valid:
                raise invalid_credentials()
            if not users.is_confirmed(user):
                raise bad_request("email_not_confirmed", "Email not confirmed")
            response = await sessions.start_session(self.context, conn, user, "password", request)
        weak = passwords.weakness(password, int(self.auth.minimum_password_length), self.auth.password_requirements)
        if weak is not None:
            response["weak_password"] = {"message": weak.message, **weak.extra["weak_password"]}
        return _json(response)

    # -- the user ------------------------------------------------------------------------------------------------

    async def get_user(self, request: Request) -> Response:
        async with self.context.pool.connection() as conn:
            caller = await self.authed(request, conn)
        audience = caller.claims.get("aud")
        audience = audience[0] if isinstance(audience, list) and audience else audience
        if audience != (request.headers.get("x-jwt-aud") or "authenticated"):
            raise bad_request("validation_failed", "Token audience doesn't match request audience")
        return _json(users.user_json(caller.user))

    async def put_user(self, request: Request) -> Response:
        """PUT /user in GoTrue's order of checks (internal/api/user.go, UserUpdate)."""
        body = await self.body(request)
        async with self.context.pool.connection() as conn:
            caller = await self.authed(request, conn)
            user = caller.user
            email = users.normalize_email(body.get("email"))
            password = None if body.get("password") is None else str(body["password"])
            if email and not users.valid_email(email):
                raise bad_request("email_address_invalid", "Unable to validate email address: invalid format")
            if body.get("phone"):
                raise bad_request("phone_provider_disabled", NO_SMS)
            if password is not None:
                weak = passwords.weakness(password, int(self.auth.minimum_password_length),
                                          self.auth.password_requirements)
                if weak is not None:
                    raise weak
            if body.get("app_metadata") is not None:
                raise forbidden("not_admin", "Updating app_metadata requires admin privileges")
            changes_email = bool(email) and email != (user["email"] or "")
            verified_factor = any(f.get("status") == "verified" for f in user.get("factors") or [])
            if verified_factor and caller.claims.get("aal") != "aal2" and (password or changes_email):
                raise AuthError(401, "insufficient_aal",
                                "AAL2 session is required to update email or password when MFA is enabled.")
            if user["is_anonymous"] and password and not email:
                raise unprocessable("validation_failed", "Updating password of an anonymous user without an email "
                                                         "or phone is not allowed")
            if changes_email and await users.fetch_by_email(conn, email) is not None:
                raise unprocessable("email_exists", admin.EMAIL_EXISTS)
            sets, args = [], []
            hashed = None
            if password is not None:
                if self.auth.secure_password_change and await self._needs_reauthentication(conn, caller):
                    nonce = str(body.get("nonce") or "")
                    if not nonce:
                        raise bad_request("reauthentication_needed", "Password update requires reauthentication")
                    stored = user.get("reauthentication_token") or ""
                    if not stored or not passwords.same(stored, flows.token_hash(user["email"] or "", nonce)):
                        raise bad_request("reauthentication_not_valid", "Requested nonce is invalid")
                if password and user["encrypted_password"] and \
                        await passwords.verify_password(password, user["encrypted_password"]):
                    raise unprocessable("same_password", "New password should be different from the old password.")
                hashed = await passwords.hash_password(password) if password else ""
            if isinstance(body.get("data"), dict):
                merged = dict(user["raw_user_meta_data"] or {})
                for key, value in body["data"].items():
                    if value is None:
                        merged.pop(key, None)
                    else:
                        merged[key] = value
                sets.append("raw_user_meta_data = %s")
                args.append(json.dumps(merged))
            async with conn.transaction():
                if hashed is not None:  # clears the reauthentication nonce too
                    await users.update_password(conn, user["id"], hashed, caller.session_id)
                if sets:
                    await conn.execute(f"update auth.users set {', '.join(sets)}, updated_at = now() where id = %s",
                                       [*args, user["id"]])
            if changes_email:
                if user["is_anonymous"] and self.context.autoconfirm:
                    # anonymous users add an e-mail with automatic confirmation, like a sign-up; permanent users
                    # always confirm a change (GoTrue's UserUpdate)
                    async with conn.transaction():
                        await flows.link_email(conn, user["id"], email)
                else:
                    fresh = await users.fetch_by_id(conn, user["id"])
                    await flows.send_email_change(self.context, conn, fresh or user, email,
                                                  self.redirect_to(request, body), flows.pkce_params(body))
            fresh = await users.fetch_by_id(conn, user["id"])
        return _json(users.user_json(fresh or user))

    async def _needs_reauthentication(self, conn: Any, caller: Authed) -> bool:
        """GoTrue asks for a nonce unless the current session was created within the last 24 hours."""
        if not caller.session_id:
            return True
        row = await (await conn.execute(
            "select created_at < now() - interval '24 hours' from auth.sessions where id = %s",
            (caller.session_id,))).fetchone()
        return row is None or bool(row[0])

    async def logout(self, request: Request) -> Response:
        scope = request.query_params.get("scope") or "global"
        if scope not in ("global", "local", "others"):
            raise bad_request("validation_failed", f"Unsupported logout scope \"{scope}\"")
        async with self.context.pool.connection() as conn:
            caller = await self.authed(request, conn)
            await sessions.logout(conn, str(caller.user["id"]), caller.session_id, scope)
        return Response(status_code=204)

    async def reauthenticate(self, request: Request) -> Response:
        async with self.context.pool.connection() as conn:
            caller = await self.authed(request, conn)
            if not caller.user["email"]:
                raise unprocessable("validation_failed", "Reauthentication requires the user to have an email or a "
                                                         "phone number")
            await flows.send_token_mail(self.context, conn, caller.user, "reauthentication", self.auth.site_url)
        return _json({})

    # -- one-time passwords, links, verification -----------------------------------------------------------------

    async def otp(self, request: Request) -> Response:
        body = await self.body(request)
        if body.get("phone"):
            raise bad_request("phone_provider_disabled", "Phone OTPs need an SMS provider, which supakit's local "
                                                         "Auth does not have; sign in with an email address")
        create = body.get("create_user", True) is not False
        return await self._magic(request, body, create)

    async def magiclink(self, request: Request) -> Response:
        body = await self.body(request)
        return await self._magic(request, body, True)

    async def _magic(self, request: Request, body: dict[str, Any], create: bool) -> Response:
        email = users.normalize_email(body.get("email"))
        if not email:
            raise unprocessable("validation_failed", "An email address or phone number is required")
        if not users.valid_email(email):
            raise bad_request("email_address_invalid", "Unable to validate email address: invalid format")
        pkce = flows.pkce_params(body)
        redirect = self.redirect_to(request, body)
        data = body.get("data") if isinstance(body.get("data"), dict) else {}
        async with self.context.pool.connection() as conn:
            user = await users.fetch_by_email(conn, email)
            if user is None:
                if not create:
                    raise unprocessable("otp_disabled", "Signups not allowed for otp")
                if not self.auth.enable_signup:
                    raise unprocessable("signup_disabled", "Signups not allowed for this instance")
                hashed = await passwords.hash_password(passwords.random_password())
                user = await _insert_email_user(conn, email, hashed, data, confirmed=self.context.autoconfirm)
            if not users.is_confirmed(user):
                await flows.send_token_mail(self.context, conn, user, "signup", redirect, pkce)
            else:
                await flows.send_token_mail(self.context, conn, user, "magiclink", redirect, pkce)
        return _json({})

    async def recover(self, request: Request) -> Response:
        body = await self.body(request)
        email = users.normalize_email(body.get("email"))
        if not email:
            raise unprocessable("validation_failed", "Password recovery requires an email")
        if not users.valid_email(email):
            raise bad_request("email_address_invalid", "Unable to validate email address: invalid format")
        pkce = flows.pkce_params(body)
        async with self.context.pool.connection() as conn:
            user = await users.fetch_by_email(conn, email)
            if user is not None:  # an unknown address answers the same: no user enumeration
                await flows.send_token_mail(self.context, conn, user, "recovery", self.redirect_to(request, body),
                                            pkce)
        return _json({})

    async def resend(self, request: Request) -> Response:
        body = await self.body(request)
        kind = body.get("type")
        if kind not in ("signup", "email_change", "sms", "phone_change"):
            raise bad_request("validation_failed", "Missing one of these types: signup, email_change, sms, "
                                                   "phone_change")
        if kind in ("sms", "phone_change"):
            raise bad_request("phone_provider_disabled", "supakit's local Auth has no SMS provider")
        email = users.normalize_email(body.get("email"))
        if not users.valid_email(email):
            raise bad_request("email_address_invalid", "Unable to validate email address: invalid format")
        redirect = self.redirect_to(request, body)
        pkce = flows.pkce_params(body)
        async with self.context.pool.connection() as conn:
            user = await users.fetch_by_email(conn, email)
            if kind == "signup" and user is not None and not users.is_confirmed(user):
                await flows.send_token_mail(self.context, conn, user, "signup", redirect, pkce)
            elif kind == "email_change" and user is not None and user.get("email_change"):
                await flows.send_email_change(self.context, conn, user, user["email_change"], redirect, pkce)
        return _json({})

    async def verify_post(self, request: Request) -> Response:
        body = await self.body(request)
        self.context.limiter.check("token_verifications", self.ip(request),
                                   int(self.auth.rate_limit_token_verifications))
        kind = str(body.get("type") or "")
        if kind in ("sms", "phone_change"):
            raise bad_request("phone_provider_disabled", "supakit's local Auth has no SMS provider")
        token_hash, token = body.get("token_hash"), body.get("token")
        email = users.normalize_email(body.get("email"))
        if not token_hash and not (token and email):
            raise bad_request("validation_failed", "Verify requires either a token or a token hash" if not token
                              else "Only an email address or phone number should be provided on verify")
        async with self.context.pool.connection() as conn:
            if token_hash:
                hashed = str(token_hash).removeprefix(flows.PKCE_PREFIX)
                user, resolved, complete = await flows.verify(self.context, conn, kind, hashed=hashed)
            else:
                user, resolved, complete = await flows.verify(self.context, conn, kind, email=email,
                                                              otp=str(token))
            if not complete:
                return _json({"msg": flows.EMAIL_CHANGE_HALF, "code": 200})
            assert user is not None
            return _json(await sessions.start_session(self.context, conn, user, "otp", request))

    async def verify_get(self, request: Request) -> Response:
        query = request.query_params
        kind = query.get("type") or ""
        raw = query.get("token") or ""
        target = flows.redirect_target(self.context, query.get("redirect_to"))
        pkce = raw.startswith(flows.PKCE_PREFIX)
        self.context.limiter.check("token_verifications", self.ip(request),
                                   int(self.auth.rate_limit_token_verifications))
        try:
            if not raw:
                raise bad_request("validation_failed", "Verify requires a token or a token hash")
            async with self.context.pool.connection() as conn:
                user, resolved, complete = await flows.verify(self.context, conn, kind,
                                                              hashed=raw.removeprefix(flows.PKCE_PREFIX))
                if not complete:
                    return RedirectResponse(flows.fragment_redirect(target, {"message": flows.EMAIL_CHANGE_HALF}),
                                            303)
                assert user is not None
                if pkce:
                    code = await flows.issue_auth_code(conn, user["id"], resolved if kind != "email" else kind)
                    if code is None:
                        raise AuthError(404, "flow_state_not_found", "invalid flow state, no valid flow state found")
                    return RedirectResponse(flows.query_redirect(target, {"code": code}), 303)
                session = await sessions.start_session(self.context, conn, user, "otp", request)
        except AuthError as error:
            values = {"error": OAUTH_ERRORS.get(error.status, "server_error"),
                      "error_code": error.code,
                      "error_description": error.message}
            location = flows.query_redirect(target, values) if pkce else flows.fragment_redirect(target, values)
            return RedirectResponse(location, 303)
        values = {"access_token": session["access_token"], "expires_at": session["expires_at"],
                  "expires_in": session["expires_in"], "refresh_token": session["refresh_token"],
                  "token_type": "bearer", "type": resolved if kind != "email" else kind}
        return RedirectResponse(flows.fragment_redirect(target, values), 303)

    # -- MFA -----------------------------------------------------------------------------------------------------

    async def factors_enroll(self, request: Request) -> Response:
        body = await self.body(request)
        async with self.context.pool.connection() as conn:
            caller = await self.authed(request, conn)
            return _json(await mfa.enroll(self.context, conn, caller.user, body))

    async def factors_challenge(self, request: Request) -> Response:
        await self.body(request)
        async with self.context.pool.connection() as conn:
            caller = await self.authed(request, conn)
            return _json(await mfa.challenge(self.context, conn, caller.user, request.path_params["factor_id"],
                                             request.client.host if request.client else None))

    async def factors_verify(self, request: Request) -> Response:
        body = await self.body(request)
        async with self.context.pool.connection() as conn:
            caller = await self.authed(request, conn)
            if not caller.session_id:
                raise forbidden("session_not_found", "Session from session_id claim in JWT does not exist")
            return _json(await mfa.verify(self.context, conn, caller.user, caller.session_id,
                                          request.path_params["factor_id"], body))

    async def factors_delete(self, request: Request) -> Response:
        async with self.context.pool.connection() as conn:
            caller = await self.authed(request, conn)
            return _json(await mfa.unenroll(conn, caller.user, str(caller.claims.get("aal") or "aal1"),
                                            request.path_params["factor_id"]))

    # -- admin ---------------------------------------------------------------------------------------------------

    async def invite(self, request: Request) -> Response:
        self.require_admin(request)
        body = await self.body(request)
        async with self.context.pool.connection() as conn:
            return _json(await admin.invite(self.context, conn, body, self.redirect_to(request, body)))

    async def admin_list(self, request: Request) -> Response:
        self.require_admin(request)
        query = dict(request.query_params)
        page, per_page = admin.pagination(query)
        async with self.context.pool.connection() as conn:
            rows, total = await admin.list_users(conn, page, per_page, email_filter=query.get("filter"))
        headers = {"Link": admin.link_header(request.url.path, query, page, per_page, total),
                   "X-Total-Count": str(total)}
        return _json({"users": [users.user_json(row) for row in rows], "aud": "authenticated"}, 200, headers)

    async def admin_create(self, request: Request) -> Response:
        self.require_admin(request)
        body = await self.body(request)
        async with self.context.pool.connection() as conn:
            return _json(users.user_json(await admin.create_user(self.context, conn, body)))

    async def admin_get(self, request: Request) -> Response:
        self.require_admin(request)
        async with self.context.pool.connection() as conn:
            return _json(users.user_json(await admin.user_or_404(conn, request.path_params["user_id"])))

    async def admin_update(self, request: Request) -> Response:
        self.require_admin(request)
        body = await self.body(request)
        async with self.context.pool.connection() as conn:
            row = await admin.update_user(self.context, conn, request.path_params["user_id"], body)
            return _json(users.user_json(row))

    async def admin_delete(self, request: Request) -> Response:
        self.require_admin(request)
        body = await self.body(request)
        async with self.context.pool.connection() as conn:
            await admin.delete_user(conn, request.path_params["user_id"], bool(body.get("should_soft_delete")))
        return _json({})

    async def admin_generate_link(self, request: Request) -> Response:
        self.require_admin(request)
        body = await self.body(request)
        async with self.context.pool.connection() as conn:
            return _json(await admin.generate_link(self.context, conn, body, self.redirect_to(request, body)))


def _obfuscated_user(email: str, data: dict[str, Any]) -> dict[str, Any]:
    """GoTrue's sanitizeUser: what a repeated sign-up of a confirmed address answers when confirmations are on, so
    the answer does not tell whether the address is registered."""
    now = dt.datetime.now(dt.UTC)
    return users.user_json({
        "id": uuid.uuid4(), "aud": "authenticated", "role": "authenticated", "email": email, "phone": "",
        "confirmation_sent_at": now, "raw_app_meta_data": {"provider": "email", "providers": ["email"]},
        "raw_user_meta_data": data, "identities": [], "created_at": now, "updated_at": now, "is_anonymous": False})


async def _insert_email_user(conn: Any, email: str, hashed: str, data: dict[str, Any], *,
                             confirmed: bool) -> dict[str, Any]:
    """A new email user with its email identity (signupNewUser + createNewIdentity), confirmed when `confirmed`."""
    user_id = str(uuid.uuid4())
    now = dt.datetime.now(dt.UTC) if confirmed else None
    identity = {"sub": user_id, "email": email, "email_verified": confirmed, "phone_verified": False}
    async with conn.transaction():
        await conn.execute(users.USER_INSERT_ONE, {
            "id": user_id, "aud": "authenticated", "role": "authenticated", "email": email, "phone": None,
            "password": hashed, "app_metadata": json.dumps({"provider": "email", "providers": ["email"]}),
            "user_metadata": json.dumps({**data, **identity}), "is_anonymous": False, "email_confirmed_at": now,
            "phone_confirmed_at": None, "invited_at": None, "banned_until": None})
        await conn.execute(users.IDENTITY_INSERT_ONE, {"provider_id": user_id, "user_id": user_id,
                                                       "data": json.dumps(identity), "provider": "email"})
    user = await users.fetch_by_id(conn, user_id)
    assert user is not None
    return user

