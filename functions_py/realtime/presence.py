"""Presence for one topic: who tracked what, as Phoenix.Presence reports it (realtime-protocol.md §5).

Each joined channel tracks at most one meta under its presence key; re-tracking replaces it (the diff then joins
the new meta, with `phx_ref_prev`, and leaves the old one). Every meta carries a unique `phx_ref`: realtime-py
raises KeyError on a meta without one.
"""

from __future__ import annotations

import base64
import itertools
import os
from typing import Any

_counter = itertools.count(1)
_node = os.urandom(3)


def new_phx_ref() -> str:
    """A unique reference, shaped like Phoenix's (base64 of a node id and a counter)."""
    return "F" + base64.urlsafe_b64encode(_node + next(_counter).to_bytes(6, "big")).decode().rstrip("=")


class PresenceTopic:
    """The tracked metas of one topic, keyed by the channel (any hashable owner) that tracked them."""

    def __init__(self) -> None:
        self._entries: dict[Any, tuple[str, dict]] = {}

    def __bool__(self) -> bool:
        return bool(self._entries)

    def state(self) -> dict[str, dict[str, list[dict]]]:
        """`presence_state` payload: {key: {"metas": [meta, ...]}}."""
        state: dict[str, dict[str, list[dict]]] = {}
        for key, meta in self._entries.values():
            state.setdefault(key, {"metas": []})["metas"].append(meta)
        return state

    def track(self, owner: Any, key: str, payload: dict) -> dict:
        """Track (or re-track) `payload` for `owner`; returns the `presence_diff` payload."""
        meta = {**payload, "phx_ref": new_phx_ref()}
        leaves: dict[str, dict] = {}
        previous = self._entries.get(owner)
        if previous is not None:
            old_key, old_meta = previous
            meta["phx_ref_prev"] = old_meta["phx_ref"]
            leaves = {old_key: {"metas": [old_meta]}}
        self._entries[owner] = (key, meta)
        return {"joins": {key: {"metas": [meta]}}, "leaves": leaves}

    def untrack(self, owner: Any) -> dict | None:
        """Forget `owner`'s meta; returns the `presence_diff` payload, or None when it tracked nothing."""
        previous = self._entries.pop(owner, None)
        if previous is None:
            return None
        key, meta = previous
        return {"joins": {}, "leaves": {key: {"metas": [meta]}}}
