"""Run the ONNX model: one InferenceSession per embedder, created once."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort
from PIL import Image

from .graph import EMBEDDING_NAME, INPUT_NAME, LOGITS_NAME
from .preprocess import preprocess_batch

VARIANTS = ("fp32", "int8")
DEFAULT_THREADS = 2
DEFAULT_MAX_BATCH = 32


def l2_normalize(vectors: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Rows scaled to unit L2 norm (all-zero rows stay zero), float32."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, eps)


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


class ImageEmbedder:
    """EfficientNet-Lite0 features (GAP, 1280-d, *not* normalised) and ImageNet logits.

    The session is created in ``__init__`` and reused; ``InferenceSession.run`` is
    thread-safe, so one embedder can serve every thread of a process. Warm it at
    process start (``warm_up``): the first run is slower.
    """

    def __init__(
        self,
        model_path: str | Path,
        *,
        intra_op_num_threads: int = DEFAULT_THREADS,
        max_batch: int = DEFAULT_MAX_BATCH,
        spinning: bool = True,
    ):
        self.model_path = Path(model_path)
        self.max_batch = max_batch
        options = ort.SessionOptions()
        options.intra_op_num_threads = intra_op_num_threads
        options.inter_op_num_threads = 1
        if not spinning:  # idle threads sleep instead of polling for work
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(self.model_path), options, providers=["CPUExecutionProvider"])
        self._output_dims = {output.name: output.shape[1] for output in self.session.get_outputs()}

    def warm_up(self) -> None:
        self.run_tensor(np.zeros((1, 3, 224, 224), np.float32))

    def run_tensor(self, batch: np.ndarray, outputs: Sequence[str] = (EMBEDDING_NAME, LOGITS_NAME)) -> list[np.ndarray]:
        """Run preprocessed float32 [N,3,224,224] input in chunks of ``max_batch``."""
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        if len(batch) == 0:
            return [np.zeros((0, self._output_dims[name]), np.float32) for name in outputs]
        chunks = [
            self.session.run(list(outputs), {INPUT_NAME: batch[i : i + self.max_batch]})
            for i in range(0, len(batch), self.max_batch)
        ]
        return [
            np.concatenate([chunk[k] for chunk in chunks]).astype(np.float32, copy=False) for k in range(len(outputs))
        ]

    def embed_and_classify(self, images: Sequence[Image.Image]) -> tuple[np.ndarray, np.ndarray]:
        """(embeddings [N,1280], logits [N,1000]), both float32."""
        embedding, logits = self.run_tensor(preprocess_batch(images))
        return embedding, logits

    def embed(self, images: Sequence[Image.Image]) -> np.ndarray:
        """Raw GAP features [N,1280] float32; pass through ``l2_normalize`` for cosine search."""
        return self.run_tensor(preprocess_batch(images), (EMBEDDING_NAME,))[0]

    def logits(self, images: Sequence[Image.Image]) -> np.ndarray:
        """ImageNet logits [N,1000] float32 (``softmax`` for probabilities)."""
        return self.run_tensor(preprocess_batch(images), (LOGITS_NAME,))[0]


_cache: dict[tuple, ImageEmbedder] = {}
_cache_lock = threading.Lock()


def resolve_model_path(
    variant: str = "fp32", calibration_images: Sequence[Image.Image] | None = None, models_dir: Path | None = None
) -> Path:
    """Build (or find) the model file for ``variant``."""
    # onnx (graph building) only where a model file is made: inference needs onnxruntime alone.
    from .build import build_model

    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, not {variant!r}")
    fp32 = build_model(models_dir)
    if variant == "fp32":
        return fp32
    from .quantize import find_quantized_model, quantize_model  # likewise: only for the int8 variant

    if calibration_images is not None:
        return quantize_model(fp32, calibration_images, models_dir)
    found = find_quantized_model(fp32, models_dir)
    if found is None:
        raise FileNotFoundError(
            "no int8 model calibrated for this fp32 model yet: call "
            "load_embedder('int8', calibration_images=...) once with catalogue images"
        )
    return found


def load_embedder(
    variant: str = "fp32",
    calibration_images: Sequence[Image.Image] | None = None,
    *,
    models_dir: Path | None = None,
    intra_op_num_threads: int = DEFAULT_THREADS,
) -> ImageEmbedder:
    """The process-wide embedder for ``variant`` ("fp32" or "int8"), created once per model file.

    For "int8", ``calibration_images`` (a few hundred catalogue images) quantize the
    fp32 model; the result is cached on disk under a checksum that covers the
    calibration data. Without them, the newest int8 file calibrated for the current
    fp32 model is used.
    """
    path = resolve_model_path(variant, calibration_images, models_dir)
    key = (str(path), intra_op_num_threads)
    with _cache_lock:
        embedder = _cache.get(key)
        if embedder is None:
            embedder = _cache[key] = ImageEmbedder(path, intra_op_num_threads=intra_op_num_threads)
        return embedder
