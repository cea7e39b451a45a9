"""The one settings object (functions_py/config.py, STYLE.md §18): `--data-dir` reaches every part, sources are
flag > env > supabase/config.toml > default, `supakit config` shows them with secrets masked, and a bad value
stops a command at start naming the setting, the value and what is expected (issue 13, item 1)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from functions_py import config
from functions_py.config import Settings
from tests.cli import ROOT, run_cli


def _rows(stdout: str) -> dict[str, dict]:
    return {row["name"]: row for row in json.loads(stdout)}


def test_data_dir_reaches_the_maildir_and_the_provisioning_files(tmp_path: Path):
    shown = run_cli("--data-dir", str(tmp_path), "config", "--json")
    assert shown.returncode == 0, shown.stderr
    rows = _rows(shown.stdout)
    assert rows["data_dir"]["value"] == str(tmp_path) and rows["data_dir"]["source"] == "flag"
    assert rows["mail.maildir (effective)"]["value"] == str(tmp_path / "mail")
    assert rows["provisioning.dir (effective)"]["value"] == str(tmp_path / "provisioning")


def test_every_part_that_writes_files_uses_the_installed_settings(tmp_path: Path):
    from functions_py.emails import MailSettings
    from functions_py.provisioning import provider
    from functions_py.provisioning.local import LocalProvider, mail_root

    config.use(Settings.load(project_dir=ROOT, data_dir=tmp_path, environ={}))
    try:
        assert provider.data_dir() == tmp_path.resolve()
        assert mail_root() == tmp_path.resolve() / "mail"
        assert MailSettings.from_env().maildir == tmp_path.resolve() / "mail", "e-mail follows --data-dir"
        local = provider.make_provider("local", "postgresql://localhost/none")
        assert isinstance(local, LocalProvider)
        assert local.root == tmp_path.resolve() / "provisioning", "provisioning files follow --data-dir"
        assert local.maildir == tmp_path.resolve() / "mail", "customers' maildirs follow --data-dir"
    finally:
        config.use(None)


def test_the_worker_writes_mail_under_the_data_dir_it_was_given(fresh_db, tmp_path: Path):
    """The defect: `supakit --data-dir X worker` wrote e-mail under the default directory."""
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        email_id = conn.execute("select internal.enqueue_email('ada@example.com', 'welcome', "
                                "'{\"name\": \"Ada\", \"organization_name\": \"Acme\"}'::jsonb)").fetchone()[0]
    env = {key: value for key, value in __import__("os").environ.items()
           if not key.startswith(("SUPAKIT_", "DATABASE_URL"))}
    worker = subprocess.Popen([sys.executable, "-m", "cli.main", "--data-dir", str(tmp_path), "--database-url",
                               fresh_db, "worker", "--kinds", "email.send"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    expected = tmp_path / "mail" / "new" / f"email-{email_id}.eml"
    try:
        deadline = time.monotonic() + 60
        while not expected.exists():
            assert worker.poll() is None, f"the worker stopped: {worker.stderr.read() if worker.stderr else ''}"
            assert time.monotonic() < deadline, "the e-mail was not written under --data-dir"
            time.sleep(0.1)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)


def test_sources_are_flag_then_env_then_config_toml_then_default(tmp_path: Path):
    (tmp_path / "supabase").mkdir()
    (tmp_path / "sql").mkdir()
    (tmp_path / "supabase" / "config.toml").write_text("[api]\nport = 54400\nmax_rows = 50\n")
    loaded = Settings.load(project_dir=tmp_path, environ={"PGRST_DB_MAX_ROWS": "70"},
                           flags={"api.port": 54500})
    assert (loaded.api.port, loaded.sources["api.port"]) == (54500, "flag")
    assert (loaded.rest.db_max_rows, loaded.sources["rest.db_max_rows"]) == (70, "env")
    toml_only = Settings.load(project_dir=tmp_path, environ={})
    assert (toml_only.api.port, toml_only.sources["api.port"]) == (54400, "config.toml")
    assert (toml_only.mail.smtp_port, toml_only.sources["mail.smtp_port"]) == (587, "default")


def test_config_masks_secrets():
    shown = run_cli("config", env={"STRIPE_SECRET_KEY": "sk_test_" + "x" * 40, "SUPAKIT_SMTP_PASSWORD": "p" * 20})
    assert shown.returncode == 0, shown.stderr
    assert "x" * 40 not in shown.stdout and "p" * 20 not in shown.stdout
    assert "stripe.secret_key" in shown.stdout and "(env)" in shown.stdout


@pytest.mark.parametrize(("variable", "value", "setting", "expected"), [
    ("SUPAKIT_SMTP_PORT", "smtp", "mail.smtp_port", "a TCP port"),
    ("SUPAKIT_PROVISIONING_PROVIDER", "gcp", "provisioning.provider", "local or aws"),
    ("SUPAKIT_AI_TIMEOUT_S", "-1", "ai.timeout_s", "a positive number of seconds"),
    ("SUPAKIT_REALTIME_MAX_PAYLOAD_KB", "0", "realtime.max_payload_kb", "a positive number of KiB"),
])
def test_a_bad_value_fails_at_start_naming_the_setting_the_value_and_what_is_expected(variable, value, setting,
                                                                                      expected):
    result = run_cli("config", env={variable: value})
    assert result.returncode == 2, result.stderr
    assert variable in result.stderr and repr(value) in result.stderr and setting in result.stderr
    assert expected in result.stderr


def test_no_module_but_config_reads_the_environment():
    offenders = []
    for path in [*(ROOT / "functions_py").rglob("*.py"), *(ROOT / "cli").rglob("*.py")]:
        if path == ROOT / "functions_py" / "config.py":
            continue
        text = path.read_text()
        if "os.environ" in text or "os.getenv" in text:
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == [], "read settings through functions_py.config (STYLE.md §18)"
