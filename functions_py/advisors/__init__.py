"""Database advisors: lint queries over the migrated database, in the spirit of Supabase's splinter lints.

Each lint is one SELECT in `lints/NNNN_name.sql`, numbered and named after the splinter lint it checks, returning
the columns `name, level, title, detail, remediation, metadata`. `run` executes every lint in one read-only
transaction in which
- `pgrst.db_schemas` lists the schemas exposed through the Data API (lints about exposure read it),
- `supakit.excluded_schemas` lists the schemas no lint looks at (Supabase's, extensions', the system's, ours),
- `search_path` is empty, so every deparsed expression comes back fully qualified.
docs/advisors.md explains the lints, how to read a finding and how to add a lint.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from importlib import resources

import psycopg
from psycopg.rows import dict_row

from functions_py.db import connect
from functions_py.errors import SupakitError

Log = Callable[[str], None]

LEVELS = ("INFO", "WARN", "ERROR")  # ascending severity
COLUMNS = ("name", "level", "title", "detail", "remediation", "metadata")
LINT_FILE = re.compile(r"^(?P<number>\d{4})_(?P<name>[a-z][a-z0-9_]*)\.sql$")
API_ROLES = ("anon", "authenticated")

# Never linted: Supabase's and its extensions' schemas (splinter's list), the system's, and supakit's ledger.
# The runner adds every existing pg_* (toast, temporary) and _timescaledb_* schema to these.
EXCLUDED_SCHEMAS = (
    "auth", "cron", "extensions", "graphql", "graphql_public", "information_schema", "net", "pgbouncer", "pgmq",
    "pgroonga", "pgsodium", "pgsodium_masks", "pgtle", "pg_catalog", "realtime", "repack", "storage",
    "supabase_functions", "supabase_migrations", "tiger", "topology", "vault", "supakit_migrations",
)

# Named queries run before the lints, inside the lint transaction.
api_roles_missing = "select r from unnest(%s::text[]) as r where to_regrole(r) is null"
schemas_missing = "select s from unnest(%s::text[]) as s where to_regnamespace(s) is null order by s"
exposed_schemas_set = "select set_config('pgrst.db_schemas', %s, true)"
excluded_schemas_set = r"""
select set_config('supakit.excluded_schemas', array_to_string(%s::text[] || array(
  select n.nspname::text from pg_catalog.pg_namespace as n
  where n.nspname like 'pg\_%%' or n.nspname like '\_timescaledb\_%%'
), ','), true)"""
search_path_clear = "set local search_path = ''"


class AdvisorFailed(SupakitError):
    """A database lint could not run; the message names the lint file and the database's error."""


@dataclass(frozen=True)
class Lint:
    """One lint file: `number` and `name` come from its file name, e.g. 0013 and rls_disabled_in_public."""

    number: str
    name: str
    sql: str

    @property
    def key(self) -> str:
        """The file stem, e.g. 0013_rls_disabled_in_public: what users look the lint up by."""
        return f"{self.number}_{self.name}"


@dataclass(frozen=True)
class Finding:
    """One problem one lint found: `detail` names the object, `remediation` says what to do about it."""

    lint: str  # the lint's key, e.g. 0013_rls_disabled_in_public
    name: str  # the lint's name, e.g. rls_disabled_in_public
    level: str  # ERROR, WARN or INFO
    title: str
    detail: str
    remediation: str
    metadata: dict = field(default_factory=dict)  # schema, name, type of the object, plus lint-specific keys

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def severity(level: str) -> int:
    """0 for INFO, 1 for WARN, 2 for ERROR; a ValueError for anything else."""
    return LEVELS.index(level)


def load_lints() -> list[Lint]:
    """Every `lints/NNNN_name.sql` of this package, in number order."""
    found = []
    for entry in resources.files(__package__).joinpath("lints").iterdir():
        match = LINT_FILE.match(entry.name)
        if match:
            found.append(Lint(number=match["number"], name=match["name"], sql=entry.read_text(encoding="utf-8")))
    return sorted(found, key=lambda lint: lint.key)


