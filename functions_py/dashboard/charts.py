"""Charts drawn on the server as inline SVG: no script, no library, readable in a screenshot."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape

WIDTH, HEIGHT = 720, 150
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 10, 22


def _scale(values: Sequence[float]) -> float:
    """A round axis maximum at or above the largest value: 1, 2, 5, 10, 20, 50, ..."""
    top = max(values, default=0)
    if top <= 0:
        return 1.0
    return float(min(m * s for s in (1, 2, 5) for m in (10 ** e for e in range(12)) if m * s >= top))


def _frame(title: str, times: Sequence[datetime], peak: float, body: str, legend: str) -> str:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    grid = []
    for fraction in (0, 0.5, 1):
        y = TOP + plot_h * (1 - fraction)
        label = peak * fraction
        text = f"{label:.0f}" if label >= 10 or label == int(label) else f"{label:.1f}"
        grid.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                    f'<text x="{LEFT - 6}" y="{y + 4:.1f}" class="axis" text-anchor="end">{text}</text>')
    ticks = []
    if times:
        for index in sorted({0, len(times) // 2, len(times) - 1}):
            x = LEFT + plot_w * (index + 0.5) / len(times)
            ticks.append(f'<text x="{x:.1f}" y="{HEIGHT - 6}" class="axis" text-anchor="middle">'
                         f'{times[index]:%H:%M}</text>')
    return (f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" '
            f'aria-label="{escape(title)}"><title>{escape(title)}</title>{"".join(grid)}{body}{"".join(ticks)}'
            f'{legend}</svg>')


def depth_chart(times: Sequence[datetime], depth: Sequence[int]) -> str:
    """Queue depth (jobs waiting) per bucket, as an area."""
    peak = _scale(depth)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    n = max(len(depth), 1)
    points = [(LEFT + plot_w * (i + 0.5) / n, TOP + plot_h * (1 - value / peak)) for i, value in enumerate(depth)]
    body = ""
    if points:
        line = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        base = TOP + plot_h
        body = (f'<polygon class="area" points="{points[0][0]:.1f},{base} {line} {points[-1][0]:.1f},{base}"/>'
                f'<polyline class="line" points="{line}"/>')
    legend = f'<text x="{LEFT + 6}" y="{TOP + 12}" class="legend">queued (now {depth[-1] if depth else 0})</text>'
    return _frame("queue depth over the last hour", times, peak, body, legend)


def throughput_chart(times: Sequence[datetime], succeeded: Sequence[int], failed: Sequence[int]) -> str:
    """Jobs finished per bucket, succeeded and failed stacked."""
    totals = [s + f for s, f in zip(succeeded, failed, strict=True)]
    peak = _scale(totals)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    n = max(len(totals), 1)
    bar = plot_w / n * 0.8
    bars = []
    for i, (ok, bad) in enumerate(zip(succeeded, failed, strict=True)):
        x = LEFT + plot_w * i / n + plot_w / n * 0.1
        ok_h, bad_h = plot_h * ok / peak, plot_h * bad / peak
        base = TOP + plot_h
        if ok:
            bars.append(f'<rect class="ok" x="{x:.1f}" y="{base - ok_h:.1f}" width="{bar:.1f}" height="{ok_h:.1f}">'
                        f'<title>{times[i]:%H:%M}: {ok} succeeded</title></rect>')
        if bad:
            bars.append(f'<rect class="bad" x="{x:.1f}" y="{base - ok_h - bad_h:.1f}" width="{bar:.1f}" '
                        f'height="{bad_h:.1f}"><title>{times[i]:%H:%M}: {bad} failed</title></rect>')
    legend = (f'<text x="{LEFT + 6}" y="{TOP + 12}" class="legend">finished per bucket: '
              f'{sum(succeeded)} succeeded, {sum(failed)} failed</text>')
    return _frame("throughput over the last hour", times, peak, "".join(bars), legend)
