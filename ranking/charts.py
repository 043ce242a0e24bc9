"""Server-rendered SVG for the ranker's admin page: each feature's share of the model's total
gain, as horizontal bars (no script, no CDN; every bar has a <title> with its number and the
page's table gives them all)."""

from __future__ import annotations

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

WIDTH, ROW, LABEL = 720, 22, 170


def importance_bars(importance: dict[str, float]) -> SafeString:
    """The features by their total gain, largest first; features the model never split on are
    listed at 0 so a reader sees they were there."""
    total = sum(importance.values()) or 1.0
    ranked = sorted(importance.items(), key=lambda item: (-item[1], item[0]))
    peak = ranked[0][1] if ranked and ranked[0][1] > 0 else 1.0
    parts = []
    for i, (name, gain) in enumerate(ranked):
        y = 4 + i * ROW
        width = (WIDTH - LABEL - 70) * gain / peak
        share = 100 * gain / total
        parts.append(
            f'<text x="{LABEL - 6}" y="{y + 14}" text-anchor="end" font-size="12">{escape(name)}</text>'
            f'<rect x="{LABEL}" y="{y}" width="{max(1.0, width):.1f}" height="{ROW - 6}" fill="#2f6fb0">'
            f"<title>{escape(name)}: {share:.1f}% of the gain</title></rect>"
            f'<text x="{LABEL + width + 6:.1f}" y="{y + 14}" font-size="12">{share:.1f}%</text>'
        )
    height = 8 + ROW * len(ranked)
    title = "Feature importance: share of the model's total gain"
    return format_html(
        '<svg class="chart" role="img" viewBox="0 0 {} {}" width="100%" aria-label="{}"><title>{}</title>{}</svg>',
        WIDTH,
        height,
        title,
        title,
        mark_safe("".join(parts)),
    )
