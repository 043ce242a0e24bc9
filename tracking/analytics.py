"""Reads of the search analytics for staff (the analytics page, tracking.views): everything
from the daily rollups (tracking.rollups), in five queries for any date range."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import Sum

from tracking.models import (
    LATENCY_BUCKETS_MS,
    DailyPhotoUploadRollup,
    DailyPositionRollup,
    DailyQueryRollup,
    DailySearchRollup,
)
from tracking.rollups import POSITIONS

KINDS = ("text", "photo", "hybrid")
TOP = 10


@dataclass(frozen=True)
class KindSummary:
    kind: str
    searches: int
    zero_results: int
    clicked: int
    carted: int
    purchased: int
    latency_p50_ms: float | None
    latency_p95_ms: float | None

    def rate(self, part: int) -> float | None:
        return part / self.searches if self.searches else None

    @property
    def click_through(self) -> float | None:
        return self.rate(self.clicked)

    @property
    def add_to_cart(self) -> float | None:
        return self.rate(self.carted)

    @property
    def conversion(self) -> float | None:
        return self.rate(self.purchased)


@dataclass
class SearchAnalytics:
    first: date
    last: date
    days: list[date]
    searches_per_day: dict[str, list[int]]  # kind -> one count per day of `days`
    kinds: list[KindSummary]
    searches: int
    zero_results: int
    top_queries: list[tuple[str, int]]
    top_zero_result_queries: list[tuple[str, int]]
    ctr_by_position: list[tuple[int, int, int, float | None]]  # position, impressions, clicks, ctr
    funnel: list[tuple[str, int]] = field(default_factory=list)  # photo search: step, count

    @property
    def zero_result_rate(self) -> float | None:
        return self.zero_results / self.searches if self.searches else None


def percentile_from_histogram(histogram: list[int], share: float) -> float | None:
    """The upper edge (ms) of the bucket holding the given share of the searches; None for none.
    Past the last edge: that edge (the true value is larger)."""
    total = sum(histogram)
    if not total:
        return None
    wanted, seen = share * total, 0
    for index, count in enumerate(histogram):
        seen += count
        if seen >= wanted:
            return float(LATENCY_BUCKETS_MS[min(index, len(LATENCY_BUCKETS_MS) - 1)])
    return float(LATENCY_BUCKETS_MS[-1])


def search_analytics(first: date, last: date) -> SearchAnalytics:
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    index = {day: n for n, day in enumerate(days)}
    per_day = {kind: [0] * len(days) for kind in KINDS}
    totals: dict[str, dict] = {}
    for row in DailySearchRollup.objects.filter(day__range=(first, last)):
        per_day.setdefault(row.search_kind, [0] * len(days))[index[row.day]] += row.searches
        total = totals.setdefault(
            row.search_kind,
            {"searches": 0, "zero_results": 0, "clicked": 0, "carted": 0, "purchased": 0, "histogram": None},
        )
        for name in ("searches", "zero_results", "clicked", "carted", "purchased"):
            total[name] += getattr(row, name)
        histogram = list(row.latency_histogram)
        total["histogram"] = (
            histogram if total["histogram"] is None else [a + b for a, b in zip(total["histogram"], histogram)]
        )
    kinds = [
        KindSummary(
            kind,
            t["searches"],
            t["zero_results"],
            t["clicked"],
            t["carted"],
            t["purchased"],
            percentile_from_histogram(t["histogram"] or [], 0.5),
            percentile_from_histogram(t["histogram"] or [], 0.95),
        )
        for kind, t in sorted(totals.items(), key=lambda pair: (KINDS + (pair[0],)).index(pair[0]))
    ]
    queries = (
        DailyQueryRollup.objects.filter(day__range=(first, last))
        .values("words")
        .annotate(total=Sum("searches"), zero=Sum("zero_results"))
    )
    top = sorted(((q["words"], q["total"]) for q in queries), key=lambda pair: (-pair[1], pair[0]))[:TOP]
    zero = sorted(((q["words"], q["zero"]) for q in queries if q["zero"]), key=lambda pair: (-pair[1], pair[0]))[:TOP]
    positions = {
        row["position"]: (row["shown"], row["clicks"])
        for row in DailyPositionRollup.objects.filter(day__range=(first, last))
        .values("position")
        .annotate(shown=Sum("impressions"), clicks=Sum("clicks"))
    }
    ctr = []
    for position in range(1, POSITIONS + 1):
        shown, clicks = positions.get(position, (0, 0))
        ctr.append((position, shown, clicks, clicks / shown if shown else None))
    uploads = DailyPhotoUploadRollup.objects.filter(day__range=(first, last)).aggregate(accepted=Sum("accepted"))
    photo = [k for k in kinds if k.kind in ("photo", "hybrid")]
    funnel = [
        ("Photos uploaded", uploads["accepted"] or 0),
        ("Photo result pages", sum(k.searches for k in photo)),
        ("Clicked a result", sum(k.clicked for k in photo)),
        ("Added to cart", sum(k.carted for k in photo)),
        ("Bought", sum(k.purchased for k in photo)),
    ]
    return SearchAnalytics(
        first=first,
        last=last,
        days=days,
        searches_per_day=per_day,
        kinds=kinds,
        searches=sum(k.searches for k in kinds),
        zero_results=sum(k.zero_results for k in kinds),
        top_queries=top,
        top_zero_result_queries=zero,
        ctr_by_position=ctr,
        funnel=funnel,
    )
