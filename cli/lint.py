"""`supakit lint`: sqlfluff over the project's SQL (postgres dialect, lowercase; config in pyproject.toml), or with
`--db` the database advisors over the migrated database (functions_py.advisors, docs/advisors.md)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from collections import Counter
from enum import StrEnum

import typer

from cli.context import info, result, settings
from functions_py import advisors
from functions_py.config import Settings
from functions_py.errors import EXIT_FAILURE, ConfigError
from functions_py.stack import database_url


class FailOn(StrEnum):
    ERROR = "ERROR"
    WARN = "WARN"
    INFO = "INFO"
    NONE = "NONE"


def lint(ctx: typer.Context,
         fix: bool = typer.Option(False, "--fix", help="Let sqlfluff fix what it can, then lint again."),
         db: bool = typer.Option(False, "--db", help="Run the database advisors on the migrated database instead."),
         schemas: str = typer.Option(None, "--schemas", show_default=False,
                                     help="With --db: the exposed schemas, a,b (default: lint.schemas: api.schemas "
                                          "in supabase/config.toml, else public)."),
         as_json: bool = typer.Option(False, "--json", help="With --db: print the findings as JSON."),
         fail_on: FailOn = typer.Option(None, "--fail-on", case_sensitive=False, show_default=False,
                                        help="With --db: exit 1 on a finding at this level or above "
                                             "(default WARN; NONE never fails)."),
         ) -> None:
    """Lint sql/, policies/, supabase/compat/ and seed.sql (or, with --db, the database); exit 1 on violations."""
    if db:
        if fix:
            raise ConfigError("--fix applies to sqlfluff only; database findings are fixed in sql/ or policies/.")
        _lint_database(ctx, schemas, as_json=as_json, fail_on=fail_on or FailOn.WARN)
        return
    if as_json or fail_on is not None:
        raise ConfigError("--json and --fail-on apply to `supakit lint --db` only.")
    _lint_files(ctx, fix=fix)


def _lint_files(ctx: typer.Context, *, fix: bool) -> None:
    current = settings(ctx)
    targets = [p for p in (current.sql_dir, current.policies_dir, current.compat_dir, current.seed_file) if p.exists()]
    if not targets:
        info("nothing to lint")
        return
    base = [sys.executable, "-m", "sqlfluff"]
    config = ["--config", str(current.project_dir / "pyproject.toml")]
    paths = [str(p) for p in targets]
    if fix:
        subprocess.run([*base, "fix", *config, "--force", *paths], cwd=current.project_dir, check=False)
    completed = subprocess.run([*base, "lint", *config, "--processes", "2", *paths], cwd=current.project_dir,
                               check=False)
    if completed.returncode != 0:
        raise typer.Exit(EXIT_FAILURE)


def exposed_schemas(current: Settings, option: str | None) -> list[str]:
    """--schemas when given, else the lint.schemas setting (SUPAKIT_EXPOSED_SCHEMAS, [api].schemas of
    supabase/config.toml, else public)."""
    if option is not None:
        names = advisors.parse_schemas(option)
        if not names:
            raise ConfigError(f"--schemas {option!r} names no schema; pass a comma-separated list such as public,api.")
        return names
    return advisors.parse_schemas(list(current.lint.schemas))


def reviewed_findings(current: Settings) -> list[str]:
    """`[tool.supakit.advisors] reviewed` of pyproject.toml: findings accepted after review, as
    `<lint>:<schema>.<object>` (each with its reason in a comment there)."""
    path = current.project_dir / "pyproject.toml"
    if not path.exists():
        return []
    try:
        config = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path} is not valid TOML ({error}); fix it.") from error
    reviewed = config.get("tool", {}).get("supakit", {}).get("advisors", {}).get("reviewed", [])
    if not isinstance(reviewed, list) or not all(isinstance(entry, str) for entry in reviewed):
        raise ConfigError(f"[tool.supakit.advisors] reviewed in {path} must be a list of '<lint>:<schema>.<object>'.")
    return reviewed


def _table(findings: list[advisors.Finding]) -> str:
    header = ("level", "name", "detail", "remediation")
    rows = [header, *((f.level, f.lint, f.detail, f.remediation) for f in findings)]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join("  ".join([*(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)), row[3]])
                     for row in rows)


def _lint_database(ctx: typer.Context, option: str | None, *, as_json: bool, fail_on: FailOn) -> None:
    current = settings(ctx)
    schemas = exposed_schemas(current, option)
    lints = advisors.load_lints()
    findings, accepted, stale = advisors.split_reviewed(
        advisors.run(database_url(current), schemas, lints=lints, log=info), reviewed_findings(current))
    counts = Counter(f.level for f in findings)
    if as_json:
        result({"exposed_schemas": schemas, "counts": {level: counts[level] for level in reversed(advisors.LEVELS)},
                "findings": [f.as_dict() for f in findings], "reviewed": [f.as_dict() for f in accepted],
                "stale_reviewed": stale}, as_json=True, text="")
    elif findings:
        result(None, as_json=False, text=_table(findings))
    summary = ", ".join(f"{counts[level]} {level}" for level in reversed(advisors.LEVELS))
    info(f"{summary} ({len(lints)} lints; exposed schemas: {', '.join(schemas)})")
    if accepted:
        info(f"{len(accepted)} reviewed finding(s) not shown: [tool.supakit.advisors] reviewed in pyproject.toml")
    for key in stale:
        info(f"warning: reviewed entry {key!r} matches no finding any more; remove it from pyproject.toml")
    if fail_on is not FailOn.NONE and any(
            advisors.severity(f.level) >= advisors.severity(fail_on.value) for f in findings):
        raise typer.Exit(EXIT_FAILURE)
