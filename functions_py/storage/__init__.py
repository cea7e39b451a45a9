"""The local Storage API: Supabase Storage's /storage/v1 for storage-js and storage3, on the gateway.

Objects' rows live in storage.objects (RLS decides every operation, as in Storage), their bytes in a local file
backend under `<data dir>/storage` (settings `storage.root`). `service(context)` is the gateway's entry point."""

from __future__ import annotations

from functions_py.storage.service import StorageService, service

__all__ = ["StorageService", "service"]
