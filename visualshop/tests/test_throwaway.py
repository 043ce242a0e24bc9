"""The throw-away database helper shared by the benchmarks and evaluate_search."""

import pytest

from visualshop.throwaway import database_url, sibling_database_url, throwaway_environment


@pytest.mark.parametrize(
    ("settings_dict", "url"),
    [
        (
            {"USER": "postgres", "PASSWORD": "", "HOST": "/tmp/pg sock", "PORT": 5432, "OPTIONS": {}},
            "postgres://postgres@%2Ftmp%2Fpg%20sock:5432/evaluation",
        ),
        (
            {
                "USER": "shop",
                "PASSWORD": "p@ss/word",
                "HOST": "db.internal",
                "PORT": "",
                "OPTIONS": {"sslmode": "require"},
            },
            "postgres://shop:p%40ss%2Fword@db.internal/evaluation?sslmode=require",
        ),
    ],
)
def test_the_throw_away_database_is_on_the_shops_server(settings_dict, url):
    assert database_url(settings_dict, "evaluation") == url


@pytest.mark.parametrize(
    ("admin_url", "url"),
    [
        (
            "postgres://postgres@%2Ftmp%2Fpg%20sock:5432/postgres",
            "postgres://postgres@%2Ftmp%2Fpg%20sock:5432/evaluation",
        ),
        (
            "postgres://shop:p%40ss%2Fword@db.internal/postgres?sslmode=require",
            "postgres://shop:p%40ss%2Fword@db.internal/evaluation?sslmode=require",
        ),
    ],
)
def test_the_throw_away_database_url_is_the_admin_url_with_its_name(admin_url, url):
    assert sibling_database_url(admin_url, "evaluation") == url


def test_the_throw_away_keeps_its_own_media_broker_and_mlflow_store(tmp_path):
    env = throwaway_environment(tmp_path, "postgres://x@h/db", CELERY_BROKER_URL="redis://r/0")

    assert env["DATABASE_URL"] == "postgres://x@h/db"
    assert env["DJANGO_MEDIA_ROOT"] == str(tmp_path / "media")
    assert env["CELERY_BROKER_URL"] == "redis://r/0"  # extra_env wins
    assert env["MLFLOW_TRACKING_URI"] == f"sqlite:///{tmp_path}/mlflow/mlflow.db"
    assert env["MLFLOW_ARTIFACT_ROOT"] == (tmp_path / "mlflow" / "artifacts").as_uri()
