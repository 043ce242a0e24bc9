"""Write the fp32 ONNX model to disk, named by a checksum, atomically, once."""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
from pathlib import Path

import onnx

from .checkpoint import default_checkpoint_path, load_checkpoint
from .graph import PADDINGS, build_graph

# Bump whenever the graph recipe changes: it is part of the file name, so a new
# version never reuses a stale file.
BUILDER_VERSION = "1"
MODEL_NAME = "efficientnet-lite0"


def default_models_dir() -> Path:
    from visualshop.paths import VAR_DIR  # no Django setup needed

    return VAR_DIR / "models"


def file_sha256(path: Path) -> str:
    """SHA-256 of a file; memoised per (path, size, mtime) since every load hashes the 19 MB checkpoint."""
    stat = Path(path).stat()
    return _file_sha256(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=16)
def _file_sha256(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def model_checksum(checkpoint: Path, padding: str = "same_upper") -> str:
    """16 hex digits over the checkpoint bytes, the builder version and the padding."""
    digest = hashlib.sha256()
    digest.update(file_sha256(checkpoint).encode())
    digest.update(f"builder={BUILDER_VERSION};padding={padding}".encode())
    return digest.hexdigest()[:16]


def fp32_model_path(
    dest_dir: Path | None = None, *, padding: str = "same_upper", checkpoint: Path | None = None
) -> Path:
    """Where ``build_model`` writes (or finds) the model for these inputs."""
    dest_dir = Path(dest_dir) if dest_dir is not None else default_models_dir()
    checkpoint = Path(checkpoint) if checkpoint is not None else default_checkpoint_path()
    variant = "fp32" if padding == "same_upper" else f"fp32-{padding}"
    return dest_dir / f"{MODEL_NAME}-{variant}-{model_checksum(checkpoint, padding)}.onnx"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file next to ``path``, fsync, then rename over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; other service users must read the model
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def build_model(dest_dir: Path | None = None, *, padding: str = "same_upper", checkpoint: Path | None = None) -> Path:
    """Path of the fp32 ONNX model, building it from the checkpoint if it is not there yet.

    ``padding="symmetric"`` builds a deliberately wrong variant for tests.
    Concurrent builders are safe: each writes its own temporary file and the
    rename is atomic; the results are identical.
    """
    if padding not in PADDINGS:
        raise ValueError(f"padding must be one of {PADDINGS}, not {padding!r}")
    checkpoint = Path(checkpoint) if checkpoint is not None else default_checkpoint_path()
    path = fp32_model_path(dest_dir, padding=padding, checkpoint=checkpoint)
    if path.is_file():
        return path
    model = build_graph(load_checkpoint(checkpoint), padding=padding)
    onnx.helper.set_model_props(
        model,
        {
            "visualshop.checkpoint": checkpoint.name,
            "visualshop.checkpoint_sha256": file_sha256(checkpoint),
            "visualshop.builder_version": BUILDER_VERSION,
            "visualshop.padding": padding,
            "visualshop.preprocess": "exif, rgb, resize-short 256 bicubic, center-crop 224, (x-127)/128, NCHW",
        },
    )
    atomic_write_bytes(path, model.SerializeToString())
    return path
