"""Where backups' data exports are kept: an S3 bucket (boto3), or a directory when no bucket is configured.

Keys are deterministic (`<prefix>/<org id>/<run id>.json.gz`), so a step that runs again after a crash overwrites the
object it wrote before instead of leaving a second one. Settings: SUPAKIT_BACKUP_BUCKET, SUPAKIT_BACKUP_PREFIX,
SUPAKIT_BACKUP_DIR (docs/settings.md); S3 credentials come from boto3's chain and AWS_ENDPOINT_URL points it at an
emulator (moto in the tests).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Protocol
from uuid import UUID

from functions_py.config import Settings
from functions_py.provisioning.provider import PermanentStepError, RetryableStepError


class BackupStore(Protocol):
    """Objects by key: put (overwriting), get, delete (absent is fine)."""

    def key_for(self, organization_id: UUID, run_id: UUID) -> str: ...

    def url(self, key: str) -> str: ...

    def put(self, key: str, data: bytes) -> None: ...

    def get(self, url: str) -> bytes: ...

    def delete(self, url: str) -> None: ...


class _Keys:
    prefix: str

    def key_for(self, organization_id: UUID, run_id: UUID) -> str:
        return f"{self.prefix}/{organization_id}/{run_id}.json.gz"


class S3Store(_Keys):
    """A bucket; errors become step errors (throttling and 5xx retryable, the rest permanent)."""

    def __init__(self, bucket: str, prefix: str, region: str | None = None) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix
        session = boto3.session.Session(region_name=region)
        self.s3 = session.client("s3", region_name=session.region_name or "us-east-1",
                                 config=Config(retries={"mode": "standard", "max_attempts": 3}))

    def url(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def _key(self, url: str) -> str:
        prefix = f"s3://{self.bucket}/"
        if not url.startswith(prefix):
            raise PermanentStepError(f"the export {url} is not in bucket {self.bucket} (SUPAKIT_BACKUP_BUCKET); "
                                     "point the setting at the bucket it was written to.")
        return url[len(prefix):]

    def put(self, key: str, data: bytes) -> None:
        try:
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType="application/gzip")
        except Exception as error:  # noqa: BLE001 - classified
            raise _s3_error(error, f"write {self.url(key)}") from None

    def get(self, url: str) -> bytes:
        try:
            return self.s3.get_object(Bucket=self.bucket, Key=self._key(url))["Body"].read()
        except PermanentStepError:
            raise
        except Exception as error:  # noqa: BLE001
            raise _s3_error(error, f"read {url}") from None

    def delete(self, url: str) -> None:
        try:
            self.s3.delete_object(Bucket=self.bucket, Key=self._key(url))
        except PermanentStepError:
            raise
        except Exception as error:  # noqa: BLE001
            raise _s3_error(error, f"delete {url}") from None


class DirectoryStore(_Keys):
    """Files under a directory (no bucket configured: development and single-machine use)."""

    def __init__(self, root: Path, prefix: str) -> None:
        self.root = root
        self.prefix = prefix

    def url(self, key: str) -> str:
        return (self.root / key).resolve().as_uri()

    def _path(self, url: str) -> Path:
        if not url.startswith("file://"):
            raise PermanentStepError(f"the export {url} is not a file; set SUPAKIT_BACKUP_BUCKET to the bucket it "
                                     "was written to.")
        return Path(url.removeprefix("file://"))

    def put(self, key: str, data: bytes) -> None:
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        tmp.replace(path)

    def get(self, url: str) -> bytes:
        path = self._path(url)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise PermanentStepError(f"the export {path} is gone; choose another backup.") from None

    def delete(self, url: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(url).unlink()


def make_store(settings: Settings) -> BackupStore:
    """S3Store when backups.bucket is set, else DirectoryStore under backups.dir."""
    if settings.backups.bucket:
        return S3Store(settings.backups.bucket, settings.backups.prefix, settings.aws.region)
    return DirectoryStore(settings.backups_dir, settings.backups.prefix)


def _s3_error(error: Exception, doing: str) -> PermanentStepError | RetryableStepError:
    import botocore.exceptions

    if isinstance(error, botocore.exceptions.ClientError):
        code = error.response.get("Error", {}).get("Code", "Unknown")
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        text = f"S3 refused to {doing}: {code}: {error.response.get('Error', {}).get('Message', '')}"
        if status >= 500 or code in ("SlowDown", "RequestTimeout", "InternalError", "ServiceUnavailable"):
            return RetryableStepError(f"{text}; the step will be retried.")
        return PermanentStepError(f"{text}; check SUPAKIT_BACKUP_BUCKET and the worker's S3 permissions.")
    if isinstance(error, botocore.exceptions.NoCredentialsError):
        return PermanentStepError("no AWS credentials found for the backup bucket; set AWS_ACCESS_KEY_ID/"
                                  "AWS_SECRET_ACCESS_KEY or a profile in the worker's environment.")
    return RetryableStepError(f"could not reach S3 to {doing} ({type(error).__name__}); the step will be retried.")
