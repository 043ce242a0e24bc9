"""Server-rendered SVG charts for the analytics page: no script, no CDN, readable without
colour (each chart has a title, its axes are labelled and every bar has a <title> tooltip
with its number; the page's tables give the same numbers)."""

from __future__ import annotations

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

PALETTE = {"text": "#2f6fb0", "photo": "#d9822b", "hybrid": "#5a9e4b"}
WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 720, 220, 44, 28, 12


def _frame(title: str, body: str, height: int = HEIGHT) -> SafeString:
    return format_html(
        '<svg class="chart" role="img" viewBox="0 0 {} {}" width="100%" aria-label="{}"><title>{}</title>{}</svg>',
        WIDTH,
        height,
        title,
        title,
        mark_safe(body),
    )


def _axis(top_value: float, label) -> str:
    """The y axis: 0 and its highest value."""
    return (
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{HEIGHT - BOTTOM}" stroke="#888"/>'
        f'<line x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH}" y2="{HEIGHT - BOTTOM}" stroke="#888"/>'
        f'<text x="{LEFT - 4}" y="{TOP + 10}" text-anchor="end" font-size="11">{escape(label(top_value))}</text>'
        f'<text x="{LEFT - 4}" y="{HEIGHT - BOTTOM}" text-anchor="end" font-size="11">0</text>'
    )


def stacked_bars(title: str, labels: list[str], series: dict[str, list[int]]) -> SafeString:
    """One bar per label, the series stacked in it (searches per day by kind)."""
    totals = [sum(values[i] for values in series.values()) for i in range(len(labels))]
    peak = max(totals, default=0) or 1
    plot_h, slot = HEIGHT - BOTTOM - TOP, (WIDTH - LEFT - 4) / max(1, len(labels))
    parts = [_axis(peak, lambda v: f"{v:,.0f}")]
    for i, label in enumerate(labels):
        x, y = LEFT + 2 + i * slot, HEIGHT - BOTTOM
        for name, values in series.items():
            h = plot_h * values[i] / peak
            if h > 0:
                y -= h
                parts.append(
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(1.0, slot - 2):.1f}" height="{h:.1f}" '
                    f'fill="{PALETTE.get(name, "#777")}"><title>{escape(label)}: {values[i]:,} {escape(name)}</title></rect>'
                )
        if len(labels) <= 16 or i % max(1, len(labels) // 8) == 0:
            parts.append(
                f'<text x="{x + slot / 2:.1f}" y="{HEIGHT - 10}" text-anchor="middle" font-size="10">{escape(label)}</text>'
            )
    legend = "".join(
        f'<rect x="{LEFT + 10 + n * 90}" y="2" width="10" height="10" fill="{PALETTE.get(name, "#777")}"/>'
        f'<text x="{LEFT + 24 + n * 90}" y="11" font-size="11">{escape(name)}</text>'
        for n, name in enumerate(series)
    )
    return _frame(title, "".join(parts) + legend)


def bars(title: str, labels: list[str], values: list[float | None], value_label) -> SafeString:
    """One bar per label (CTR by position)."""
    peak = max((v for v in values if v), default=0) or 1
    plot_h, slot = HEIGHT - BOTTOM - TOP, (WIDTH - LEFT - 4) / max(1, len(labels))
    parts = [_axis(peak, value_label)]
    for i, (label, value) in enumerate(zip(labels, values)):
        x = LEFT + 2 + i * slot
        if value:
            h = plot_h * value / peak
            parts.append(
                f'<rect x="{x:.1f}" y="{HEIGHT - BOTTOM - h:.1f}" width="{max(1.0, slot - 3):.1f}" height="{h:.1f}" '
                f'fill="#2f6fb0"><title>{escape(label)}: {escape(value_label(value))}</title></rect>'
            )
        parts.append(
            f'<text x="{x + slot / 2:.1f}" y="{HEIGHT - 10}" text-anchor="middle" font-size="10">{escape(label)}</text>'
        )
    return _frame(title, "".join(parts))


def funnel(title: str, steps: list[tuple[str, int]]) -> SafeString:
    """Horizontal bars, each step's share of the first."""
    first = steps[0][1] if steps and steps[0][1] else max((n for _, n in steps), default=0) or 1
    row, height = 30, 30 * len(steps) + 8
    parts = []
    for i, (label, count) in enumerate(steps):
        w = (WIDTH - 260) * min(1.0, count / first)
        y = 4 + i * row
        parts.append(
            f'<text x="170" y="{y + 17}" text-anchor="end" font-size="12">{escape(label)}</text>'
            f'<rect x="180" y="{y}" width="{max(1.0, w):.1f}" height="22" fill="#d9822b"><title>{escape(label)}: {count:,}</title></rect>'
            f'<text x="{186 + w:.1f}" y="{y + 16}" font-size="12">{count:,} ({100 * count / first:.1f}%)</text>'
        )
    return _frame(title, "".join(parts), height)
