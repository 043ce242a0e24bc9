"""EmbeddingModel and ImageEmbedding now belong to vision/ (vision 0001): removed from search's
state only. No table, row, constraint or index changes (see vision/migrations/0001_initial.py)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("search", "0002_projection_similar"),
        ("vision", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="searchprojection",
                    name="embedding_model",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="projections",
                        to="vision.embeddingmodel",
                    ),
                ),
                migrations.DeleteModel(name="ImageEmbedding"),
                migrations.DeleteModel(name="EmbeddingModel"),
            ],
            database_operations=[],
        ),
    ]
