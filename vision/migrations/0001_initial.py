"""EmbeddingModel and ImageEmbedding moved here from search/ (2026-12): Django's state only.

The tables keep their names (search_embeddingmodel, search_imageembedding, set in Meta.db_table)
and their rows, constraints and per-version HNSW indexes: nothing in the database moves. The
content types are relabelled so staff permissions and admin history follow the models.
"""

import django.db.models.deletion
import pgvector.django.halfvec
from django.db import migrations, models

MOVED_MODELS = ["embeddingmodel", "imageembedding"]


def relabel_content_types(apps, schema_editor, *, old: str, new: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.using(schema_editor.connection.alias).filter(app_label=old, model__in=MOVED_MODELS).update(
        app_label=new
    )


def forwards(apps, schema_editor):
    relabel_content_types(apps, schema_editor, old="search", new="vision")


def backwards(apps, schema_editor):
    relabel_content_types(apps, schema_editor, old="vision", new="search")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("catalog", "0007_image_reason_too_large_to_decode"),
        ("contenttypes", "0002_remove_content_type_name"),
        # The tables are created (on a new database) by search's migrations up to here.
        ("search", "0002_projection_similar"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="EmbeddingModel",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("name", models.CharField(max_length=64)),
                        ("version", models.CharField(max_length=64)),
                        ("variant", models.CharField(max_length=16)),
                        ("dimension", models.PositiveIntegerField()),
                        ("checksum", models.CharField(max_length=64, unique=True)),
                        ("file_name", models.CharField(max_length=255)),
                        ("preprocessing", models.JSONField(default=dict)),
                        (
                            "status",
                            models.CharField(
                                choices=[("building", "Building"), ("active", "Active"), ("retired", "Retired")],
                                db_index=True,
                                default="building",
                                max_length=16,
                            ),
                        ),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("activated_at", models.DateTimeField(blank=True, null=True)),
                    ],
                    options={
                        "db_table": "search_embeddingmodel",
                        "ordering": ["-created_at"],
                        "constraints": [
                            models.UniqueConstraint(fields=("name", "version"), name="embeddingmodel_unique_version"),
                            models.UniqueConstraint(
                                condition=models.Q(("status", "active")),
                                fields=("status",),
                                name="embeddingmodel_one_active",
                            ),
                            models.UniqueConstraint(
                                condition=models.Q(("status", "building")),
                                fields=("status",),
                                name="embeddingmodel_one_building",
                            ),
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="ImageEmbedding",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("embedding", pgvector.django.halfvec.HalfVectorField()),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        (
                            "image",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="embeddings",
                                to="catalog.productimage",
                            ),
                        ),
                        (
                            "model",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="embeddings",
                                to="vision.embeddingmodel",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "search_imageembedding",
                        "constraints": [
                            models.UniqueConstraint(fields=("model", "image"), name="imageembedding_one_per_model")
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(forwards, backwards),
    ]
