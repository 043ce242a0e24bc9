import math
import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from ranking.features import FEATURE_NAMES, FEATURE_SET
from ranking.models import ShownResults
from ranking.training import (
    MIN_EXPLORED_SEARCHES,
    MIN_PROPENSITY,
    Dataset,
    Propensities,
    dataset,
    examination_propensities,
    mean_ndcg,
    ndcg_at,
    todays_order_scores,
    train,
)
from tracking.models import Event

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
VISITOR = uuid.uuid4()


def shown(products: list[int], minutes: int = 0) -> uuid.UUID:
    search_id = uuid.uuid4()
    matrix = np.zeros((len(products), len(FEATURE_NAMES)), np.float32)
    matrix[:, FEATURE_NAMES.index("fused_rank")] = np.arange(1, len(products) + 1)
    matrix[:, FEATURE_NAMES.index("price_relative")] = [p / 10 for p in products]
    ShownResults.objects.create(
        search_id=search_id,
        occurred_at=NOW + timedelta(minutes=minutes),
        visitor_id=VISITOR,
        search_kind="text",
        feature_set=FEATURE_SET,
        ranker="default",
        product_ids=products,
        features=matrix.tobytes(),
    )
    return search_id


def event(kind: str, search_id: uuid.UUID, product_id: int, position: int | None = None, minutes: int = 1):
    Event.objects.create(
        event_id=uuid.uuid4(),
        kind=kind,
        occurred_at=NOW + timedelta(minutes=minutes),
        visitor_id=VISITOR,
        search_id=search_id,
        product_id=product_id,
        position=position,
    )


@pytest.mark.django_db
def test_rows_are_the_seen_results_labelled_by_what_the_shopper_did():
    first = shown([10, 11, 12, 13])
    for position, product in enumerate([10, 11, 12], start=1):  # 13 was never on screen
        event("impression", first, product, position)
    event("click", first, 11)
    event("click", first, 12)
    event("add_to_cart", first, 12)
    event("purchase", first, 12, minutes=60 * 24)  # credited a day later
    unclicked = shown([20, 21], minutes=5)
    event("impression", unclicked, 20, 1)
    event("impression", unclicked, 21, 2)
    never_seen = shown([30], minutes=6)  # noqa: F841 - no impression arrived (a bot, a closed tab)
    shown([40], minutes=60 * 24 * 3)  # after the window

    data = dataset(NOW, NOW + timedelta(days=1))

    assert data.search_ids == [first]
    assert data.groups == [3]
    assert data.labels.tolist() == [0, 1, 3]
    assert data.positions.tolist() == [1, 2, 3]
    assert data.features[:, FEATURE_NAMES.index("price_relative")].tolist() == pytest.approx([1.0, 1.1, 1.2])
    with_unclicked = dataset(NOW, NOW + timedelta(days=1), keep_unclicked=True)
    assert with_unclicked.search_ids == [first, unclicked] and with_unclicked.labels.tolist() == [0, 1, 3, 0, 0]


def test_ndcg_at_10_of_one_list():
    gains = np.array([0.0, 1.0, 3.0])
    # Ordered 2, 1, 0 by the scores: the ideal order.
    assert ndcg_at(np.array([0.1, 0.2, 0.3]), gains) == pytest.approx(1.0)
    # Today's order: (0 + 1/log2(3) + 3/log2(4)) / (3 + 1/log2(3)).
    expected = (1 / math.log2(3) + 3 / 2) / (3 + 1 / math.log2(3))
    assert ndcg_at(np.array([3.0, 2.0, 1.0]), gains) == pytest.approx(expected)
    assert math.isnan(ndcg_at(np.array([1.0, 2.0]), np.array([0.0, 0.0])))


def synthetic(searches: int = 300, size: int = 6, seed: int = 0) -> Dataset:
    """Searches whose clicked result is the one with the highest price_relative, shown at a
    random position: a model must learn price_relative, not the position."""
    rng = np.random.default_rng(seed)
    rows = rng.normal(size=(searches * size, len(FEATURE_NAMES))).astype(np.float32)
    labels = np.zeros(searches * size, np.int32)
    column = FEATURE_NAMES.index("price_relative")
    for search in range(searches):
        block = slice(search * size, (search + 1) * size)
        labels[block][np.argmax(rows[block, column])] = 1
    positions = np.tile(np.arange(1, size + 1, dtype=np.int32), searches)
    rows[:, FEATURE_NAMES.index("fused_rank")] = positions
    return Dataset(rows, labels, positions, [size] * searches, [uuid.uuid4() for _ in range(searches)])


