from django.db import models

from catalog.models import ProductImage
from vision.models import EmbeddingModel


class SearchProjection(models.Model):
    """A learned re-ranking space for one embedding model version (search.reranking).

    Fitted on the catalogue only (its images' vectors and their product categories): a
    PCA to `dimension` followed by within-category covariance normalisation, folded into
    one matrix. Search re-scores the HNSW candidates in this space. Versioned like the
    embedding model: refit by `manage.py fit_search_projection`, at most one active per
    embedding model, older fits kept RETIRED for comparison and rollback.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        RETIRED = "retired", "Retired"

    embedding_model = models.ForeignKey(EmbeddingModel, on_delete=models.CASCADE, related_name="projections")
    version = models.CharField(max_length=64)  # sha256 prefix of the stored arrays
    dimension = models.PositiveIntegerField()
    # An .npz with `mean` (dimension of the embedding) and `matrix` (embedding x `dimension`),
    # about 1.3 MB: kept in the database so every web and worker container reads the same fit.
    arrays = models.BinaryField()
    # What it was fitted on and how: image and category counts, regularisation, timings.
    fit = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RETIRED, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    # The fit's MLflow run (search.projection_runs); empty when the store could not be written.
    mlflow_run_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["embedding_model", "version"], name="searchprojection_unique_version"),
            models.UniqueConstraint(
                fields=["embedding_model"], condition=models.Q(status="active"), name="searchprojection_one_active"
            ),
        ]

    def __str__(self) -> str:
        return f"projection {self.version} of {self.embedding_model_id} ({self.status})"


class SimilarProduct(models.Model):
    """Cached "visually similar" row of a product, best first (search.similar).

    Recomputed when the product is marked search-dirty (its images changed) and by the
    periodic refresh; read by product pages and the API without touching the vector index.
    """

    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="similar_rows")
    similar = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")
    rank = models.PositiveSmallIntegerField()
    score = models.FloatField()
    image = models.ForeignKey(ProductImage, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["product_id", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["product", "rank"], name="similarproduct_unique_rank"),
            models.UniqueConstraint(fields=["product", "similar"], name="similarproduct_unique_pair"),
        ]

    def __str__(self) -> str:
        return f"{self.similar_id} similar to {self.product_id} (#{self.rank})"
