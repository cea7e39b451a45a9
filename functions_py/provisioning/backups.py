"""Backups and restores of a customer's infrastructure: two saga kinds on the provisioning engine (saga.py), the
retention job's work, and the SQL API of sql/0031 for the CLI.

- A `backup` run: `snapshot` (the provider's instance snapshot; undo deletes it) then `export` (the customer's data
  as one gzip'd JSON document in the backup store, S3 or a directory, with its size and sha256; undo deletes it).
  SQL copies both outputs to public.backups when the run succeeds and applies the plan's retention.
- A `restore` run of a chosen backup: `stage` (read the export, check its size and sha256, load it beside the live
  data; undo drops it), `swap` (the staged data becomes the live data, the live data is kept aside; undo swaps
  back), `verify` (the live data has what the export has), `retire` (drop what was kept aside).

What "the customer's data" is depends on the provider: `local`, the tables of the customer's schema
`customer_<id>` (columns, types, not-null, primary key and rows; other constraints, indexes and functions are not
exported); `aws`, the app config in SSM Parameter Store (the instance's disk is in the EBS snapshot).
Every step is idempotent by its key (`<run id>:<step>`): snapshots are tagged or named with it, the export's key is
derived from the run, staging is dropped and redone, and the swap is one transaction.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import re
import shutil
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from functions_py import config
from functions_py.provisioning.backup_store import BackupStore, make_store
from functions_py.provisioning.provider import (
    Customer,
    PermanentStepError,
    Provider,
    RetryableStepError,
    StepContext,
    make_provider,
    provider_name,
)
from functions_py.provisioning.saga import SAGA_KINDS, SagaKind, Step

EXPORT_FORMAT = "supakit.export.v1"
# Column types a local export may recreate: built-in names, with a modifier and array brackets (no user types).
RESTORABLE_TYPE = re.compile(r"^[a-z][a-z0-9_ ]*(\([0-9, ]+\))?(\[\])*$")

BACKUP_STEPS: tuple[Step, ...] = (
    Step("snapshot", "snapshot_instance", "remove_snapshot"),
    Step("export", "export_data", "remove_export"),
)
RESTORE_STEPS: tuple[Step, ...] = (
    Step("stage", "stage_data", "remove_staged"),
    Step("swap", "swap_data", "unswap_data"),
    Step("verify", "check_data", None),
    Step("retire", "retire_previous", None),
)

# --- named queries ---------------------------------------------------------------------------------------------

CONTEXT_SELECT_ONE = """
select i.resources, to_jsonb(b) as backup
from public.provisioning_runs as r
left join public.customer_infrastructure as i on i.organization_id = r.organization_id
left join public.backups as b on b.id = r.backup_id
where r.id = %s
"""
backup_request_one = "select internal.request_backup(%s, %s, %s)"
restore_request_one = "select internal.request_restore_run(%s, %s)"
backup_list_many = """
select b.id, b.status, b.reason, b.plan_id, b.provider, b.slot, b.snapshot_id, b.export_url, b.size_bytes, b.sha256,
  b.error, b.created_at, b.finished_at, r.id as run_id
from public.backups as b left join public.provisioning_runs as r on r.backup_id = b.id and r.kind = 'backup'
where b.organization_id = %(org)s and (%(status)s::text is null or b.status = %(status)s)
order by b.created_at desc, b.id desc
limit %(limit)s
"""
backup_organization_one = "select organization_id from public.backups where id = %s"
expiring_select_many = """
select b.id, b.snapshot, b.export_url, b.provider, b.plan_id, r.id as run_id, o.slug, o.name, i.resources
from public.backups as b
join public.organizations as o on o.id = b.organization_id
left join public.provisioning_runs as r on r.backup_id = b.id and r.kind = 'backup'
left join public.customer_infrastructure as i on i.organization_id = b.organization_id
where b.organization_id = %s and b.status = 'expiring'
order by b.created_at
"""
backup_expire_one = "select internal.expire_backup(%s)"


# --- the SQL API (CLI, scripts) --------------------------------------------------------------------------------

def request_backup(conn: psycopg.Connection, org_id: UUID, reason: str = "manual",
                   slot: Any = None) -> UUID | None:
    """The backup run requested now (or the live one, or the one of `slot`); None without active infrastructure."""
    return conn.execute(backup_request_one, (org_id, reason, slot)).fetchone()[0]


def request_restore(conn: psycopg.Connection, backup_id: UUID, reason: str = "manual") -> UUID:
    """The restore run of `backup_id` (internal.request_restore_run: the backup must have succeeded)."""
    return conn.execute(restore_request_one, (backup_id, reason)).fetchone()[0]


def list_backups(conn: psycopg.Connection, org_id: UUID, *, status: str | None = None,
                 limit: int = 50) -> list[dict[str, Any]]:
    """The organization's backups, newest first."""
    cur = conn.cursor(row_factory=dict_row)
    return cur.execute(backup_list_many, {"org": org_id, "status": status, "limit": limit}).fetchall()


