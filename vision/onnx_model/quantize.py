"""Static int8 quantization (QDQ, per-channel) of the fp32 model, calibrated on images.

Activations are uint8, weights int8 per channel (U8S8): onnxruntime's fast x86 path.
int8 activations (S8S8) measured 2x slower than U8S8 here. ``quantize_dynamic`` is
never used: it is far slower and less accurate for convolutions.

The output name is ``efficientnet-lite0-int8-<fp32 checksum>-<calibration checksum>.onnx``:
the fp32 part ties it to the model it came from, the second part covers the
quantization settings and the preprocessed calibration tensors, so a different
calibration set gives a different file and an existing file is reused as is.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from .build import MODEL_NAME, atomic_write_bytes
from .graph import INPUT_NAME
from .preprocess import preprocess

QUANTIZER_VERSION = "1"
CALIBRATION_BATCH = 8
# Calibration memory is small without tuning: the MinMax calibrator adds ReduceMin/ReduceMax
# outputs and keeps only those per batch. Do NOT set "CalibMaxIntermediateOutputs": in
# onnxruntime 1.32 it clears the collected batches without merging their ranges (only the
# last partial chunk counts, or "No data is collected." when the count divides evenly).


def _fp32_checksum(fp32_path: Path) -> str:
    stem = fp32_path.stem  # efficientnet-lite0-fp32-<checksum>
    prefix = f"{MODEL_NAME}-fp32-"
    if not stem.startswith(prefix) or "-" in stem[len(prefix) :]:
        raise ValueError(f"{fp32_path.name} is not a standard fp32 model built by build_model")
    return stem[len(prefix) :]


def _batches(images: Sequence[Image.Image], size: int = CALIBRATION_BATCH) -> Iterator[np.ndarray]:
    for start in range(0, len(images), size):
        yield np.stack([preprocess(image) for image in images[start : start + size]])


def calibration_checksum(images: Sequence[Image.Image]) -> str:
    """8 hex digits over the quantizer settings and the preprocessed calibration tensors."""
    digest = hashlib.sha256(f"quantizer={QUANTIZER_VERSION};u8s8;qdq;per-channel;minmax".encode())
    for batch in _batches(images):
        digest.update(batch.tobytes())
    return digest.hexdigest()[:8]


def quantized_model_path(fp32_path: Path, images: Sequence[Image.Image], dest_dir: Path | None = None) -> Path:
    dest_dir = Path(dest_dir) if dest_dir is not None else Path(fp32_path).parent
    return dest_dir / f"{MODEL_NAME}-int8-{_fp32_checksum(Path(fp32_path))}-{calibration_checksum(images)}.onnx"


def find_quantized_model(fp32_path: Path, dest_dir: Path | None = None) -> Path | None:
    """The most recently written int8 model calibrated from ``fp32_path``, if any."""
    dest_dir = Path(dest_dir) if dest_dir is not None else Path(fp32_path).parent
    candidates = list(dest_dir.glob(f"{MODEL_NAME}-int8-{_fp32_checksum(Path(fp32_path))}-*.onnx"))
    return max(candidates, key=lambda p: p.stat().st_mtime) if candidates else None


def quantize_model(fp32_path: Path, calibration_images: Sequence[Image.Image], dest_dir: Path | None = None) -> Path:
    """Path of the int8 model for this fp32 model and calibration set, quantizing if needed.

    Use a few hundred representative images (the catalogue); they are preprocessed
    exactly as at inference time. Note ``preprocess`` drafts not-yet-loaded JPEGs in
    place.
    """
    # onnxruntime.quantization loads onnx and its tooling: only when a model is quantized.
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    images = list(calibration_images)
    if not images:
        raise ValueError("quantization needs at least one calibration image")
    fp32_path = Path(fp32_path)
    path = quantized_model_path(fp32_path, images, dest_dir)
    if path.is_file():
        return path

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.batches = _batches(images)

        def get_next(self):
            batch = next(self.batches, None)
            return None if batch is None else {INPUT_NAME: batch}

    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".quantize-") as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        output = Path(tmp) / "int8.onnx"
        # Shape inference + graph optimisation, as onnxruntime recommends before quantizing.
        quant_pre_process(str(fp32_path), str(prepared), skip_symbolic_shape=True)
        quantize_static(
            str(prepared),
            str(output),
            Reader(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
        )
        atomic_write_bytes(path, output.read_bytes())
    logging.getLogger(__name__).info("wrote %s (calibrated on %d images)", path.name, len(images))
    return path
