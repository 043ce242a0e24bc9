"""The evaluation's metrics: plain functions of ranked relevance flags (over the first K = 10
results; search.evaluation says what each measures)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

K = 10


def precision_at_k(relevant: Sequence[bool], k: int = K) -> float:
    """Share of the first k places holding a relevant result; missing places are misses."""
    return sum(1 for flag in relevant[:k] if flag) / k


def average_precision_at_k(relevant: Sequence[bool], relevant_total: int, k: int = K) -> float:
    """AP@k = 1/min(k, R) * sum over ranks i <= k of P@i * rel(i); R = relevant items that
    exist (the normalisation makes a perfect list score 1 even when R < k)."""
    if relevant_total < 1:
        raise ValueError("AP is undefined for a query with no relevant item")
    hits, total = 0, 0.0
    for rank, flag in enumerate(relevant[:k], start=1):
        if flag:
            hits += 1
            total += hits / rank
    return total / min(k, relevant_total)


def overlap_at_k(found: Sequence[int], reference: Sequence[int], k: int = K) -> float:
    """Share of the reference list's first k ids that `found`'s first k also hold: recall@k
    of an approximate search against the exact one."""
    expected = set(reference[:k])
    if not expected:
        raise ValueError("the reference list is empty")
    return len(expected & set(found[:k])) / len(expected)


def latency_percentiles(milliseconds: Sequence[float]) -> dict[str, float | None]:
    """p50/p95/p99 (linear interpolation between the two nearest samples, numpy's default)."""
    if len(milliseconds) == 0:
        return {"p50_ms": None, "p95_ms": None, "p99_ms": None}
    p50, p95, p99 = np.percentile(np.asarray(milliseconds, dtype=np.float64), [50, 95, 99])
    return {"p50_ms": float(p50), "p95_ms": float(p95), "p99_ms": float(p99)}


@dataclass(frozen=True)
class QueryOutcome:
    """One query picture's results, reduced to what the metrics need."""

    query: str  # the picture's path inside the data set, for people
    label: str
    hits: tuple[str | None, ...]  # the class of each returned product, best first
    relevant_total: int  # searchable catalogue products of `label`
    latency_ms: float | None  # None: an untimed run (held_out_report)
    recall: float | None = None  # overlap_at_k with exact search; None when not measured

    @property
    def relevant(self) -> list[bool]:
        return [hit == self.label for hit in self.hits]


def _mean(values: Sequence[float]) -> float | None:
    return float(np.mean(values)) if len(values) else None


def summarise(outcomes: Sequence[QueryOutcome], k: int = K) -> dict:
    """The metrics over all queries, and mAP@k / P@1 per class."""
    recalls = [o.recall for o in outcomes if o.recall is not None]
    by_class: dict[str, list[QueryOutcome]] = defaultdict(list)
    for outcome in outcomes:
        by_class[outcome.label].append(outcome)
    return {
        "map_at_10": _mean([average_precision_at_k(o.relevant, o.relevant_total, k) for o in outcomes]),
        "p_at_1": _mean([precision_at_k(o.relevant, 1) for o in outcomes]),
        "p_at_10": _mean([precision_at_k(o.relevant, k) for o in outcomes]),
        "recall_at_10": _mean(recalls),
        "recall_queries": len(recalls),
        **latency_percentiles([o.latency_ms for o in outcomes if o.latency_ms is not None]),
        "per_class": {
            label: {
                "queries": len(group),
                "map_at_10": _mean([average_precision_at_k(o.relevant, o.relevant_total, k) for o in group]),
                "p_at_1": _mean([precision_at_k(o.relevant, 1) for o in group]),
            }
            for label, group in sorted(by_class.items())
        },
    }


def rounded(summary: dict) -> dict:
    """For people and JSON: metrics to 4 decimals, milliseconds to 2 (the tests compare these)."""

    def value(key: str, number):
        if isinstance(number, dict):
            return {k: value(k, v) for k, v in number.items()}
        if isinstance(number, float):
            return round(number, 2 if key.endswith("_ms") else 4)
        return number

    return {key: value(key, number) for key, number in summary.items()}
