"""vision/migrations/0001 + search/migrations/0003: the models moved from search/ to vision/
in Django's state only. A database migrated before the move keeps every row, and staff
permissions follow the models to their new app label."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from search.models import SearchProjection
from vision.models import EmbeddingModel

BEFORE_THE_MOVE = [("search", "0002_projection_similar"), ("vision", None)]


def migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return MigrationExecutor(connection)  # a fresh loader sees the new applied set


@pytest.mark.django_db(transaction=True)
def test_rows_written_before_the_move_are_read_through_vision_after_it():
    executor = migrate(BEFORE_THE_MOVE)
    old = executor.loader.project_state(BEFORE_THE_MOVE[:1]).apps
    model = old.get_model("search", "EmbeddingModel").objects.create(
        name="efficientnet-lite0",
        version="fp32-moved",
        variant="fp32",
        dimension=1280,
        checksum="c" * 64,
        file_name="moved.onnx",
        status="active",
    )
    old.get_model("search", "SearchProjection").objects.create(
        embedding_model_id=model.pk, version="v1", dimension=256, arrays=b"x", status="active"
    )
    ContentType.objects.clear_cache()
    search_type, _ = ContentType.objects.get_or_create(app_label="search", model="embeddingmodel")

    latest = migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    assert latest.migration_plan(latest.loader.graph.leaf_nodes()) == []  # fully migrated again
    moved = EmbeddingModel.objects.get(pk=model.pk)
    assert (moved.version, moved.status, moved._meta.db_table) == ("fp32-moved", "active", "search_embeddingmodel")
    assert SearchProjection.objects.get(embedding_model=moved).dimension == 256
    search_type.refresh_from_db()
    assert (search_type.app_label, search_type.model) == ("vision", "embeddingmodel")
