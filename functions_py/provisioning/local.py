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
# A customer's schemas and roles: the instance `customer_<id>`, and those of resizes (`customer_<id>_r<run>`,
# snapshots `customer_<id>_s<run>`).
SCHEMAS_OF = ("select nspname::text from pg_catalog.pg_namespace where nspname = %(base)s"
              " or nspname like %(base)s || '\\_%%' order by 1")
ROLES_OF = ("select rolname::text from pg_catalog.pg_roles where rolname = %(base)s"
            " or rolname like %(base)s || '\\_%%' order by 1")
TABLES_OF = "select tablename::text from pg_catalog.pg_tables where schemaname = %s order by 1"
COLUMNS_OF = """
select a.attname::text, a.attidentity <> '' from pg_catalog.pg_attribute as a
where a.attrelid = format('%%I.%%I', %s::text, %s::text)::regclass and a.attnum > 0 and not a.attisdropped
  and a.attgenerated = ''
order by a.attnum
"""
SCHEMA_EXISTS = "select 1 from pg_catalog.pg_namespace where nspname = %s"
SCHEMA_BYTES = """
select coalesce(sum(pg_catalog.pg_total_relation_size(c.oid)), 0)::bigint from pg_catalog.pg_class as c
join pg_catalog.pg_namespace as n on n.oid = c.relnamespace where n.nspname = %s and c.relkind in ('r', 'm')
"""


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
        # the customer's instance, plus any a resize launched (<role>_r...) and its snapshots (<role>_s...)
        base = self.role_name(ctx.customer)
        with self._connect() as conn, conn.transaction():
            for name in _owned_names(conn, SCHEMAS_OF, base):
                conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(name)))
            for role in _owned_names(conn, ROLES_OF, base):
                conn.execute(sql.SQL("drop owned by {} cascade").format(sql.Identifier(role)))
                conn.execute(sql.SQL("drop role {}").format(sql.Identifier(role)))
                ctx.note(f"dropped schema and role {role}")
        for path in self.customer_dir(ctx.customer).glob("database*.env"):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
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


    # -- resize: snapshot schema, new schema and role from it, app config switched, old ones dropped -----------

    def _resize_names(self, ctx: StepContext) -> tuple[str, str, str]:
        """(snapshot schema, new instance's schema and role, run tag) of the resize run `ctx.key` belongs to."""
        tag = ctx.key.split(":", 1)[0].replace("-", "")[:8]
        base = self.role_name(ctx.customer)
        return f"{base}_s{tag}", f"{base}_r{tag}", tag

    def snapshot_instance(self, ctx: StepContext) -> dict[str, Any]:
        current = (ctx.outputs.get("current") or {}).get("instance") or {}
        source = current.get("schema") or self.role_name(ctx.customer)
        snapshot, _, _ = self._resize_names(ctx)
        with self._connect() as conn:
            if conn.execute(SCHEMA_EXISTS, (source,)).fetchone() is None:
                raise PermanentStepError(f"the customer's schema {source} does not exist; nothing to snapshot.")
            if conn.execute(SCHEMA_EXISTS, (snapshot,)).fetchone() is not None:
                ctx.note(f"snapshot {snapshot} already exists for this step (a resumed step)")
            else:
                with conn.transaction():  # one consistent snapshot of every table, all or nothing
                    conn.execute("set transaction isolation level repeatable read")
                    conn.execute(sql.SQL("create schema {}").format(sql.Identifier(snapshot)))
                    _copy_tables(conn, source, snapshot)
                ctx.note(f"snapshot {snapshot} of {source} taken")
            tables = _row_counts(conn, snapshot)
        return {"snapshot_schema": snapshot, "source_schema": source, "tables": tables, "source": current}

    def remove_snapshot(self, ctx: StepContext, output: dict[str, Any] | None) -> None:
        snapshot, _, _ = self._resize_names(ctx)
        with self._connect() as conn:
            conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(snapshot)))
        ctx.note(f"dropped snapshot {snapshot}")

    def launch_from_snapshot(self, ctx: StepContext) -> dict[str, Any]:
        snapshot, name, tag = self._resize_names(ctx)
        target = (ctx.outputs.get("target") or {}).get("instance_type") or instance_type_for(ctx.customer.plan_id)
        password = secrets.token_urlsafe(24)
        with self._connect() as conn:
            info = conn.info
            with conn.transaction():
                if conn.execute(ROLE_EXISTS, (name,)).fetchone() is None:
                    conn.execute(sql.SQL("create role {} login").format(sql.Identifier(name)))
                else:
                    ctx.note(f"role {name} already exists (a resumed step): kept, password rotated")
                conn.execute(sql.SQL("alter role {} with login password {}").format(
                    sql.Identifier(name), sql.Literal(password)))
                conn.execute(sql.SQL("grant {} to current_user").format(sql.Identifier(name)))
                if conn.execute(SCHEMA_EXISTS, (name,)).fetchone() is None:
                    conn.execute(sql.SQL("create schema {} authorization {}").format(
                        sql.Identifier(name), sql.Identifier(name)))
                    _copy_tables(conn, snapshot, name, owner=name)
                    ctx.note(f"launched {target} instance {name} from {snapshot}")
                else:
                    ctx.note(f"instance {name} already exists for this step (a resumed step)")
                conn.execute(sql.SQL("alter role {} set search_path = {}").format(
                    sql.Identifier(name), sql.Identifier(name)))
            host, port, dbname = info.host, info.port, info.dbname
        directory = self.customer_dir(ctx.customer)
        directory.mkdir(parents=True, exist_ok=True)
        credentials = directory / f"database-r{tag}.env"
        _write_private(credentials,
                       f"PGHOST={host}\nPGPORT={port}\nPGDATABASE={dbname}\nPGUSER={name}\nPGPASSWORD={password}\n")
        return {"schema": name, "role": name, "database": dbname, "host": host, "port": port, "size": target,
                "instance_type": target, "public_address": "127.0.0.1", "credentials_file": str(credentials)}

    def _drop_instance(self, conn: psycopg.Connection, name: str) -> None:
        with conn.transaction():
            conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(name)))
            if conn.execute(ROLE_EXISTS, (name,)).fetchone() is not None:
                conn.execute(sql.SQL("drop owned by {} cascade").format(sql.Identifier(name)))
                conn.execute(sql.SQL("drop role {}").format(sql.Identifier(name)))

    def remove_launched_instance(self, ctx: StepContext, output: dict[str, Any] | None) -> None:
        _, name, tag = self._resize_names(ctx)
        with self._connect() as conn:
            self._drop_instance(conn, name)
        with contextlib.suppress(FileNotFoundError):
            (self.customer_dir(ctx.customer) / f"database-r{tag}.env").unlink()
        ctx.note(f"dropped the new instance {name}")

    def verify_launched_instance(self, ctx: StepContext) -> dict[str, Any]:
        launched = ctx.outputs.get("launch") or {}
        expected = (ctx.outputs.get("snapshot") or {}).get("tables") or {}
        credentials = _read_env(Path(launched.get("credentials_file", "")))
        if not credentials:
            raise PermanentStepError("the new instance's credentials file is missing; the resize is rolled back.")
        try:
            with psycopg.connect(host=credentials["PGHOST"], port=credentials["PGPORT"],
                                 dbname=credentials["PGDATABASE"], user=credentials["PGUSER"],
                                 password=credentials["PGPASSWORD"], connect_timeout=5) as conn:
                schema = conn.execute("select current_schema()::text").fetchone()[0]
                counts = _row_counts(conn, schema or "")
        except psycopg.OperationalError as error:
            raise RetryableStepError(f"cannot log in to the new instance: "
                                     f"{str(error).strip().splitlines()[-1]}") from None
        if schema != launched.get("schema"):
            raise PermanentStepError(f"the new instance's role lands in schema {schema!r}, expected "
                                     f"{launched.get('schema')!r}")
        if counts != expected:
            raise PermanentStepError(f"the new instance's tables differ from the snapshot: {counts} != {expected}")
        return {"schema": schema, "tables": counts, "instance_type": launched.get("instance_type")}

    def _serving(self, ctx: StepContext, instance: dict[str, Any]) -> dict[str, Any]:
        """Point the hosts line and the app config at `instance`."""
        outputs = {**(ctx.outputs.get("current") or {}), "instance": instance}
        serving = StepContext(ctx.customer, ctx.key, outputs, ctx.notes)
        record = self.create_dns_record(serving)
        deployed = self.deploy_apps(serving)
        return {**record, "instance": instance.get("schema"), "config_dir": deployed["config_dir"]}

    def switch_dns(self, ctx: StepContext) -> dict[str, Any]:
        output = self._serving(ctx, ctx.outputs.get("launch") or {})
        ctx.note(f"{output['subdomain']} now served by {output['instance']}")
        return output

    def switch_dns_back(self, ctx: StepContext, output: dict[str, Any] | None) -> None:
        old = (ctx.outputs.get("snapshot") or {}).get("source") or \
            (ctx.outputs.get("current") or {}).get("instance") or {}
        if old:
            back = self._serving(ctx, old)
            ctx.note(f"{back['subdomain']} served by {back['instance']} again")

    def retire_instance(self, ctx: StepContext) -> dict[str, Any]:
        snapshot = ctx.outputs.get("snapshot") or {}
        old = snapshot.get("source") or {}
        new = ctx.outputs.get("launch") or {}
        name = old.get("role") or self.role_name(ctx.customer)
        if name == new.get("role"):
            raise PermanentStepError(f"refusing to retire {name}: it is the instance that serves now.")
        base = self.role_name(ctx.customer)
        with self._connect() as conn:
            self._drop_instance(conn, name)
            earlier = [n for n in _owned_names(conn, SCHEMAS_OF, base)
                       if n.startswith(f"{base}_s") and n != snapshot.get("snapshot_schema")]
            for schema in earlier:
                conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(schema)))
        old_file = old.get("credentials_file")
        if old_file and old_file != new.get("credentials_file"):
            with contextlib.suppress(FileNotFoundError):
                Path(old_file).unlink()
        ctx.note(f"retired {name}" + (f"; removed earlier snapshots {', '.join(earlier)}" if earlier else ""))
        return {"retired": name, "removed_snapshots": earlier}

    # -- health and usage ------------------------------------------------------------------------------------

    def site_url(self, customer: Customer) -> str:
        return f"http://{self.subdomain_for(customer)}/"

    def instance_state(self, customer: Customer, resources: dict[str, Any]) -> dict[str, Any]:
        instance = resources.get("instance") or {}
        credentials = _read_env(Path(instance.get("credentials_file", "")))
        if not credentials:
            return {"state": "missing", "ok": False, "detail": "the instance's credentials file is missing"}
        try:
            with psycopg.connect(host=credentials["PGHOST"], port=credentials["PGPORT"],
                                 dbname=credentials["PGDATABASE"], user=credentials["PGUSER"],
                                 password=credentials["PGPASSWORD"], connect_timeout=5) as conn:
                schema = conn.execute("select current_schema()::text").fetchone()[0]
        except psycopg.OperationalError as error:
            return {"state": "unreachable", "ok": False, "detail": str(error).strip().splitlines()[-1][:500]}
        if schema != instance.get("schema"):
            return {"state": "missing", "ok": False, "detail": f"schema {instance.get('schema')} is gone"}
        return {"state": "running", "ok": True, "detail": f"logged in as {credentials['PGUSER']}"}

    def usage(self, customer: Customer, resources: dict[str, Any], since: Any) -> dict[str, Any]:
        schema = (resources.get("instance") or {}).get("schema") or self.role_name(customer)
        with self._connect() as conn:
            database = conn.execute(SCHEMA_BYTES, (schema,)).fetchone()[0]
        files = _tree_bytes(self.customer_dir(customer)) + _tree_bytes(self._mail_dir(customer))
        return {"storage_bytes": int(database) + files, "bandwidth_bytes": None,
                "sources": {"storage_bytes": f"pg_total_relation_size of schema {schema}'s tables plus the "
                                             "customer's files (app config, credentials, maildir)",
                            "bandwidth_bytes": "not measured: the local provider serves no network traffic"}}


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


