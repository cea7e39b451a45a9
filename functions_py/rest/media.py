"""Content negotiation as PostgREST does it: the `Accept` header picks the response media type among the ones the
request supports (406 PGRST107 "None of these media types are available: …" otherwise); `Content-Type` picks how
a body is read (reference: local-api-surface.md §1.7)."""

from __future__ import annotations

from dataclasses import dataclass

from functions_py.rest.errors import media_type_error

JSON = "application/json"
OBJECT = "application/vnd.pgrst.object+json"
ARRAY = "application/vnd.pgrst.array+json"
CSV = "text/csv"
OPENAPI = "application/openapi+json"
GEOJSON = "application/geo+json"
PLAN = "application/vnd.pgrst.plan"
TEXT = "text/plain"
XML = "text/xml"
OCTET = "application/octet-stream"
FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Media:
    """A negotiated response type: `kind` is json / object / csv / openapi / text / xml / octet; `strip_nulls`
    for `;nulls=stripped`."""

    kind: str
    strip_nulls: bool = False

    @property
    def content_type(self) -> str:
        base = {"json": JSON, "object": OBJECT, "csv": CSV, "openapi": OPENAPI, "text": TEXT, "xml": XML,
                "octet": OCTET, "array": ARRAY}[self.kind]
        if self.strip_nulls:
            base += ";nulls=stripped"
        if self.kind in ("octet",):
            return base
        return base + "; charset=utf-8"


def _parse_accept(header: str) -> list[tuple[str, dict[str, str], float]]:
    entries = []
    for index, part in enumerate(header.split(",")):
        pieces = [p.strip() for p in part.split(";")]
        if not pieces[0]:
            continue
        params = {}
        quality = 1.0
        for piece in pieces[1:]:
            key, _, value = piece.partition("=")
            key = key.strip().lower()
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
            else:
                params[key] = value.strip().strip('"')
        entries.append((pieces[0].lower(), params, quality - index * 1e-6))
    return sorted(entries, key=lambda e: -e[2])


def negotiate(accept: str | None, offered: tuple[str, ...]) -> Media:
    """The first acceptable of `offered` (kinds: json, object, csv, openapi, text, xml, octet) for `accept`."""
    if not accept:
        return Media(offered[0])
    names = {"json": JSON, "object": OBJECT, "csv": CSV, "openapi": OPENAPI, "text": TEXT, "xml": XML,
             "octet": OCTET, "array": ARRAY}
    entries = _parse_accept(accept)
    for media, params, quality in entries:
        if quality <= 0:
            continue
        # decodeMediaType: the vendor types are also accepted without their `+json` suffix
        media = _ALIASES.get(media, media)
        strip = params.get("nulls") == "stripped"
        if media in ("*/*", "application/*"):
            return Media(offered[0])
        if media == "text/*":
            for kind in offered:
                if names[kind].startswith("text/"):
                    return Media(kind)
        for kind in offered:
            if names[kind] == media:
                if strip and kind in ("object", "array"):
                    return Media(kind, True)
                if kind == "array":
                    return Media("json")
                return Media(kind)
        if media == ARRAY and "json" in offered:
            return Media("array", True) if strip else Media("json")
    # the error names the types as PostgREST re-renders them (toMime): without parameters, best first
    raise media_type_error([_ALIASES.get(media, media) for media, _, _ in entries])


_ALIASES = {"application/vnd.pgrst.object": OBJECT, "application/vnd.pgrst.array": ARRAY}
