"""Re-scoring photo-search candidates beyond raw CNN cosine, using only catalogue data.

Two steps, measured on clothing-small (train = catalogue, validation = queries, relevance =
same class; `manage.py evaluate_search`):

1. A projection fitted on the catalogue: centre on the catalogue mean, PCA to 256
   dimensions, then within-category covariance normalisation (WCCN: whiten the directions
   in which pictures of the *same* category differ, e.g. background, pose, lighting).
   Raw cosine mAP@10 0.654 -> 0.670 alone.
2. A category vote: the top SEARCH_VOTE_NEIGHBOURS candidates vote for their product's
   category, weighted by exp(score / temperature); every candidate gains
   SEARCH_CATEGORY_WEIGHT x the share of its category. Products of the kind the photo
   shows move ahead of look-alikes of another kind. With the projection: 0.838.

Categories the projection never saw: fitted without dress/shoes/hat, those classes' queries
score 0.635 raw and 0.696 projected (0.809 with the vote); without pants/shirt/skirt 0.664 ->
0.711 (0.837). The vote needs no fit: it reads the live catalogue's categories.

The candidates' vectors are read as pgvector's binary send format (halfvec_send), and the
projection of 100 candidates costs about 0.6 ms.
"""

from __future__ import annotations

import hashlib
import io
import threading
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from catalog import selectors as catalog_selectors
from catalog.models import ProductImage
from search import projection_runs
from search.models import SearchProjection
from vision import selectors as vision_selectors
from vision.knn import Candidate
from vision.models import EmbeddingModel
from vision.vector_index import halfvec_from_send

# Rows of catalog_productimage `i` the projection is fitted on: the images search may return.
SEARCHABLE_IMAGE = ProductImage.searchable_sql("i.status")


class CannotFitProjection(ValueError):
    """Too little catalogue to fit on (it names what is missing)."""


@dataclass(frozen=True)
class Projection:
    id: int
    mean: np.ndarray  # float32, embedding dimension
    matrix: np.ndarray  # float32, embedding dimension x projected dimension

    def apply(self, vectors: np.ndarray) -> np.ndarray:
        """Projected, L2-normalised rows."""
        projected = (np.atleast_2d(vectors).astype(np.float32) - self.mean) @ self.matrix
        return projected / np.maximum(np.linalg.norm(projected, axis=1, keepdims=True), 1e-12)


# ---------------------------------------------------------------------------
# Fitting (manage.py fit_search_projection)
# ---------------------------------------------------------------------------


def _catalogue_vectors(model: EmbeddingModel, exclude_category_ids=()) -> tuple[np.ndarray, np.ndarray]:
    """Vectors of searchable images of active categorised products, and their category ids."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT halfvec_send(e.embedding), p.category_id
            FROM search_imageembedding e
            JOIN catalog_productimage i ON i.id = e.image_id
            JOIN catalog_product p ON p.id = i.product_id
            WHERE e.model_id = %s AND {SEARCHABLE_IMAGE} AND p.is_active
              AND p.category_id IS NOT NULL AND NOT (p.category_id = ANY(%s))
            ORDER BY e.image_id
            """,
            [model.pk, list(exclude_category_ids)],
        )
        rows = cursor.fetchall()
    if not rows:
        return np.zeros((0, model.dimension), np.float32), np.zeros(0, np.int64)
    vectors = np.stack([halfvec_from_send(row[0]) for row in rows])
    return vectors, np.array([row[1] for row in rows], dtype=np.int64)


