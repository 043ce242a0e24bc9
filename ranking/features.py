"""The ranker's features for one search's candidates: one builder for training and serving.

Serving builds the matrix (ranking.serving), orders the results with it and logs the rows of
what it showed (ranking.models.ShownResults); training reads those logged rows back. So a
model is trained on exactly the numbers it is later given, and a change here is a new
FEATURE_SET (a model names the set it was trained on and is not served another: the serving
falls back to today's order).

Everything is a number per (search, product, visitor); NaN is "not known" (a text search has
no visual similarity, a new visitor no affinities), which LightGBM treats as missing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

FEATURE_SET = "2026-12-07.1"

SEARCH_KINDS = {"text": 0, "photo": 1, "hybrid": 2}

# The order of the matrix's columns. PERSONAL_FEATURES are the visitor's own; a model trained
# without them ranks the same for everyone.
FEATURE_NAMES = (
    "search_kind",  # 0 text, 1 photo, 2 hybrid
    "fused_rank",  # 1-based position in today's order
    "score_share",  # today's score / the best score among the candidates (0..1)
    "visual_similarity",  # raw cosine of the product's best image to the photo
    "visual_score",  # re-ranked visual score (projection + category vote)
    "category_share",  # share of the photo's neighbours' vote its category got
    "word_share",  # share of the query's words the product matches
    "colour_match",  # 1 when the product has a colour the query names, 0 when not, NaN: none named
    "price_relative",  # log(price / median price of the candidates)
    "in_stock",
    "age_days_log",  # log1p(days since the product was added)
    "impressions_log",  # decayed counts from searches (ranking.engagement), log1p
    "clicks_log",
    "carts_log",
    "purchases_log",
    "ctr_smoothed",  # clicks / impressions, smoothed toward the catalogue's rate
    "cart_rate_smoothed",  # adds to cart / clicks, smoothed likewise
    "affinity_category",  # the visitor's share of engagement with the product's category
    "affinity_brand",
    "affinity_colour",  # the best of the product's colours
    "affinity_price",  # -|log price - the visitor's mean log price| / spread
    "taste_similarity",  # cosine of the product's best image to the visitor's taste vector
    "profile_weight_log",  # log1p(the visitor's decayed engagement): how much to trust the above
)
PERSONAL_FEATURES = (
    "affinity_category",
    "affinity_brand",
    "affinity_colour",
    "affinity_price",
    "taste_similarity",
    "profile_weight_log",
)
# Pseudo-counts of the smoothing: a product with no history gets the catalogue's rate, one with
# this many impressions (clicks) is halfway between the catalogue's and its own.
CTR_PRIOR_IMPRESSIONS = 20.0
CART_PRIOR_CLICKS = 5.0


@dataclass(frozen=True)
class Candidate:
    """One result of today's order, as search gives it."""

    product_id: int
    score: float
    visual_similarity: float | None
    visual_score: float | None
    category_share: float | None
    matched_words: int


@dataclass(frozen=True)
class ProductFacts:
    """What the shop knows of a candidate product at serving time."""

    price: float
    colours: tuple[str, ...]
    brand_id: int | None
    category_id: int | None
    in_stock: bool
    age_days: float
    impressions: float = 0.0
    clicks: float = 0.0
    carts: float = 0.0
    purchases: float = 0.0


@dataclass(frozen=True)
class Profile:
    """A visitor's affinities (ranking.models.VisitorProfile, weights already decayed)."""

    weight: float
    categories: Mapping[int, float]
    brands: Mapping[int, float]
    colours: Mapping[str, float]
    log_price_mean: float | None
    log_price_spread: float | None


@dataclass(frozen=True)
class SearchContext:
    kind: str  # "text", "photo", "hybrid"
    query_words: int  # distinct words the shopper wants (search.hybrid.query_word_count)
    query_colours: tuple[str, ...]  # the shop's colour names the words ask for


@dataclass(frozen=True)
class Rates:
    """The catalogue's rates, what a product without history is smoothed toward."""

    ctr: float
    cart_rate: float


