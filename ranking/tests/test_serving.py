import random
import uuid

import numpy as np
import pytest

from ranking import selectors, services, serving
from ranking.features import FEATURE_NAMES, FEATURE_SET
from ranking.models import RankerVersion, ShownResults
from ranking.training import Dataset, train
from search.product_refresh import products_refresh
from search.product_search import SearchRequest, search_products

pytestmark = pytest.mark.django_db


@pytest.fixture
def texts(shop):
    products_refresh([product.pk for product in shop.products.values()], only_dirty=False)
    return shop


@pytest.fixture
def no_exploration(settings):
    settings.RANKING_EXPLORATION = 0.0


def sold_out_first() -> RankerVersion:
    """A ranker that learnt to put what is out of stock first (a rule today's order never
    follows, so its effect is plain to see)."""
    rng = np.random.default_rng(0)
    searches, size = 200, 5
    rows = rng.normal(size=(searches * size, len(FEATURE_NAMES))).astype(np.float32)
    in_stock = rng.integers(0, 2, size=searches * size).astype(np.float32)
    rows[:, FEATURE_NAMES.index("in_stock")] = in_stock
    labels = (in_stock == 0).astype(np.int32)
    positions = np.tile(np.arange(1, size + 1, dtype=np.int32), searches)
    data = Dataset(rows, labels, positions, [size] * searches, [])
    trained = train(data, ("in_stock", "fused_rank"), rounds=20)
    return RankerVersion.objects.create(
        feature_set=FEATURE_SET,
        feature_names=list(trained.feature_names),
        model_text=trained.booster.model_to_string(),
    )


def ids(results) -> list[int]:
    return [hit.product_id for hit in results.hits]


def test_without_a_live_ranker_todays_order_is_served_with_its_features(texts, no_exploration):
    request = SearchRequest(text="dress", limit=24)

    ranked = serving.ranked_search(request, visitor_id=uuid.uuid4())

    assert ranked.ranker == "default" and ranked.personalised is False
    assert ids(ranked.results) == ids(search_products(request)) == [texts.id("D1"), texts.id("D2")]
    assert ranked.shown_features.shape == (2, len(FEATURE_NAMES))
    assert ranked.shown_features[:, FEATURE_NAMES.index("in_stock")].tolist() == [1.0, 0.0]
    assert ranked.results.score_ceiling == search_products(request).score_ceiling


def test_a_live_ranker_reorders_and_its_features_are_logged(texts, no_exploration, django_capture_on_commit_callbacks):
    version = sold_out_first()
    services.ranker_promote(version)
    visitor = uuid.uuid4()

    ranked = serving.ranked_search(SearchRequest(text="dress", limit=24), visitor_id=visitor)

    assert ranked.ranker == f"ranker-{version.pk}"
    assert ids(ranked.results) == [texts.id("D2"), texts.id("D1")]
    assert ranked.results.score_ceiling is None  # no match percent that would contradict the order
    search_id = uuid.uuid4()
    with django_capture_on_commit_callbacks(execute=True):
        services.shown_results_log(search_id, visitor, ranked)
    logged = ShownResults.objects.get()
    assert (logged.search_id, logged.ranker, logged.product_ids) == (
        search_id,
        ranked.ranker,
        [texts.id("D2"), texts.id("D1")],
    )
    matrix = np.frombuffer(bytes(logged.features), np.float32).reshape(2, len(FEATURE_NAMES))
    assert matrix[:, FEATURE_NAMES.index("fused_rank")].tolist() == [2.0, 1.0]  # today's ranks


def test_a_ranker_of_another_feature_set_or_that_cannot_score_falls_back(texts, no_exploration):
    version = sold_out_first()
    services.ranker_promote(version)
    RankerVersion.objects.filter(pk=version.pk).update(feature_set="2020-01-01.1")
    assert serving.ranked_search(SearchRequest(text="dress")).ranker == "default"

    broken = sold_out_first()
    broken.feature_names = ["in_stock"]  # the model expects two columns
    broken.save()
    RankerVersion.objects.filter(pk=version.pk).update(status=RankerVersion.Status.RETIRED)
    services.ranker_promote(broken)
    ranked = serving.ranked_search(SearchRequest(text="dress"))
    assert ranked.ranker == "default" and ids(ranked.results) == [texts.id("D1"), texts.id("D2")]

    corrupt = sold_out_first()
    corrupt.model_text = "not a LightGBM model"
    corrupt.save()
    services.ranker_promote(corrupt)
    assert serving.ranked_search(SearchRequest(text="dress")).ranker == "default"


def test_a_page_beyond_the_candidates_keeps_todays_order_and_logs_nothing(texts, settings, no_exploration):
    settings.RANKING_CANDIDATES = 1
    services.ranker_promote(sold_out_first())
    ranked = serving.ranked_search(SearchRequest(text="dress", limit=2))
    assert ranked.ranker == "default" and ranked.shown_features is None
    assert ids(ranked.results) == [texts.id("D1"), texts.id("D2")]


def test_exploration_shuffles_the_first_results_and_says_so(texts, settings):
    settings.RANKING_EXPLORATION = 1.0
    settings.RANKING_EXPLORATION_DEPTH = 2
    orders = {
        tuple(ids(serving.ranked_search(SearchRequest(text="dress"), rng=random.Random(seed)).results))
        for seed in range(20)
    }
    assert orders == {(texts.id("D1"), texts.id("D2")), (texts.id("D2"), texts.id("D1"))}
    assert serving.ranked_search(SearchRequest(text="dress"), rng=random.Random(0)).ranker == "default+explore"


def test_the_live_ranker_is_checked_once_per_interval_and_a_promotion_here_is_seen_at_once(
    texts, no_exploration, settings, django_capture_on_commit_callbacks, django_assert_num_queries
):
    settings.RANKING_LIVE_CHECK_SECONDS = 60.0
    selectors.live_ranker_forget()
    assert selectors.live_ranker() is None
    version = sold_out_first()
    RankerVersion.objects.filter(pk=version.pk).update(status=RankerVersion.Status.LIVE)  # as another process would
    with django_assert_num_queries(0):
        assert selectors.live_ranker() is None  # not read again within the interval

    RankerVersion.objects.filter(pk=version.pk).update(status=RankerVersion.Status.TRAINED)
    version.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        services.ranker_promote(version)
    assert serving.ranked_search(SearchRequest(text="dress", limit=24)).ranker == f"ranker-{version.pk}"
    with django_capture_on_commit_callbacks(execute=True):
        services.ranker_rollback()
    assert serving.ranked_search(SearchRequest(text="dress", limit=24)).ranker == "default"
    selectors.live_ranker_forget()
