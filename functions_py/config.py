"""Settings: the one reader of the environment and of `supabase/config.toml` (STYLE.md §18).

Every setting is an `Option` in the tables below (`OPTIONS`): its dotted name, its environment variable, its key in
`supabase/config.toml` (the Supabase CLI's own keys where one exists, so a project configured for `supabase start`
is served the same way), its default, and a parser that says what it expects. `Settings.load()` resolves each
one once per process, in the order CLI flag > environment > config.toml > default, and remembers where each value
came from (`supakit config` prints them). A bad value fails at start with the setting's name, the value and what
is expected. Secrets are read here and nowhere else; `describe()` masks them and nothing here logs a value.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from functions_py.errors import ConfigError

DEFAULT_DB_PORT = 54322  # the Supabase CLI's local database port, so tools configured for it just work
PROJECT_MARKERS = ("supabase/config.toml", "sql")


def find_project_dir(start: Path | None = None) -> Path:
    """The project root: SUPAKIT_PROJECT_DIR, else the nearest directory at or above `start` (default: the
    working directory) holding `supabase/config.toml` and `sql/`."""
    explicit = os.environ.get("SUPAKIT_PROJECT_DIR")
    if explicit:
        path = Path(explicit).expanduser().resolve()
        if not path.is_dir():
            raise ConfigError(f"SUPAKIT_PROJECT_DIR={explicit} is not a directory; point it at your supakit project.")
        return path
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if all((candidate / marker).exists() for marker in PROJECT_MARKERS):
            return candidate
    raise ConfigError(
        f"no supakit project found at or above {here} (looked for supabase/config.toml and sql/); "
        "run supakit from your project directory or set SUPAKIT_PROJECT_DIR."
    )


def _port(raw: str | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_DB_PORT
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise ConfigError(f"SUPAKIT_DB_PORT={raw!r} is not a TCP port; use a number from 1 to 65535.")
    return int(raw)


# -- option tables ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    """One setting: `name` is dotted (`<section>.<key>`); `parse` turns a raw value (a string from the environment
    or a TOML value) into the setting's value or raises ValueError; `expected` says what a valid value looks like."""

    name: str
    default: Any
    env: str | None = None
    toml: str | None = None  # dotted key in supabase/config.toml
    parse: Callable[[Any], Any] = str
    expected: str = "a string"
    secret: bool = False
    doc: str = ""
    flag: str | tuple[str, ...] | None = None  # the command-line option(s) that also set it ("supakit serve --port")

    @property
    def flags(self) -> tuple[str, ...]:
        """Every command-line option that sets this setting (docs/cli.md lists the setting's variable beside them)."""
        return (self.flag,) if isinstance(self.flag, str) else tuple(self.flag or ())

    @property
    def section(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def key(self) -> str:
        return self.name.split(".", 1)[1]


def parse_port(raw: Any) -> int:
    value = int(str(raw).strip())
    if not 1 <= value <= 65535:
        raise ValueError(raw)
    return value


def parse_int(minimum: int = 0, maximum: int | None = None) -> Callable[[Any], int]:
    def parse(raw: Any) -> int:
        if isinstance(raw, bool):
            raise ValueError(raw)
        value = int(str(raw).strip())
        if value < minimum or (maximum is not None and value > maximum):
            raise ValueError(raw)
        return value

    return parse


def parse_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(raw)


def parse_list(raw: Any) -> tuple[str, ...]:
    """A TOML array, or a comma-separated string (PostgREST's own form for db-schemas and friends)."""
    if isinstance(raw, list | tuple):
        items = [str(item).strip() for item in raw]
    else:
        items = [item.strip() for item in str(raw).split(",")]
    return tuple(item for item in items if item)


def parse_choice(*choices: str) -> Callable[[Any], str]:
    def parse(raw: Any) -> str:
        value = str(raw).strip()
        if value not in choices:
            raise ValueError(raw)
        return value

    return parse


def parse_optional(raw: Any) -> str | None:
    value = str(raw).strip()
    return value or None


def parse_secret(raw: Any) -> str:
    value = str(raw)
    if value and len(value) < 32:
        raise ValueError("too short")
    return value


def parse_number(minimum: float = 0.0, *, inclusive: bool = True) -> Callable[[Any], float]:
    """A number (of seconds, usually) at least `minimum` (above it when not `inclusive`)."""

    def parse(raw: Any) -> float:
        if isinstance(raw, bool):
            raise ValueError(raw)
        value = float(str(raw).strip())
        if value != value or value < minimum or (not inclusive and value == minimum):  # NaN too
            raise ValueError(raw)
        return value

    return parse


def parse_address(raw: Any) -> str:
    from email.utils import parseaddr

    value = str(raw).strip()
    if "@" not in parseaddr(value)[1]:
        raise ValueError(raw)
    return value


_SIZE_UNITS = {"": 1, "b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "kib": 1024, "mib": 1024**2, "gib": 1024**3}


def parse_size(raw: Any) -> int:
    """A byte count: a number, or a number with a unit as the Supabase CLI writes them (`50MiB`, `200MB`)."""
    if isinstance(raw, bool):
        raise ValueError(raw)
    if isinstance(raw, int):
        value = raw
    else:
        match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*", str(raw))
        if not match or match.group(2).lower() not in _SIZE_UNITS:
            raise ValueError(raw)
        value = int(float(match.group(1)) * _SIZE_UNITS[match.group(2).lower()])
    if value < 1:
        raise ValueError(raw)
    return value


def parse_path(raw: Any) -> Path:
    return Path(str(raw).strip()).expanduser().resolve()


def parse_http_url(raw: Any) -> str | None:
    value = str(raw).strip().rstrip("/")
    if value and not value.startswith(("http://", "https://")):
        raise ValueError(raw)
    return value or None


# The Supabase CLI's local keys: the same defaults, so a frontend `.env` written for `supabase start` works unchanged.
LOCAL_PUBLISHABLE_KEY = "sb_publishable_ACJWlzQHlZjBrEguHvfOxg_3BJgxAaH"
LOCAL_SECRET_KEY = "sb_secret_N7UND0UgjKTVK-Uodkm0Hg_xSvEMPvz"

_PORT = "a TCP port from 1 to 65535"

# The gateway (`supakit serve`): one port for /rest/v1, /auth/v1, /storage/v1, /realtime/v1 and /functions/v1.
API_OPTIONS = (
    Option("api.host", "127.0.0.1", env="SUPAKIT_API_HOST", flag="supakit serve --host",
           doc="Interface `supakit serve` listens on."),
    Option("api.port", 54321, env="SUPAKIT_API_PORT", toml="api.port", parse=parse_port, expected=_PORT,
           flag=("supakit serve --port", "supakit up --port"),
           doc="The gateway's TCP port (the Supabase CLI's API port)."),
    Option("api.access_log", False, env="SUPAKIT_API_ACCESS_LOG", parse=parse_bool, expected="true or false",
           flag="supakit serve --access-log",
           doc="Log every request (uvicorn's access log; key and token query parameters masked)."),
    Option("api.external_url", None, env="SUPAKIT_API_EXTERNAL_URL", parse=parse_optional,
           expected="a URL such as http://127.0.0.1:54321",
           doc="The URL clients use to reach the gateway (default: http://<host>:<port>); Auth's issuer and e-mail "
               "links are built from it."),
    Option("api.publishable_key", LOCAL_PUBLISHABLE_KEY, env="SUPAKIT_PUBLISHABLE_KEY", secret=False,
           doc="The opaque publishable key (sb_publishable_…) the gateway translates to the anon JWT."),
    Option("api.secret_key", LOCAL_SECRET_KEY, env="SUPAKIT_SECRET_KEY", secret=True,
           doc="The opaque secret key (sb_secret_…) the gateway translates to the service_role JWT."),
    Option("api.pool_size", 10, env="SUPAKIT_API_POOL_SIZE", parse=parse_int(1, 200),
           expected="a number of connections from 1 to 200", doc="Database connections the gateway's pool holds."),
    Option("api.max_body_bytes", 10 * 1024 * 1024, env="SUPAKIT_API_MAX_BODY_BYTES", parse=parse_int(1024),
           expected="a number of bytes, at least 1024",
           doc="Largest request body the REST and Auth APIs accept (413 above it); Storage uploads have their "
               "own limit."),
)

# JWT verification and signing, shared by every service behind the gateway.
JWT_OPTIONS = (
    Option("jwt.secret", "", env="SUPAKIT_JWT_SECRET", parse=parse_secret, secret=True,
           expected="the project's JWT secret, at least 32 characters",
           doc="HS256 secret (default: the Supabase CLI's public local secret, refused off localhost)."),
    Option("jwt.jwks_url", None, env="SUPAKIT_JWKS_URL", parse=parse_optional, expected="an https URL",
           doc="JWKS endpoint for asymmetric (RS256/ES256/EdDSA) tokens."),
    Option("jwt.signing_keys_path", None, env="SUPAKIT_JWT_SIGNING_KEYS_PATH", toml="auth.signing_keys_path",
           parse=parse_optional, expected="a path to a JSON file of private JWKs",
           doc="Asymmetric signing keys (RS256/ES256 private JWKs, as `supakit gen signing-key` writes them): Auth "
               "signs access tokens with the one whose key_ops has \"sign\" (its kid in the header), publishes the "
               "public keys at /auth/v1/.well-known/jwks.json, and every service verifies tokens by kid; HS256 "
               "tokens keep verifying with the JWT secret. Relative to supabase/, as the Supabase CLI reads it."),
    Option("jwt.expiry_s", 3600, env="SUPAKIT_JWT_EXPIRY", toml="auth.jwt_expiry", parse=parse_int(30, 604800),
           expected="seconds from 30 to 604800", doc="Lifetime of access tokens Auth issues."),
)

# The local Data API (/rest/v1): PostgREST's own option names (PGRST_* environment, [api] in config.toml first).
REST_OPTIONS = (
    Option("rest.db_schemas", ("public", "graphql_public"), env="PGRST_DB_SCHEMAS", toml="api.schemas",
           parse=parse_list, expected="a list of schema names", doc="PostgREST db-schemas: the exposed schemas."),
    Option("rest.db_extra_search_path", ("public", "extensions"), env="PGRST_DB_EXTRA_SEARCH_PATH",
           toml="api.extra_search_path", parse=parse_list, expected="a list of schema names",
           doc="PostgREST db-extra-search-path."),
    Option("rest.db_max_rows", 1000, env="PGRST_DB_MAX_ROWS", toml="api.max_rows", parse=parse_int(0),
           expected="a number of rows (0: no limit)", doc="PostgREST db-max-rows."),
    Option("rest.db_anon_role", "anon", env="PGRST_DB_ANON_ROLE", doc="PostgREST db-anon-role."),
    Option("rest.db_pre_request", None, env="PGRST_DB_PRE_REQUEST", parse=parse_optional,
           expected="a function name such as public.check_request", doc="PostgREST db-pre-request."),
    Option("rest.db_tx_end", "commit", env="PGRST_DB_TX_END",
           parse=parse_choice("commit", "commit-allow-override", "rollback", "rollback-allow-override"),
           expected="commit, commit-allow-override, rollback or rollback-allow-override", doc="PostgREST db-tx-end."),
    Option("rest.db_aggregates_enabled", False, env="PGRST_DB_AGGREGATES_ENABLED", parse=parse_bool,
           expected="true or false", doc="PostgREST db-aggregates-enabled."),
    Option("rest.db_plan_enabled", False, env="PGRST_DB_PLAN_ENABLED", parse=parse_bool,
           expected="true or false", doc="PostgREST db-plan-enabled."),
    Option("rest.jwt_aud", None, env="PGRST_JWT_AUD", parse=parse_optional, doc="PostgREST jwt-aud."),
    Option("rest.jwt_role_claim_key", ".role", env="PGRST_JWT_ROLE_CLAIM_KEY",
           doc="PostgREST jwt-role-claim-key."),
    Option("rest.openapi_mode", "follow-privileges", env="PGRST_OPENAPI_MODE",
           parse=parse_choice("follow-privileges", "ignore-privileges", "disabled"),
           expected="follow-privileges, ignore-privileges or disabled", doc="PostgREST openapi-mode."),
)

# The local Realtime server (`supakit realtime serve`; under `supakit serve` it shares the gateway's port).
REALTIME_OPTIONS = (
    Option("realtime.host", "127.0.0.1", env="SUPAKIT_REALTIME_HOST", flag="supakit realtime serve --host",
           doc="Interface the standalone `supakit realtime serve` listens on."),
    Option("realtime.port", 54321, env="SUPAKIT_REALTIME_PORT", parse=parse_port, expected=_PORT,
           flag="supakit realtime serve --port",
           doc="TCP port of the standalone `supakit realtime serve`."),
    Option("realtime.log_level", "info", env="SUPAKIT_REALTIME_LOG_LEVEL",
           parse=parse_choice("debug", "info", "warning", "error"), expected="debug, info, warning or error",
           flag="supakit realtime serve --log-level", doc="Log level of the standalone `supakit realtime serve`."),
    Option("realtime.max_payload_kb", 256, env="SUPAKIT_REALTIME_MAX_PAYLOAD_KB", parse=parse_int(1),
           expected="a positive number of KiB", doc="Largest broadcast payload (Supabase's free-plan limit)."),
)

# E-mail (the email.send job): SMTP when a host is set, else .eml files in the maildir.
MAIL_OPTIONS = (
    Option("mail.sender", "supakit <no-reply@localhost>", env="SUPAKIT_SMTP_FROM", parse=parse_address,
           expected="an address such as 'Acme <no-reply@acme.com>'", doc="Sender of every e-mail."),
    Option("mail.smtp_host", None, env="SUPAKIT_SMTP_HOST", parse=parse_optional,
           expected="a host name", doc="SMTP server; unset: e-mail is written to the maildir."),
    Option("mail.smtp_port", 587, env="SUPAKIT_SMTP_PORT", parse=parse_port, expected=_PORT, doc="SMTP port."),
    Option("mail.smtp_starttls", None, env="SUPAKIT_SMTP_STARTTLS", parse=parse_bool, expected="true or false",
           doc="STARTTLS (default: on, unless the port is 25 or 1025)."),
    Option("mail.smtp_user", None, env="SUPAKIT_SMTP_USER", parse=parse_optional, doc="SMTP user name."),
    Option("mail.smtp_password", None, env="SUPAKIT_SMTP_PASSWORD", parse=parse_optional, secret=True,
           doc="SMTP password."),
    Option("mail.maildir", None, env="SUPAKIT_MAILDIR", parse=parse_path, expected="a directory",
           doc="Where e-mail goes without SMTP (default: <data dir>/mail); customers' maildirs go under it."),
)

# The ai.generate job (Anthropic).
AI_OPTIONS = (
    Option("ai.api_key", None, env="ANTHROPIC_API_KEY", parse=parse_optional, secret=True,
           doc="Anthropic API key: required by ai.generate jobs (without it they fail permanently, saying so); never "
               "logged."),
    Option("ai.base_url", None, env="ANTHROPIC_BASE_URL", parse=parse_optional, expected="a URL",
           doc="A different Anthropic API host (the tests' local server)."),
    Option("ai.model", "claude-sonnet-5-5", env="SUPAKIT_AI_MODEL", parse=parse_optional, doc="Model name."),
    Option("ai.max_tokens", 4096, env="SUPAKIT_AI_MAX_TOKENS", parse=parse_int(1),
           expected="a positive whole number", doc="max_tokens of each generation."),
    Option("ai.timeout_s", 120.0, env="SUPAKIT_AI_TIMEOUT_S", parse=parse_number(0.0, inclusive=False),
           expected="a positive number of seconds", doc="Timeout of one Anthropic call."),
)

# Stripe (billing): secrets for the API and webhook signatures. Price ids: STRIPE_PRICE_<PLAN>_<PERIOD>
# (read with the others, see Settings.stripe_prices).
STRIPE_OPTIONS = (
    Option("stripe.secret_key", None, env="STRIPE_SECRET_KEY", parse=parse_optional, secret=True,
           doc="Stripe API key (sk_test_… / sk_live_…) for checkout, portal and sync; missing: those functions answer "
               "503 and the commands exit 2, saying so."),
    Option("stripe.webhook_secret", None, env="STRIPE_WEBHOOK_SECRET", parse=parse_optional, secret=True,
           doc="Webhook signing secret (whsec_…, from the Dashboard or `stripe listen`); missing: stripe-webhook "
               "answers 503."),
    Option("stripe.api_base", None, env="STRIPE_API_BASE", parse=parse_http_url, expected="an http(s) URL",
           doc="A different Stripe API host (the tests' local server); unset: api.stripe.com."),
    Option("stripe.site_url", "http://localhost:3000", env="SUPAKIT_SITE_URL", parse=parse_http_url,
           expected="an http(s) URL", doc="Default redirect target after checkout and portal."),
)

# Provisioning (the provisioning.* jobs): which provider, and the local provider's places.
PROVISIONING_OPTIONS = (
    Option("provisioning.provider", "local", env="SUPAKIT_PROVISIONING_PROVIDER", parse=parse_choice("local", "aws"),
           expected="a provider; use local or aws", doc="Provider new runs use."),
    Option("provisioning.step_delay_s", 0.0, env="SUPAKIT_PROVISIONING_STEP_DELAY_S", parse=parse_number(0.0),
           expected="a number of seconds >= 0", doc="Pause after each step's action (demos, crash drills)."),
    Option("provisioning.dir", None, env="SUPAKIT_PROVISIONING_DIR", parse=parse_path, expected="a directory",
           doc="The local provider's files (default: <data dir>/provisioning)."),
    Option("provisioning.domain", "localhost", env="SUPAKIT_PROVISIONING_DOMAIN",
           parse=lambda raw: str(raw).strip().strip(".") or "localhost", doc="Parent domain of customers' hosts."),
)

AWS_OPTIONS = (
    Option("aws.hosted_zone_id", None, env="SUPAKIT_AWS_HOSTED_ZONE_ID", parse=parse_optional,
           expected="a Route53 hosted zone id", doc="Hosted zone customers' subdomains go in (aws provider)."),
    Option("aws.region", None, env="SUPAKIT_AWS_REGION", parse=parse_optional, doc="AWS region."),
    Option("aws.ami_id", None, env="SUPAKIT_AWS_AMI_ID", parse=parse_optional, doc="AMI of customers' instances."),
    Option("aws.subnet_id", None, env="SUPAKIT_AWS_SUBNET_ID", parse=parse_optional, doc="Subnet of instances."),
    Option("aws.security_group_ids", (), env="SUPAKIT_AWS_SECURITY_GROUP_IDS", parse=parse_list,
           expected="a comma-separated list of security group ids", doc="Security groups of instances."),
)

# Backups (the provisioning.backup jobs, sql/0031): where data exports go. With a bucket they are S3 objects (boto3's
# credential chain; AWS_ENDPOINT_URL points it at an emulator); without one, files under backups.dir.
BACKUP_OPTIONS = (
    Option("backups.bucket", None, env="SUPAKIT_BACKUP_BUCKET", parse=parse_optional, expected="an S3 bucket name",
           doc="S3 bucket of backups' data exports (unset: files under backups.dir)."),
    Option("backups.prefix", "supakit-backups", env="SUPAKIT_BACKUP_PREFIX",
           parse=lambda raw: str(raw).strip().strip("/") or "supakit-backups", doc="Key prefix of data exports."),
    Option("backups.dir", None, env="SUPAKIT_BACKUP_DIR", parse=parse_path, expected="a directory",
           doc="Data exports without a bucket (default: <data dir>/backups)."),
)

# Health checks of customers' instances (the provisioning.check_health job, functions_py/provisioning/health.py).
HEALTH_OPTIONS = (
    Option("health.url", None, env="SUPAKIT_HEALTH_URL", parse=parse_optional,
           expected="a URL template such as https://{subdomain}/healthz",
           doc="The site URL each health check GETs; {subdomain}, {address}, {org} and {slug} are filled in "
               "(default: the provider's site, https://<subdomain>/ or http://<subdomain>/ locally)."),
    Option("health.timeout_s", 5.0, env="SUPAKIT_HEALTH_TIMEOUT_S", parse=parse_number(0.0, inclusive=False),
           expected="a number of seconds > 0", doc="How long a health check waits for the site to answer."),
    Option("health.history_days", 30, env="SUPAKIT_HEALTH_HISTORY_DAYS", parse=parse_int(1, 3650),
           expected="a number of days from 1 to 3650", doc="Health checks older than this are pruned by the sweep."),
)


def parse_kind_seconds(raw: Any) -> tuple[tuple[str, float], ...]:
    """`KIND=SECONDS,KIND=SECONDS` (positive seconds) as pairs."""
    pairs = []
    for item in parse_list(raw):
        kind, sep, seconds = item.partition("=")
        value = float(seconds) if sep else -1.0
        if not kind.strip() or not value > 0:
            raise ValueError(item)
        pairs.append((kind.strip(), value))
    return tuple(pairs)


_W = "supakit worker "
# `supakit worker` (functions_py/jobs/worker.py WorkerConfig; docs/jobs.md "Workers")
WORKER_OPTIONS = (
    Option("worker.concurrency", 3, env="SUPAKIT_WORKER_CONCURRENCY", parse=parse_int(1, 1000),
           expected="a number of jobs from 1 to 1000", flag=_W + "--concurrency", doc="Jobs run at the same time."),
    Option("worker.batch_size", None, env="SUPAKIT_WORKER_BATCH_SIZE", parse=parse_int(1, 1000),
           expected="a number of jobs from 1 to 1000", flag=_W + "--batch-size",
           doc="Most jobs claimed at once (default: the concurrency)."),
    Option("worker.kinds", (), env="SUPAKIT_WORKER_KINDS", parse=parse_list, expected="a comma-separated list of kinds",
           flag=_W + "--kinds", doc="Job kinds to run (default: every registered kind)."),
    Option("worker.lease_seconds", 30, env="SUPAKIT_WORKER_LEASE_SECONDS", parse=parse_int(1),
           expected="a whole number of seconds, at least 1", flag=_W + "--lease-seconds",
           doc="Lease per claim, renewed every third of it while the job runs."),
    Option("worker.poll_interval", 1.0, env="SUPAKIT_WORKER_POLL_INTERVAL", parse=parse_number(0.0, inclusive=False),
           expected="a positive number of seconds", flag=_W + "--poll-interval",
           doc="Seconds between polls when no NOTIFY arrives."),
    Option("worker.shutdown_timeout", 10.0, env="SUPAKIT_WORKER_SHUTDOWN_TIMEOUT", parse=parse_number(0.0),
           expected="a number of seconds >= 0", flag=_W + "--shutdown-timeout",
           doc="Seconds in-flight jobs get to finish at shutdown before they are released."),
    Option("worker.name", None, env="SUPAKIT_WORKER_NAME", parse=parse_optional, expected="a name",
           flag=_W + "--name", doc="Worker name in leases and logs (default: <hostname>:<pid>)."),
    Option("worker.timeouts", (), env="SUPAKIT_WORKER_TIMEOUTS", parse=parse_kind_seconds,
           expected="KIND=SECONDS pairs such as ai.generate=120,system.sleep=5", flag=_W + "--timeouts",
           doc="Per-kind handler timeouts overriding the handlers' own."),
    Option("worker.reap_interval", 5.0, env="SUPAKIT_WORKER_REAP_INTERVAL", parse=parse_number(0.0, inclusive=False),
           expected="a positive number of seconds", flag=_W + "--reap-interval",
           doc="Seconds between requeueing jobs whose lease expired."),
    Option("worker.prune_interval", 60.0, env="SUPAKIT_WORKER_PRUNE_INTERVAL", parse=parse_number(0.0),
           expected="a number of seconds >= 0 (0: off)", flag=_W + "--prune-interval",
           doc="Seconds between retention runs (0: off)."),
    Option("worker.keep_succeeded", 100, env="SUPAKIT_JOBS_KEEP_SUCCEEDED", parse=parse_int(0),
           expected="a number of jobs", flag=_W + "--keep-succeeded", doc="Succeeded jobs kept per kind by retention."),
    Option("worker.keep_failed", 500, env="SUPAKIT_JOBS_KEEP_FAILED", parse=parse_int(0),
           expected="a number of jobs", flag=_W + "--keep-failed",
           doc="Failed and cancelled jobs kept per kind by retention."),
    Option("worker.loop", "auto", env="SUPAKIT_WORKER_LOOP", parse=parse_choice("auto", "asyncio", "uvloop"),
           expected="auto, asyncio or uvloop",
           doc="Event loop of `supakit worker` (auto: uvloop when installed, a default dependency except on Windows; "
               "uvloop when it is not installed: exit 2)."),
)

# The local Storage API (/storage/v1): Supabase Storage's own limits, [storage] in config.toml as the CLI names it.
STORAGE_OPTIONS = (
    Option("storage.file_size_limit", 50 * 1024 * 1024, env="SUPAKIT_STORAGE_FILE_SIZE_LIMIT",
           toml="storage.file_size_limit", parse=parse_size, expected="a size such as 50MiB, 200MB or 1048576",
           doc="Largest object any upload path accepts (Storage's global limit; a bucket's file_size_limit may "
               "only lower it)."),
    Option("storage.root", None, env="SUPAKIT_STORAGE_ROOT", parse=parse_optional, expected="a directory",
           doc="Where the local Storage keeps object bytes (default: <data dir>/storage)."),
    Option("storage.signing_secret", "", env="SUPAKIT_STORAGE_SIGNING_SECRET", parse=parse_secret, secret=True,
           expected="a secret of at least 32 characters",
           doc="HS256 key for signed URLs (default: the JWT secret, as Storage signs with the project's secret)."),
)

def parse_duration_s(raw: Any) -> int:
    """Seconds from an integer or a Go duration string as the Supabase CLI writes them ("1s", "60s", "1h", "5m")."""
    if isinstance(raw, bool):
        raise ValueError(raw)
    if isinstance(raw, int | float):
        return int(raw)
    text = str(raw).strip().lower()
    units = {"h": 3600, "m": 60, "s": 1}
    if text.isdigit():
        return int(text)
    total, number = 0.0, ""
    for char in text:
        if char.isdigit() or char == ".":
            number += char
        elif char in units and number:
            total += float(number) * units[char]
            number = ""
        else:
            raise ValueError(raw)
    if number:
        raise ValueError(raw)
    return int(total)


# [auth.email.template.<kind>] subject / content_path, as the Supabase CLI names the kinds.
AUTH_EMAIL_TEMPLATES = ("invite", "confirmation", "recovery", "magic_link", "email_change", "reauthentication")
_AUTH_TEMPLATE_OPTIONS = tuple(option for kind in AUTH_EMAIL_TEMPLATES for option in (
    Option(f"auth.template_{kind}_subject", None, toml=f"auth.email.template.{kind}.subject", parse=parse_optional,
           expected="a subject line", doc=f"Subject of the {kind} e-mail (GoTrue's default when unset)."),
    Option(f"auth.template_{kind}_content_path", None, toml=f"auth.email.template.{kind}.content_path",
           parse=parse_optional, expected="a path to an HTML template, relative to the project",
           doc=f"Go-template HTML body of the {kind} e-mail (GoTrue's default when unset)."),
))

# The local Auth API (/auth/v1): supabase/config.toml [auth] keys as the Supabase CLI names them, GOTRUE_* env
# names as GoTrue reads them; defaults are the CLI's (what `supabase start` runs GoTrue with).
AUTH_OPTIONS = (
    Option("auth.site_url", "http://127.0.0.1:3000", env="GOTRUE_SITE_URL", toml="auth.site_url",
           doc="Where e-mail links land when no allowed redirect_to is given."),
    Option("auth.additional_redirect_urls", (), env="GOTRUE_URI_ALLOW_LIST", toml="auth.additional_redirect_urls",
           parse=parse_list, expected="a list of URLs (globs allowed)", doc="Other allowed redirect_to targets."),
    Option("auth.enable_signup", True, env="GOTRUE_ENABLE_SIGNUP", toml="auth.enable_signup", parse=parse_bool,
           expected="true or false", doc="Whether new users may sign up."),
    Option("auth.enable_anonymous_sign_ins", False, env="GOTRUE_EXTERNAL_ANONYMOUS_USERS_ENABLED",
           toml="auth.enable_anonymous_sign_ins", parse=parse_bool, expected="true or false",
           doc="Whether signInAnonymously() is allowed."),
    Option("auth.enable_manual_linking", False, env="GOTRUE_SECURITY_MANUAL_LINKING_ENABLED",
           toml="auth.enable_manual_linking", parse=parse_bool, expected="true or false", doc="Manual linking."),
    Option("auth.minimum_password_length", 6, env="GOTRUE_PASSWORD_MIN_LENGTH",
           toml="auth.minimum_password_length", parse=parse_int(6, 72), expected="a length from 6 to 72",
           doc="Shortest password accepted."),
    Option("auth.password_requirements", "", env="GOTRUE_PASSWORD_REQUIRED_CHARACTERS",
           toml="auth.password_requirements",
           parse=parse_choice("", "letters_digits", "lower_upper_letters_digits",
                              "lower_upper_letters_digits_symbols"),
           expected='"", letters_digits, lower_upper_letters_digits or lower_upper_letters_digits_symbols',
           doc="Characters every password must contain."),
    Option("auth.enable_refresh_token_rotation", True, env="GOTRUE_SECURITY_REFRESH_TOKEN_ROTATION_ENABLED",
           toml="auth.enable_refresh_token_rotation", parse=parse_bool, expected="true or false",
           doc="Revoke a refresh token's whole family when a revoked token is reused."),
    Option("auth.refresh_token_reuse_interval", 10, env="GOTRUE_SECURITY_REFRESH_TOKEN_REUSE_INTERVAL",
           toml="auth.refresh_token_reuse_interval", parse=parse_int(0), expected="seconds",
           doc="How long a just-rotated refresh token still returns the current one."),
    Option("auth.secure_password_change", False, env="GOTRUE_SECURITY_UPDATE_PASSWORD_REQUIRE_REAUTHENTICATION",
           toml="auth.email.secure_password_change", parse=parse_bool, expected="true or false",
           doc="A password change needs a recent sign-in or a reauthentication nonce."),
    Option("auth.enable_confirmations", False, env="SUPAKIT_AUTH_ENABLE_CONFIRMATIONS",
           toml="auth.email.enable_confirmations", parse=parse_bool, expected="true or false",
           doc="Sign-up needs the e-mailed link before the first sign-in (GoTrue's mailer_autoconfirm off)."),
    Option("auth.double_confirm_changes", True, env="GOTRUE_MAILER_SECURE_EMAIL_CHANGE_ENABLED",
           toml="auth.email.double_confirm_changes", parse=parse_bool, expected="true or false",
           doc="An e-mail change is confirmed from both the old and the new address."),
    Option("auth.email_max_frequency_s", 1, env="GOTRUE_SMTP_MAX_FREQUENCY", toml="auth.email.max_frequency",
           parse=parse_duration_s, expected='a duration such as "1s" or "60s"',
           doc="Least time between two e-mails of one kind to one user."),
    Option("auth.otp_length", 6, env="GOTRUE_MAILER_OTP_LENGTH", toml="auth.email.otp_length",
           parse=parse_int(6, 10), expected="6 to 10 digits", doc="Digits in e-mailed one-time codes."),
    Option("auth.otp_expiry_s", 3600, env="GOTRUE_MAILER_OTP_EXP", toml="auth.email.otp_expiry",
           parse=parse_int(1, 86400), expected="seconds up to 86400", doc="Lifetime of e-mailed links and codes."),
    Option("auth.enable_email_signup", True, env="GOTRUE_EXTERNAL_EMAIL_ENABLED", toml="auth.email.enable_signup",
           parse=parse_bool, expected="true or false", doc="Whether the email provider is enabled."),
    Option("auth.rate_limit_email_sent", 2, env="GOTRUE_RATE_LIMIT_EMAIL_SENT", toml="auth.rate_limit.email_sent",
           parse=parse_int(0), expected="e-mails per hour", doc="E-mails sent per hour (whole instance)."),
    Option("auth.rate_limit_anonymous_users", 30, env="GOTRUE_RATE_LIMIT_ANONYMOUS_USERS",
           toml="auth.rate_limit.anonymous_users", parse=parse_int(0), expected="sign-ins per hour per IP",
           doc="Anonymous sign-ins per hour per IP address."),
    Option("auth.rate_limit_token_refresh", 150, env="GOTRUE_RATE_LIMIT_TOKEN_REFRESH",
           toml="auth.rate_limit.token_refresh", parse=parse_int(0), expected="requests per 5 minutes per IP",
           doc="Token refreshes per 5 minutes per IP address."),
    Option("auth.rate_limit_sign_in_sign_ups", 30, env="GOTRUE_RATE_LIMIT_SIGN_IN_SIGN_UPS",
           toml="auth.rate_limit.sign_in_sign_ups", parse=parse_int(0), expected="requests per 5 minutes per IP",
           doc="Sign-ins and sign-ups per 5 minutes per IP address."),
    Option("auth.rate_limit_token_verifications", 30, env="GOTRUE_RATE_LIMIT_VERIFY",
           toml="auth.rate_limit.token_verifications", parse=parse_int(0), expected="requests per 5 minutes per IP",
           doc="OTP and magic-link verifications per 5 minutes per IP address."),
    Option("auth.hook_custom_access_token_enabled", False, env="GOTRUE_HOOK_CUSTOM_ACCESS_TOKEN_ENABLED",
           toml="auth.hook.custom_access_token.enabled", parse=parse_bool, expected="true or false",
           doc="Run the custom access token hook before every token is signed."),
    Option("auth.hook_custom_access_token_uri", None, env="GOTRUE_HOOK_CUSTOM_ACCESS_TOKEN_URI",
           toml="auth.hook.custom_access_token.uri", parse=parse_optional,
           expected="pg-functions://postgres/<schema>/<function>", doc="The custom access token hook."),
    Option("auth.mfa_max_enrolled_factors", 10, env="GOTRUE_MFA_MAX_ENROLLED_FACTORS",
           toml="auth.mfa.max_enrolled_factors", parse=parse_int(1, 100), expected="a number of factors",
           doc="Factors one user may enroll."),
    Option("auth.mfa_totp_enroll_enabled", True, env="GOTRUE_MFA_TOTP_ENROLL_ENABLED",
           toml="auth.mfa.totp.enroll_enabled", parse=parse_bool, expected="true or false",
           doc="Whether users may enroll TOTP factors (GoTrue's default)."),
    Option("auth.mfa_totp_verify_enabled", True, env="GOTRUE_MFA_TOTP_VERIFY_ENABLED",
           toml="auth.mfa.totp.verify_enabled", parse=parse_bool, expected="true or false",
           doc="Whether TOTP factors may be verified."),
    Option("auth.sessions_timebox_s", 0, env="GOTRUE_SESSIONS_TIMEBOX", toml="auth.sessions.timebox",
           parse=parse_duration_s, expected='a duration such as "24h" (0: none)',
           doc="Sessions end this long after sign-in (not_after)."),
    Option("auth.admin_roles", ("service_role", "supabase_admin"), env="GOTRUE_JWT_ADMIN_ROLES",
           parse=parse_list, expected="a list of roles", doc="JWT roles allowed on the admin API."),
    *_AUTH_TEMPLATE_OPTIONS,
)

# SMS and WhatsApp through Twilio (functions_py/channels, docs/channels.md): Twilio's own variable names.
CHANNELS_OPTIONS = (
    Option("twilio.account_sid", None, env="TWILIO_ACCOUNT_SID", parse=parse_optional,
           expected="an account SID (AC…)", doc="Twilio account that sends the organizations' SMS and WhatsApp."),
    Option("twilio.auth_token", None, env="TWILIO_AUTH_TOKEN", parse=parse_optional, secret=True,
           expected="the account's auth token",
           doc="Authenticates calls to Twilio and verifies X-Twilio-Signature on the twilio-webhook function."),
    Option("twilio.api_base", "https://api.twilio.com", env="TWILIO_API_BASE",
           expected="a URL such as https://api.twilio.com",
           doc="Where the Twilio SDK sends API calls (a local stand-in in tests)."),
    Option("twilio.sms_from", None, env="TWILIO_SMS_FROM", parse=parse_optional, expected="an E.164 number",
           doc="Sender for SMS when the organization has no number in public.channel_senders."),
    Option("twilio.whatsapp_from", None, env="TWILIO_WHATSAPP_FROM", parse=parse_optional,
           expected="an E.164 number", doc="Sender for WhatsApp when the organization has none of its own."),
    Option("twilio.webhook_url", None, env="SUPAKIT_TWILIO_WEBHOOK_URL", parse=parse_optional,
           expected="the public https URL of /functions/v1/twilio-webhook",
           doc="The URL Twilio calls (and signs) for inbound messages and status callbacks; default: the URL the "
               "request arrived at."),
)

def parse_rate(raw: Any) -> float:
    value = float(str(raw).strip())
    if not 0 <= value <= 1:
        raise ValueError(raw)
    return value


# The local dashboard (`supakit serve`, functions_py/dashboard): Studio's port; [studio] keys in config.toml.
DASHBOARD_OPTIONS = (
    Option("dashboard.enabled", True, env="SUPAKIT_DASHBOARD", toml="studio.enabled", parse=parse_bool,
           expected="true or false", flag=("supakit serve --dashboard", "supakit up --dashboard"),
           doc="Serve the local dashboard with `supakit serve`."),
    Option("dashboard.host", "127.0.0.1", env="SUPAKIT_DASHBOARD_HOST",
           doc="Interface the dashboard listens on; a non-loopback one needs dashboard.login."),
    Option("dashboard.port", 54323, env="SUPAKIT_DASHBOARD_PORT", toml="studio.port", parse=parse_port,
           expected=_PORT, doc="The dashboard's TCP port (the Supabase CLI's Studio port)."),
    Option("dashboard.login", False, env="SUPAKIT_DASHBOARD_LOGIN", parse=parse_bool, expected="true or false",
           doc="Ask for the secret key (api.secret_key) before showing anything; required off loopback."),
    Option("dashboard.poll_s", 2, env="SUPAKIT_DASHBOARD_POLL_S", parse=parse_int(1, 3600),
           expected="seconds from 1 to 3600", doc="How often the queue page refreshes its counts and list."),
    # the thresholds of `supakit jobs stats --check`, read from the same variables
    Option("dashboard.max_queued", 50, env="SUPAKIT_JOBS_MAX_QUEUED", parse=parse_int(0),
           expected="a number of jobs", flag="supakit jobs stats --max-queued",
           doc="Queue alert: more ready jobs waiting than this."),
    Option("dashboard.max_failure_rate", 0.05, env="SUPAKIT_JOBS_MAX_FAILURE_RATE", parse=parse_rate,
           expected="a share from 0 to 1, such as 0.05", flag="supakit jobs stats --max-failure-rate",
           doc="Queue alert: a higher share of failed jobs in the last hour."),
)

# `supakit lint --db` (functions_py/advisors): which schemas count as exposed
LINT_OPTIONS = (
    Option("lint.schemas", ("public",), env="SUPAKIT_EXPOSED_SCHEMAS", toml="api.schemas", parse=parse_list,
           expected="a list of schema names", flag="supakit lint --schemas",
           doc="The exposed schemas the database advisors check (PostgREST's and the Supabase CLI's default: public)."),
)

OPTIONS: tuple[Option, ...] = (
    *API_OPTIONS, *JWT_OPTIONS, *REST_OPTIONS, *STORAGE_OPTIONS, *AUTH_OPTIONS, *CHANNELS_OPTIONS, *DASHBOARD_OPTIONS,
    *REALTIME_OPTIONS, *MAIL_OPTIONS, *AI_OPTIONS, *STRIPE_OPTIONS, *PROVISIONING_OPTIONS, *AWS_OPTIONS,
    *BACKUP_OPTIONS, *HEALTH_OPTIONS, *WORKER_OPTIONS, *LINT_OPTIONS,
)
STRIPE_PRICE_PREFIX = "STRIPE_PRICE_"

SOURCE_FLAG, SOURCE_ENV, SOURCE_TOML, SOURCE_DEFAULT = "flag", "env", "config.toml", "default"


def _toml_lookup(document: Mapping[str, Any], dotted: str) -> tuple[bool, Any]:
    node: Any = document
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False, None
        node = node[part]
    return True, node


def read_config_toml(project_dir: Path) -> dict[str, Any]:
    """`supabase/config.toml` as a dict ({} when absent); a syntax error names the file and the line."""
    path = project_dir / "supabase" / "config.toml"
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path} is not valid TOML ({error}); fix the file or remove it.") from None


def resolve_options(options: Iterable[Option], *, flags: Mapping[str, Any], environ: Mapping[str, str],
                    document: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Each option's value and source (flag > env > config.toml > default)."""
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for option in options:
        raw, source, where = option.default, SOURCE_DEFAULT, "the default"
        found, toml_value = _toml_lookup(document, option.toml) if option.toml else (False, None)
        if option.name in flags and flags[option.name] is not None:
            raw, source, where = flags[option.name], SOURCE_FLAG, "the command line"
        elif option.env and environ.get(option.env, "") != "":
            raw, source, where = environ[option.env], SOURCE_ENV, option.env
        elif found:
            raw, source, where = toml_value, SOURCE_TOML, f"supabase/config.toml [{option.toml}]"
        if source == SOURCE_DEFAULT:
            values[option.name] = raw
        else:
            try:
                values[option.name] = option.parse(raw)
            except (ValueError, TypeError):
                shown = "(hidden)" if option.secret else repr(raw)
                named = f"{option.env}={shown}" if source == SOURCE_ENV else f"{option.name} = {shown} (from {where})"
                flag_names = {flag.split()[-1] for flag in option.flags}
                if source == SOURCE_FLAG and len(flag_names) == 1:  # `--concurrency 0`, as the user typed it
                    named = f"{flag_names.pop()} {shown}"
                if option.flags and source != SOURCE_FLAG:
                    named += f" (or {' / '.join(option.flags)})"
                fix = "fix it" if source == SOURCE_FLAG else "fix it or unset it"
                raise ConfigError(f"{named} is not {option.expected} (setting {option.name}); {fix}.") from None
        sources[option.name] = source
    return values, sources


class Section:
    """A read-only view of one section's values: `settings.rest.db_schemas`."""

    def __init__(self, name: str, values: Mapping[str, Any]) -> None:
        self._name = name
        self._values = values

    def __getattr__(self, key: str) -> Any:
        try:
            return self._values[f"{self._name}.{key}"]
        except KeyError:
            raise AttributeError(f"no setting {self._name}.{key}") from None


@dataclass(frozen=True)
class Settings:
    """Where the project, its embedded database and its target database are, and every option of `OPTIONS`
    (as sections: `settings.api.port`, `settings.rest.db_schemas`). Built once per process, passed down."""

    project_dir: Path
    data_dir: Path
    db_port: int = DEFAULT_DB_PORT
    database_url: str | None = None  # None: use the embedded database
    values: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    sources: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)
    stripe_prices: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)  # env name -> id

    @classmethod
    def load(cls, *, project_dir: Path | None = None, data_dir: Path | None = None,
             database_url: str | None = None, flags: Mapping[str, Any] | None = None,
             environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from options (when given) falling back to the environment, then supabase/config.toml, then
        the defaults. `flags` maps option names to values given on the command line."""
        env = os.environ if environ is None else environ
        project = project_dir.resolve() if project_dir else find_project_dir()
        data = data_dir or (Path(env["SUPAKIT_DATA_DIR"]) if env.get("SUPAKIT_DATA_DIR") else None)
        data = (data.expanduser() if data else project / ".supakit").resolve()
        url = database_url or env.get("DATABASE_URL") or None
        values, sources = resolve_options(OPTIONS, flags=flags or {}, environ=env,
                                          document=read_config_toml(project))

        def source(given: object, variable: str) -> str:
            return SOURCE_FLAG if given else SOURCE_ENV if env.get(variable) else SOURCE_DEFAULT

        sources.update({"project_dir": source(project_dir, "SUPAKIT_PROJECT_DIR"),
                        "data_dir": source(data_dir, "SUPAKIT_DATA_DIR"),
                        "db.port": source(None, "SUPAKIT_DB_PORT"), "db.url": source(database_url, "DATABASE_URL")})
        prices = {name: value for name, value in env.items() if name.startswith(STRIPE_PRICE_PREFIX) and value}
        return cls(project_dir=project, data_dir=data, db_port=_port(env.get("SUPAKIT_DB_PORT")),
                   database_url=url, values=MappingProxyType(values), sources=MappingProxyType(sources),
                   stripe_prices=MappingProxyType(prices))

    def __getattr__(self, name: str) -> Section:
        # only reached for names that are not fields: option sections
        if name.startswith("_") or not any(option.section == name for option in OPTIONS):
            raise AttributeError(name)
        return Section(name, self.values)

    def replace(self, **values: Any) -> Settings:
        """A copy with some options set by dotted name, as if given on the command line:
        `settings.replace(**{"api.port": 54400})` (tests use this)."""
        merged = {**self.values, **values}
        sources = {**self.sources, **{name: SOURCE_FLAG for name in values}}
        return Settings(project_dir=self.project_dir, data_dir=self.data_dir, db_port=self.db_port,
                        database_url=self.database_url, values=MappingProxyType(merged),
                        sources=MappingProxyType(sources), stripe_prices=self.stripe_prices)

    def with_flags(self, flags: Mapping[str, Any]) -> Settings:
        """A copy with options a command was given on the command line (by dotted name; None: not given), parsed
        and checked as values from the environment are, and recorded as coming from the flag."""
        given = {name: value for name, value in flags.items() if value is not None}
        if not given:
            return self
        values, _ = resolve_options([option(name) for name in given], flags=given, environ={}, document={})
        return self.replace(**values)

    def describe(self) -> list[dict[str, Any]]:
        """Every effective setting with its source; secrets masked (for `supakit config`)."""
        def source(name: str) -> str:
            return self.sources.get(name, SOURCE_DEFAULT)

        rows = [
            {"name": "project_dir", "value": str(self.project_dir), "source": source("project_dir"),
             "env": "SUPAKIT_PROJECT_DIR"},
            {"name": "data_dir", "value": str(self.data_dir), "source": source("data_dir"), "env": "SUPAKIT_DATA_DIR"},
            {"name": "db.port", "value": self.db_port, "source": source("db.port"), "env": "SUPAKIT_DB_PORT"},
            {"name": "db.url", "value": mask_url(self.database_url) if self.database_url else None,
             "source": source("db.url"), "env": "DATABASE_URL"},
            {"name": "mail.maildir (effective)", "value": str(self.maildir), "source": "from data_dir"
             if self.values.get("mail.maildir") is None else source("mail.maildir"), "env": None},
            {"name": "provisioning.dir (effective)", "value": str(self.provisioning_dir), "source": "from data_dir"
             if self.values.get("provisioning.dir") is None else source("provisioning.dir"), "env": None},
        ]
        rows += [{"name": f"stripe.price.{name[len(STRIPE_PRICE_PREFIX):].lower()}", "value": value,
                  "source": SOURCE_ENV, "env": name} for name, value in sorted(self.stripe_prices.items())]
        for option in OPTIONS:
            value = self.values.get(option.name, option.default)
            if option.secret and value:
                value = mask(str(value))
            if isinstance(value, tuple):
                value = list(value)
            if isinstance(value, Path):
                value = str(value)
            rows.append({"name": option.name, "value": value,
                         "source": self.sources.get(option.name, SOURCE_DEFAULT), "env": option.env})
        return rows

    @property
    def maildir(self) -> Path:
        """Where e-mail goes without SMTP: mail.maildir, else <data dir>/mail."""
        return self.values.get("mail.maildir") or self.data_dir / "mail"

    @property
    def signing_keys_file(self) -> Path | None:
        """jwt.signing_keys_path resolved as the Supabase CLI resolves [auth] signing_keys_path: a relative path is
        under supabase/; None when no signing keys are configured."""
        raw = self.values.get("jwt.signing_keys_path")
        if not raw:
            return None
        path = Path(raw).expanduser()
        return path if path.is_absolute() else (self.project_dir / "supabase" / path).resolve()

    @property
    def provisioning_dir(self) -> Path:
        """The local provider's files: provisioning.dir, else <data dir>/provisioning."""
        return self.values.get("provisioning.dir") or self.data_dir / "provisioning"

    @property
    def backups_dir(self) -> Path:
        """Data exports without an S3 bucket: backups.dir, else <data dir>/backups."""
        return self.values.get("backups.dir") or self.data_dir / "backups"

    @property
    def sql_dir(self) -> Path:
        return self.project_dir / "sql"

    @property
    def policies_dir(self) -> Path:
        return self.project_dir / "policies"

    @property
    def compat_dir(self) -> Path:
        return self.project_dir / "supabase" / "compat"

    @property
    def export_dir(self) -> Path:
        return self.project_dir / "supabase" / "migrations"

    @property
    def seed_file(self) -> Path:
        return self.project_dir / "seed.sql"


def mask(secret: str) -> str:
    """A secret as `supakit config` shows it: its first 4 characters, then stars."""
    return (secret[:4] + "…" + "*" * 8) if len(secret) > 8 else "*" * 8


def mask_url(url: str) -> str:
    """A database URL without its password."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return "(unparsable URL)"
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":********@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


# -- the process's settings ------------------------------------------------------------------------------------

_current: Settings | None = None


def use(settings: Settings | None) -> None:
    """Make `settings` the process's settings (the CLI does this once, from its global options); None forgets them."""
    global _current
    _current = settings


def current() -> Settings:
    """The process's settings: those the CLI installed with `use()`, else loaded from the environment now (a
    library caller or a test that sets variables). Code that is handed a Settings uses that instead."""
    return _current if _current is not None else Settings.load()


def option(name: str) -> Option:
    """The Option called `name`."""
    return next(each for each in OPTIONS if each.name == name)


def option_value(name: str) -> Any:
    """One option from the process's settings, or its default when they cannot be loaded (for values fixed at
    import time, such as a handler's timeout; a bad value is reported when the settings are loaded)."""
    try:
        return current().values[name]
    except ConfigError:
        return option(name).default


def child_environ(**overrides: str) -> dict[str, str]:
    """This process's environment plus `overrides`, for the child processes `supakit up` starts."""
    return {**os.environ, **overrides}
