"""One ONNX session per model version per process, created on first use and kept.

Workers and the web process call `embedder_for(model)`; the session is never
created per request or per task (the first run of a session is slow, and
loading the file costs about 100 ms).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
from django.conf import settings
from PIL import Image

from vision.models import EmbeddingModel
from vision.onnx_model.build import build_model, default_models_dir, file_sha256
from vision.onnx_model.runtime import ImageEmbedder, l2_normalize

_embedders: dict[tuple[int, int], ImageEmbedder] = {}
_lock = threading.Lock()


class ModelUnavailable(RuntimeError):
    """The model file of a registered version is missing and cannot be rebuilt here."""


def model_path(model: EmbeddingModel) -> Path:
    return default_models_dir() / model.file_name


def embedder_for(model: EmbeddingModel, threads: int | None = None) -> ImageEmbedder:
    """The process's session for `model` with `threads` onnxruntime threads (default
    EMBEDDING_THREADS, the catalogue pipeline's; search embeds a shopper's photo with
    SEARCH_EMBEDDING_THREADS). A session of more than one thread does not spin while it waits
    for work: spinning threads burn the cores other requests need."""
    threads = settings.EMBEDDING_THREADS if threads is None else threads
    with _lock:
        embedder = _embedders.get((model.pk, threads))
        if embedder is None:
            path = _ensure_file(model)
            embedder = ImageEmbedder(path, intra_op_num_threads=threads, spinning=threads == 1)
            embedder.warm_up()
            _embedders[(model.pk, threads)] = embedder
        return embedder


def embed_picture(model: EmbeddingModel, picture: Image.Image, *, threads: int | None = None) -> np.ndarray:
    """The vector stored and searched for an upright RGB picture under `model` (L2-normalised)."""
    return l2_normalize(embedder_for(model, threads).embed([picture]))[0]


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
    """Drop the cached sessions (tests; a new model file)."""
    with _lock:
        _embedders.clear()


# Sessions a forked child inherited: never used there, and never destroyed either. A session
# of more than one thread joins its thread pool when destroyed, and in the child those threads
# do not exist, so destroying it waits forever (it hung `process_images` in a test run once
# search had embedded a photo on 2 threads in the parent).
_inherited: list[ImageEmbedder] = []


def _forget_in_forked_child() -> None:
    global _lock
    _lock = threading.Lock()
    _inherited.extend(_embedders.values())
    _embedders.clear()


os.register_at_fork(after_in_child=_forget_in_forked_child)
