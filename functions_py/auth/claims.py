"""Access-token claims exactly as GoTrue builds them (internal/tokens/service.go, AccessTokenClaims): the registered
claims, then email, phone, app_metadata, user_metadata, role, aal, amr, session_id, is_anonymous. The one copy of
this shape: `functions_py.tokens.user_token` (for `supakit auth token`) builds its claims here too."""

from __future__ import annotations

from typing import Any

AAL1, AAL2 = "aal1", "aal2"
# Methods whose amr entry lifts a session to aal2 (models.CalculateAALAndAMR).
SECOND_FACTORS = frozenset({"totp", "phone", "webauthn", "mfa/totp", "mfa/phone", "mfa/webauthn"})


def amr_entries(claims: list[tuple[str, float]]) -> list[dict[str, Any]]:
    """`[(method, unix time)]` as the amr claim: newest first, as GoTrue sorts them, timestamps in whole
    seconds."""
    ordered = sorted(claims, key=lambda item: item[1], reverse=True)
    return [{"method": method, "timestamp": int(stamp)} for method, stamp in ordered]


def aal_for(methods: list[str] | tuple[str, ...]) -> str:
    return AAL2 if any(method in SECOND_FACTORS for method in methods) else AAL1


def access_token_claims(*, user_id: str, aud: str, role: str, email: str, phone: str,
                        app_metadata: dict[str, Any], user_metadata: dict[str, Any], session_id: str,
                        amr: list[dict[str, Any]], aal: str, is_anonymous: bool, issuer: str, issued_at: int,
                        expires_in_s: int) -> dict[str, Any]:
    """The claims of an access token, keys in GoTrue's order."""
    claims: dict[str, Any] = {
        "aud": aud or "authenticated",
        "exp": issued_at + expires_in_s,
        "iat": issued_at,
        "iss": issuer,
        "sub": user_id,
        "email": email or "",
        "phone": phone or "",
        "app_metadata": app_metadata or {},
        "user_metadata": user_metadata or {},
        "role": role or "authenticated",
    }
    if aal:
        claims["aal"] = aal
    if amr:
        claims["amr"] = amr
    if session_id:
        claims["session_id"] = session_id
    claims["is_anonymous"] = bool(is_anonymous)
    return claims


# What a custom access token hook's output must still contain (GoTrue's hook output JSON schema).
REQUIRED_HOOK_CLAIMS = ("aud", "exp", "iat", "sub", "role", "aal", "session_id", "email", "phone", "is_anonymous")
