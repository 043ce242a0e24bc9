"""The throw-away database helper shared by the benchmarks and evaluate_search."""

import pytest

from visualshop.throwaway import database_url, sibling_database_url


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
