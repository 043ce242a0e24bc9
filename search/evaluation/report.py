"""The whole evaluation in whatever database Django is connected to: the photo run, then the
held-out and hybrid reports if asked; one result dict (what `manage.py evaluate_search` prints)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from search.evaluation.dataset import DatasetError, EvaluationSet
from search.evaluation.held_out import held_out_report
from search.evaluation.hybrid import hybrid_report
from search.evaluation.metrics import rounded, summarise
from search.evaluation.photo import catalogue_load, projection_fit, queries_run
from search.evaluation.progress import say


def evaluate(
    dataset: EvaluationSet,
    workdir: Path,
    *,
    workers: int,
    log: Callable[[str], None] = say,
    held_out: Sequence[Sequence[str]] | None = None,
    hybrid: bool = False,
) -> dict:
    """Load the catalogue into the connected database, fit, search with every query: the result.
    held_out: groups of classes (held_out_groups) for held_out_report, run afterwards (result
    keys "methods" and "held_out"); None skips it. hybrid: then photo + a colour word
    (search.evaluation.hybrid.hybrid_report, result key "hybrid")."""
    catalogue = catalogue_load(dataset.catalogue, workdir, workers=workers, log=log)
    if not catalogue.labels:
        raise DatasetError("no catalogue picture became searchable (every one was refused; see the problems)")
    projection = projection_fit()
    log(
        "projection: "
        + (f"fitted, {projection['dimension']}-d" if projection["fitted"] else f"not fitted ({projection['reason']})")
    )
    outcomes, query_problems = queries_run(dataset.queries, catalogue.labels, log=log)
    extra = {}
    if held_out is not None:
        extra = held_out_report(dataset.queries, catalogue.labels, held_out, log=log)
    if hybrid:
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
