"""The photo search run, in whatever database Django is connected to: the catalogue imported
and processed, its search data refreshed, the projection fitted, every query searched."""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from catalog.importing.service import ImportOptions, import_catalog
from catalog.models import Product, ProductImage
from search import product_refresh, reranking
from search.evaluation.dataset import LabelledImage
from search.evaluation.metrics import K, QueryOutcome, overlap_at_k
from search.evaluation.progress import say
from search.product_search import SearchRequest, search_products
from vision import process_pool
from vision import selectors as vision_selectors
from vision.decoding import ImageRejected

# Images per unit of work of the processing pool (vision.process_pool).
PROCESS_BATCH = 32


@dataclass
class Catalogue:
    labels: dict[int, str]  # searchable product id -> class
    imported: int  # images the import stored
    statuses: dict[str, int]  # pipeline outcome -> images
    problems: list[str]
    refresh: dict  # products_refresh_until_clean


def _linked_folder(images: Sequence[LabelledImage], folder: Path) -> Path:
    """An ImageFolder of symlinks to exactly these pictures, for the folder importer."""
    for image in images:
        target = folder / image.label / image.path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(image.path.resolve())
    return folder


def catalogue_load(
    images: Sequence[LabelledImage], workdir: Path, *, workers: int, log: Callable[[str], None] = say
) -> Catalogue:
    """Import the pictures as products and run the image pipeline on them here."""
    folder = _linked_folder(images, workdir / "catalogue")
    names = {f"{image.label}/{image.path.name}": image.name for image in images}
    log(f"importing {len(images)} catalogue pictures")
    # A price makes the products active: inactive ones are never searched. The folder's
    # links lead into the dataset, which the importer must be told it may read.
    dataset_root = Path(os.path.commonpath([image.path.resolve().parent for image in images]))
    report = import_catalog(folder, ImportOptions(default_price=Decimal("1.00"), image_root=dataset_root))
    problems = [f"catalogue {names.get(f.label, f.label)}: {f.reason}" for f in report.failures]
    ids = process_pool.image_ids_to_process("pending")
    log(f"processing {len(ids)} images on {workers} processes")
    started = time.perf_counter()
    statuses = process_pool.images_process_in_pool(ids, workers=workers, batch=PROCESS_BATCH)
    log(
        f"processed in {time.perf_counter() - started:.1f} s: "
        + ", ".join(f"{n} {status}" for status, n in sorted(statuses.items()))
    )
    refresh = products_refresh_until_clean(log=log)
    if refresh["left_dirty"]:
        problems.append(
            f"catalogue: {refresh['left_dirty']} products still search-dirty after "
            f"{len(refresh['rounds'])} refresh rounds (colours and text document may be missing)"
        )
    bad = ProductImage.objects.filter(status__in=[ProductImage.Status.REJECTED, ProductImage.Status.FAILED])
    for source, status, reason in bad.order_by("source").values_list("source", "status", "reason"):
        problems.append(f"catalogue {names.get(source, source)}: {status}: {reason}")
    return Catalogue(searchable_labels(), report.images_added, dict(sorted(statuses.items())), problems, refresh)


# Refresh rounds before giving up on products that stay search-dirty.
MAX_REFRESH_ROUNDS = 10


def products_refresh_until_clean(*, log: Callable[[str], None] = say) -> dict:
    """What the workers do next for every product whose image settled: colours, predicted
    category, the text document and the cached similar products (search.product_refresh),
    in rounds until no product is search-dirty, a round refreshes none or MAX_REFRESH_ROUNDS.
    A refresh merging a product into its neighbours' similar lists moves their row versions
    on, so a neighbour that computed before the merge stays dirty for another round.
    {"rounds": [{"dirty": before the round, "refreshed": n, "seconds": s}, ...], "left_dirty": n}."""
    rounds = []
    dirty = Product.objects.filter(search_dirty=True).count()
    while dirty and len(rounds) < MAX_REFRESH_ROUNDS:
        started = time.perf_counter()
        refreshed = product_refresh.products_sweep_dirty(limit=dirty)
        seconds = time.perf_counter() - started
        rounds.append({"dirty": dirty, "refreshed": refreshed, "seconds": round(seconds, 1)})
        log(f"refresh round {len(rounds)}: {refreshed} of {dirty} search-dirty products in {seconds:.1f} s")
        dirty = Product.objects.filter(search_dirty=True).count()
        if refreshed == 0:
            break
    return {"rounds": rounds, "left_dirty": dirty}


