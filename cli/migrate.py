"""`supakit migrate`: apply, inspect, verify, create and export migrations."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer

from cli.context import info, result, settings
from functions_py.errors import EXIT_FAILURE, DriftDetected
from functions_py.migrations import export as exporter
from functions_py.migrations.engine import PENDING, Migrator, Plan, drift_message
from functions_py.migrations.files import MigrationFile, next_versioned_path, repeatable_files, versioned_files
from functions_py.stack import database_url

app = typer.Typer(help="Apply pending migrations (compat, sql/, policies/); see the subcommands for more.")

NEW_TEMPLATE = """\
-- {name}: describe what this migration does and why.
-- Versioned migrations are immutable once applied: fix forward with a new file.
-- Section order: types, tables, constraints and indexes, functions, triggers.
-- Access control (grants, `enable row level security`, policies) belongs in policies/.
"""


def _migrator(ctx: typer.Context) -> Migrator:
    current = settings(ctx)
    return Migrator.for_settings(current, database_url(current), log=info)


def _file(file: MigrationFile, root: Path, seconds: float | None = None) -> dict[str, object]:
    entry: dict[str, object] = {"kind": file.kind, "key": file.key, "path": file.display(root)}
    if seconds is not None:
        entry["seconds"] = round(seconds, 4)
    return entry


@app.callback(invoke_without_command=True)
def migrate(ctx: typer.Context,
            dry_run: bool = typer.Option(False, "--dry-run", help="Print what would run; change nothing."),
            as_json: bool = typer.Option(False, "--json", help="Print JSON: what was (or would be) applied.")) -> None:
    """Apply pending migrations: compat (plain PostgreSQL only), then sql/, then changed policies/."""
    if ctx.invoked_subcommand is not None:
        return
    root = settings(ctx).project_dir
    plan, applied = _migrator(ctx).migrate(dry_run=dry_run)
    if plan.supabase_native:
        info("Supabase's own schemas found: compat layer skipped")
    if as_json:
        result({"dry_run": dry_run, "supabase_native": plan.supabase_native,
                "applied": [_file(a.file, root, a.seconds) for a in applied],
                "would_apply": [_file(f, root) for f in plan.to_apply] if dry_run else []}, as_json=True, text="")
    if dry_run:
        if not as_json:
            for file in plan.to_apply:
                typer.echo(f"would apply {file.kind:<10} {file.display(root)}")
        info(f"dry run: {len(plan.to_apply)} file(s) would be applied; nothing was changed")
        return
    info(f"{len(applied)} file(s) applied" if applied else "already up to date")


def _status_text(plan: Plan) -> str:
    rows = [f"{s.kind:<10} {s.state:<12} {s.name}"
            + (f"  ({s.applied_at:%Y-%m-%d %H:%M:%S %Z})" if s.applied_at else "") for s in plan.statuses]
    pending = sum(1 for s in plan.statuses if s.state in (PENDING, "outdated"))
    rows.append(f"{pending} to apply, {len(plan.drift)} drifted")
    return "\n".join(rows)


@app.command()
def status(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Show every migration file as applied, pending, outdated (re-applied next run) or drifted."""
    plan = _migrator(ctx).status()
    result({"supabase_native": plan.supabase_native, "files": [s.as_dict() for s in plan.statuses]},
           as_json=as_json, text=_status_text(plan))


@app.command()
def verify(ctx: typer.Context,
           strict: bool = typer.Option(False, "--strict", help="Also fail (exit 1) when files are pending."),
           as_json: bool = typer.Option(False, "--json", help="Print JSON: ok, drift, pending.")) -> None:
    """Exit 1 when an applied file was edited or the database has a version sql/ does not know."""
    plan = _migrator(ctx).status()
    drift, pending = plan.drift, plan.to_apply
    ok = not drift and not (strict and pending)
    if as_json:
        result({"ok": ok, "strict": strict, "drift": [s.as_dict() for s in drift],
                "pending": [f.display(settings(ctx).project_dir) for f in pending]}, as_json=True, text="")
    if drift:
        raise DriftDetected(drift_message(drift), drift=drift)
    if pending:
        info(f"{len(pending)} file(s) pending: " + ", ".join(f.path.name for f in pending))
        if strict:
            raise typer.Exit(EXIT_FAILURE)
    info("ok: no drift")


@app.command()
def new(ctx: typer.Context, name: str = typer.Argument(..., help="verb_object, e.g. create_projects.")) -> None:
    """Create sql/NNNN_NAME.sql with the next free number."""
    current = settings(ctx)
    path = next_versioned_path(current.sql_dir, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(NEW_TEMPLATE.format(name=path.stem))
    typer.echo(str(path))


@app.command("export")
def export_(ctx: typer.Context) -> None:
    """Write supabase/migrations/<timestamp>_<name>.sql for `supabase db push` (only what is new)."""
    current = settings(ctx)
    written = exporter.export(versioned_files(current.sql_dir), repeatable_files(current.policies_dir),
                              current.export_dir, now=datetime.now(UTC))
    for path in written:
        typer.echo(str(path))
    info(f"{len(written)} file(s) written to {current.export_dir}" if written else "nothing new to export")
