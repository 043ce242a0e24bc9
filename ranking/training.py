"""Training data and LightGBM LambdaRank: what the logged searches teach.

A training row is a result a shopper saw (an impression), with the features it was served
with (ranking.models.ShownResults) and a label from what the shopper then did with it from
that search: purchase 3 > add to cart 2 > click 1 > seen and skipped 0. Rows are grouped by
search; a search in which nothing was clicked teaches LambdaRank nothing and is left out.

Clicks are biased by position: shoppers examine the first results far more often
(simulation.click_model measures it at 1 / position ** 0.8), so a naive model learns that
whatever today's order put first is good. With `debias` the model is fitted as
s(x, position) = f(x) + g(position) (LightGBM's position-aware unbiased LambdaRank,
`lgb.Dataset(position=...)`) and only f(x) ranks (library-facts §3; Hu et al. WWW'19).
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import lightgbm
import numpy as np
from django.conf import settings
from django.db import connection

from ranking.features import FEATURE_NAMES, FEATURE_SET, columns
from ranking.models import ShownResults

LABELS = {"click": 1, "add_to_cart": 2, "purchase": 3}
LABEL_GAIN = [0.0, 1.0, 3.0, 7.0]
DEFAULT_PARAMS = {
    "objective": "lambdarank",
    "metric": "ndcg",
    "eval_at": [10],
    "label_gain": LABEL_GAIN,
    "lambdarank_truncation_level": 20,
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_data_in_leaf": 50,
    "feature_fraction": 0.9,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "num_threads": 1,
    "deterministic": True,
    "force_row_wise": True,
    "seed": 1,
    "verbose": -1,
}
ROUNDS = 200


@dataclass
class Dataset:
    """Rows of every feature (FEATURE_NAMES), grouped by search, in time order."""

    features: np.ndarray  # float32 [rows, len(FEATURE_NAMES)]
    labels: np.ndarray  # int32 [rows]
    positions: np.ndarray  # int32 [rows], 1-based positions the results were shown at
    groups: list[int]  # rows per search
    search_ids: list[uuid.UUID]

    @property
    def searches(self) -> int:
        return len(self.groups)

    def __len__(self) -> int:
        return len(self.labels)


def dataset(start: datetime, end: datetime, *, keep_unclicked: bool = False) -> Dataset:
    """The searches shown in [start, end) with what their shoppers did, up to
    TRACKING_ATTRIBUTION_HOURS after `end` (an add to cart or purchase credited to a search
    comes after it). Two queries."""
    shown = list(
        ShownResults.objects.filter(occurred_at__gte=start, occurred_at__lt=end, feature_set=FEATURE_SET)
        .order_by("occurred_at", "search_id")
        .values_list("search_id", "product_ids", "features")
    )
    outcome_end = end + timedelta(hours=settings.TRACKING_ATTRIBUTION_HOURS)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT search_id, product_id, kind, position FROM tracking_event
            WHERE search_id IS NOT NULL AND product_id IS NOT NULL
              AND kind IN ('impression', 'click', 'add_to_cart', 'purchase')
              AND occurred_at >= %s AND occurred_at < %s
            """,
            [start, outcome_end],
        )
        seen: dict[uuid.UUID, dict[int, int]] = {}
        labels: dict[tuple[uuid.UUID, int], int] = {}
        for search_id, product_id, kind, position in cursor.fetchall():
            if kind == "impression":
                if position is not None:
                    seen.setdefault(search_id, {})[product_id] = position
            else:
                key = (search_id, product_id)
                labels[key] = max(labels.get(key, 0), LABELS[kind])
    rows, row_labels, row_positions, groups, ids = [], [], [], [], []
    width = len(FEATURE_NAMES)
    for search_id, product_ids, blob in shown:
        positions = seen.get(search_id)
        if not positions:
            continue
        matrix = np.frombuffer(bytes(blob), dtype=np.float32).reshape(len(product_ids), width)
        picked = [(i, pid) for i, pid in enumerate(product_ids) if pid in positions]
        group_labels = [labels.get((search_id, pid), 0) for _, pid in picked]
        if not picked or (not keep_unclicked and max(group_labels) == 0):
            continue
        rows.append(matrix[[i for i, _ in picked]])
        row_labels.extend(group_labels)
        row_positions.extend(positions[pid] for _, pid in picked)
        groups.append(len(picked))
        ids.append(search_id)
    return Dataset(
        features=np.vstack(rows) if rows else np.zeros((0, width), np.float32),
        labels=np.asarray(row_labels, dtype=np.int32),
        positions=np.asarray(row_positions, dtype=np.int32),
        groups=groups,
        search_ids=ids,
    )


@dataclass
class Trained:
    booster: lightgbm.Booster
    feature_names: tuple[str, ...]
    params: dict
    seconds: float

    def scores(self, matrix: np.ndarray) -> np.ndarray:
        return self.booster.predict(matrix[:, columns(self.feature_names)], num_threads=1)

    def importance(self) -> dict[str, float]:
        gains = self.booster.feature_importance(importance_type="gain")
        return {name: round(float(gain), 3) for name, gain in zip(self.feature_names, gains)}


def train(
    data: Dataset,
    feature_names: Sequence[str] = FEATURE_NAMES,
    *,
    debias: bool = True,
    rounds: int = ROUNDS,
    params: dict | None = None,
) -> Trained:
    """A LambdaRank model on `data` with these features. Raises ValueError for data with no
    search to learn from."""
    if data.searches == 0:
        raise ValueError("no search with a click to learn from in the training window")
    names = tuple(feature_names)
    chosen = {**DEFAULT_PARAMS, **(params or {})}
    started = time.perf_counter()
    train_set = lightgbm.Dataset(
        data.features[:, columns(names)],
        label=data.labels,
        group=data.groups,
        position=data.positions if debias else None,
        feature_name=list(names),
        free_raw_data=True,
    )
    booster = lightgbm.train(chosen, train_set, num_boost_round=rounds)
    return Trained(booster, names, {**chosen, "rounds": rounds, "debias": debias}, time.perf_counter() - started)


def ndcg_at(scores: np.ndarray, gains: np.ndarray, k: int = 10) -> float:
    """NDCG@k of one list ordered by `scores` (best first; ties keep the list's order) against
    graded `gains` (already gains, not labels). 0 for a list whose every gain is 0... left out
    by callers (it has no ideal order)."""
    order = np.argsort(-scores, kind="stable")[:k]
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = float(np.sum(gains[order] * discounts[: len(order)]))
    ideal = np.sort(gains)[::-1][:k]
    idcg = float(np.sum(ideal * discounts[: len(ideal)]))
    return dcg / idcg if idcg > 0 else math.nan


def mean_ndcg(data: Dataset, scores: np.ndarray, k: int = 10) -> float:
    """Mean NDCG@k over the searches of `data` (labels as LABEL_GAIN gains), each ordered by
    `scores` (one per row). Searches with no positive label are skipped."""
    gains = np.asarray(LABEL_GAIN, dtype=np.float64)[data.labels]
    values, start = [], 0
    for size in data.groups:
        value = ndcg_at(scores[start : start + size], gains[start : start + size], k)
        if not math.isnan(value):
            values.append(value)
        start += size
    return float(np.mean(values)) if values else math.nan


def todays_order_scores(data: Dataset) -> np.ndarray:
    """Scores that order each search as today's order did (the fused rank, best first)."""
    return -data.features[:, FEATURE_NAMES.index("fused_rank")].astype(np.float64)
