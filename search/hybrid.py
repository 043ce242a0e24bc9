"""Fusing a photo's ranking with a text ranking (search.product_search, mode "hybrid").

Two methods (SEARCH_HYBRID_METHOD):

  "score"  score = re-ranked visual score + SEARCH_HYBRID_TEXT_WEIGHT x share of the query's
           words the product matches. Products that match the same words are ordered among
           themselves by how much they look like the photo; with the default weight (larger
           than the spread of visual scores) every product matching the words comes before
           every one that does not. A product the text found but the photo's candidates do not
           hold counts as looking like the photo no more than the least similar candidate.
  "rrf"    reciprocal rank fusion: each list adds 1 / (SEARCH_RRF_K + rank).

What is served (search.product_search.hybrid_ranking) ranks the photo among the words'
matches only, fuses, then narrows (narrowed()): only products both lists hold, so "Refine
with words" filters and re-ranks the photo's results. The figures below fused the photo's
own 200 nearest; served now measures 0.841 / 0.848 and 0.842 / 0.849 (docs/search.md).

Why "score" by default, measured (search/evaluation/hybrid.py, `evaluate_search --hybrid`) on ../shared/datasets/clothing-small
(catalogue = train, 3068 products whose colours the pipeline computed; queries = a
validation photo + a colour word; relevant = same class and that colour among the
product's colours), mAP@10 / P@1 with the query photo's own colour (341 queries): photo
only 0.370 / 0.543, rrf k=60 0.456 / 0.719, score (weight 3) 0.835 / 0.850; with each of 8
colours (2728 queries): 0.102 / 0.158, 0.327 / 0.635, 0.806 / 0.852. The whole table is in
visualshop/settings/photo_search.py. RRF is weak here
because a one-word colour query ranks all its matches equally (ties broken by id), so a
matching product far down the photo's list can beat a matching product of the photo's kind.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from search.reranking import Rescored
from search.text import TextHit
from search.text.query import STOP_WORDS, parse

METHODS = ("score", "rrf")


@dataclass(frozen=True)
class Fused:
    product_id: int
    score: float  # higher is better; the scale depends on the method
    visual: Rescored | None  # the product's best photo candidate (None: found by the words only)
    matched_words: tuple[str, ...]


def query_word_count(text: str) -> int:
    """Distinct words the shopper wants (not excluded, not stop words): the denominator of the
    share of words a product matches."""
    words = {word.text.lower() for word in parse(text).words if not word.negated}
    return len(words - STOP_WORDS)


def fuse(
    visual: Sequence[Rescored],
    text_hits: Sequence[TextHit],
    *,
    method: str,
    words: int,
    weight: float = 0.0,
    k: int = 60,
    exclude_product_id: int | None = None,
) -> list[Fused]:
    """Every product of either list once, best first (ties by product id).

    visual: one re-scored candidate per product, best first. text_hits: best first.
    words: query_word_count of the text (for "score"). weight: SEARCH_HYBRID_TEXT_WEIGHT,
    k: SEARCH_RRF_K.
    """
    if method not in METHODS:
        raise ValueError(f"unknown hybrid method {method!r}: expected one of {', '.join(METHODS)}")
    by_product = {item.candidate.product_id: item for item in visual}
    matched = {hit.product_id: hit.matched_words for hit in text_hits if hit.product_id != exclude_product_id}
    scores: dict[int, float] = {}
    if method == "rrf":
        for rank, item in enumerate(visual, start=1):
            scores[item.candidate.product_id] = 1.0 / (k + rank)
        rank = 0
        for hit in text_hits:
            if hit.product_id == exclude_product_id:
                continue
            rank += 1
            scores[hit.product_id] = scores.get(hit.product_id, 0.0) + 1.0 / (k + rank)
    else:
        floor = min((item.score for item in visual), default=0.0)
        for product_id, item in by_product.items():
            scores[product_id] = item.score
        for product_id, found in matched.items():
            share = min(1.0, len(found) / words) if words else 1.0
            scores[product_id] = scores.get(product_id, floor) + weight * share
    if method == "rrf":
        order = sorted(scores, key=lambda pid: (-scores[pid], pid))
    else:
        # Equal scores (products only the words found, all matching the same words) keep the
        # photo's order, then the text backend's.
        position = {
            pid: index
            for index, pid in enumerate(
                [*by_product, *(hit.product_id for hit in text_hits if hit.product_id not in by_product)]
            )
        }
        order = sorted(scores, key=lambda pid: (-scores[pid], position[pid]))
    return [Fused(pid, scores[pid], by_product.get(pid), matched.get(pid, ())) for pid in order]


def narrowed(fused: Sequence[Fused]) -> list[Fused]:
    """What refining a photo's results with words shows: the photo's products that match the
    words, in the fused order. Words narrow the photo's results, never widen them: a product
    only the words found, or one of the photo's that matches none of the words, is left out."""
    return [item for item in fused if item.visual is not None and item.matched_words]
