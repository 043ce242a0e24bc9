"""Product search: by photo, by words, or both, with filters. The one entry point views,
the API, the evaluation command and the benchmarks call.

Photo: the picture is embedded in this process with the active model, the HNSW index gives
candidate images (filters applied during the scan), and the candidates are re-scored in the
catalogue-fitted projection space with a category vote from the nearest neighbours
(search.reranking). Words: the configured text backend (search.text). Both: the two ranked
lists are fused (search.hybrid): by default the photo's re-ranked score plus a bonus for the
share of the words a product matches, so products with the words come first, ordered by how
much they look like the photo; reciprocal rank fusion is the alternative.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from django.conf import settings

from catalog.models import Brand, Category, ProductImage
from catalog.product_filters import ProductFilters
from catalog.url_fetch import FetchLimits, fetch_image_url
from search import hybrid, overlap, reranking, text
from search.colour_words import with_facet_colours
from search.facets import Facets
from search.photo_search import CropBox, PhotoSearchUnavailable, embed_photo
from vision import knn
from vision import selectors as vision_selectors


@dataclass(frozen=True)
class SearchRequest:
    """What the shopper asked for. At most one picture source; text may come with it."""

    text: str = ""
    image: bytes | None = None  # an uploaded photo
    image_url: str = ""  # http(s) URL, fetched under catalog.url_fetch's guards
    image_id: int | None = None  # an existing catalogue image
    crop: CropBox | None = None  # in the picture's upright pixel coordinates
    filters: ProductFilters = field(default_factory=ProductFilters)
    limit: int = 20
    offset: int = 0
    # Photo alone: every product among the photo's candidate images, not only the page (at least
    # offset + limit of them): what a re-ranker re-orders (ranking.serving).
    all_candidates: bool = False

    @property
    def has_picture(self) -> bool:
        return self.image is not None or bool(self.image_url) or self.image_id is not None


@dataclass(frozen=True)
class SearchHit:
    product_id: int
    score: float  # what the hits are ordered by (higher is better; its scale depends on the mode)
    image_id: int | None  # the product image that matched the photo (None for text-only hits)
    visual_similarity: float | None  # cosine of that image to the photo, -1..1
    matched_words: tuple[str, ...]  # query words found in the product's text
    why: tuple[str, ...]  # short reasons for people: "looks similar (0.87)", "matches “red”", ...
    # The photo's re-ranked score of that image and the share of the photo's neighbours' category
    # vote its product's category got (search.reranking.Rescored); None for text-only hits.
    visual_score: float | None = None
    category_share: float | None = None


@dataclass(frozen=True)
class SearchResults:
    mode: str  # "photo", "text" or "hybrid"
    hits: list[SearchHit]
    total: int  # matching products (text: all matches; photo: hits found)
    facets: Facets | None
    applied_filters: tuple[str, ...]  # for people: "category: Dresses", "price ≤ 50"
    # The highest score a hit of this search can have, so a hit's share of it (a match percent)
    # never disagrees with the order; None where scores have no ceiling (text, hybrid by RRF).
    score_ceiling: float | None = None
    # Photo alone: how like the photo the best product is (its cosine), whatever the page; the
    # page says "no close match" under SEARCH_NO_CLOSE_MATCH_COSINE (no_close_match).
    best_similarity: float | None = None
    # Colour words read as the shop's colour names (search.colour_words): (("coral", "orange"),)
    # when "coral dress" was searched as "orange dress".
    colour_words_read: tuple[tuple[str, str], ...] = ()
    # Words searched as the catalogue word they look like (a typo): (("drss", "dress"),).
    corrections: tuple[tuple[str, str], ...] = ()

    @property
    def no_close_match(self) -> bool:
        """A photo search whose best product is far from the photo (bench/demo_catalogue.py
        measured the threshold): shoppers are told so rather than shown far results as matches."""
        return self.best_similarity is not None and self.best_similarity < settings.SEARCH_NO_CLOSE_MATCH_COSINE


class InvalidSearch(ValueError):
    """The request cannot be searched as given; str() says why, for the shopper or API client."""


MAX_LIMIT = 100
# How deep photo results go (offset + limit): each wanted result costs 4 candidate images
# read through the HNSW index and re-scored, so a page 10,000 deep would cost a full scan.
MAX_PHOTO_DEPTH = 500


def search_products(request: SearchRequest, *, exact: bool = False) -> SearchResults:
    """Products for a photo, words, or both, best first.

    Raises InvalidSearch, vision.decoding.ImageRejected (unusable picture, with a
    code), catalog.url_fetch.ImageFetchError (image URL), PhotoSearchUnavailable.
    exact=True takes photo candidates from an exact scan instead of the HNSW index.
    """
    _validate(request)
    applied = _describe_filters(request.filters)
    words, colour_words_read = with_facet_colours(request.text)
    if colour_words_read:
        request = replace(request, text=words)
    if not request.has_picture:
        found = text.search_text(
            request.text, filters=request.filters, limit=request.limit, offset=request.offset, facets=True
        )
        hits = [
            SearchHit(hit.product_id, hit.score, None, None, hit.matched_words, _why(None, hit.matched_words, applied))
            for hit in found.hits
        ]
        return SearchResults(
            "text",
            hits,
            found.total,
            found.facets,
            applied,
            colour_words_read=colour_words_read,
            corrections=found.corrections,
        )

    model = vision_selectors.embedding_model_active()
    if model is None:
        raise PhotoSearchUnavailable("photo search is not available yet: no catalogue image has been processed")
    photo = _query_photo(request, model)
    exclude_product_id = photo.exclude_product_id
    if request.text.strip():
        return replace(_hybrid(request, model, photo, applied, exact=exact), colour_words_read=colour_words_read)
    vector = _query_vector(request, model, photo)
    wanted = request.offset + request.limit
    visual = photo_ranking(
        model, vector, wanted=wanted, filters=request.filters, exclude_product_id=exclude_product_id, exact=exact
    )
    page = visual if request.all_candidates else visual[request.offset : wanted]
    hits = [
        SearchHit(
            r.candidate.product_id,
            r.score,
            r.candidate.image_id,
            r.candidate.cosine,
            (),
            _why(r.candidate.cosine, (), applied),
            r.score,
            r.category_share,
        )
        for r in page
    ]
    best = max((r.candidate.cosine for r in visual), default=None)
    return SearchResults("photo", hits, len(visual), None, applied, photo_score_ceiling(), best)


def _validate(request: SearchRequest) -> None:
    sources = sum([request.image is not None, bool(request.image_url), request.image_id is not None])
    if sources > 1:
        raise InvalidSearch("give one picture: an upload, an image URL or a catalogue image id, not several")
    if sources == 0 and not request.text.strip():
        raise InvalidSearch("nothing to search: give words, a picture, or both")
    if request.crop is not None and sources == 0:
        raise InvalidSearch("a crop box needs a picture")
    if not 1 <= request.limit <= MAX_LIMIT:
        raise InvalidSearch(f"limit must be between 1 and {MAX_LIMIT}")
    if request.offset < 0:
        raise InvalidSearch("offset must not be negative")
    if sources and request.offset + request.limit > MAX_PHOTO_DEPTH:
        raise InvalidSearch(f"photo results go {MAX_PHOTO_DEPTH} deep: offset + limit must not exceed it")


@dataclass(frozen=True)
class _QueryPhoto:
    """The shopper's picture before embedding: its bytes, or the vector it already has."""

    content: bytes | None  # to embed (None when `vector` is known)
    vector: np.ndarray | None  # a catalogue image's stored vector
    exclude_product_id: int | None  # a catalogue image's product (left out of the results)