def searchable_labels() -> dict[int, str]:
    """Searchable product id -> class (the folder its picture came from) of the connected database."""
    searchable = ProductImage.objects.filter(status__in=ProductImage.SEARCHABLE_STATUSES, product__is_active=True)
    return {
        product_id: source.split("/", 1)[0] for product_id, source in searchable.values_list("product_id", "source")
    }


def projection_fit() -> dict:
    """Fit and activate the re-ranking projection on the catalogue, as staff would after an
    import; a catalogue too small to fit on is searched without one (said in the result)."""
    try:
        projection = reranking.projection_fit(vision_selectors.embedding_model_active())
    except reranking.CannotFitProjection as exc:
        return {"fitted": False, "reason": str(exc)}
    return {"fitted": True, "version": projection.version, **projection.fit}


def photo_search_ids(content: bytes, *, exact: bool) -> list[int]:
    """The product ids of a shopper's photo search (top K), as served or over an exact scan."""
    request = SearchRequest(image=content, limit=K)
    results = search_products(request, exact=True) if exact else search_products(request)
    return [hit.product_id for hit in results.hits]


def queries_run(
    queries: Sequence[LabelledImage],
    labels: dict[int, str],
    *,
    exact: bool = True,
    timed: bool = True,
    log: Callable[[str], None] = say,
) -> tuple[list[QueryOutcome], list[str]]:
    """Search with every query picture (timed), then again with exact candidates (recall).
    timed=False: no warm-up search and no latencies (latency_ms None), for the extra runs."""
    relevant_totals = Counter(labels.values())
    problems: list[str] = []
    loaded: list[tuple[LabelledImage, bytes]] = []
    for image in queries:
        try:
            loaded.append((image, image.path.read_bytes()))  # reading the file is not search time
        except OSError as exc:
            problems.append(f"query {image.name}: cannot read ({exc.strerror or exc})")
    # One untimed search first: the model session and the projection load on first use
    # (a web process does this at start, SEARCH_WARM_AT_START).
    for _, content in loaded if timed else ():
        try:
            photo_search_ids(content, exact=False)
            break
        except ImageRejected:
            continue
    log(f"searching with {len(loaded)} query pictures")
    served: list[tuple[LabelledImage, bytes, list[int], float]] = []
    for image, content in loaded:
        if relevant_totals[image.label] == 0:
            problems.append(f"query {image.name}: no searchable catalogue product of class {image.label!r}, left out")
            continue
        started = time.perf_counter()
        try:
            ids = photo_search_ids(content, exact=False)
        except ImageRejected as exc:
            problems.append(f"query {image.name}: {exc}")
            continue
        served.append((image, content, ids, (time.perf_counter() - started) * 1000 if timed else None))
    outcomes = []
    # Exact searches after all timed ones: their full scans would otherwise evict the
    # index pages the timed searches read.
    for image, content, ids, latency_ms in served:
        recall = None
        if exact:
            reference = photo_search_ids(content, exact=True)
            recall = overlap_at_k(ids, reference) if reference else None
        outcomes.append(
            QueryOutcome(
                query=image.name,
                label=image.label,
                hits=tuple(labels.get(pid) for pid in ids),
                relevant_total=relevant_totals[image.label],
                latency_ms=latency_ms,
                recall=recall,
            )
        )
    return outcomes, problems
