"""The reference pages are generated from the code (tools/gen_docs.py): docs/cli.md from the typer app and
docs/settings.md from the Option tables. When this fails, run `python tools/gen_docs.py` and commit the pages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_generated_reference_pages_are_current():
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "gen_docs.py"), "--check"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr


def test_every_command_and_every_setting_is_in_the_reference():
    from functions_py.config import OPTIONS

    cli = (ROOT / "docs" / "cli.md").read_text()
    settings = (ROOT / "docs" / "settings.md").read_text()
    for command in ("supakit up", "supakit status", "supakit config", "supakit worker", "supakit jobs stats",
                    "supakit provision retry", "supakit realtime serve"):
        assert f"## `{command}`" in cli, command
    for option in OPTIONS:
        assert f"`{option.name}`" in settings and f"`{option.env}`" in settings, option.name


def test_the_readme_is_a_front_door():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 250
    assert "make up" in readme and "make test" in readme
    for page in ("docs/README.md", "docs/cli.md", "docs/settings.md", "bench/README.md"):
        assert page in readme and (ROOT / page).exists(), page
    for linked in __import__("re").findall(r"\]\((docs/[a-z-]+\.md|bench/README\.md)\)", readme):
        if linked != "docs/rest.md":  # written by the Data API branch
            assert (ROOT / linked).exists(), linked
