"""Reads of the image model versions: which one search reads, which ones new images need."""

from __future__ import annotations

from vision.models import EmbeddingModel


def embedding_model_active() -> EmbeddingModel | None:
    """The one version search reads (None before the first image was processed)."""
    return EmbeddingModel.objects.filter(status=EmbeddingModel.Status.ACTIVE).first()


def embedding_models_live() -> list[EmbeddingModel]:
    """Versions new images must be embedded with: the active one and one being rebuilt."""
    return list(
        EmbeddingModel.objects.filter(
            status__in=[EmbeddingModel.Status.ACTIVE, EmbeddingModel.Status.BUILDING]
        ).order_by("status")  # "active" before "building"
    )