def backup_organization(conn: psycopg.Connection, backup_id: UUID) -> UUID | None:
    row = conn.execute(backup_organization_one, (backup_id,)).fetchone()
    return row[0] if row else None


# --- the saga kinds -------------------------------------------------------------------------------------------

async def _context(conn: psycopg.AsyncConnection, run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """What backup and restore steps read besides earlier outputs: the infrastructure's resources and the backup."""
    row = await (await conn.execute(CONTEXT_SELECT_ONE, (run["id"],))).fetchone()
    return {"infrastructure": (row or {}).get("resources") or {}, "backup": (row or {}).get("backup") or {}}


def canonical(document: dict[str, Any]) -> bytes:
    """The stored form of an export: sorted-key JSON, gzip'd with no timestamp (the same data, the same bytes)."""
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), default=str).encode()
    return gzip.compress(text, mtime=0)


class BackupOperations:
    """What backup and restore steps call: the provider's data target plus the backup store."""

    def __init__(self, provider: Provider, store: BackupStore | None = None) -> None:
        self.provider = provider
        self.name = provider.name
        self.target = target_for(provider)
        self.store = store or make_store(config.current())

    @classmethod
    def wrap(cls, provider: Provider) -> BackupOperations:
        """The operations over `provider` (a BackupOperations given as the provider is used as it is)."""
        return provider if isinstance(provider, BackupOperations) else cls(provider)

    def close(self) -> None:
        self.provider.close()

    # backup

    def snapshot_instance(self, ctx: StepContext) -> dict[str, Any]:
        return self.target.snapshot(ctx)

    def remove_snapshot(self, ctx: StepContext, output: dict[str, Any] | None) -> None:
        self.target.remove_snapshot(ctx, output)

    def export_data(self, ctx: StepContext) -> dict[str, Any]:
        document = {"format": EXPORT_FORMAT, "provider": self.name,
                    "organization_id": str(ctx.customer.organization_id), "data": self.target.dump(ctx)}
        data = canonical(document)
        key = self.store.key_for(ctx.customer.organization_id, ctx.customer.run_id)
        self.store.put(key, data)
        ctx.note(f"exported {len(data)} bytes to {self.store.url(key)}")
        return {"url": self.store.url(key), "size_bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                "format": EXPORT_FORMAT, "summary": self.target.summary(document["data"])}

    def remove_export(self, ctx: StepContext, output: dict[str, Any] | None) -> None:
        url = (output or {}).get("url") or self.store.url(
            self.store.key_for(ctx.customer.organization_id, ctx.customer.run_id))
        self.store.delete(url)

    # restore

    def _document(self, ctx: StepContext) -> dict[str, Any]:
        backup = ctx.outputs.get("backup") or {}
        if not backup.get("export_url"):
            raise PermanentStepError("the backup to restore has no export; choose a succeeded backup.")
        data = self.store.get(backup["export_url"])
        digest = hashlib.sha256(data).hexdigest()
        if len(data) != backup.get("size_bytes") or digest != backup.get("sha256"):
            raise PermanentStepError(f"the export {backup['export_url']} does not match its backup record (size "
                                     f"{len(data)} vs {backup.get('size_bytes')}, sha256 {digest[:12]}... vs "
                                     f"{str(backup.get('sha256'))[:12]}...): it was changed or damaged; choose "
                                     "another backup.")
        try:
            document = json.loads(gzip.decompress(data))
        except (OSError, ValueError) as error:
            raise PermanentStepError(f"the export {backup['export_url']} is not a gzip'd JSON document "
                                     f"({error}); choose another backup.") from None
        if document.get("format") != EXPORT_FORMAT or document.get("provider") != self.name:
            raise PermanentStepError(f"the export is {document.get('format')!r} from provider "
                                     f"{document.get('provider')!r}; this run restores {EXPORT_FORMAT!r} exports "
                                     f"of provider {self.name!r}.")
        return document

    def stage_data(self, ctx: StepContext) -> dict[str, Any]:
        document = self._document(ctx)
        staged = self.target.stage(ctx, document["data"])
        return {**staged, "summary": self.target.summary(document["data"]),
                "sha256": (ctx.outputs.get("backup") or {}).get("sha256")}

    def remove_staged(self, ctx: StepContext, output: dict[str, Any] | None) -> None:
        self.target.unstage(ctx)

    def swap_data(self, ctx: StepContext) -> dict[str, Any]:
        return self.target.swap(ctx)

    def unswap_data(self, ctx: StepContext, output: dict[str, Any] | None) -> None:
        self.target.unswap(ctx)

    def check_data(self, ctx: StepContext) -> dict[str, Any]:
        expected = (ctx.outputs.get("stage") or {}).get("summary")
        actual = self.target.measure(ctx)
        if actual != expected:
            raise PermanentStepError(f"the restored data does not match the export: {actual} vs {expected}")
        return {"summary": actual}

    def retire_previous(self, ctx: StepContext) -> dict[str, Any]:
        return self.target.retire(ctx)


SAGA_KINDS["backup"] = SagaKind(BACKUP_STEPS, "backup complete: snapshot and export recorded", _context,
                                BackupOperations.wrap)
SAGA_KINDS["restore"] = SagaKind(RESTORE_STEPS, "restore complete: the backup's data is live; the owners are "
                                 "notified by e-mail", _context, BackupOperations.wrap)


# --- retention ------------------------------------------------------------------------------------------------

def expire_backups(database_url: str, org_id: UUID, *, store: BackupStore | None = None,
                   provider: Provider | None = None) -> list[UUID]:
    """Remove the snapshot and export of each of the organization's `expiring` backups and mark it `expired`;
    returns their ids. Idempotent: removing what is already gone is fine."""
    done: list[UUID] = []
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        rows = conn.execute(expiring_select_many, (org_id,)).fetchall()
        if not rows:
            return done
        name = rows[0]["provider"] or provider_name()
        operations = BackupOperations.wrap(provider or make_provider(name, database_url))
        if store is not None:
            operations.store = store
        try:
            for row in rows:
                run_id = row["run_id"] or row["id"]
                customer = Customer(organization_id=org_id, slug=row["slug"], name=row["name"],
                                    plan_id=row["plan_id"], run_id=run_id)
                ctx = StepContext(customer, f"{run_id}:snapshot", {"infrastructure": row["resources"] or {}})
                operations.remove_snapshot(ctx, row["snapshot"])
                if row["export_url"]:
                    operations.store.delete(row["export_url"])
                conn.execute(backup_expire_one, (row["id"],))
                done.append(row["id"])
        finally:
            operations.close()
    return done


# --- data targets per provider --------------------------------------------------------------------------------

def target_for(provider: Provider) -> Any:
    """The backup/restore target of `provider` (by name: local or aws)."""
    if provider.name == "local":
        return LocalTarget(provider)
    if provider.name == "aws":
        return AWSTarget(provider)
    raise PermanentStepError(f"provider {provider.name!r} cannot take backups; use local or aws.")


class LocalTarget:
    """The local provider: snapshots are copies of the customer's files; data is the customer's schema."""

    def __init__(self, provider: Any) -> None:
        self.provider = provider

    # snapshot: a copy of <dir>/customers/<org id> (app config, credentials) under <dir>/snapshots

    def _snapshot_dir(self, ctx: StepContext) -> Path:
        return self.provider.root / "snapshots" / str(ctx.customer.organization_id) / ctx.key.replace(":", "-")

    def snapshot(self, ctx: StepContext) -> dict[str, Any]:
        target = self._snapshot_dir(ctx)
        source = self.provider.customer_dir(ctx.customer)
        if not target.is_dir():
            partial = target.with_name(target.name + ".partial")
            shutil.rmtree(partial, ignore_errors=True)  # left by a crash inside this step
            if source.is_dir():
                shutil.copytree(source, partial)
            else:
                partial.mkdir(parents=True)
            partial.replace(target)
            ctx.note(f"snapshot of {source} at {target}")
        else:
            ctx.note(f"snapshot {target} already exists (a resumed step)")
        files = sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file())
        return {"snapshot_id": f"local:{target.name}", "path": str(target), "files": files}

    def remove_snapshot(self, ctx: StepContext, output: dict[str, Any] | None) -> None:
        shutil.rmtree(self._snapshot_dir(ctx), ignore_errors=True)
        shutil.rmtree(self._snapshot_dir(ctx).with_name(self._snapshot_dir(ctx).name + ".partial"),
                      ignore_errors=True)
        with contextlib.suppress(OSError):
            self._snapshot_dir(ctx).parent.rmdir()

    # data: the customer's schema

    def _names(self, ctx: StepContext) -> tuple[str, str, str]:
        role = self.provider.role_name(ctx.customer)
        return role, f"{role}_restore", f"{role}_previous"

    def _exists(self, conn: psycopg.Connection, schema: str) -> bool:
        return conn.execute("select 1 from pg_catalog.pg_namespace where nspname = %s", (schema,)).fetchone() \
            is not None

    def dump(self, ctx: StepContext) -> dict[str, Any]:
        schema, _, _ = self._names(ctx)
        with self.provider._connect() as conn:
            if not self._exists(conn, schema):
                raise PermanentStepError(f"the customer's schema {schema} does not exist; is the infrastructure "
                                         "provisioned?")
            tables = []
            for oid, name in conn.execute(
                    "select c.oid, c.relname::text from pg_catalog.pg_class as c join pg_catalog.pg_namespace as n"
                    " on n.oid = c.relnamespace where n.nspname = %s and c.relkind in ('r', 'p') order by 2",
                    (schema,)).fetchall():
                columns = [{"name": n, "type": t, "not_null": nn} for n, t, nn in conn.execute(
                    "select a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull"
                    " from pg_catalog.pg_attribute as a where a.attrelid = %s and a.attnum > 0 and not"
                    " a.attisdropped order by a.attnum", (oid,)).fetchall()]
                key = [r[0] for r in conn.execute(
                    "select a.attname::text from pg_catalog.pg_index as i join pg_catalog.pg_attribute as a"
                    " on a.attrelid = i.indrelid and a.attnum = any(i.indkey) where i.indrelid = %s and"
                    " i.indisprimary order by array_position(i.indkey::int2[], a.attnum)", (oid,)).fetchall()]
                rows = conn.execute(sql.SQL(
                    "select coalesce(jsonb_agg(to_jsonb(t) order by to_jsonb(t)::text), '[]'::jsonb)"
                    " from {} as t").format(sql.Identifier(schema, name))).fetchone()[0]
                tables.append({"name": name, "columns": columns, "primary_key": key, "rows": rows})
        return {"schema": schema, "tables": tables}

    @staticmethod
    def summary(data: dict[str, Any]) -> dict[str, Any]:
        return {"tables": {t["name"]: len(t["rows"]) for t in data.get("tables", [])}}

    def stage(self, ctx: StepContext, data: dict[str, Any]) -> dict[str, Any]:
        role, staged, _ = self._names(ctx)
        with self.provider._connect() as conn, conn.transaction():
            conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(staged)))
            conn.execute(sql.SQL("create schema {} authorization {}").format(sql.Identifier(staged),
                                                                             sql.Identifier(role)))
            conn.execute(sql.SQL("set local role {}").format(sql.Identifier(role)))
            for table in data.get("tables", []):
                columns = []
                for column in table["columns"]:
                    if not RESTORABLE_TYPE.match(column["type"]):
                        raise PermanentStepError(f"column {table['name']}.{column['name']} has type "
                                                 f"{column['type']!r}, which this export format cannot recreate.")
                    columns.append(sql.SQL("{} {}{}").format(sql.Identifier(column["name"]),
                                                             sql.SQL(column["type"]),
                                                             sql.SQL(" not null" if column["not_null"] else "")))
                if table["primary_key"]:
                    columns.append(sql.SQL("primary key ({})").format(
                        sql.SQL(", ").join(sql.Identifier(c) for c in table["primary_key"])))
                target = sql.Identifier(staged, table["name"])
                conn.execute(sql.SQL("create table {} ({})").format(target, sql.SQL(", ").join(columns)))
                conn.execute(sql.SQL("insert into {} select * from jsonb_populate_recordset(null::{}, %s::jsonb)")
                             .format(target, target), (json.dumps(table["rows"]),))
        ctx.note(f"staged {len(data.get('tables', []))} tables in {staged}")
        return {"staged_schema": staged}

    def unstage(self, ctx: StepContext) -> None:
        _, staged, _ = self._names(ctx)
        with self.provider._connect() as conn:
            conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(staged)))

    def swap(self, ctx: StepContext) -> dict[str, Any]:
        live, staged, previous = self._names(ctx)
        with self.provider._connect() as conn, conn.transaction():
            conn.execute("select pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"supakit.restore:{live}",))
            if not self._exists(conn, staged):
                if self._exists(conn, previous) and self._marker(conn, previous) == ctx.key:
                    ctx.note("already swapped (a resumed step)")
                    return {"previous_schema": previous}
                raise PermanentStepError(f"nothing staged in {staged} to swap in; the restore is rolled back.")
            conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(previous)))
            conn.execute(sql.SQL("alter schema {} rename to {}").format(sql.Identifier(live),
                                                                         sql.Identifier(previous)))
            conn.execute(sql.SQL("comment on schema {} is {}").format(sql.Identifier(previous),
                                                                       sql.Literal(f"supakit:{ctx.key}")))
            conn.execute(sql.SQL("alter schema {} rename to {}").format(sql.Identifier(staged), sql.Identifier(live)))
        ctx.note(f"{live} now holds the backup's data; the previous data is kept in {previous} until the end")
        return {"previous_schema": previous}

    def _marker(self, conn: psycopg.Connection, schema: str) -> str | None:
        comment = conn.execute("select obj_description(oid, 'pg_namespace') from pg_catalog.pg_namespace"
                               " where nspname = %s", (schema,)).fetchone()
        return (comment[0] or "").removeprefix("supakit:") if comment else None

    def unswap(self, ctx: StepContext) -> None:
        live, _, previous = self._names(ctx)
        with self.provider._connect() as conn, conn.transaction():
            conn.execute("select pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"supakit.restore:{live}",))
            # only what this run's swap set aside (its marker): an older leftover is never swapped in
            if not self._exists(conn, previous) or self._marker(conn, previous) != ctx.key:
                return
            conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(live)))
            conn.execute(sql.SQL("alter schema {} rename to {}").format(sql.Identifier(previous),
                                                                         sql.Identifier(live)))
            conn.execute(sql.SQL("comment on schema {} is null").format(sql.Identifier(live)))
        ctx.note(f"swapped the previous data back into {live}")

    def measure(self, ctx: StepContext) -> dict[str, Any]:
        return self.summary(self.dump(ctx))

    def retire(self, ctx: StepContext) -> dict[str, Any]:
        _, _, previous = self._names(ctx)
        with self.provider._connect() as conn:
            conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(previous)))
        return {"dropped": previous}