def parse_schemas(raw: str | Iterable[str]) -> list[str]:
    """Schema names from `a,b` (or a list), stripped, without empties or repeats, in the given order."""
    items = raw.split(",") if isinstance(raw, str) else raw
    return list(dict.fromkeys(item.strip() for item in items if item.strip()))


def run(url: str, exposed_schemas: Sequence[str], *, lints: Sequence[Lint] | None = None,
        log: Log | None = None) -> list[Finding]:
    """Run `lints` (default: all) against the database at `url` in one read-only transaction, with
    `exposed_schemas` as the Data API's schemas. Findings come most severe first, then by lint and detail."""
    if lints is None:
        lints = load_lints()
        if not lints:  # an install without package data would otherwise report a clean database
            raise AdvisorFailed("no lint files found in functions_py/advisors/lints; reinstall supakit with its "
                                "package data (pip install -e .).")
    schemas = parse_schemas(exposed_schemas)
    findings: list[Finding] = []
    with connect(url, autocommit=True, application_name="supakit lint --db") as conn:
        conn.read_only = True
        with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
            _prepare(cur, schemas, log)
            for lint in lints:
                findings.extend(_run_one(cur, lint))
    return sorted(findings, key=lambda f: (-severity(f.level), f.lint, f.detail))


def _prepare(cur: psycopg.Cursor, schemas: list[str], log: Log | None) -> None:
    missing_roles = [row["r"] for row in cur.execute(api_roles_missing, (list(API_ROLES),))]
    if missing_roles:
        raise AdvisorFailed(
            f"role(s) {', '.join(missing_roles)} do not exist, so the lints cannot check what the Data API may do; "
            "run `supakit migrate` (on plain PostgreSQL the compat layer creates them).")
    if log:
        for row in cur.execute(schemas_missing, (schemas,)):
            if row["s"] not in EXCLUDED_SCHEMAS:
                log(f"exposed schema {row['s']!r} does not exist in this database")
    cur.execute(exposed_schemas_set, (",".join(schemas),))
    cur.execute(excluded_schemas_set, (list(EXCLUDED_SCHEMAS),))
    cur.execute(search_path_clear)


def _run_one(cur: psycopg.Cursor, lint: Lint) -> list[Finding]:
    try:
        cur.execute(lint.sql)
        rows = cur.fetchall()
    except psycopg.Error as error:
        raise AdvisorFailed(f"lint {lint.key} failed: {str(error).strip()}. Fix functions_py/advisors/lints/"
                            f"{lint.key}.sql (or report it, if the file is supakit's).", lint=lint.key) from error
    columns = tuple(column.name for column in cur.description or ())
    if columns != COLUMNS:
        raise AdvisorFailed(f"lint {lint.key} returns the columns {columns}; a lint must return {COLUMNS}.",
                            lint=lint.key)
    findings = []
    for row in rows:
        if row["name"] != lint.name or row["level"] not in LEVELS:
            raise AdvisorFailed(f"lint {lint.key} returned name={row['name']!r} level={row['level']!r}; the name "
                                f"must be {lint.name!r} and the level one of {', '.join(LEVELS)}.", lint=lint.key)
        findings.append(Finding(lint=lint.key, **row))
    return findings


def finding_key(finding: Finding) -> str:
    """How a reviewed finding is named in pyproject.toml: `<lint>:<schema>.<object>`, with the argument list for
    functions (`public.f(a integer)`), so a new overload of a reviewed function is not hidden by the review."""
    key = f"{finding.lint}:{finding.metadata.get('schema')}.{finding.metadata.get('name')}"
    if "arguments" in finding.metadata:
        key += f"({finding.metadata['arguments']})"
    return key


def split_reviewed(findings: list[Finding], reviewed: list[str]) -> tuple[list[Finding], list[Finding], list[str]]:
    """(findings to report, findings reviewed and accepted, reviewed entries that matched nothing — stale)."""
    wanted = set(reviewed)
    active = [f for f in findings if finding_key(f) not in wanted]
    accepted = [f for f in findings if finding_key(f) in wanted]
    matched = {finding_key(f) for f in accepted}
    return active, accepted, sorted(wanted - matched)
