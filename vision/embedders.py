"""One ONNX session per model version per process, created on first use and kept.

Workers and the web process call `embedder_for(model)`; the session is never
created per request or per task (the first run of a session is slow, and
loading the file costs about 100 ms).
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from django.conf import settings
from PIL import Image

from vision.models import EmbeddingModel
from vision.onnx_model.build import build_model, default_models_dir, file_sha256
from vision.onnx_model.runtime import ImageEmbedder, l2_normalize

_embedders: dict[int, ImageEmbedder] = {}
_lock = threading.Lock()


class ModelUnavailable(RuntimeError):
    """The model file of a registered version is missing and cannot be rebuilt here."""


def model_path(model: EmbeddingModel) -> Path:
    return default_models_dir() / model.file_name


def embedder_for(model: EmbeddingModel) -> ImageEmbedder:
    with _lock:
        embedder = _embedders.get(model.pk)
        if embedder is None:
            path = _ensure_file(model)
            embedder = ImageEmbedder(path, intra_op_num_threads=settings.EMBEDDING_THREADS)
            embedder.warm_up()
            _embedders[model.pk] = embedder
        return embedder


def embed_picture(model: EmbeddingModel, picture: Image.Image) -> np.ndarray:
    """The vector stored and searched for an upright RGB picture under `model` (L2-normalised)."""
    return l2_normalize(embedder_for(model).embed([picture]))[0]


def _ensure_file(model: EmbeddingModel) -> Path:
    """The model's file, rebuilt from the pinned checkpoint if it is an fp32 file gone missing."""
    path = model_path(model)
    if not path.is_file() and model.variant == "fp32":
        path = build_model()  # deterministic: the same checkpoint and recipe give the same bytes
    if not path.is_file():
        raise ModelUnavailable(
            f"model file {model.file_name} for {model.name} {model.version} is missing from {path.parent}; "
            "copy it there or register a new version with `manage.py embedding_model activate`"
        )
    if file_sha256(path) != model.checksum:
        raise ModelUnavailable(f"{path} does not match the checksum of {model.name} {model.version}")
    return path


def forget_embedders() -> None:
    """Drop the cached sessions: a forked process must create its own."""
    with _lock:
        _embedders.clear()