def test_a_trained_ranker_learns_what_the_clicks_follow():
    data = synthetic()
    trained = train(data, ("fused_rank", "price_relative"), rounds=30)
    held_out = synthetic(seed=1)
    assert mean_ndcg(held_out, trained.scores(held_out.features)) > 0.95
    assert mean_ndcg(held_out, todays_order_scores(held_out)) < 0.6
    importance = trained.importance()
    assert set(importance) == {"fused_rank", "price_relative"}
    assert importance["price_relative"] > importance["fused_rank"]


def test_training_without_a_clicked_search_says_so():
    empty = Dataset(np.zeros((0, len(FEATURE_NAMES)), np.float32), np.zeros(0, np.int32), np.zeros(0, np.int32), [], [])
    with pytest.raises(ValueError, match="^no search with a click to learn from in the training window$"):
        train(empty)


def explored_clicks(searches: int, *, eta: float, explored: bool = True, seed: int = 0) -> Dataset:
    """Searches of 6 results shown in random order, each clicked with 0.5 * position ** -eta:
    what the shuffled first results of exploration record when relevance is the same for all."""
    rng = np.random.default_rng(seed)
    size = 6
    positions = np.tile(np.arange(1, size + 1, dtype=np.int32), searches)
    labels = (rng.random(searches * size) < 0.5 * positions.astype(np.float64) ** -eta).astype(np.int32)
    features = np.zeros((searches * size, len(FEATURE_NAMES)), np.float32)
    return Dataset(features, labels, positions, [size] * searches, [], [explored] * searches)


def test_examination_is_measured_on_the_explored_searches():
    propensities = examination_propensities(explored_clicks(4000, eta=0.8), depth=6)

    assert propensities.explored_searches == 4000
    assert propensities.eta == pytest.approx(0.8, abs=0.05)
    assert propensities.by_position[1] == 1.0
    assert propensities.by_position[4] == pytest.approx(4**-0.8, abs=0.03)
    # Beyond the explored depth: the fitted power law, never under MIN_PROPENSITY.
    tail = propensities.of(np.array([10, 10_000]))
    assert tail[0] == pytest.approx(10**-propensities.eta)
    assert tail[1] == MIN_PROPENSITY


def test_without_enough_exploration_clicks_are_not_weighted():
    unexplored = examination_propensities(explored_clicks(4000, eta=0.8, explored=False), depth=6)
    few = examination_propensities(explored_clicks(MIN_EXPLORED_SEARCHES - 1, eta=0.8), depth=6)

    assert (unexplored.eta, unexplored.explored_searches) == (None, 0)
    assert (few.eta, few.explored_searches) == (None, MIN_EXPLORED_SEARCHES - 1)
    assert few.of(np.array([1, 5, 50])).tolist() == [1.0, 1.0, 1.0]


def test_a_click_far_down_counts_for_more_with_propensities():
    # One search: results A (shown 1st) and B (shown 4th), both clicked. B was looked at a
    # quarter as often, so its click says four times as much.
    data = Dataset(
        np.zeros((2, len(FEATURE_NAMES)), np.float32),
        np.array([1, 1], dtype=np.int32),
        np.array([1, 4], dtype=np.int32),
        [2],
        [],
        [False],
    )
    propensities = Propensities(np.array([1.0, 1.0, 0.5, 0.4, 0.25]), eta=1.0, explored_searches=40)

    assert mean_ndcg(data, np.array([1.0, 0.0])) == 1.0  # unweighted, both orders are ideal
    assert mean_ndcg(data, np.array([0.0, 1.0])) == 1.0
    assert mean_ndcg(data, np.array([0.0, 1.0]), propensities=propensities) == 1.0
    a_first = (1 + 4 / np.log2(3)) / (4 + 1 / np.log2(3))
    assert mean_ndcg(data, np.array([1.0, 0.0]), propensities=propensities) == pytest.approx(a_first)
