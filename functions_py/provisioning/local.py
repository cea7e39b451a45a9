"""The `local` provider: real resources on this machine, so `supakit up` shows the whole flow without a cloud.

For a customer (organization) it makes:

- instance: a PostgreSQL schema `customer_<id>` owned by a login role of the same name, on the server the worker
  uses, with the role's credentials in `<dir>/customers/<org id>/database.env` (mode 0600, never logged);
- dns: a line `127.0.0.1 <slug>.<domain>  # supakit:<org id>` in `<dir>/hosts` (hosts-file format);
- mail: a sending identity `no-reply@<subdomain>` with its own maildir under `<maildir>/customers/<subdomain>/`;
- deploy: the customer's rendered app config, `<dir>/customers/<org id>/app/config.json` and `app.env`;
- verify: logs in as the customer's role and checks every file above.

`<dir>` is SUPAKIT_PROVISIONING_DIR (default `<data dir>/provisioning`), `<domain>` SUPAKIT_PROVISIONING_DOMAIN
(default `localhost`, which resolves to this machine), `<maildir>` SUPAKIT_MAILDIR (default `<data dir>/mail`).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from functions_py import config
from functions_py.config import Settings
from functions_py.provisioning.provider import (
    PROVIDERS,
    Customer,
    PermanentStepError,
    Provider,
    RetryableStepError,
    StepContext,
    instance_type_for,
)

ROLE_EXISTS = "select 1 from pg_catalog.pg_roles where rolname = %s"
SCHEMA_OWNER = ("select r.rolname from pg_catalog.pg_namespace as n join pg_catalog.pg_roles as r on r.oid = n.nspowner"
                " where n.nspname = %s")
HOSTS_MARKER = "# supakit:"


def mail_root() -> Path:
    """SUPAKIT_MAILDIR, default <data dir>/mail: where local e-mail goes (Settings.maildir, which the email.send
    handler uses too)."""
    return config.current().maildir


class LocalProvider(Provider):
    name = "local"

    def __init__(self, database_url: str, root: Path, domain: str, maildir: Path) -> None:
        self.database_url = database_url
        self.root = root
        self.domain = domain
        self.maildir = maildir

    @classmethod
    def from_env(cls, database_url: str) -> LocalProvider:
        """from_settings with the process's settings (functions_py.config.current())."""
        return cls.from_settings(config.current(), database_url)

    @classmethod
    def from_settings(cls, settings: Settings, database_url: str) -> LocalProvider:
        return cls(database_url, settings.provisioning_dir, settings.provisioning.domain, settings.maildir)

    # -- names -----------------------------------------------------------------------------------------------

    def subdomain_for(self, customer: Customer) -> str:
        return f"{customer.slug}.{self.domain}"

    def role_name(self, customer: Customer) -> str:
        return f"customer_{customer.organization_id.hex}"

    def customer_dir(self, customer: Customer) -> Path:
        return self.root / "customers" / str(customer.organization_id)

    @property
    def hosts_file(self) -> Path:
        return self.root / "hosts"

    def _connect(self, **kwargs: Any) -> psycopg.Connection:
        try:
            return psycopg.connect(self.database_url, autocommit=True, connect_timeout=5, **kwargs)
        except psycopg.OperationalError as error:
            raise RetryableStepError(f"cannot reach the database for the customer's schema: "
                                     f"{str(error).strip().splitlines()[-1]}") from None

    # -- instance: a schema and its login role -----------------------------------------------------------------

    def create_instance(self, ctx: StepContext) -> dict[str, Any]:
        customer = ctx.customer
        role = self.role_name(customer)
        password = secrets.token_urlsafe(24)
        with self._connect() as conn:
            info = conn.info
            try:
                with conn.transaction():
                    if conn.execute(ROLE_EXISTS, (role,)).fetchone() is None:
                        conn.execute(sql.SQL("create role {} login").format(sql.Identifier(role)))
                        ctx.note(f"created role {role}")
                    else:
                        ctx.note(f"role {role} already exists (a resumed step): kept, password rotated")
                    conn.execute(sql.SQL("alter role {} with login password {}").format(
                        sql.Identifier(role), sql.Literal(password)))
                    conn.execute(sql.SQL("grant {} to current_user").format(sql.Identifier(role)))
                    conn.execute(sql.SQL("create schema if not exists {} authorization {}").format(
                        sql.Identifier(role), sql.Identifier(role)))
                    conn.execute(sql.SQL("alter role {} set search_path = {}").format(
                        sql.Identifier(role), sql.Identifier(role)))
            except psycopg.errors.InsufficientPrivilege as error:
                reason = error.diag.message_primary
                raise PermanentStepError(
                    f"the worker's database user may not create the customer's role and schema ({reason}); "
                    "give it CREATEROLE, or use another provider.") from None
            host, port, dbname = info.host, info.port, info.dbname
        directory = self.customer_dir(customer)
        directory.mkdir(parents=True, exist_ok=True)
        _write_private(directory / "database.env",
                       f"PGHOST={host}\nPGPORT={port}\nPGDATABASE={dbname}\nPGUSER={role}\nPGPASSWORD={password}\n")
        return {"schema": role, "role": role, "database": dbname, "host": host, "port": port,
                "size": instance_type_for(customer.plan_id), "public_address": "127.0.0.1",
                "credentials_file": str(directory / "database.env")}

    def remove_instance(self, ctx: StepContext, output: dict[str, Any] | None) -> None:
        role = self.role_name(ctx.customer)
        with self._connect() as conn, conn.transaction():
            conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(role)))
            if conn.execute(ROLE_EXISTS, (role,)).fetchone() is not None:
                conn.execute(sql.SQL("drop owned by {} cascade").format(sql.Identifier(role)))
                conn.execute(sql.SQL("drop role {}").format(sql.Identifier(role)))
                ctx.note(f"dropped schema and role {role}")
        with contextlib.suppress(FileNotFoundError):
            (self.customer_dir(ctx.customer) / "database.env").unlink()
        _remove_empty(self.customer_dir(ctx.customer))

    # -- dns: a hosts-file line ------------------------------------------------------------------------------

    def create_dns_record(self, ctx: StepContext) -> dict[str, Any]:
        subdomain = self.subdomain_for(ctx.customer)
        address = (ctx.outputs.get("instance") or {}).get("public_address", "127.0.0.1")
        marker = f"{HOSTS_MARKER}{ctx.customer.organization_id}"
        with self._hosts() as lines:
            lines[:] = [line for line in lines if not line.endswith(marker)]
            lines.append(f"{address} {subdomain}  {marker}")
        return {"subdomain": subdomain, "address": address, "hosts_file": str(self.hosts_file)}

    def remove_dns_record(self, ctx: StepContext, output: dict[str, Any] | None) -> None:
        marker = f"{HOSTS_MARKER}{ctx.customer.organization_id}"
        if not self.hosts_file.exists():
            return
        with self._hosts() as lines:
            lines[:] = [line for line in lines if not line.endswith(marker)]

    @contextlib.contextmanager
    def _hosts(self) -> Iterator[list[str]]:
        """The hosts file's lines, edited under an exclusive lock (workers for other customers share it)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / ".hosts.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            lines = self.hosts_file.read_text().splitlines() if self.hosts_file.exists() else []
            yield lines
            tmp = self.hosts_file.with_suffix(".tmp")
            tmp.write_text("".join(f"{line}\n" for line in lines))
            tmp.replace(self.hosts_file)

    # -- mail: a sending identity with its maildir -----------------------------------------------------------

    def _mail_dir(self, customer: Customer) -> Path:
        return self.maildir / "customers" / self.subdomain_for(customer)

    def create_mail_identity(self, ctx: StepContext) -> dict[str, Any]:
        directory = self._mail_dir(ctx.customer)
        sender = f"no-reply@{self.subdomain_for(ctx.customer)}"
        try:
            for sub in ("tmp", "new", "cur"):
                (directory / sub).mkdir(parents=True, exist_ok=True)
            (directory / "identity.json").write_text(json.dumps({"from": sender, "key": ctx.key}) + "\n")
        except (NotADirectoryError, FileExistsError, PermissionError) as error:
            raise PermanentStepError(f"cannot create the customer's maildir at {directory}: {error.strerror}; "
                                     "fix SUPAKIT_MAILDIR or the file in the way, then retry.") from None
        return {"identity": sender, "maildir": str(directory)}

    def remove_mail_identity(self, ctx: StepContext, output: dict[str, Any] | None) -> None:
        directory = self._mail_dir(ctx.customer)
        if directory.is_dir():
            shutil.rmtree(directory)

    # -- deploy: the rendered app config ---------------------------------------------------------------------

    def deploy_apps(self, ctx: StepContext) -> dict[str, Any]:
        customer = ctx.customer
        instance = ctx.outputs.get("instance") or {}
        mail = ctx.outputs.get("mail") or {}
        subdomain = self.subdomain_for(customer)
        config = {
            "organization_id": str(customer.organization_id), "name": customer.name, "slug": customer.slug,
            "plan": customer.plan_id, "url": f"http://{subdomain}", "instance_size": instance.get("size"),
            "database": {k: instance.get(k) for k in ("host", "port", "database", "schema", "role")},
            "database_credentials_file": instance.get("credentials_file"), "mail_from": mail.get("identity"),
        }
        app = self.customer_dir(customer) / "app"
        app.mkdir(parents=True, exist_ok=True)
        (app / "config.json").write_text(json.dumps(config, indent=2) + "\n")
        env = {"APP_URL": config["url"], "APP_PLAN": customer.plan_id, "MAIL_FROM": mail.get("identity") or "",
               "DATABASE_SCHEMA": instance.get("schema") or "", "DATABASE_CREDENTIALS": config[
                   "database_credentials_file"] or ""}
        (app / "app.env").write_text("".join(f"{k}={v}\n" for k, v in env.items()))
        return {"config_dir": str(app), "files": ["config.json", "app.env"], "url": config["url"]}

    def remove_apps(self, ctx: StepContext, output: dict[str, Any] | None) -> None:
        app = self.customer_dir(ctx.customer) / "app"
        if app.is_dir():
            shutil.rmtree(app)
        _remove_empty(self.customer_dir(ctx.customer))

    # -- verify ----------------------------------------------------------------------------------------------

    def check_health(self, ctx: StepContext) -> dict[str, Any]:
        instance = ctx.outputs.get("instance") or {}
        credentials = _read_env(Path(instance.get("credentials_file", "")))
        if not credentials:
            raise PermanentStepError("the customer's database credentials file is missing; retry provisioning.")
        try:
            with psycopg.connect(host=credentials["PGHOST"], port=credentials["PGPORT"],
                                 dbname=credentials["PGDATABASE"], user=credentials["PGUSER"],
                                 password=credentials["PGPASSWORD"], connect_timeout=5) as conn:
                user, schema = conn.execute("select current_user::text, current_schema()::text").fetchone()
        except psycopg.OperationalError as error:
            raise RetryableStepError(f"cannot log in as the customer's role: "
                                     f"{str(error).strip().splitlines()[-1]}") from None
        if schema != instance.get("schema"):
            raise PermanentStepError(f"the customer's role lands in schema {schema!r}, expected "
                                     f"{instance.get('schema')!r}")
        missing = [str(path) for path in (
            self.customer_dir(ctx.customer) / "app" / "config.json",
            self._mail_dir(ctx.customer) / "identity.json", self.hosts_file) if not path.exists()]
        if missing:
            raise PermanentStepError(f"missing after provisioning: {', '.join(missing)}")
        return {"database_login": user, "schema": schema, "checked": ["database", "dns", "mail", "app"]}


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def _read_env(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def _remove_empty(directory: Path) -> None:
    with contextlib.suppress(OSError):
        directory.rmdir()


PROVIDERS["local"] = LocalProvider.from_settings