def _owned_names(conn: psycopg.Connection, query: str, base: str) -> list[str]:
    return [row[0] for row in conn.execute(query, {"base": base})]


def _copy_tables(conn: psycopg.Connection, source: str, target: str, owner: str | None = None) -> None:
    """Copy every table of schema `source` into schema `target`: structure (defaults, constraints, indexes,
    identity) and rows, identity sequences moved past the copied values; owned by `owner` when given. Stored
    generated columns are recomputed; views, functions and sequences of serial columns are not copied."""
    for (table,) in conn.execute(TABLES_OF, (source,)).fetchall():
        source_table, target_table = sql.Identifier(source, table), sql.Identifier(target, table)
        conn.execute(sql.SQL("create table {} (like {} including all)").format(target_table, source_table))
        columns = conn.execute(COLUMNS_OF, (source, table)).fetchall()
        names = sql.SQL(", ").join(sql.Identifier(column) for column, _ in columns)
        conn.execute(sql.SQL("insert into {} ({}) overriding system value select {} from {}").format(
            target_table, names, names, source_table))
        for column, identity in columns:
            if identity:
                conn.execute(sql.SQL(
                    "select setval(pg_catalog.pg_get_serial_sequence({}, {}), coalesce(max({}), 0) + 1, false)"
                    " from {}").format(sql.Literal(f'"{target}"."{table}"'), sql.Literal(column),
                                       sql.Identifier(column), target_table))
        if owner:
            conn.execute(sql.SQL("alter table {} owner to {}").format(target_table, sql.Identifier(owner)))


def _row_counts(conn: psycopg.Connection, schema: str) -> dict[str, int]:
    return {table: conn.execute(sql.SQL("select count(*) from {}").format(sql.Identifier(schema, table))
                                ).fetchone()[0]
            for (table,) in conn.execute(TABLES_OF, (schema,)).fetchall()}


def _tree_bytes(directory: Path) -> int:
    if not directory.is_dir():
        return 0
    return sum(path.stat().st_size for path in directory.rglob("*") if path.is_file())


PROVIDERS["local"] = LocalProvider.from_settings