def _query_photo(request: SearchRequest, model) -> _QueryPhoto:
    """The picture to search with, read in this thread (database, storage, the shopper's URL).
    For a catalogue image, its product is left out of the results: a shopper asking for "more
    like this" has already seen it."""
    if request.image_id is not None:
        image = (
            ProductImage.objects.filter(pk=request.image_id, status__in=ProductImage.SEARCHABLE_STATUSES)
            .only("pk", "product_id", "file")
            .first()
        )
        if image is None:
            raise InvalidSearch(f"image {request.image_id} is not a searchable catalogue image")
        if request.crop is None:
            stored = knn.image_vector(model, image.pk)
            if stored is not None:
                return _QueryPhoto(None, stored, image.product_id)
        with image.file.open("rb") as handle:
            return _QueryPhoto(handle.read(), None, image.product_id)
    if request.image_url:
        return _QueryPhoto(_fetch_url(request.image_url), None, None)
    return _QueryPhoto(request.image, None, None)


def _query_vector(request: SearchRequest, model, photo: _QueryPhoto) -> np.ndarray:
    return photo.vector if photo.vector is not None else embed_photo(model, photo.content, request.crop)


def _fetch_url(url: str) -> bytes:
    """The image at a shopper's URL, under the guards of catalog.url_fetch (timeouts, size
    cap, no private addresses, content sniffing). Only http(s): never a path on this server."""
    if urllib.parse.urlsplit(url).scheme.lower() not in ("http", "https"):
        raise InvalidSearch("image_url must be an http or https URL")
    limits = FetchLimits(
        timeout_seconds=settings.IMPORT_IMAGE_TIMEOUT_SECONDS,
        max_bytes=settings.IMPORT_IMAGE_MAX_BYTES,
        max_redirects=settings.IMPORT_IMAGE_MAX_REDIRECTS,
        allow_private=settings.SEARCH_IMAGE_URL_ALLOW_PRIVATE,
    )
    return fetch_image_url(url, limits=limits)


