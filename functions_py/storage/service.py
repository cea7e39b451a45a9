"""The Storage service the gateway mounts at /storage/v1 (functions_py/http/gateway.py)."""

from __future__ import annotations

from pathlib import Path

from functions_py.storage.app import StorageApp
from functions_py.storage.backend import FileBackend
from functions_py.storage.buckets import BucketStore
from functions_py.storage.database import StorageDatabase
from functions_py.storage.objects import ObjectStore
from functions_py.storage.signing import Signer
from functions_py.tokens import LOCAL_JWT_SECRET

# Routes a browser opens without headers (public objects, signed URLs, TUS with a signature), as the CLI's Kong,
# which asks no key on /storage/v1 at all: Storage authenticates each request itself.
OPEN_PREFIXES = ("/object/public/", "/object/sign/", "/object/upload/sign/", "/render/image/public/",
                 "/render/image/sign/")


class StorageService:
    prefix = "/storage/v1"

    def __init__(self, context) -> None:  # noqa: ANN001 - GatewayContext (imported lazily by the gateway)
        settings = context.settings
        root = settings.storage.root
        self.root = Path(root).expanduser() if root else Path(settings.data_dir) / "storage"
        secret = settings.storage.signing_secret or settings.jwt.secret or LOCAL_JWT_SECRET
        self.backend = FileBackend(self.root)
        db = StorageDatabase(context.pool)
        objects = ObjectStore(db, self.backend, settings.storage.file_size_limit)
        from functions_py.storage.tus import TusApp

        self.app = StorageApp(objects=objects, buckets=BucketStore(db, self.backend), signer=Signer(secret),
                              verifier=context.verifier)
        self.app.tus = TusApp(self.app, self.root / ".tus")

    def needs_key(self, path: str) -> bool:
        return False

    async def start(self) -> None:
        self.backend.prepare()
        self.backend.sweep()
        self.app.tus.sweep()

    async def stop(self) -> None:
        return None


def service(context) -> StorageService:  # noqa: ANN001
    return StorageService(context)
