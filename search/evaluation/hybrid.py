"""Photo + a colour word (hybrid search): the fusion methods compared, after the main run of
`manage.py evaluate_search --hybrid` and bench/search.py (search.evaluation.report).

Queries: every query picture with a colour word, in two sets:

  own      the word is the picture's own dominant colour (vision.colours on the same
           256 px working copy the pipeline measures): "this, in its colour"
  asked    each of COLOURS in turn: "this kind of thing, in red"

Relevant: a searchable catalogue product of the query's class whose colours
(Product.colours, from its pictures by search.product_refresh) hold the word. A (picture,
word) pair without any relevant product is left out. Metrics: mAP@10 and P@1
(search.evaluation.metrics).

The photo's candidates and re-scoring are search_products' own
(search.product_search.photo_ranking, SEARCH_HYBRID_PHOTO_CANDIDATES deep) and the words'
list is the text backend's first SEARCH_HYBRID_TEXT_CANDIDATES matches, as served; every
method fuses the same two lists with search.hybrid.fuse, so only the fusion differs:

  photo only   the photo's ranking
  text only    the words' ranking (a one-word query ranks its matches equally)
  rrf k=60     reciprocal rank fusion
  score w=W    the re-ranked visual score + W x share of the words, W = SEARCH_HYBRID_TEXT_WEIGHT
  served       what search_products serves (search.product_search.hybrid_ranking): the
               photo ranked among the words' matches only, fused as configured
               (SEARCH_HYBRID_METHOD, weight, SEARCH_RRF_K), narrowed to those matches

An evenly spread sample of the pairs is also run through search_products itself: it must
return exactly the "served" list (`served_check`; its p50 is of those calls, untimed
otherwise). Nothing here is timed as part of the evaluation's latencies.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence

import numpy as np
from django.conf import settings

from catalog.models import Product
from search import hybrid
from search.evaluation import progress
from search.evaluation.dataset import LabelledImage
from search.evaluation.metrics import K, average_precision_at_k, precision_at_k
from search.photo_search import embed_photo
from search.product_search import SearchRequest, hybrid_ranking, photo_ranking, search_products
from search.text import search_text
from vision import selectors as vision_selectors
from vision.colours import dominant_colours
from vision.decoding import ImageRejected, decode_image
from vision.onnx_model.preprocess import RESIZE, resize_short_side

COLOURS = ("black", "white", "grey", "blue", "red", "pink", "beige", "green")
SETS = ("own", "asked")
# Pairs also searched through search_products.
CHECK_QUERIES = 20


def say(message: str) -> None:
    progress.say(f"hybrid: {message}")


def served_fusion() -> dict:
    """The fusion search_products uses (search.product_search._hybrid), as fuse() arguments."""
    return {
        "method": settings.SEARCH_HYBRID_METHOD,
        "weight": settings.SEARCH_HYBRID_TEXT_WEIGHT,
        "k": settings.SEARCH_RRF_K,
    }


def method_names() -> list[str]:
    return ["photo only", "text only", "rrf k=60", f"score w={settings.SEARCH_HYBRID_TEXT_WEIGHT:g}", "served"]


def method_lists(visual: Sequence, hits: Sequence, *, words: int, served: Sequence[int]) -> dict[str, list[int]]:
    """The first K product ids of every method (method_names), from the photo's ranking
    (photo_ranking) and the words' hits (already the served text depth); `served` is what
    search_products serves (search.product_search.hybrid_ranking: the photo ranked among the
    words' matches only, fused, narrowed)."""

    def fused(**spec) -> list[int]:
        return [item.product_id for item in hybrid.fuse(visual, hits, words=words, **spec)[:K]]

    return {
        "photo only": [item.candidate.product_id for item in visual[:K]],
        "text only": [hit.product_id for hit in hits[:K]],
        "rrf k=60": fused(method="rrf", k=60),
        f"score w={settings.SEARCH_HYBRID_TEXT_WEIGHT:g}": fused(
            method="score", weight=settings.SEARCH_HYBRID_TEXT_WEIGHT
        ),
        "served": list(served[:K]),
    }


def own_colour(content: bytes) -> str | None:
    """The picture's first dominant colour, measured as the pipeline measures a catalogue
    picture's (vision.pipeline: the model's 256 px working copy)."""
    decoded = decode_image(content, max_pixels=settings.IMAGE_MAX_PIXELS, min_side=RESIZE)
    return next(iter(dominant_colours(resize_short_side(decoded.image))), None)


def check_sample(count: int, wanted: int) -> list[int]:
    """`wanted` indices of range(count) spread evenly (all of them when there are fewer)."""
    if count <= wanted:
        return list(range(count))
    return sorted({int(i) for i in np.linspace(0, count - 1, wanted).round()})


def hybrid_report(
    queries: Sequence[LabelledImage],
    labels: dict[int, str],
    *,
    check: int = CHECK_QUERIES,
    log: Callable[[str], None] = say,
) -> dict:
    """mAP@10 / P@1 of each fusion method (method_names) for both query sets, in the connected
    database after the main run; labels: searchable product id -> class (the catalogue)."""
    model = vision_selectors.embedding_model_active()
    colours = {
        pid: list(found or [])
        for pid, found in Product.objects.filter(pk__in=list(labels)).values_list("pk", "colours")
    }
    relevant_totals = Counter((labels[pid], colour) for pid in labels for colour in colours.get(pid, []))
    text_cache: dict[str, tuple[list, int]] = {}

    def text_hits(word: str) -> list:
        if word not in text_cache:
            found = search_text(word, limit=settings.SEARCH_HYBRID_TEXT_CANDIDATES, facets=False)
            text_cache[word] = (found.hits, found.total)
        return text_cache[word][0]

    scores: dict[str, dict[str, list[tuple[float, float]]]] = {kind: defaultdict(list) for kind in SETS}
    pairs: list[tuple[str, bytes, str, list[int]]] = []  # (query, content, word, served ids) for the check
    checkable: set[tuple[str, str]] = set()
    unusable: list[str] = []
    log(f"{len(queries)} query pictures, each with its own colour and with {len(COLOURS)} asked colours")
    for image in queries:
        try:
            content = image.path.read_bytes()
            vector = embed_photo(model, content)
            own = own_colour(content)
        except (OSError, ImageRejected) as exc:
            unusable.append(f"{image.name}: {exc}")
            continue
        visual = photo_ranking(model, vector, wanted=settings.SEARCH_HYBRID_PHOTO_CANDIDATES)
        asks = ([("own", own)] if own else []) + [("asked", colour) for colour in COLOURS]
        for kind, word in asks:
            total = relevant_totals[(image.label, word)]
            if total == 0:
                continue
            words = hybrid.query_word_count(word)
            served = hybrid_ranking(
                model, vector, text_hits(word), words=words, wanted=settings.SEARCH_HYBRID_PHOTO_CANDIDATES
            )
            lists = method_lists(visual, text_hits(word), words=words, served=[item.product_id for item in served])
            for name, ids in lists.items():
                flags = [labels.get(pid) == image.label and word in colours.get(pid, []) for pid in ids]
                scores[kind][name].append((average_precision_at_k(flags, total), precision_at_k(flags, 1)))
            if (image.name, word) not in checkable:  # "own" is also among the asked colours
                checkable.add((image.name, word))
                pairs.append((image.name, content, word, lists["served"]))

    sample = [pairs[index] for index in check_sample(len(pairs), check)]
    log(f"checking {len(sample)} of {len(pairs)} (picture, word) pairs against search_products")
    mismatches, milliseconds = [], []
    for name, content, word, expected in sample:
        started = time.perf_counter()
        served = [hit.product_id for hit in search_products(SearchRequest(image=content, text=word, limit=K)).hits]
        milliseconds.append((time.perf_counter() - started) * 1000)
        if served != expected:
            mismatches.append({"query": name, "word": word, "served": served, "expected": expected})

    def table(by_method: dict[str, list[tuple[float, float]]]) -> dict:
        rows = by_method.get("served", [])
        return {
            "queries": len(rows),
            "methods": {
                name: None
                if not by_method.get(name)
                else {
                    "map_at_10": round(float(np.mean([s[0] for s in by_method[name]])), 4),
                    "p_at_1": round(float(np.mean([s[1] for s in by_method[name]])), 4),
                }
                for name in method_names()
            },
        }

    return {
        "served": {
            **served_fusion(),
            "photo_candidates": settings.SEARCH_HYBRID_PHOTO_CANDIDATES,
            "text_candidates": settings.SEARCH_HYBRID_TEXT_CANDIDATES,
        },
        "colours_asked": list(COLOURS),
        # Searchable catalogue products holding each colour (a product can hold several).
        "catalogue_colours": dict(Counter(c for pid in labels for c in colours.get(pid, [])).most_common()),
        "catalogue_without_colours": sum(1 for pid in labels if not colours.get(pid)),
        "text_matches": {word: total for word, (_, total) in sorted(text_cache.items())},
        **{kind: table(scores[kind]) for kind in SETS},
        "served_check": {
            "queries": len(sample),
            "mismatches": mismatches,
            "p50_ms": round(float(np.median(milliseconds)), 2) if milliseconds else None,
        },
        "unusable_queries": unusable,
    }