def fit_arrays(
    vectors: np.ndarray, categories: np.ndarray, *, dimension: int, regularisation: float
) -> tuple[np.ndarray, np.ndarray]:
    """(mean, matrix) of centring + PCA + within-category whitening, from labelled vectors."""
    vectors = vectors.astype(np.float64)
    mean = vectors.mean(axis=0)
    centred = vectors - mean
    centred /= np.maximum(np.linalg.norm(centred, axis=1, keepdims=True), 1e-12)
    # PCA through the covariance (dimension x dimension), so 100k images cost no more memory.
    eigenvalues, eigenvectors = np.linalg.eigh(centred.T @ centred)
    basis = eigenvectors[:, np.argsort(eigenvalues)[::-1][:dimension]]
    reduced = centred @ basis
    within = np.zeros((basis.shape[1], basis.shape[1]))
    for category in np.unique(categories):
        members = reduced[categories == category]
        deviations = members - members.mean(axis=0)
        within += deviations.T @ deviations
    within /= len(reduced)
    # Shrink towards the identity: categories with few images give a noisy scatter, and
    # directions no category varies in must not be blown up.
    within += regularisation * np.trace(within) / within.shape[0] * np.eye(within.shape[0])
    values, vectors_w = np.linalg.eigh(within)
    whitening = vectors_w @ np.diag(values**-0.5) @ vectors_w.T
    return mean.astype(np.float32), (basis @ whitening).astype(np.float32)


def projection_fit(
    model: EmbeddingModel,
    *,
    dimension: int | None = None,
    regularisation: float | None = None,
    activate: bool = True,
    exclude_category_ids=(),
) -> SearchProjection:
    """Fit a projection on the catalogue's current vectors and categories; store it as a new
    version (the active one unless activate=False). Raises CannotFitProjection.

    exclude_category_ids: left out of the fit, to measure what the projection does to
    categories it never saw (bench/search.py)."""
    dimension = dimension or settings.SEARCH_PROJECTION_DIMENSION
    regularisation = settings.SEARCH_PROJECTION_REGULARISATION if regularisation is None else regularisation
    vectors, categories = _catalogue_vectors(model, exclude_category_ids)
    counts = np.unique(categories, return_counts=True)[1]
    if (counts >= 2).sum() < 2 or len(vectors) < settings.SEARCH_PROJECTION_MIN_IMAGES:
        raise CannotFitProjection(
            f"the catalogue has {len(vectors)} categorised searchable images in {len(counts)} categories; "
            f"fitting needs at least {settings.SEARCH_PROJECTION_MIN_IMAGES} images and two categories "
            "with two images each"
        )
    dimension = min(dimension, model.dimension, len(vectors) - 1)
    started = timezone.now()
    mean, matrix = fit_arrays(vectors, categories, dimension=dimension, regularisation=regularisation)
    buffer = io.BytesIO()
    np.savez(buffer, mean=mean, matrix=matrix)
    arrays = buffer.getvalue()
    version = hashlib.sha256(arrays).hexdigest()[:16]
    seconds = round((timezone.now() - started).total_seconds(), 3)
    fit = {
        "images": int(len(vectors)),
        "categories": int(len(counts)),
        "dimension": int(dimension),
        "regularisation": float(regularisation),
        "excluded_categories": sorted(int(pk) for pk in exclude_category_ids),
        "seconds": seconds,
        "precision_at_10": neighbour_precision(vectors, categories, mean, matrix),
    }
    with transaction.atomic():
        projection, created = SearchProjection.objects.get_or_create(
            embedding_model=model,
            version=version,
            defaults={"dimension": dimension, "arrays": arrays, "fit": fit},
        )
        if activate:
            projection_activate(projection)
        if created:  # the same arrays fitted again are the same version, already recorded
            transaction.on_commit(lambda: projection_runs.projection_run_record(projection))
    return projection


# The offline metric of a fit: this many of the catalogue's images (a fixed draw) each ask for
# their nearest others, raw and projected.
PRECISION_SAMPLE = 1000


