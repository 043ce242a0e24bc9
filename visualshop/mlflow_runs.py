"""MLflow tracking (mlflow-skinny), the one module that talks to it: a training run recorded
with its parameters, metrics, small JSON documents and files, in an experiment of the store
MLFLOW_TRACKING_URI (a SQLite file under var/mlflow by default, a tracking server when set).

The shop's own record of a model version is its app's model (ranking.models.RankerVersion,
search.models.SearchProjection), which serving and the admin read; the MLflow run is its lab
notebook, named by the version's mlflow_run_id. A store that cannot be written must not stop
a training: callers catch RegistryUnavailable and say on the version why it has no run.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path

import mlflow
from django.conf import settings
from mlflow.tracking import MlflowClient


class RegistryUnavailable(RuntimeError):
    """MLflow's store could not be written."""


def run_record(
    experiment: str,
    run_name: str,
    *,
    tags: Mapping[str, str],
    params: Mapping[str, object],
    metrics: Mapping[str, object],
    documents: Mapping[str, object] = {},
    files: Mapping[str, bytes] = {},
) -> str:
    """One run: params as text (MLflow's 500 characters at most), the numeric metrics,
    `documents` as JSON artifacts ({"features.json": {...}}), `files` under model/. Returns the
    run id. Raises RegistryUnavailable."""
    try:
        experiment_id = _experiment_id(experiment)
        with mlflow.start_run(experiment_id=experiment_id, run_name=run_name) as run:
            mlflow.set_tags(dict(tags))
            mlflow.log_params({name: str(value)[:500] for name, value in params.items()})
            numbers = {
                name: float(value)
                for name, value in metrics.items()
                if isinstance(value, int | float) and not isinstance(value, bool)
            }
            if numbers:
                mlflow.log_metrics(numbers)
            for name, document in documents.items():
                mlflow.log_dict(document, name)
            if files:
                with tempfile.TemporaryDirectory() as folder:
                    for name, content in files.items():
                        path = Path(folder) / name
                        path.write_bytes(content)
                        mlflow.log_artifact(str(path), artifact_path="model")
            return run.info.run_id
    except Exception as exc:  # MLflow's own errors are many (SQLAlchemy, HTTP, files)
        raise RegistryUnavailable(f"MLflow store {settings.MLFLOW_TRACKING_URI} could not be written: {exc}") from exc


def runs(experiment: str, limit: int = 20) -> list:
    """The latest runs of an experiment, newest first."""
    client = MlflowClient(tracking_uri=settings.MLFLOW_TRACKING_URI)
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return []
    return client.search_runs([found.experiment_id], order_by=["attributes.start_time DESC"], max_results=limit)


def _experiment_id(name: str) -> str:
    if settings.MLFLOW_TRACKING_URI.startswith("sqlite:///"):
        Path(settings.MLFLOW_TRACKING_URI.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(settings.MLFLOW_TRACKING_URI)
    client = MlflowClient(tracking_uri=settings.MLFLOW_TRACKING_URI)
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    return client.create_experiment(name, artifact_location=settings.MLFLOW_ARTIFACT_ROOT)
