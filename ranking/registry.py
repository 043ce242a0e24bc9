"""Every ranker training run recorded in MLflow (visualshop.mlflow_runs): parameters, metrics,
the feature list and importance, and the model file, in the experiment MLFLOW_EXPERIMENT.

The shop's own record of a version is ranking.models.RankerVersion (what serving and the
admin read); the MLflow run is its lab notebook, named by RankerVersion.mlflow_run_id.
"""

from __future__ import annotations

from django.conf import settings

from ranking.models import RankerVersion
from visualshop import mlflow_runs
from visualshop.mlflow_runs import RegistryUnavailable

__all__ = ["RegistryUnavailable", "training_run_record", "training_runs"]


def training_run_record(version: RankerVersion) -> str:
    """Record a trained (or failed) version as an MLflow run; returns the run id. Raises
    RegistryUnavailable."""
    return mlflow_runs.run_record(
        settings.MLFLOW_EXPERIMENT,
        f"ranker-{version.pk}",
        tags={"ranker_version": str(version.pk), "status": version.status, "trigger": version.trigger},
        params={
            **version.params,
            "feature_set": version.feature_set,
            "features": len(version.feature_names),
            "trained_from": version.trained_from.isoformat() if version.trained_from else "",
            "trained_to": version.trained_to.isoformat() if version.trained_to else "",
            "held_out_to": version.held_out_to.isoformat() if version.held_out_to else "",
        },
        metrics=version.metrics,
        documents={"features.json": {"features": version.feature_names, "importance": version.feature_importance}},
        files={"ranker.txt": version.model_text.encode()} if version.model_text else {},
    )


def training_runs(limit: int = 20) -> list:
    """The latest runs of the ranker's experiment, newest first (for `manage.py ranker list`)."""
    return mlflow_runs.runs(settings.MLFLOW_EXPERIMENT, limit)