def neighbour_precision(
    vectors: np.ndarray, categories: np.ndarray, mean: np.ndarray, matrix: np.ndarray, *, k: int = 10
) -> dict[str, float]:
    """Category precision@k of the catalogue's images as queries against the others (itself
    left out), by raw cosine and in the projected space: the share of the k nearest that are
    of the query's category. Measured on the data the projection was fitted on, so it flatters
    the projection; what it is for is comparing fits and catching a broken one (a fit worse
    than raw). bench/search.py measures it on held-out photos."""
    rng = np.random.default_rng(0)
    count = len(vectors)
    queries = np.sort(rng.choice(count, size=min(PRECISION_SAMPLE, count), replace=False))
    k = min(k, count - 1)
    result = {}
    for name, space in (("raw", vectors.astype(np.float32)), ("projected", (vectors - mean) @ matrix)):
        unit = space / np.maximum(np.linalg.norm(space, axis=1, keepdims=True), 1e-12)
        hits = 0
        for chunk in np.array_split(queries, max(1, len(queries) // 100)):  # 100 x 100k floats at most
            similarities = unit[chunk] @ unit.T
            similarities[np.arange(len(chunk)), chunk] = -np.inf
            nearest = np.argpartition(-similarities, k, axis=1)[:, :k]
            hits += int((categories[nearest] == categories[chunk][:, None]).sum())
        result[name] = round(hits / (len(queries) * k), 4)
    return result


# Namespace of the refit's advisory lock (the first key of pg_try_advisory_xact_lock(int, int)).
REFIT_LOCK_NAMESPACE = 0x5653_0002


def projection_refit_if_stale() -> str:
    """Periodic: fit when the active model has no projection yet, or when the catalogue's count
    of categorised searchable images moved by more than SEARCH_PROJECTION_REFIT_CHANGE since
    the active fit (a new category, a season's collection). A model whose projections were all
    retired by staff is left alone. Returns what it did, for the log."""
    model = vision_selectors.embedding_model_active()
    if model is None:
        return "no active image model"
    with transaction.atomic():
        # One fit at a time per model: two workers refreshing the last products of a new
        # catalogue at once both find it settled; the second one leaves the fit to the first.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [REFIT_LOCK_NAMESPACE, model.pk])
            if not cursor.fetchone()[0]:
                return "another process is fitting the projection"
        return _refit_if_stale(model)


def _refit_if_stale(model: EmbeddingModel) -> str:
    current = SearchProjection.objects.filter(embedding_model=model, status=SearchProjection.Status.ACTIVE).first()
    if current is None and SearchProjection.objects.filter(embedding_model=model).exists():
        # Every version retired: staff turned it off (fit_search_projection off); theirs to turn on.
        return "projection switched off (fit_search_projection fit or activate turns it on)"
    images = _searchable_categorised_count(model)
    if current is not None:
        fitted = current.fit.get("images", 0)
        if abs(images - fitted) <= settings.SEARCH_PROJECTION_REFIT_CHANGE * max(fitted, 1):
            return f"projection {current.version} is current ({fitted} images then, {images} now)"
    try:
        projection = projection_fit(model)
    except CannotFitProjection as exc:
        return f"not fitted: {exc}"
    return f"fitted projection {projection.version} on {projection.fit['images']} images"


def projection_refit_once_settled() -> str | None:
    """After each product refresh: once no picture awaits processing, the periodic check above,
    so a fresh catalogue gets its projection when its last picture is processed, not at the
    next periodic check (up to SEARCH_PROJECTION_REFIT_SECONDS later). None while pictures are
    still waiting; when the projection is current this costs one count query."""
    if catalog_selectors.images_awaiting_processing():
        return None
    return projection_refit_if_stale()


def _searchable_categorised_count(model: EmbeddingModel) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT count(*) FROM search_imageembedding e
            JOIN catalog_productimage i ON i.id = e.image_id
            JOIN catalog_product p ON p.id = i.product_id
            WHERE e.model_id = %s AND {SEARCHABLE_IMAGE} AND p.is_active
              AND p.category_id IS NOT NULL
            """,
            [model.pk],
        )
        return cursor.fetchone()[0]


def projection_activate(projection: SearchProjection) -> None:
    with transaction.atomic():
        SearchProjection.objects.filter(
            embedding_model_id=projection.embedding_model_id, status=SearchProjection.Status.ACTIVE
        ).exclude(pk=projection.pk).update(status=SearchProjection.Status.RETIRED)
        SearchProjection.objects.filter(pk=projection.pk).update(
            status=SearchProjection.Status.ACTIVE, activated_at=timezone.now()
        )
        projection.status = SearchProjection.Status.ACTIVE


def projection_deactivate(model: EmbeddingModel) -> int:
    """Back to raw cosine (plus the category vote) for this model version."""
    return SearchProjection.objects.filter(embedding_model=model, status=SearchProjection.Status.ACTIVE).update(
        status=SearchProjection.Status.RETIRED
    )


# ---------------------------------------------------------------------------
# Reading (search time)
# ---------------------------------------------------------------------------

_loaded: dict[int, Projection] = {}
_lock = threading.Lock()


def active_projection(model: EmbeddingModel) -> Projection | None:
    """The active projection of `model`, loaded once per process (one small query per call)."""
    row = (
        SearchProjection.objects.filter(embedding_model=model, status=SearchProjection.Status.ACTIVE)
        .values_list("pk", flat=True)
        .first()
    )
    if row is None:
        return None
    with _lock:
        projection = _loaded.get(row)
    if projection is None:
        arrays = np.load(io.BytesIO(bytes(SearchProjection.objects.values_list("arrays", flat=True).get(pk=row))))
        projection = Projection(row, arrays["mean"], arrays["matrix"])
        with _lock:
            _loaded[row] = projection
    return projection


@dataclass(frozen=True)
class Rescored:
    candidate: Candidate
    score: float  # projected similarity + category bonus
    category_share: float  # share of the vote its category got, 0..1


def _similarities(query: np.ndarray, candidates: list[Candidate], projection: Projection | None) -> np.ndarray:
    if projection is not None:
        return projection.apply(np.stack([c.vector for c in candidates])) @ projection.apply(query)[0]
    return np.array([c.cosine for c in candidates], dtype=np.float32)


def rescore(
    query: np.ndarray,
    candidates: list[Candidate],
    projection: Projection | None,
    *,
    neighbourhood: list[Candidate] | None = None,
) -> list[Rescored]:
    """The candidates re-scored, best first (ties by raw cosine, then image id).

    neighbourhood: the images whose nearest SEARCH_VOTE_NEIGHBOURS vote on the category, when
    the candidates are not the photo's whole neighbourhood (photo + words: candidates among the
    words' matches only, the vote still taken among everything near the photo)."""
    if not candidates:
        return []
    similarities = _similarities(query, candidates, projection)
    if neighbourhood:
        voting, voting_similarities = neighbourhood, _similarities(query, neighbourhood, projection)
    else:
        voting, voting_similarities = candidates, similarities
    voters = np.argsort(-voting_similarities, kind="stable")[: settings.SEARCH_VOTE_NEIGHBOURS]
    weights = np.exp(
        (voting_similarities[voters] - voting_similarities[voters].max()) / settings.SEARCH_VOTE_TEMPERATURE
    )
    votes: dict[int | None, float] = {}
    for index, weight in zip(voters, weights):
        category = voting[index].category_id
        votes[category] = votes.get(category, 0.0) + float(weight)
    total = sum(votes.values())
    rescored = []
    for candidate, similarity in zip(candidates, similarities):
        # Uncategorised products are no kind: they get no bonus from each other.
        share = votes.get(candidate.category_id, 0.0) / total if candidate.category_id is not None else 0.0
        rescored.append(Rescored(candidate, float(similarity) + settings.SEARCH_CATEGORY_WEIGHT * share, share))
    rescored.sort(key=lambda r: (-r.score, -r.candidate.cosine, r.candidate.image_id))
    return rescored
