"""The layers hold (STYLE.md §19, issue 13 item 2): cli -> entry points (gateway, handlers) -> services -> db ->
config -> errors, and no import cycles between siblings, as pyproject.toml's [tool.importlinter] contracts say."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_import_contracts_are_kept():
    lint_imports = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or "lint-imports"
    result = subprocess.run([lint_imports], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_cli_holds_no_sql():
    words = ("select ", "insert into", "update public.", "delete from")
    offenders = [f"{path.name}: {line.strip()}" for path in (ROOT / "cli").glob("*.py")
                 for line in path.read_text().splitlines() if any(word in line.lower() for word in words)
                 and not line.strip().startswith("#") and "`select" not in line]  # a hint to type in psql
    assert offenders == [], "SQL belongs in functions_py's domain modules; the CLI formats"
