"""Held out: what each part of the re-ranking does, and classes the projection never saw
(`manage.py evaluate_search --held-out`; search.evaluation says how)."""

from __future__ import annotations

import contextlib
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence

from django.conf import settings

from catalog.models import Product
from search import reranking
from search.evaluation.dataset import DatasetError, LabelledImage
from search.evaluation.metrics import QueryOutcome, rounded, summarise
from search.evaluation.photo import queries_run
from search.evaluation.progress import say
from search.models import SearchProjection
from vision import selectors as vision_selectors

CONFIGURATIONS = ("raw", "vote", "projection", "projection_vote")
HELD_OUT_GROUPS = 3
# The vote's weight in the "vote" configurations when the shop has turned it off (0).
DEFAULT_CATEGORY_WEIGHT = 1.0


def held_out_groups(
    classes: Sequence[str], groups: Sequence[Sequence[str]] | None = None, count: int = HELD_OUT_GROUPS
) -> list[list[str]]:
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
        raise DatasetError(
            f"--held-out-groups: no class {', '.join(map(repr, unknown))} in the catalogue "
            f"(its classes: {', '.join(known)})"
        )
    repeated = sorted(label for label, n in Counter(label for group in chosen for label in group).items() if n > 1)
    if repeated:
        raise DatasetError(f"--held-out-groups: {', '.join(map(repr, repeated))} in more than one group")
    return chosen


def parse_held_out_groups(text: str) -> list[list[str]]:
    """ "dress,hat;pants,shirt" -> [["dress", "hat"], ["pants", "shirt"]] (not yet checked)."""
    return [[label.strip() for label in group.split(",") if label.strip()] for group in text.split(";")]


@contextlib.contextmanager
def _category_weight(weight: float):
    saved = settings.SEARCH_CATEGORY_WEIGHT
    settings.SEARCH_CATEGORY_WEIGHT = weight
    try:
        yield
    finally:
        settings.SEARCH_CATEGORY_WEIGHT = saved


def _map_at_10(outcomes: Sequence[QueryOutcome]) -> float | None:
    return rounded({"map_at_10": summarise(outcomes)["map_at_10"]})["map_at_10"]


def held_out_report(
    queries: Sequence[LabelledImage],
    labels: dict[int, str],
    groups: Sequence[Sequence[str]],
    *,
    log: Callable[[str], None] = say,
) -> dict:
    """mAP@10 of the four configurations (CONFIGURATIONS), in the connected database after the
    main run: {"methods": all queries with the active (full) fit, "held_out": per group of
    classes, its queries with a projection fitted without the group's categories}.

    The raw and vote-only runs do not depend on any fit: each group's numbers for them are its
    queries' share of the all-query runs. A configuration that needs a projection nobody could
    fit is None. The projection active before is active again afterwards (same row, version)."""
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
        methods = {
            "queries": len(runs["raw"]),
            "category_weight": weight,
            "projection": full.version if full else None,
            "map_at_10": table(runs),
        }
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
            log(
                f"held out {number}/{len(groups)} ({', '.join(classes)}): {len(chosen)} queries, "
                + (f"fitted on {fit['images']} images" if projection else "not fitted")
            )
            group_runs = {"raw": runs["raw"], "vote": runs["vote"], **projected(chosen, projection)}
            rows.append(
                {
                    "classes": list(classes),
                    "queries": sum(1 for o in runs["raw"] if o.label in members),
                    "fit": fit,
                    "map_at_10": table(group_runs, members),
                    # The same queries in the full fit, which saw their classes: what not seeing them cost.
                    "map_at_10_full_fit": {
                        name: table(runs, members)[name] for name in ("projection", "projection_vote")
                    },
                }
            )
    finally:
        if full is not None:
            reranking.projection_activate(full)
        else:
            reranking.projection_deactivate(model)
    return {"methods": methods, "held_out": {"category_weight": weight, "groups": rows}}
