"""The evaluation's maths (no database, no model)."""

import pytest

from search.evaluation.metrics import (
    QueryOutcome,
    average_precision_at_k,
    latency_percentiles,
    overlap_at_k,
    precision_at_k,
    rounded,
    summarise,
)


@pytest.mark.parametrize(
    ("relevant", "k", "expected"),
    [
        ([True, False, True, False], 1, 1.0),
        ([False, True], 1, 0.0),
        ([True, False, True, False], 4, 0.5),
        ([True, True], 10, 0.2),  # a short list: its missing places are misses
        ([True] * 12, 10, 1.0),  # only the first k count
    ],
)
def test_precision_at_k(relevant, k, expected):
    assert precision_at_k(relevant, k) == expected


@pytest.mark.parametrize(
    ("relevant", "relevant_total", "expected"),
    [
        ([True, True, False], 2, 1.0),  # every relevant item first: perfect, although R < 10
        ([False, True, False, True], 4, 0.25),  # (1/2 + 2/4) / min(10, 4)
        ([False, True, False, True], 2, 0.5),  # the same list when only two exist
        ([True] * 10, 50, 1.0),  # R > 10: normalised by 10
        ([True] * 5 + [False] * 5, 50, 0.5),  # five of the ten possible hits, all first
        ([False] * 10 + [True], 3, 0.0),  # rank 11 is outside AP@10
        ([], 3, 0.0),
    ],
)
def test_average_precision_at_10_is_normalised_by_min_10_and_the_relevant_items(relevant, relevant_total, expected):
    assert average_precision_at_k(relevant, relevant_total) == expected


def test_average_precision_refuses_a_query_without_relevant_items():
    with pytest.raises(ValueError, match="^AP is undefined for a query with no relevant item$"):
        average_precision_at_k([False], 0)


def test_overlap_at_k_is_the_share_of_the_exact_top_k_found():
    exact = list(range(1, 11))
    assert overlap_at_k([1, 2, 3, 4, 5, 6, 7, 8, 98, 99], exact) == 0.8
    assert overlap_at_k(list(reversed(exact)), exact) == 1.0  # order does not matter
    assert overlap_at_k([3, 1], [1, 2, 3, 4], k=2) == 0.5  # only the first k of each
    assert overlap_at_k([7], [7, 8]) == 0.5
    with pytest.raises(ValueError, match="^the reference list is empty$"):
        overlap_at_k([1], [])


def test_latency_percentiles_interpolate_between_samples():
    assert latency_percentiles([float(ms) for ms in range(101)]) == {"p50_ms": 50.0, "p95_ms": 95.0, "p99_ms": 99.0}
    assert latency_percentiles([1.0, 2.0]) == {"p50_ms": 1.5, "p95_ms": 1.95, "p99_ms": 1.99}
    assert latency_percentiles([]) == {"p50_ms": None, "p95_ms": None, "p99_ms": None}


def outcome(label, hits, relevant_total, latency_ms, recall=None):
    return QueryOutcome(f"validation/{label}/q.jpg", label, tuple(hits), relevant_total, latency_ms, recall)


def test_summary_over_queries_and_per_class():
    outcomes = [
        outcome("coat", ["coat", "hat", "coat"], 2, 10.0, recall=1.0),  # AP (1 + 2/3) / 2
        outcome("coat", ["hat", "coat"], 4, 20.0, recall=0.5),  # AP (1/2) / 4
        outcome("hat", ["hat"] * 10, 20, 30.0),  # AP 1, recall not measured
        outcome("hat", [None, "hat"], 1, 40.0, recall=0.0),  # a product missing its class: a miss
    ]
    summary = rounded(summarise(outcomes))
    assert summary == {
        "map_at_10": 0.6146,  # (5/6 + 1/8 + 1 + 1/2) / 4
        "p_at_1": 0.5,
        "p_at_10": 0.35,  # (2 + 1 + 10 + 1) / 40
        "recall_at_10": 0.5,
        "recall_queries": 3,
        "p50_ms": 25.0,
        "p95_ms": 38.5,
        "p99_ms": 39.7,
        "per_class": {
            "coat": {"queries": 2, "map_at_10": 0.4792, "p_at_1": 0.5},
            "hat": {"queries": 2, "map_at_10": 0.75, "p_at_1": 0.5},
        },
    }


def test_summary_of_no_queries_has_no_numbers():
    assert summarise([]) == {
        "map_at_10": None,
        "p_at_1": None,
        "p_at_10": None,
        "recall_at_10": None,
        "recall_queries": 0,
        "p50_ms": None,
        "p95_ms": None,
        "p99_ms": None,
        "per_class": {},
    }


def test_untimed_outcomes_count_in_the_quality_numbers_not_in_the_latencies():
    summary = summarise([outcome("coat", ["coat"], 1, 10.0), outcome("coat", ["hat", "coat"], 1, None)])
    assert (summary["map_at_10"], summary["p50_ms"], summary["p99_ms"]) == (0.75, 10.0, 10.0)
