import math

import numpy as np
import pytest

from ranking.features import (
    FEATURE_NAMES,
    Candidate,
    ProductFacts,
    Profile,
    Rates,
    SearchContext,
    columns,
    feature_matrix,
    without_personal,
)

RATES = Rates(ctr=0.1, cart_rate=0.2)


def column(matrix, name):
    return matrix[:, FEATURE_NAMES.index(name)]


def facts(**overrides):
    values = dict(price=20.0, colours=("red",), brand_id=1, category_id=5, in_stock=True, age_days=9.0)
    return ProductFacts(**{**values, **overrides})


def test_a_text_search_without_a_profile():
    context = SearchContext(kind="text", query_words=2, query_colours=("red",))
    candidates = [Candidate(10, 4.0, None, None, None, 2), Candidate(11, 1.0, None, None, None, 1)]
    matrix = feature_matrix(
        context,
        candidates,
        {10: facts(clicks=3.0, impressions=10.0, carts=1.0), 11: facts(price=80.0, colours=("blue",), in_stock=False)},
        None,
        RATES,
    )
    assert matrix.shape == (2, len(FEATURE_NAMES)) and matrix.dtype == np.float32
    assert column(matrix, "search_kind").tolist() == [0, 0]
    assert column(matrix, "fused_rank").tolist() == [1, 2]
    assert column(matrix, "score_share").tolist() == [1.0, 0.25]
    assert np.isnan(column(matrix, "visual_similarity")).all()
    assert column(matrix, "word_share").tolist() == [1.0, 0.5]
    assert column(matrix, "colour_match").tolist() == [1.0, 0.0]
    # The candidates' median price is 50: log(20/50), log(80/50).
    assert column(matrix, "price_relative") == pytest.approx([math.log(0.4), math.log(1.6)], abs=1e-6)
    assert column(matrix, "in_stock").tolist() == [1.0, 0.0]
    assert column(matrix, "age_days_log") == pytest.approx([math.log(10)] * 2, abs=1e-6)
    assert column(matrix, "clicks_log") == pytest.approx([math.log(4), 0.0], abs=1e-6)
    # (3 + 20 x 0.1) / (10 + 20) and, with no history, the catalogue's rate itself.
    assert column(matrix, "ctr_smoothed") == pytest.approx([5 / 30, 0.1], abs=1e-6)
    assert column(matrix, "cart_rate_smoothed") == pytest.approx([(1 + 1) / 8, 0.2], abs=1e-6)
    personal = matrix[:, [FEATURE_NAMES.index(name) for name in ("affinity_category", "taste_similarity")]]
    assert np.isnan(personal).all()  # a newcomer: nothing personal is known


def test_a_photo_search_with_a_profile():
    context = SearchContext(kind="photo", query_words=0, query_colours=())
    profile = Profile(
        weight=4.0,
        categories={5: 3.0},
        brands={2: 1.0},
        colours={"red": 2.0, "black": 1.0},
        log_price_mean=math.log(20.0),
        log_price_spread=0.5,
    )
    matrix = feature_matrix(
        context,
        [Candidate(10, 1.2, 0.8, 1.2, 0.6, 0)],
        {10: facts(price=40.0, colours=("black", "red"))},
        profile,
        RATES,
        {10: 0.7},
    )
    row = dict(zip(FEATURE_NAMES, matrix[0].tolist()))
    assert row["search_kind"] == 1
    assert row["visual_similarity"] == pytest.approx(0.8) and row["visual_score"] == pytest.approx(1.2)
    assert row["category_share"] == pytest.approx(0.6)
    assert math.isnan(row["word_share"]) and math.isnan(row["colour_match"])
    assert row["affinity_category"] == 0.75
    assert row["affinity_brand"] == 0.0
    assert row["affinity_colour"] == 0.5
    assert row["affinity_price"] == pytest.approx(-math.log(2.0) / 0.5, abs=1e-6)
    assert row["taste_similarity"] == pytest.approx(0.7)
    assert row["profile_weight_log"] == pytest.approx(math.log(5.0), abs=1e-6)


def test_a_candidate_deleted_meanwhile_has_only_what_search_said():
    matrix = feature_matrix(SearchContext("text", 1, ()), [Candidate(99, 2.0, None, None, None, 1)], {}, None, RATES)
    row = dict(zip(FEATURE_NAMES, matrix[0].tolist()))
    assert (row["fused_rank"], row["score_share"], row["word_share"]) == (1.0, 1.0, 1.0)
    assert math.isnan(row["price_relative"]) and math.isnan(row["in_stock"])


def test_columns_of_a_model_and_of_another_feature_set():
    assert columns(["fused_rank", "search_kind"]) == [1, 0]
    assert "affinity_colour" not in without_personal() and "ctr_smoothed" in without_personal()
    with pytest.raises(KeyError):
        columns(["a_feature_of_another_set"])
