"""The evaluation's child process, which fills only its throw-away database."""

import json

import pytest
from django.db import connection

from catalog.models import Product
from search.evaluation import isolation


@pytest.mark.django_db
def test_the_child_refuses_any_database_but_its_throw_away_one(tmp_path, capsys):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"database": "visualshop_evaluate_1"}))
    assert isolation.child_main(str(spec)) == 2
    assert capsys.readouterr().err == (
        f"[evaluate_search] refusing to fill database {connection.settings_dict['NAME']!r}: "
        "not the throw-away database 'visualshop_evaluate_1'\n"
    )
    assert Product.objects.count() == 0
