"""The `Prefer` request header as PostgREST v14 reads it (docs/references/api/preferences.rst): every `Prefer`
header, split at commas; for each preference the first recognised value wins; unknown ones are ignored unless
`handling=strict` (400 PGRST122). `Preference-Applied` echoes what was honoured, in PostgREST's order."""

from __future__ import annotations

from dataclasses import dataclass

from functions_py.rest.errors import invalid_preferences

_CHOICES = {
    "resolution": ("merge-duplicates", "ignore-duplicates"),
    "missing": ("default", "null"),
    "return": ("minimal", "headers-only", "representation"),
    "count": ("exact", "planned", "estimated"),
    "tx": ("commit", "rollback"),
    "handling": ("strict", "lenient"),
}
_ACCEPTED = frozenset(f"{k}={v}" for k, vs in _CHOICES.items() for v in vs)


@dataclass(frozen=True)
class Preferences:
    resolution: str | None = None
    missing: str | None = None
    representation: str | None = None
    count: str | None = None
    tx: str | None = None
    handling: str | None = None
    timezone: str | None = None
    max_affected: int | None = None

    def applied(self, *, resolution: bool = True, missing: bool = True, representation: bool = True,
                max_affected: bool = False) -> str | None:
        """The Preference-Applied value (None when nothing applies); the flags leave out what a request kind
        does not echo."""
        values = [
            f"resolution={self.resolution}" if resolution and self.resolution else None,
            f"missing={self.missing}" if missing and self.missing else None,
            f"return={self.representation}" if representation and self.representation else None,
            f"count={self.count}" if self.count else None,
            f"tx={self.tx}" if self.tx else None,
            f"handling={self.handling}" if self.handling else None,
            f"timezone={self.timezone}" if self.timezone else None,
            f"max-affected={self.max_affected}"
            if max_affected and self.handling == "strict" and self.max_affected is not None else None,
        ]
        kept = [v for v in values if v]
        return ", ".join(kept) if kept else None


def parse(headers: list[str], *, tx_override: bool, timezones: frozenset[str] | None = None) -> Preferences:
    """Preferences from the `Prefer` header values; ApiError PGRST122 for unknown ones under handling=strict."""
    items = [p.strip() for value in headers for p in value.split(",") if p.strip()]
    found: dict[str, str] = {}
    timezone = None
    max_affected = None
    invalid = []
    for item in items:
        if item in _ACCEPTED:
            key, _, value = item.partition("=")
            found.setdefault(key, value)
        elif item.startswith("timezone="):
            zone = item[9:]
            if timezones is None or zone in timezones:
                timezone = timezone or zone
            else:
                invalid.append(item)
        elif item.startswith("max-affected="):
            try:
                max_affected = int(item[13:]) if max_affected is None else max_affected
            except ValueError:
                invalid.append(item)
        else:
            invalid.append(item)
    if found.get("handling") == "strict" and invalid:
        raise invalid_preferences(invalid)
    return Preferences(found.get("resolution"), found.get("missing"), found.get("return"), found.get("count"),
                       found.get("tx") if tx_override else None, found.get("handling"), timezone, max_affected)
