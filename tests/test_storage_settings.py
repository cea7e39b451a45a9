"""The Storage settings (functions_py/config.py STORAGE_OPTIONS): the CLI's `[storage] file_size_limit` with its
units, the SUPAKIT_STORAGE_* environment, and the storage root under the data directory by default."""

from __future__ import annotations

import pytest

from functions_py.config import Settings, parse_size
from functions_py.errors import ConfigError


def test_sizes_read_as_the_supabase_cli_writes_them():
    assert parse_size("50MiB") == 50 * 1024 * 1024
    assert parse_size("200MB") == 200_000_000
    assert parse_size(1024) == 1024 and parse_size("1024") == 1024
    for bad in ("", "lots", "-1", "5 parsecs", True):
        with pytest.raises(ValueError):
            parse_size(bad)


def test_environment_beats_config_toml_and_defaults_apply(tmp_path):
    (tmp_path / "supabase").mkdir()
    (tmp_path / "sql").mkdir()
    (tmp_path / "supabase" / "config.toml").write_text('[storage]\nfile_size_limit = "5MiB"\n')
    settings = Settings.load(project_dir=tmp_path, environ={"SUPAKIT_DATA_DIR": str(tmp_path / "data")})
    assert settings.storage.file_size_limit == 5 * 1024 * 1024
    assert settings.sources["storage.file_size_limit"] == "config.toml"
    assert settings.storage.root is None and settings.storage.signing_secret == ""
    settings = Settings.load(project_dir=tmp_path, environ={"SUPAKIT_STORAGE_FILE_SIZE_LIMIT": "1GB",
                                                             "SUPAKIT_STORAGE_ROOT": str(tmp_path / "bytes")})
    assert settings.storage.file_size_limit == 1_000_000_000 and settings.storage.root == str(tmp_path / "bytes")
    with pytest.raises(ConfigError, match="storage.file_size_limit"):
        Settings.load(project_dir=tmp_path, environ={"SUPAKIT_STORAGE_FILE_SIZE_LIMIT": "huge"})
    with pytest.raises(ConfigError, match="storage.signing_secret"):
        Settings.load(project_dir=tmp_path, environ={"SUPAKIT_STORAGE_SIGNING_SECRET": "short"})
