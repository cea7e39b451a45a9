"""Passwords as GoTrue keeps them: bcrypt at cost 10 (internal/crypto/password.go), strength rules from the config
(minimum length, required character sets), checked off the event loop because bcrypt is meant to be slow."""

from __future__ import annotations

import asyncio
import hmac
import secrets
import string

import bcrypt

from functions_py.auth.errors import AuthError

BCRYPT_COST = 10
# A hash no password matches, compared when the user does not exist so both paths cost one bcrypt check.
_DUMMY_HASH = bcrypt.hashpw(b"supakit-no-such-user", bcrypt.gensalt(BCRYPT_COST))

LOWER, UPPER, DIGITS = string.ascii_lowercase, string.ascii_uppercase, string.digits
SYMBOLS = "!@#$%^&*()_+-=[]{};'\\:\"|<>?,./`~"
REQUIRED_SETS = {
    "": (),
    "letters_digits": (LOWER + UPPER, DIGITS),
    "lower_upper_letters_digits": (LOWER, UPPER, DIGITS),
    "lower_upper_letters_digits_symbols": (LOWER, UPPER, DIGITS, SYMBOLS),
}


def hash_sync(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(BCRYPT_COST)).decode()


async def hash_password(password: str) -> str:
    """A bcrypt hash ($2a$/$2b$, cost 10) of `password`."""
    return await asyncio.to_thread(hash_sync, password)


def verify_sync(password: str, hashed: str | None) -> bool:
    target = (hashed or "").encode()
    if not target.startswith((b"$2a$", b"$2b$", b"$2y$")):
        bcrypt.checkpw(password.encode(), _DUMMY_HASH)
        return False
    try:
        return bcrypt.checkpw(password.encode(), target)
    except ValueError:
        return False


async def verify_password(password: str, hashed: str | None) -> bool:
    """Whether `password` matches `hashed`; the same cost when there is no hash (no timing oracle)."""
    return await asyncio.to_thread(verify_sync, password, hashed)


def weakness(password: str, minimum_length: int, requirements: str) -> AuthError | None:
    """GoTrue's 422 weak_password error for `password`, or None when it is strong enough."""
    reasons, messages = [], []
    if len(password) < minimum_length:
        reasons.append("length")
        messages.append(f"Password should be at least {minimum_length} characters.")
    sets = REQUIRED_SETS.get(requirements, ())
    if sets and not all(any(char in charset for char in password) for charset in sets):
        reasons.append("characters")
        messages.append("Password should contain at least one character of each: " + ", ".join(sets) + ".")
    if not reasons:
        return None
    return AuthError(422, "weak_password", " ".join(messages), weak_password={"reasons": reasons})


def random_password() -> str:
    """A password nobody knows (OTP sign-ups get one, as GoTrue gives them)."""
    return secrets.token_urlsafe(48)


def same(a: str, b: str) -> bool:
    """Constant-time string comparison."""
    return hmac.compare_digest(a.encode(), b.encode())
