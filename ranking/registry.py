"""Every training run recorded in MLflow (mlflow-skinny): parameters, metrics, the feature
list and importance, and the model file, in the experiment MLFLOW_EXPERIMENT of the store
MLFLOW_TRACKING_URI (a SQLite file under var/mlflow by default, a tracking server when set).

The shop's own record of a version is ranking.models.RankerVersion (what serving and the
admin read); the MLflow run is its lab notebook, named by RankerVersion.mlflow_run_id. A
store that cannot be written does not stop a training: the version says why it has no run.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import mlflow
from django.conf import settings
from mlflow.tracking import MlflowClient

from ranking.models import RankerVersion

logger = logging.getLogger(__name__)


class RegistryUnavailable(RuntimeError):
    """MLflow's store could not be written."""


def training_run_record(version: RankerVersion) -> str:
    """Record a trained (or failed) version as an MLflow run; returns the run id. Raises
    RegistryUnavailable."""
    try:
        experiment_id = _experiment_id()
        with mlflow.start_run(experiment_id=experiment_id, run_name=f"ranker-{version.pk}") as run:
            mlflow.set_tags({"ranker_version": str(version.pk), "status": version.status, "trigger": version.trigger})
            mlflow.log_params(
                {
                    **{k: _param(v) for k, v in version.params.items()},
                    "feature_set": version.feature_set,
                    "features": len(version.feature_names),
                    "trained_from": version.trained_from.isoformat() if version.trained_from else "",
                    "trained_to": version.trained_to.isoformat() if version.trained_to else "",
                    "held_out_to": version.held_out_to.isoformat() if version.held_out_to else "",
                }
            )
            numbers = {k: float(v) for k, v in version.metrics.items() if isinstance(v, int | float)}
            if numbers:
                mlflow.log_metrics(numbers)
            mlflow.log_dict(
                {"features": version.feature_names, "importance": version.feature_importance}, "features.json"
            )
            if version.model_text:
                with tempfile.TemporaryDirectory() as folder:
                    path = Path(folder) / "ranker.txt"
                    path.write_text(version.model_text)
                    mlflow.log_artifact(str(path), artifact_path="model")
            return run.info.run_id
    except Exception as exc:  # MLflow's own errors are many (SQLAlchemy, HTTP, files)
        raise RegistryUnavailable(f"MLflow store {settings.MLFLOW_TRACKING_URI} could not be written: {exc}") from exc


def training_runs(limit: int = 20) -> list:
    """The latest runs of the experiment, newest first (for `manage.py ranker list`)."""
    client = MlflowClient(tracking_uri=settings.MLFLOW_TRACKING_URI)
    experiment = client.get_experiment_by_name(settings.MLFLOW_EXPERIMENT)
    if experiment is None:
        return []
    return client.search_runs([experiment.experiment_id], order_by=["attributes.start_time DESC"], max_results=limit)


def _experiment_id() -> str:
    if settings.MLFLOW_TRACKING_URI.startswith("sqlite:///"):
        Path(settings.MLFLOW_TRACKING_URI.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(settings.MLFLOW_TRACKING_URI)
    client = MlflowClient(tracking_uri=settings.MLFLOW_TRACKING_URI)
    experiment = client.get_experiment_by_name(settings.MLFLOW_EXPERIMENT)
    if experiment is not None:
        return experiment.experiment_id
    return client.create_experiment(settings.MLFLOW_EXPERIMENT, artifact_location=settings.MLFLOW_ARTIFACT_ROOT)


def _param(value) -> str:
    return str(value)[:500]  # MLflow's limit on a parameter's value