def photo_ranking(
    model,
    vector: np.ndarray,
    *,
    wanted: int,
    filters: ProductFilters = ProductFilters(),
    exclude_product_id: int | None = None,
    exact: bool = False,
    only_product_ids: Sequence[int] | None = None,
    neighbourhood: list[knn.Candidate] | None = None,
) -> list[reranking.Rescored]:
    """The products nearest to the photo's vector, best first, at least `wanted` of them when
    the catalogue has them: candidate images re-scored (search.reranking), the best image of
    each product kept. only_product_ids: among these products only, the category vote taken
    among `neighbourhood` (the photo's nearest images of any product)."""
    candidates = knn.image_candidates(
        model,
        vector,
        limit=max(settings.SEARCH_CANDIDATES, wanted * knn.CANDIDATES_PER_RESULT),
        filters=filters,
        exclude_product_id=exclude_product_id,
        exact=exact,
        only_product_ids=only_product_ids,
    )
    projection = reranking.active_projection(model)
    return _best_per_product(reranking.rescore(vector, candidates, projection, neighbourhood=neighbourhood))


def _best_per_product(rescored: list[reranking.Rescored]) -> list[reranking.Rescored]:
    seen: set[int] = set()
    best = []
    for item in rescored:
        if item.candidate.product_id not in seen:
            seen.add(item.candidate.product_id)
            best.append(item)
    return best


def hybrid_ranking(
    model,
    vector: np.ndarray,
    text_hits: Sequence[text.TextHit],
    *,
    words: int,
    wanted: int,
    filters: ProductFilters = ProductFilters(),
    exclude_product_id: int | None = None,
    exact: bool = False,
) -> list[hybrid.Fused]:
    """Photo + words: the products the words found, ranked by how like the photo they look
    (photo_ranking among them only) fused with the words (search.hybrid, SEARCH_HYBRID_METHOD),
    the photo's products that match the words only (hybrid.narrowed). At least `wanted` of them
    when that many match (SEARCH_HYBRID_PHOTO_CANDIDATES deep by default)."""
    ids = [hit.product_id for hit in text_hits if hit.product_id != exclude_product_id]
    if not ids:
        return []
    # The category vote is taken among everything near the photo (as photo search takes it),
    # the candidates among the words' matches only: SEARCH_CANDIDATES images read twice is far
    # cheaper than reading and re-scoring the photo's `wanted` x 4 nearest to find the matches.
    neighbourhood = knn.image_candidates(
        model,
        vector,
        limit=settings.SEARCH_CANDIDATES,
        filters=filters,
        exclude_product_id=exclude_product_id,
        exact=exact,
    )
    visual = photo_ranking(
        model,
        vector,
        wanted=min(len(ids), wanted),
        filters=filters,
        exclude_product_id=exclude_product_id,
        exact=exact,
        only_product_ids=ids,
        neighbourhood=neighbourhood,
    )
    return hybrid.narrowed(
        hybrid.fuse(
            visual,
            text_hits,
            method=settings.SEARCH_HYBRID_METHOD,
            words=words,
            weight=settings.SEARCH_HYBRID_TEXT_WEIGHT,
            k=settings.SEARCH_RRF_K,
            exclude_product_id=exclude_product_id,
        )
    )


