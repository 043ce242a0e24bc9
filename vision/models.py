"""The image model versions and the vectors they produce.

Both tables keep the names they were created with in search/ (search_embeddingmodel,
search_imageembedding): the move to this app changed Django's state only, no table or row.
"""

from django.db import models
from pgvector.django import HalfVectorField

from catalog.models import ProductImage


class EmbeddingModel(models.Model):
    """One version of the image model. Every stored vector names the version that made it.

    Life cycle: BUILDING (the catalogue is being embedded in the background; new
    images are embedded with it too, but search does not read it) -> ACTIVE (the one
    version search reads) -> RETIRED (replaced; its vectors are deleted).
    """

    class Status(models.TextChoices):
        BUILDING = "building", "Building"
        ACTIVE = "active", "Active"
        RETIRED = "retired", "Retired"

    name = models.CharField(max_length=64)  # e.g. "efficientnet-lite0"
    version = models.CharField(max_length=64)  # e.g. "fp32-1a2b3c4d5e6f7a8b"
    variant = models.CharField(max_length=16)  # "fp32" or "int8"
    dimension = models.PositiveIntegerField()
    # sha256 of the ONNX file; the file is var/models/<file_name> and is rebuilt from the
    # pinned checkpoint when missing (fp32) or re-calibrated (int8) if the checksum matches.
    checksum = models.CharField(max_length=64, unique=True)
    file_name = models.CharField(max_length=255)
    preprocessing = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.BUILDING, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "search_embeddingmodel"  # created by search's migrations before vision/ existed
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["name", "version"], name="embeddingmodel_unique_version"),
            # Search must never have two versions to choose from, nor two rebuilds in flight.
            models.UniqueConstraint(
                fields=["status"], condition=models.Q(status="active"), name="embeddingmodel_one_active"
            ),
            models.UniqueConstraint(
                fields=["status"], condition=models.Q(status="building"), name="embeddingmodel_one_building"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.version} ({self.status})"

    @property
    def active(self) -> bool:
        return self.status == self.Status.ACTIVE


class ImageEmbedding(models.Model):
    """The vector of one product image under one model version.

    Stored as halfvec without a fixed dimension: each model version gets its own
    partial HNSW index on `embedding::halfvec(<its dimension>)` (vision.vector_index),
    so a new version with another dimension needs no schema change. Why halfvec: see
    vision/vector_index.py.
    """

    image = models.ForeignKey(ProductImage, on_delete=models.CASCADE, related_name="embeddings")
    model = models.ForeignKey(EmbeddingModel, on_delete=models.CASCADE, related_name="embeddings")
    embedding = HalfVectorField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "search_imageembedding"  # created by search's migrations before vision/ existed
        constraints = [
            models.UniqueConstraint(fields=["model", "image"], name="imageembedding_one_per_model"),
        ]

    def __str__(self) -> str:
        return f"embedding of image {self.image_id} by model {self.model_id}"
