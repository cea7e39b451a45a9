"""The database boundary: redaction of passwords in every connection-string form."""

import pytest

from functions_py.db import redact


@pytest.mark.parametrize(("url", "expected"), [
    ("postgresql://user:hunter2@db.example.com:5432/app", "postgresql://user:***@db.example.com:5432/app"),
    ("postgresql://user@db.example.com/app?password=hunter2&sslmode=require",
     "postgresql://user@db.example.com/app?password=***&sslmode=require"),
    ("host=db.example.com password=hunter2 dbname=app", "host=db.example.com password=*** dbname=app"),
    ("host=db.example.com password='hun ter2' dbname=app", "host=db.example.com password=*** dbname=app"),
    ("postgresql://user@127.0.0.1:54322/postgres", "postgresql://user@127.0.0.1:54322/postgres"),
])
def test_passwords_never_survive_redaction(url, expected):
    assert redact(url) == expected
    assert "hunter2" not in redact(url) and "hun ter2" not in redact(url)
