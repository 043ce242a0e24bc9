"""MLflow tracking of training runs (visualshop.mlflow_runs): every ranker trained
(ranking.registry) and every search projection fitted (search.projection_runs) is a run with
its parameters, metrics and model file. By default a SQLite store and an artifact
folder under var/mlflow; MLFLOW_TRACKING_URI points at a real tracking server instead."""

from visualshop.env import env_str
from visualshop.paths import VAR_DIR

MLFLOW_TRACKING_URI = env_str("MLFLOW_TRACKING_URI", f"sqlite:///{VAR_DIR / 'mlflow' / 'mlflow.db'}")
# Where a run's files go when the store is the local SQLite one (a server keeps its own).
MLFLOW_ARTIFACT_ROOT = env_str("MLFLOW_ARTIFACT_ROOT", (VAR_DIR / "mlflow" / "artifacts").as_uri())
MLFLOW_EXPERIMENT = env_str("MLFLOW_EXPERIMENT", "visualshop-ranker")
MLFLOW_PROJECTION_EXPERIMENT = env_str("MLFLOW_PROJECTION_EXPERIMENT", "visualshop-search-projection")
