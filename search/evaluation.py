"""Search quality and speed on a labelled ImageFolder: the metrics, and the run behind
`manage.py evaluate_search` and bench/search.py.

The catalogue images are imported as products (category = class folder, one product per
image) and processed by the real pipeline; every query picture then goes through
`search_products` as a shopper's upload would. A catalogue product is relevant to a query
when both came from the same class folder. Metrics over the first K = 10 results:

    P@1, P@10    share of relevant results at rank 1 / among the first 10 (a list shorter
                 than 10 counts its missing places as misses)
    mAP@10       mean over queries of AP@10 = 1/min(10, R) * sum_{k<=10} P@k * rel(k),
                 R = searchable catalogue products of the query's class
    recall@10    share of the exact-search top 10 (candidates from a full scan instead of
                 the HNSW index, ranked the same way) that the served top 10 also holds
    p50/p95/p99  milliseconds per search_products call in this process: decoding,
                 embedding, the database and re-ranking ("server side": no HTTP)

Held out (`held_out_report`, `--held-out`): what each part of the re-ranking does, and that
what the projection learns from categories does not hurt categories it never saw. After the
main run the queries are searched again (untimed, no exact pass) under four configurations:
raw features (no projection, no category vote), the vote alone, the projection alone, and
projection + vote; over all queries with the catalogue's full fit (`methods`), and for each
group of classes with a projection fitted without that group's categories, over the group's
queries (`held_out`, the full fit's numbers for the same queries beside them). The shop's
projection is active again afterwards.

Hybrid (`--hybrid`, search.hybrid_evaluation): then every query picture with a colour word,
the fusion methods of photo + words compared (result key "hybrid").

Before any query, every catalogue product's search data (colours, predicted category, text
document, similar products) is refreshed in rounds until none is search-dirty
(`products_refresh_until_clean`; result key "search_refresh"); a product left dirty is a
problem.

`evaluate` fills whatever database Django is connected to. `evaluate_in_throwaway_database`
is what the command calls: it creates a database of its own on the same server and runs
`evaluate` in a child process connected to it (with its own media folder and an in-memory
Celery broker), so the shop's database, media, queue and metrics are never touched.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path

import numpy as np

K = 10
# Throw-away databases are named after this and the parent's pid, so parallel runs never meet.
DATABASE_PREFIX = "visualshop_evaluate_"
# Images per unit of work of the processing pool (vision.process_pool).
PROCESS_BATCH = 32


def say(message: str) -> None:
    print(f"[evaluate_search] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# Metrics: plain functions of ranked relevance flags
# ---------------------------------------------------------------------------


def precision_at_k(relevant: Sequence[bool], k: int = K) -> float:
    """Share of the first k places holding a relevant result; missing places are misses."""
    return sum(1 for flag in relevant[:k] if flag) / k


def average_precision_at_k(relevant: Sequence[bool], relevant_total: int, k: int = K) -> float:
    """AP@k = 1/min(k, R) * sum over ranks i <= k of P@i * rel(i); R = relevant items that
    exist (the normalisation makes a perfect list score 1 even when R < k)."""
    if relevant_total < 1:
        raise ValueError("AP is undefined for a query with no relevant item")
    hits, total = 0, 0.0
    for rank, flag in enumerate(relevant[:k], start=1):
        if flag:
            hits += 1
            total += hits / rank
    return total / min(k, relevant_total)


def overlap_at_k(found: Sequence[int], reference: Sequence[int], k: int = K) -> float:
    """Share of the reference list's first k ids that `found`'s first k also hold: recall@k
    of an approximate search against the exact one."""
    expected = set(reference[:k])
    if not expected:
        raise ValueError("the reference list is empty")
    return len(expected & set(found[:k])) / len(expected)


def latency_percentiles(milliseconds: Sequence[float]) -> dict[str, float | None]:
    """p50/p95/p99 (linear interpolation between the two nearest samples, numpy's default)."""
    if len(milliseconds) == 0:
        return {"p50_ms": None, "p95_ms": None, "p99_ms": None}
    p50, p95, p99 = np.percentile(np.asarray(milliseconds, dtype=np.float64), [50, 95, 99])
    return {"p50_ms": float(p50), "p95_ms": float(p95), "p99_ms": float(p99)}


@dataclass(frozen=True)
class QueryOutcome:
    """One query picture's results, reduced to what the metrics need."""

    query: str  # the picture's path inside the data set, for people
    label: str
    hits: tuple[str | None, ...]  # the class of each returned product, best first
    relevant_total: int  # searchable catalogue products of `label`
    latency_ms: float | None  # None: an untimed run (held_out_report)
    recall: float | None = None  # overlap_at_k with exact search; None when not measured

    @property
    def relevant(self) -> list[bool]:
        return [hit == self.label for hit in self.hits]


def _mean(values: Sequence[float]) -> float | None:
    return float(np.mean(values)) if len(values) else None


def summarise(outcomes: Sequence[QueryOutcome], k: int = K) -> dict:
    """The metrics over all queries, and mAP@k / P@1 per class."""
    recalls = [o.recall for o in outcomes if o.recall is not None]
    by_class: dict[str, list[QueryOutcome]] = defaultdict(list)
    for outcome in outcomes:
        by_class[outcome.label].append(outcome)
    return {
        "map_at_10": _mean([average_precision_at_k(o.relevant, o.relevant_total, k) for o in outcomes]),
        "p_at_1": _mean([precision_at_k(o.relevant, 1) for o in outcomes]),
        "p_at_10": _mean([precision_at_k(o.relevant, k) for o in outcomes]),
        "recall_at_10": _mean(recalls),
        "recall_queries": len(recalls),
        **latency_percentiles([o.latency_ms for o in outcomes if o.latency_ms is not None]),
        "per_class": {
            label: {
                "queries": len(group),
                "map_at_10": _mean([average_precision_at_k(o.relevant, o.relevant_total, k) for o in group]),
                "p_at_1": _mean([precision_at_k(o.relevant, 1) for o in group]),
            }
            for label, group in sorted(by_class.items())
        },
    }


def rounded(summary: dict) -> dict:
    """For people and JSON: metrics to 4 decimals, milliseconds to 2 (the tests compare these)."""
    def value(key: str, number):
        if isinstance(number, dict):
            return {k: value(k, v) for k, v in number.items()}
        if isinstance(number, float):
            return round(number, 2 if key.endswith("_ms") else 4)
        return number

    return {key: value(key, number) for key, number in summary.items()}


# ---------------------------------------------------------------------------
# The data set: which pictures are catalogue and which are queries
# ---------------------------------------------------------------------------


class DatasetError(ValueError):
    """The folder cannot be evaluated at all (the message names what is wrong)."""


@dataclass(frozen=True)
class LabelledImage:
    name: str  # path relative to the data set's folder
    path: Path
    label: str


@dataclass
class EvaluationSet:
    root: Path
    layout: str  # for people: "train/ + validation/" or "split 0.2"
    catalogue: list[LabelledImage]
    queries: list[LabelledImage]
    problems: list[str] = field(default_factory=list)  # inputs left out, each named

    @property
    def classes(self) -> list[str]:
        return sorted({image.label for image in self.catalogue})

    def to_json(self) -> dict:
        return {
            "root": str(self.root), "layout": self.layout, "problems": self.problems,
            "catalogue": [[i.name, str(i.path), i.label] for i in self.catalogue],
            "queries": [[i.name, str(i.path), i.label] for i in self.queries],
        }

    @classmethod
    def from_json(cls, data: dict) -> EvaluationSet:
        def images(rows):
            return [LabelledImage(name, Path(path), label) for name, path, label in rows]

        return cls(Path(data["root"]), data["layout"], images(data["catalogue"]), images(data["queries"]),
                   list(data["problems"]))


def _visible(path: Path) -> bool:
    return not path.name.startswith(".")


def _class_files(folder: Path, root: Path, problems: list[str]) -> dict[str, list[Path]]:
    """Class folder name -> its files, sorted. Stray files and empty classes are reported."""
    classes: dict[str, list[Path]] = {}
    for entry in sorted(filter(_visible, folder.iterdir())):
        if not entry.is_dir():
            problems.append(f"{entry.relative_to(root)}: not inside a class folder, left out")
            continue
        files = sorted(f for f in entry.iterdir() if _visible(f) and f.is_file())
        if not files:
            problems.append(f"{entry.relative_to(root)}/: class folder without images, left out")
            continue
        classes[entry.name] = files
    return classes


def split_for_queries(names: Sequence[str], fraction: float) -> set[str]:
    """The names of one class that become queries: round(fraction x n) of them, at least one
    and never all (n >= 2), chosen by a hash of the name, so the choice does not depend on
    listing order and adding a file never moves the others."""
    if len(names) < 2:
        return set()
    count = min(len(names) - 1, max(1, round(fraction * len(names))))
    return set(sorted(names, key=lambda name: hashlib.sha256(name.encode()).hexdigest())[:count])


def _round_robin(images: list[LabelledImage], limit: int) -> list[LabelledImage]:
    """`limit` images taken from every class in turn: a small sample still covers the classes."""
    by_class: dict[str, list[LabelledImage]] = defaultdict(list)
    for image in images:
        by_class[image.label].append(image)
    chosen: list[LabelledImage] = []
    queues = [list(group) for _, group in sorted(by_class.items())]
    while len(chosen) < limit and any(queues):
        for queue in queues:
            if queue and len(chosen) < limit:
                chosen.append(queue.pop(0))
    return sorted(chosen, key=lambda image: (image.label, image.name))


def read_dataset(root: Path, *, split: float | None = None, per_class: int | None = None,
                 queries: int | None = None) -> EvaluationSet:
    """The catalogue and query pictures of `root`.

    Without `split`: `root/train/<class>/` is the catalogue, `root/validation/<class>/` the
    queries. With `split` (0 < split < 1): `root/<class>/`, of which that share of each
    class become queries (split_for_queries). `per_class` keeps the first n catalogue
    pictures of each class, `queries` that many queries taken from each class in turn.
    Raises DatasetError when nothing can be evaluated.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: no such folder")
    if split is not None and not 0 < split < 1:
        raise DatasetError(f"--split {split}: must be between 0 and 1 (the share of each class used as queries)")
    for name, value in (("--per-class", per_class), ("--queries", queries)):
        if value is not None and value < 1:
            raise DatasetError(f"{name} {value}: must be at least 1")
    problems: list[str] = []
    has_splits = (root / "train").is_dir() and (root / "validation").is_dir()
    if split is None:
        if not has_splits:
            raise DatasetError(
                f"{root}: expected train/<class>/ and validation/<class>/ folders "
                "(for plain class folders, pass --split FRACTION)"
            )
        layout = "train/ + validation/"
        catalogue_files = _class_files(root / "train", root, problems)
        query_files = _class_files(root / "validation", root, problems)
    else:
        if has_splits:
            raise DatasetError(f"{root}: has train/ and validation/ folders; evaluate it without --split")
        layout = f"split {split:g}"
        catalogue_files, query_files = {}, {}
        for label, files in _class_files(root, root, problems).items():
            chosen = split_for_queries([f.name for f in files], split)
            catalogue_files[label] = [f for f in files if f.name not in chosen]
            query_files[label] = [f for f in files if f.name in chosen]
            if not chosen:
                problems.append(f"{label}/: only one image, kept in the catalogue; no query from this class")
    if not catalogue_files:
        raise DatasetError(f"{root}: no class folders with images")

    def labelled(files: dict[str, list[Path]]) -> list[LabelledImage]:
        return [LabelledImage(path.relative_to(root).as_posix(), path, label)
                for label, paths in sorted(files.items()) for path in paths]

    catalogue = labelled({label: files[:per_class] for label, files in catalogue_files.items()})
    query_images = labelled(query_files)
    orphans = Counter(image.label for image in query_images if image.label not in catalogue_files)
    for label, count in sorted(orphans.items()):
        problems.append(f"class {label!r}: {count} queries but no catalogue images, left out")
    query_images = [image for image in query_images if image.label not in orphans]
    if queries is not None:
        query_images = _round_robin(query_images, queries)
    if not query_images:
        raise DatasetError(f"{root}: no query pictures of a class the catalogue has")
    return EvaluationSet(root, layout, catalogue, query_images, problems)


# ---------------------------------------------------------------------------
# The run, in whatever database Django is connected to
# ---------------------------------------------------------------------------


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


def catalogue_load(images: Sequence[LabelledImage], workdir: Path, *, workers: int,
                   log: Callable[[str], None] = say) -> Catalogue:
    """Import the pictures as products and run the image pipeline on them here."""
    from catalog.importing.service import ImportOptions, import_catalog
    from catalog.models import ProductImage
    from vision import process_pool

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
    log(f"processed in {time.perf_counter() - started:.1f} s: "
        + ", ".join(f"{n} {status}" for status, n in sorted(statuses.items())))
    refresh = products_refresh_until_clean(log=log)
    if refresh["left_dirty"]:
        problems.append(f"catalogue: {refresh['left_dirty']} products still search-dirty after "
                        f"{len(refresh['rounds'])} refresh rounds (colours and text document may be missing)")
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
    from catalog.models import Product
    from search import product_refresh

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
    from catalog.models import ProductImage

    searchable = ProductImage.objects.filter(
        status__in=[ProductImage.Status.READY, ProductImage.Status.FLAGGED], product__is_active=True
    )
    return {product_id: source.split("/", 1)[0] for product_id, source in
            searchable.values_list("product_id", "source")}


def projection_fit() -> dict:
    """Fit and activate the re-ranking projection on the catalogue, as staff would after an
    import; a catalogue too small to fit on is searched without one (said in the result)."""
    from search import reranking
    from vision import selectors as vision_selectors

    try:
        projection = reranking.projection_fit(vision_selectors.embedding_model_active())
    except reranking.CannotFitProjection as exc:
        return {"fitted": False, "reason": str(exc)}
    return {"fitted": True, "version": projection.version, **projection.fit}


def photo_search_ids(content: bytes, *, exact: bool) -> list[int]:
    """The product ids of a shopper's photo search (top K), as served or over an exact scan."""
    from search.product_search import SearchRequest, search_products

    request = SearchRequest(image=content, limit=K)
    results = search_products(request, exact=True) if exact else search_products(request)
    return [hit.product_id for hit in results.hits]


def queries_run(queries: Sequence[LabelledImage], labels: dict[int, str], *, exact: bool = True,
                timed: bool = True, log: Callable[[str], None] = say) -> tuple[list[QueryOutcome], list[str]]:
    """Search with every query picture (timed), then again with exact candidates (recall).
    timed=False: no warm-up search and no latencies (latency_ms None), for the extra runs."""
    from vision.decoding import ImageRejected

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
        outcomes.append(QueryOutcome(
            query=image.name, label=image.label, hits=tuple(labels.get(pid) for pid in ids),
            relevant_total=relevant_totals[image.label], latency_ms=latency_ms, recall=recall,
        ))
    return outcomes, problems


# ---------------------------------------------------------------------------
# Held out: each part of the re-ranking, and classes the projection never saw
# ---------------------------------------------------------------------------

CONFIGURATIONS = ("raw", "vote", "projection", "projection_vote")
HELD_OUT_GROUPS = 3
# The vote's weight in the "vote" configurations when the shop has turned it off (0).
DEFAULT_CATEGORY_WEIGHT = 1.0


def held_out_groups(classes: Sequence[str], groups: Sequence[Sequence[str]] | None = None,
                    count: int = HELD_OUT_GROUPS) -> list[list[str]]:
    """The groups of classes left out of the fit one at a time: by default the sorted class
    names dealt in turn into `count` groups (empty ones dropped); or the caller's groups, each
    sorted, checked against `classes`. Raises DatasetError naming what is wrong."""
    known = sorted(set(classes))
    if groups is None:
        return [group for group in (known[start::count] for start in range(count)) if group]
    chosen = [sorted(set(group)) for group in groups]
    if not chosen or any(not group for group in chosen):
        raise DatasetError("--held-out-groups: every group needs at least one class")
    unknown = sorted({label for group in chosen for label in group} - set(known))
    if unknown:
        raise DatasetError(f"--held-out-groups: no class {', '.join(map(repr, unknown))} in the catalogue "
                           f"(its classes: {', '.join(known)})")
    repeated = sorted(label for label, n in Counter(label for group in chosen for label in group).items() if n > 1)
    if repeated:
        raise DatasetError(f"--held-out-groups: {', '.join(map(repr, repeated))} in more than one group")
    return chosen


def parse_held_out_groups(text: str) -> list[list[str]]:
    """"dress,hat;pants,shirt" -> [["dress", "hat"], ["pants", "shirt"]] (not yet checked)."""
    return [[label.strip() for label in group.split(",") if label.strip()] for group in text.split(";")]


@contextlib.contextmanager
def _category_weight(weight: float):
    from django.conf import settings

    saved = settings.SEARCH_CATEGORY_WEIGHT
    settings.SEARCH_CATEGORY_WEIGHT = weight
    try:
        yield
    finally:
        settings.SEARCH_CATEGORY_WEIGHT = saved


def _map_at_10(outcomes: Sequence[QueryOutcome]) -> float | None:
    return rounded({"map_at_10": summarise(outcomes)["map_at_10"]})["map_at_10"]


def held_out_report(queries: Sequence[LabelledImage], labels: dict[int, str], groups: Sequence[Sequence[str]], *,
                    log: Callable[[str], None] = say) -> dict:
    """mAP@10 of the four configurations (CONFIGURATIONS), in the connected database after the
    main run: {"methods": all queries with the active (full) fit, "held_out": per group of
    classes, its queries with a projection fitted without the group's categories}.

    The raw and vote-only runs do not depend on any fit: each group's numbers for them are its
    queries' share of the all-query runs. A configuration that needs a projection nobody could
    fit is None. The projection active before is active again afterwards (same row, version)."""
    from django.conf import settings

    from catalog.models import Product
    from search import reranking
    from search.models import SearchProjection
    from vision import selectors as vision_selectors

    model = vision_selectors.embedding_model_active()
    full = SearchProjection.objects.filter(embedding_model=model, status=SearchProjection.Status.ACTIVE).first()
    weight = settings.SEARCH_CATEGORY_WEIGHT or DEFAULT_CATEGORY_WEIGHT
    categories: dict[str, set[int]] = defaultdict(set)
    for product_id, category_id in Product.objects.filter(pk__in=list(labels)).values_list("pk", "category_id"):
        if category_id is not None:
            categories[labels[product_id]].add(category_id)

    def run(chosen: Sequence[LabelledImage], category_weight: float) -> list[QueryOutcome]:
        with _category_weight(category_weight):
            return queries_run(chosen, labels, exact=False, timed=False, log=lambda message: None)[0]

    def projected(chosen: Sequence[LabelledImage], projection) -> dict[str, list[QueryOutcome] | None]:
        if projection is None:
            return {"projection": None, "projection_vote": None}
        reranking.projection_activate(projection)
        return {"projection": run(chosen, 0.0), "projection_vote": run(chosen, weight)}

    def table(runs: dict[str, list[QueryOutcome] | None], members: set[str] | None = None) -> dict:
        def kept(outcomes):
            return [o for o in outcomes if members is None or o.label in members]

        return {name: None if runs[name] is None else _map_at_10(kept(runs[name])) for name in CONFIGURATIONS}

    try:
        reranking.projection_deactivate(model)
        log(f"methods: raw features and the category vote alone, {len(queries)} queries each")
        runs = {"raw": run(queries, 0.0), "vote": run(queries, weight)}
        log("methods: " + ("the projection with and without the vote" if full else "no projection fitted"))
        runs.update(projected(queries, full))
        methods = {"queries": len(runs["raw"]), "category_weight": weight,
                   "projection": full.version if full else None, "map_at_10": table(runs)}
        rows = []
        for number, classes in enumerate(groups, start=1):
            members = set(classes)
            chosen = [image for image in queries if image.label in members]
            excluded = sorted(set().union(*(categories[label] for label in classes)))
            try:
                projection = reranking.projection_fit(model, activate=False, exclude_category_ids=excluded)
                fit = {"fitted": True, "version": projection.version, **projection.fit}
            except reranking.CannotFitProjection as exc:
                projection, fit = None, {"fitted": False, "reason": str(exc)}
            log(f"held out {number}/{len(groups)} ({', '.join(classes)}): {len(chosen)} queries, "
                + (f"fitted on {fit['images']} images" if projection else "not fitted"))
            group_runs = {"raw": runs["raw"], "vote": runs["vote"], **projected(chosen, projection)}
            rows.append({
                "classes": list(classes),
                "queries": sum(1 for o in runs["raw"] if o.label in members),
                "fit": fit,
                "map_at_10": table(group_runs, members),
                # The same queries in the full fit, which saw their classes: what not seeing them cost.
                "map_at_10_full_fit": {name: table(runs, members)[name] for name in ("projection", "projection_vote")},
            })
    finally:
        if full is not None:
            reranking.projection_activate(full)
        else:
            reranking.projection_deactivate(model)
    return {"methods": methods, "held_out": {"category_weight": weight, "groups": rows}}


def evaluate(dataset: EvaluationSet, workdir: Path, *, workers: int, log: Callable[[str], None] = say,
             held_out: Sequence[Sequence[str]] | None = None, hybrid: bool = False) -> dict:
    """Load the catalogue into the connected database, fit, search with every query: the result.
    held_out: groups of classes (held_out_groups) for held_out_report, run afterwards (result
    keys "methods" and "held_out"); None skips it. hybrid: then photo + a colour word
    (search.hybrid_evaluation.hybrid_report, result key "hybrid")."""
    catalogue = catalogue_load(dataset.catalogue, workdir, workers=workers, log=log)
    if not catalogue.labels:
        raise DatasetError("no catalogue picture became searchable (every one was refused; see the problems)")
    projection = projection_fit()
    log("projection: " + (f"fitted, {projection['dimension']}-d" if projection["fitted"]
                          else f"not fitted ({projection['reason']})"))
    outcomes, query_problems = queries_run(dataset.queries, catalogue.labels, log=log)
    extra = {}
    if held_out is not None:
        extra = held_out_report(dataset.queries, catalogue.labels, held_out, log=log)
    if hybrid:
        from search.hybrid_evaluation import hybrid_report

        extra["hybrid"] = hybrid_report(dataset.queries, catalogue.labels, log=lambda m: log(f"hybrid: {m}"))
    return {
        "dataset": str(dataset.root),
        "layout": dataset.layout,
        "catalogue_images": len(dataset.catalogue),
        "catalogue_searchable": len(catalogue.labels),
        "catalogue_statuses": catalogue.statuses,
        "search_refresh": catalogue.refresh,
        "queries": len(outcomes),
        "queries_listed": len(dataset.queries),
        "classes": len(dataset.classes),
        **rounded(summarise(outcomes)),
        "projection": projection,
        **extra,
        "problems": [*dataset.problems, *catalogue.problems, *query_problems],
    }


# ---------------------------------------------------------------------------
# Isolation: a throw-away database, media folder and broker, in a child process
# ---------------------------------------------------------------------------


class EvaluationFailed(RuntimeError):
    """The child process stopped without a result (its messages are on stderr)."""


def database_url(settings_dict: dict, name: str) -> str:
    """postgres:// URL of database `name` on the server a Django database entry points at."""
    quote = lambda value: urllib.parse.quote(str(value or ""), safe="")  # noqa: E731
    credentials = quote(settings_dict.get("USER"))
    if settings_dict.get("PASSWORD"):
        credentials += ":" + quote(settings_dict["PASSWORD"])
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    options = {key: value for key, value in (settings_dict.get("OPTIONS") or {}).items() if isinstance(value, str)}
    query = "?" + urllib.parse.urlencode(options) if options else ""  # e.g. sslmode
    return f"postgres://{credentials}@{quote(settings_dict.get('HOST'))}{port}/{name}{query}"


# Settings are read from the environment, so the child is set up by the environment alone.
CHILD_CODE = "import sys, django; django.setup(); from search.evaluation import child_main; sys.exit(child_main(sys.argv[1]))"
MEMORY_BROKER = "memory://localhost/"


def _child_environment(url: str, workdir: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_MEDIA_ROOT": str(workdir / "media"),
        "CELERY_BROKER_URL": MEMORY_BROKER,
        "CELERY_RESULT_BACKEND": "cache+memory://",
    }
    env.setdefault("LOG_LEVEL", "WARNING")
    # The shop's metrics files would count the evaluation's images as the shop's.
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.pop("WORKER_METRICS_PORT", None)
    return env


def evaluate_in_throwaway_database(dataset: EvaluationSet, *, workers: int | None = None, keep_db: bool = False,
                                   held_out: Sequence[Sequence[str]] | None = None, hybrid: bool = False,
                                   log: Callable[[str], None] = say) -> dict:
    """`evaluate` in a new database on the shop's server, dropped afterwards (unless keep_db)."""
    from django.db import connection

    from visualshop import embedded
    from visualshop.paths import BASE_DIR

    name = f"{DATABASE_PREFIX}{os.getpid()}"
    admin_url = database_url(connection.settings_dict, "postgres")
    url = database_url(connection.settings_dict, name)
    workdir = Path(tempfile.mkdtemp(prefix="visualshop-evaluate-"))
    spec = workdir / "spec.json"
    result_file = workdir / "result.json"
    spec.write_text(json.dumps({
        "database": name, "dataset": dataset.to_json(), "workers": workers or os.cpu_count() or 1,
        "workdir": str(workdir), "result": str(result_file),
        "held_out": None if held_out is None else [list(group) for group in held_out], "hybrid": hybrid,
    }))
    log(f"creating the throw-away database {name}")
    embedded.recreate_database(admin_url, name)
    child = None
    try:
        child = subprocess.Popen([sys.executable, "-c", CHILD_CODE, str(spec)], cwd=BASE_DIR,
                                 env=_child_environment(url, workdir))
        code = child.wait()
        if code != 0 or not result_file.exists():
            raise EvaluationFailed(f"the evaluation process stopped with exit code {code} (its messages are above)")
        result = json.loads(result_file.read_text())
    finally:
        if child is not None and child.poll() is None:
            child.terminate()
            child.wait()
        if keep_db:
            log(f"kept database {name} (DATABASE_URL={url}) and its media in {workdir / 'media'}")
        else:
            embedded.drop_database(admin_url, name)
            shutil.rmtree(workdir, ignore_errors=True)
    if "error" in result:
        raise DatasetError(result["error"])
    return {**result, "database": name if keep_db else None}


def child_main(spec_path: str) -> int:
    """The child process: migrate the throw-away database, evaluate, write the result file."""
    from django.core.management import call_command
    from django.db import connection

    from visualshop.celery import app

    spec = json.loads(Path(spec_path).read_text())
    name = connection.settings_dict["NAME"]
    if name != spec["database"] or not name.startswith(DATABASE_PREFIX):
        say(f"refusing to fill database {name!r}: not the throw-away database {spec['database']!r}")
        return 2
    # Settings that pin a broker (the test settings do) must not get the import's
    # processing messages: they stay in this process's memory and die with it.
    app.conf.update(broker_url=MEMORY_BROKER, result_backend="cache+memory://")
    say("migrating")
    call_command("migrate", verbosity=0)
    try:
        result = evaluate(EvaluationSet.from_json(spec["dataset"]), Path(spec["workdir"]), workers=spec["workers"],
                          held_out=spec.get("held_out"), hybrid=spec.get("hybrid", False))
    except DatasetError as exc:
        result = {"error": str(exc)}
    Path(spec["result"]).write_text(json.dumps(result))
    return 0
