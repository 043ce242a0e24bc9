"""Search as shoppers get it: today's order (search.product_search), re-ordered by the live
ranker with the visitor's profile.

The candidates are the first RANKING_CANDIDATES results of today's order (a photo alone: the
products of its SEARCH_CANDIDATES nearest images, _candidates_request): their features are
built (ranking.features) and the live ranker scores them in this process; the page asked for
is cut from that order. Pages deeper than the candidates keep today's order. Today's order is
served unchanged when no ranker is live, when the live one was trained on another feature set,
or when it fails; the features of what was shown are returned either way, for the interface
to log with the search's id (ranking.services.shown_results_log): that is the training data.
"""

from __future__ import annotations

import logging
import random
import uuid
from dataclasses import dataclass, replace

import numpy as np
from django.conf import settings

from ranking import features, selectors
from ranking.models import EXPLORED_SUFFIX
from search.hybrid import query_word_count
from search.product_search import SearchRequest, SearchResults, search_products
from search.text.query import parse
from vision.colours import NAMES as COLOUR_NAMES

logger = logging.getLogger(__name__)
_exploration = random.Random()

DEFAULT_ORDER = "default"


@dataclass(frozen=True)
class RankedSearch:
    results: SearchResults  # the page asked for, in the order served
    ranker: str  # what ordered it: "default" (today's order) or "ranker-<version>"
    personalised: bool  # the visitor's profile was used
    shown_features: np.ndarray | None  # rows of the page's hits (None: a page beyond the candidates)
    first_position: int  # the page's first result's position (1-based)


def ranked_search(
    request: SearchRequest,
    *,
    visitor_id: uuid.UUID | None = None,
    personalise: bool | None = None,
    rng: random.Random | None = None,
) -> RankedSearch:
    """search_products, with the candidates re-ordered by the live ranker. Raises what
    search_products raises. personalise: use the visitor's profile (default
    RANKING_PERSONALISATION; an experiment may turn it off for a visitor). rng: the draws of
    the exploration (default: the process's own; the simulator passes its shopper's, so a
    simulation stays the same for a seed)."""
    depth = settings.RANKING_CANDIDATES
    first_position = request.offset + 1
    if request.offset + request.limit > depth:
        return RankedSearch(search_products(request), DEFAULT_ORDER, False, None, first_position)
    everything = search_products(_candidates_request(request, depth))
    personalise = settings.RANKING_PERSONALISATION if personalise is None else personalise
    found = selectors.visitor_profile(visitor_id) if personalise else None
    profile, taste, taste_model_id = found if found is not None else (None, None, None)
    matrix = candidate_features(request.text, everything, profile, taste, taste_model_id)
    order, ranker = _order(matrix)
    if (rng or _exploration).random() < settings.RANKING_EXPLORATION:
        order = explored(order, rng or _exploration)
        ranker += EXPLORED_SUFFIX
    page = order[request.offset : request.offset + request.limit]
    results = replace(everything, hits=[everything.hits[i] for i in page])
    if ranker != DEFAULT_ORDER:
        # Scores of today's order no longer match the order: no match percent is shown.
        results = replace(results, score_ceiling=None)
    return RankedSearch(results, ranker, profile is not None, matrix[page], first_position)


def _candidates_request(request: SearchRequest, depth: int) -> SearchRequest:
    """The request for the candidates: the first `depth` results for words (with or without a
    photo: photo + words already ranks SEARCH_HYBRID_PHOTO_CANDIDATES of the words' matches);
    for a photo alone, every product among its SEARCH_CANDIDATES nearest images, which search
    reads and re-scores for its first page anyway (asking for `depth` products would read 4
    images per product: 400 instead of 100)."""
    if request.has_picture and not request.text.strip():
        return replace(request, offset=0, limit=request.offset + request.limit, all_candidates=True)
    return replace(request, offset=0, limit=depth)


def candidate_features(
    text: str,
    results: SearchResults,
    profile: features.Profile | None,
    taste: np.ndarray | None = None,
    taste_model_id: int | None = None,
) -> np.ndarray:
    """The feature matrix of a search's results in today's order; what it reads of the
    products comes through ranking.fact_cache (no query once they are held)."""
    context = features.SearchContext(
        kind=results.mode,
        query_words=query_word_count(text) if text.strip() else 0,
        query_colours=tuple(sorted({w.text.lower() for w in parse(text).words if not w.negated} & set(COLOUR_NAMES))),
    )
    candidates = [
        features.Candidate(
            product_id=hit.product_id,
            score=hit.score,
            visual_similarity=hit.visual_similarity,
            visual_score=hit.visual_score,
            category_share=hit.category_share,
            matched_words=len(hit.matched_words),
        )
        for hit in results.hits
    ]
    facts, rates, similarities = selectors.product_facts(
        [c.product_id for c in candidates], taste=taste, taste_model_id=taste_model_id
    )
    return features.feature_matrix(context, candidates, facts, profile, rates, similarities)


def explored(order: np.ndarray, rng: random.Random) -> np.ndarray:
    """The order with its first RANKING_EXPLORATION_DEPTH results shuffled.

    Why: a shopper's clicks say as much about where a result was shown as about the result
    (simulation.click_model: position 1 is examined 1.7x as often as position 2). Served
    without exploration, where a result is shown is fixed by today's order, so a model cannot
    tell "shown first" from "ranked first by today's order" (features.fused_rank); shuffled in a
    few searches, the two come apart and the position-aware training can separate them."""
    depth = min(settings.RANKING_EXPLORATION_DEPTH, len(order))
    top = list(order[:depth])
    rng.shuffle(top)
    return np.concatenate([np.asarray(top, dtype=order.dtype), order[depth:]])


def _order(matrix: np.ndarray) -> tuple[np.ndarray, str]:
    """The candidates' order: the live ranker's scores, best first (ties keep today's order);
    today's order when there is no usable ranker."""
    today = np.arange(len(matrix))
    if len(matrix) == 0:
        return today, DEFAULT_ORDER
    try:
        live = selectors.live_ranker()
    except Exception:  # a model text LightGBM cannot parse: shoppers still get results
        logger.exception("the live ranker cannot be loaded; today's order is served")
        return today, DEFAULT_ORDER
    if live is None:
        return today, DEFAULT_ORDER
    if live.feature_set != features.FEATURE_SET:
        logger.warning(
            "ranker %s was trained on feature set %s, not %s: today's order is served",
            live.version_id,
            live.feature_set,
            features.FEATURE_SET,
        )
        return today, DEFAULT_ORDER
    try:
        scores = live.booster.predict(matrix[:, features.columns(live.feature_names)], num_threads=1)
    except Exception:  # a model that cannot score (corrupt, wrong shape): shoppers still get results
        logger.exception("ranker %s failed to score; today's order is served", live.version_id)
        return today, DEFAULT_ORDER
    return np.argsort(-scores, kind="stable"), f"ranker-{live.version_id}"
