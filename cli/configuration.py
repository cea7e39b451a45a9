"""`supakit config`: every effective setting, where it came from, secrets masked."""

from __future__ import annotations

import typer

from cli.context import result, settings


def config(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Print every effective setting with its source (flag, env, config.toml, default); secrets masked."""
    rows = settings(ctx).describe()
    width = max(len(row["name"]) for row in rows)
    lines = []
    for row in rows:
        value = row["value"]
        if value is None or value == "" or value == []:
            shown = "(unset)"
        else:
            shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        env = f"  [{row['env']}]" if row.get("env") else ""
        lines.append(f"{row['name']:<{width}}  {shown}  ({row['source']}){env}")
    result(rows, as_json=as_json, text="\n".join(lines))