def _hybrid(
    request: SearchRequest,
    model,
    photo: _QueryPhoto,
    applied: tuple[str, ...],
    *,
    exact: bool = False,
) -> SearchResults:
    """The photo's products among those the words found (hybrid_ranking): words narrow a
    photo's results. The total counts those products; the facets are the words' (over every
    match). The words are searched while the photo is embedded (search.overlap)."""
    vector, found = overlap.while_computing(
        lambda: _query_vector(request, model, photo),
        lambda: text.search_text(
            request.text, filters=request.filters, limit=settings.SEARCH_HYBRID_TEXT_CANDIDATES, offset=0, facets=True
        ),
        background=photo.vector is None,
    )
    exclude_product_id = photo.exclude_product_id
    fused = hybrid_ranking(
        model,
        vector,
        found.hits,
        words=hybrid.query_word_count(request.text),
        wanted=max(request.offset + request.limit, settings.SEARCH_HYBRID_PHOTO_CANDIDATES),
        filters=request.filters,
        exclude_product_id=exclude_product_id,
        exact=exact,
    )
    hits = []
    for item in fused[request.offset : request.offset + request.limit]:
        candidate = item.visual.candidate if item.visual else None
        cosine = candidate.cosine if candidate else None
        hits.append(
            SearchHit(
                item.product_id,
                item.score,
                candidate.image_id if candidate else None,
                cosine,
                item.matched_words,
                _why(cosine, item.matched_words, applied),
                item.visual.score if item.visual else None,
                item.visual.category_share if item.visual else None,
            )
        )
    ceiling = (
        photo_score_ceiling() + settings.SEARCH_HYBRID_TEXT_WEIGHT if settings.SEARCH_HYBRID_METHOD == "score" else None
    )
    return SearchResults("hybrid", hits, len(fused), found.facets, applied, ceiling, corrections=found.corrections)


def photo_score_ceiling() -> float:
    """The highest score a photo hit can have (search.reranking.rescore): a cosine of 1 between
    unit vectors plus the whole category bonus."""
    return 1.0 + settings.SEARCH_CATEGORY_WEIGHT


def _why(cosine: float | None, matched_words: tuple[str, ...], applied: tuple[str, ...]) -> tuple[str, ...]:
    reasons = []
    if cosine is not None:
        reasons.append(f"looks similar ({cosine:.2f})")
    if matched_words:
        reasons.append("matches " + ", ".join(f"“{word}”" for word in matched_words))
    reasons.extend(f"filter: {label}" for label in applied)
    return tuple(reasons)


def _describe_filters(filters: ProductFilters) -> tuple[str, ...]:
    labels = []
    if filters.category_ids:
        # The first id is the chosen category; the rest are its descendants.
        name = Category.objects.filter(pk=filters.category_ids[0]).values_list("name", flat=True).first()
        labels.append(f"category {name}")
    if filters.brand_id is not None:
        name = Brand.objects.filter(pk=filters.brand_id).values_list("name", flat=True).first()
        labels.append(f"brand {name}")
    if filters.price_min is not None:
        labels.append(f"price ≥ {filters.price_min}")
    if filters.price_max is not None:
        labels.append(f"price ≤ {filters.price_max}")
    if filters.in_stock:
        labels.append("in stock")
    if filters.colours:
        labels.append("colour " + " or ".join(filters.colours))
    return tuple(labels)
