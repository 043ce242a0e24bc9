"""Every search projection fitted (search.reranking.projection_fit) recorded in MLflow
(visualshop.mlflow_runs, experiment MLFLOW_PROJECTION_EXPERIMENT): its parameters, what it was
fitted on, its offline metric and its arrays, as a ranker's training is. The shop's own record
is search.models.SearchProjection; the run is named by its mlflow_run_id."""

from __future__ import annotations

import logging

from django.conf import settings

from search.models import SearchProjection
from visualshop import mlflow_runs

logger = logging.getLogger(__name__)


def projection_run_record(projection: SearchProjection) -> str | None:
    """Record a fitted projection as an MLflow run and keep its id on the projection; None
    (logged, and said on the projection's fit) when the store cannot be written: a fit is
    never lost for its notebook."""
    fit = projection.fit
    try:
        run_id = mlflow_runs.run_record(
            settings.MLFLOW_PROJECTION_EXPERIMENT,
            f"projection-{projection.version}",
            tags={
                "projection_version": projection.version,
                "embedding_model": str(projection.embedding_model_id),
                "status": projection.status,
            },
            params={
                "dimension": projection.dimension,
                "regularisation": fit.get("regularisation"),
                "embedding_model": str(projection.embedding_model_id),
                "excluded_categories": fit.get("excluded_categories", []),
                "fitted_at": projection.created_at.isoformat() if projection.created_at else "",
            },
            metrics={
                "images": fit.get("images"),
                "categories": fit.get("categories"),
                "seconds": fit.get("seconds"),
                **{f"precision10_{name}": value for name, value in fit.get("precision_at_10", {}).items()},
            },
            files={"projection.npz": bytes(projection.arrays)},
        )
    except mlflow_runs.RegistryUnavailable as exc:
        logger.warning("%s", exc)
        SearchProjection.objects.filter(pk=projection.pk).update(fit={**fit, "mlflow": str(exc)[:500]})
        return None
    SearchProjection.objects.filter(pk=projection.pk).update(mlflow_run_id=run_id)
    projection.mlflow_run_id = run_id
    return run_id