class AWSTarget:
    """The aws provider: EBS snapshots of the instance's volumes; data is the app config in SSM Parameter Store."""

    def __init__(self, provider: Any) -> None:
        self.provider = provider
        self.ec2 = provider.ec2
        self.ssm = provider.ssm

    def _error(self, error: Exception, doing: str) -> Exception:
        from functions_py.provisioning.aws import _step_error

        if isinstance(error, PermanentStepError | RetryableStepError):
            return error
        return _step_error(error, doing)

    def _snapshots(self, ctx: StepContext) -> list[dict[str, Any]]:
        return [s for s in self.ec2.describe_snapshots(
            OwnerIds=["self"], Filters=[{"Name": "tag:supakit:key", "Values": [ctx.key]}])["Snapshots"]
            if s.get("State") != "error"]

    def snapshot(self, ctx: StepContext) -> dict[str, Any]:
        instance_id = ((ctx.outputs.get("infrastructure") or {}).get("instance") or {}).get("instance_id")
        if not instance_id:
            raise PermanentStepError("the customer's infrastructure has no EC2 instance to snapshot.")
        try:
            existing = {s["VolumeId"]: s for s in self._snapshots(ctx)}
            volumes = self.ec2.describe_volumes(
                Filters=[{"Name": "attachment.instance-id", "Values": [instance_id]}])["Volumes"]
            if not volumes:
                raise PermanentStepError(f"instance {instance_id} has no EBS volume to snapshot.")
            ids = []
            for volume in sorted(volumes, key=lambda v: v["VolumeId"]):
                found = existing.get(volume["VolumeId"])
                if found is None:
                    found = self.ec2.create_snapshot(
                        VolumeId=volume["VolumeId"], Description=f"supakit backup {ctx.key}",
                        TagSpecifications=[{"ResourceType": "snapshot", "Tags": self.provider._tags(ctx)}])
                    ctx.note(f"created snapshot {found['SnapshotId']} of {volume['VolumeId']}")
                else:
                    ctx.note(f"snapshot {found['SnapshotId']} already exists (a resumed step)")
                ids.append(found["SnapshotId"])
        except Exception as error:  # noqa: BLE001
            raise self._error(error, f"snapshot instance {instance_id}") from None
        return {"snapshot_id": ids[0], "snapshot_ids": ids, "instance_id": instance_id,
                "region": self.provider.session.region_name}

    def remove_snapshot(self, ctx: StepContext, output: dict[str, Any] | None) -> None:
        try:
            ids = {s["SnapshotId"] for s in self._snapshots(ctx)} | set((output or {}).get("snapshot_ids") or [])
            for snapshot_id in sorted(ids):
                try:
                    self.ec2.delete_snapshot(SnapshotId=snapshot_id)
                    ctx.note(f"deleted snapshot {snapshot_id}")
                except Exception as error:  # noqa: BLE001
                    code = getattr(error, "response", {}).get("Error", {}).get("Code")
                    if code != "InvalidSnapshot.NotFound":
                        raise
        except Exception as error:  # noqa: BLE001
            raise self._error(error, "delete the backup's snapshots") from None

    def _names(self, ctx: StepContext) -> tuple[str, str, str]:
        live = self.provider._parameter(ctx.customer)
        return live, f"{live}-restore", f"{live}-previous"

    def _get(self, name: str) -> str | None:
        try:
            return self.ssm.get_parameter(Name=name)["Parameter"]["Value"]
        except Exception as error:  # noqa: BLE001
            if getattr(error, "response", {}).get("Error", {}).get("Code") == "ParameterNotFound":
                return None
            raise

    def _delete(self, name: str) -> None:
        try:
            self.ssm.delete_parameter(Name=name)
        except Exception as error:  # noqa: BLE001
            if getattr(error, "response", {}).get("Error", {}).get("Code") != "ParameterNotFound":
                raise

    def _put(self, name: str, value: str) -> None:
        self.ssm.put_parameter(Name=name, Value=value, Type="String", Overwrite=True)

    def dump(self, ctx: StepContext) -> dict[str, Any]:
        live, _, _ = self._names(ctx)
        try:
            value = self._get(live)
        except Exception as error:  # noqa: BLE001
            raise self._error(error, f"read {live}") from None
        if value is None:
            raise PermanentStepError(f"the customer's app config {live} does not exist; is the infrastructure "
                                     "provisioned?")
        return {"parameter": live, "app_config": json.loads(value)}

    @staticmethod
    def summary(data: dict[str, Any]) -> dict[str, Any]:
        text = json.dumps(data.get("app_config"), sort_keys=True, separators=(",", ":"))
        return {"app_config_sha256": hashlib.sha256(text.encode()).hexdigest()}

    def stage(self, ctx: StepContext, data: dict[str, Any]) -> dict[str, Any]:
        _, staged, _ = self._names(ctx)
        try:
            self._put(staged, json.dumps(data["app_config"]))
        except Exception as error:  # noqa: BLE001
            raise self._error(error, f"write {staged}") from None
        return {"staged_parameter": staged}

    def unstage(self, ctx: StepContext) -> None:
        try:
            self._delete(self._names(ctx)[1])
        except Exception as error:  # noqa: BLE001
            raise self._error(error, "delete the staged app config") from None

    def swap(self, ctx: StepContext) -> dict[str, Any]:
        live, staged, previous = self._names(ctx)
        try:
            restored = self._get(staged)
            if restored is None:
                if self._get(previous) is not None:
                    ctx.note("already swapped (a resumed step)")
                    return {"previous_parameter": previous}
                raise PermanentStepError(f"nothing staged in {staged} to swap in; the restore is rolled back.")
            current = self._get(live)
            # a swap interrupted after saving the live config must not overwrite it with the restored one
            if current is not None and self._get(previous) is None:
                self._put(previous, current)
            self._put(live, restored)
            self._delete(staged)
        except Exception as error:  # noqa: BLE001
            raise self._error(error, f"swap the app config {live}") from None
        return {"previous_parameter": previous}

    def unswap(self, ctx: StepContext) -> None:
        live, _, previous = self._names(ctx)
        try:
            kept = self._get(previous)
            if kept is not None:
                self._put(live, kept)
                self._delete(previous)
        except Exception as error:  # noqa: BLE001
            raise self._error(error, f"swap the previous app config back into {live}") from None

    def measure(self, ctx: StepContext) -> dict[str, Any]:
        return self.summary(self.dump(ctx))

    def retire(self, ctx: StepContext) -> dict[str, Any]:
        _, _, previous = self._names(ctx)
        try:
            self._delete(previous)
        except Exception as error:  # noqa: BLE001
            raise self._error(error, f"delete {previous}") from None
        return {"dropped": previous}
