"""Run the real `supakit` command in a subprocess, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str, project: Path = ROOT, env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`supakit ARGS` from `project`, with DATABASE_URL & co. taken only from `env` (not from the caller)."""
    base = {k: v for k, v in os.environ.items()
            if k not in ("DATABASE_URL", "SUPAKIT_PROJECT_DIR", "SUPAKIT_DATA_DIR", "SUPAKIT_DB_PORT")}
    return subprocess.run([sys.executable, "-m", "cli.main", *args], cwd=project, env={**base, **(env or {})},
                          capture_output=True, text=True, timeout=timeout, check=False)