def feature_matrix(
    context: SearchContext,
    candidates: Sequence[Candidate],
    facts: Mapping[int, ProductFacts],
    profile: Profile | None,
    rates: Rates,
    taste_similarities: Mapping[int, float] | None = None,
) -> np.ndarray:
    """float32 [len(candidates), len(FEATURE_NAMES)]. A candidate without facts (deleted
    meanwhile) gets NaN for everything the shop would have said of it. taste_similarities:
    each product's best image cosine to the visitor's taste vector (NaN for one left out).
    Column by column, in numpy: 100 candidates in about 0.3 ms."""
    count = len(candidates)
    matrix = np.full((count, len(FEATURE_NAMES)), np.nan, dtype=np.float32)
    if not count:
        return matrix
    column = {name: i for i, name in enumerate(FEATURE_NAMES)}

    def put(name: str, values) -> None:
        matrix[:, column[name]] = values

    scores = np.array([c.score for c in candidates], dtype=np.float64)
    best = scores.max()
    put("search_kind", SEARCH_KINDS.get(context.kind, np.nan))
    put("fused_rank", np.arange(1, count + 1))
    put("score_share", scores / best if best > 0 else np.nan)
    put("visual_similarity", [_known(c.visual_similarity) for c in candidates])
    put("visual_score", [_known(c.visual_score) for c in candidates])
    put("category_share", [_known(c.category_share) for c in candidates])
    if context.query_words:
        put("word_share", np.minimum(1.0, np.array([c.matched_words for c in candidates]) / context.query_words))

    known = [facts.get(c.product_id) for c in candidates]
    rows = np.array([i for i, fact in enumerate(known) if fact is not None], dtype=np.intp)
    if not len(rows):
        return matrix
    present = [known[i] for i in rows]

    def put_known(name: str, values) -> None:
        matrix[rows, column[name]] = values

    wanted_colours = set(context.query_colours)
    if wanted_colours:
        put_known("colour_match", [float(bool(wanted_colours & set(f.colours))) for f in present])
    prices = np.array([f.price for f in present], dtype=np.float64)
    priced = prices > 0
    if priced.any():
        with np.errstate(divide="ignore"):
            log_prices = np.where(priced, np.log(np.where(priced, prices, 1.0)), np.nan)
        put_known("price_relative", log_prices - math.log(float(np.median(prices[priced]))))
    put_known("in_stock", [float(f.in_stock) for f in present])
    put_known("age_days_log", np.log1p(np.maximum(0.0, [f.age_days for f in present])))
    impressions = np.array([f.impressions for f in present])
    clicks = np.array([f.clicks for f in present])
    carts = np.array([f.carts for f in present])
    put_known("impressions_log", np.log1p(impressions))
    put_known("clicks_log", np.log1p(clicks))
    put_known("carts_log", np.log1p(carts))
    put_known("purchases_log", np.log1p([f.purchases for f in present]))
    put_known("ctr_smoothed", (clicks + CTR_PRIOR_IMPRESSIONS * rates.ctr) / (impressions + CTR_PRIOR_IMPRESSIONS))
    put_known("cart_rate_smoothed", (carts + CART_PRIOR_CLICKS * rates.cart_rate) / (clicks + CART_PRIOR_CLICKS))
    if profile is not None and profile.weight > 0:
        similarities = taste_similarities or {}
        matrix[rows, column["affinity_category"] : column["profile_weight_log"] + 1] = [
            _personal(fact, profile, similarities.get(candidates[i].product_id)) for i, fact in zip(rows, present)
        ]
    return matrix


def _personal(fact: ProductFacts, profile: Profile, taste_similarity: float | None) -> list[float]:
    total = profile.weight
    category = profile.categories.get(fact.category_id, 0.0) / total if fact.category_id is not None else 0.0
    brand = profile.brands.get(fact.brand_id, 0.0) / total if fact.brand_id is not None else 0.0
    colour = max((profile.colours.get(c, 0.0) for c in fact.colours), default=0.0) / total
    if profile.log_price_mean is not None and fact.price > 0:
        spread = max(profile.log_price_spread or 0.0, 0.1)
        price = -abs(math.log(fact.price) - profile.log_price_mean) / spread
    else:
        price = np.nan
    return [category, brand, colour, price, _known(taste_similarity), math.log1p(total)]


def _known(value: float | None) -> float:
    return np.nan if value is None else float(value)


def columns(names: Sequence[str]) -> list[int]:
    """The matrix columns of a model's feature list. Raises KeyError for a name this feature
    set does not have (a model of another set)."""
    index = {name: i for i, name in enumerate(FEATURE_NAMES)}
    return [index[name] for name in names]


def without_personal() -> tuple[str, ...]:
    return tuple(name for name in FEATURE_NAMES if name not in PERSONAL_FEATURES)
