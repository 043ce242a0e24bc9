"""Image vectors for benchmarks, cached in var/bench-cache so a second run skips the model.

Only inputs are cached (catalogue vectors a benchmark searches over, query vectors whose
search is timed elsewhere): never anything a benchmark reports as a time.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def decode_like_search(content: bytes):
    """An upright RGB picture decoded exactly as photo search decodes a shopper's upload."""
    from vision.decoding import decode_image
    from vision.onnx_model.preprocess import RESIZE

    return decode_image(content, min_side=RESIZE).image


def _cache_path(cache_dir: Path, model_path: Path, dataset: Path) -> Path:
    digest = hashlib.sha1(str(dataset.resolve()).encode()).hexdigest()[:12]
    return cache_dir / f"search-vectors--{model_path.name}--{digest}.npz"


def _key(path: Path, dataset: Path) -> str:
    """Relative path, size and mtime: a changed file is embedded again."""
    stat = path.stat()
    return f"{path.resolve().relative_to(dataset.resolve())}|{stat.st_size}|{stat.st_mtime_ns}"


def cached_vectors(embedder, paths: Sequence[Path], dataset: Path, cache_dir: Path) -> np.ndarray:
    """L2-normalised vectors [N, D] of `paths` (files under `dataset`), decoded as photo search
    decodes and embedded by `embedder` one picture per call; cached per model file."""
    from vision.onnx_model import l2_normalize

    cache = _cache_path(cache_dir, embedder.model_path, dataset)
    entries: dict[str, np.ndarray] = {}
    if cache.exists():
        with np.load(cache) as data:
            entries = dict(zip(data["keys"].tolist(), data["vectors"]))
    keys = [_key(path, dataset) for path in paths]
    missing = [(key, path) for key, path in zip(keys, paths) if key not in entries]
    if missing:
        print(f"embedding {len(missing)} pictures ({len(paths) - len(missing)} cached)", file=sys.stderr, flush=True)
        for key, path in missing:
            entries[key] = l2_normalize(embedder.embed([decode_like_search(path.read_bytes())]))[0]
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(cache.name + ".tmp")  # then rename: a killed run never leaves a torn file
        with open(tmp, "wb") as out:
            np.savez(out, keys=np.asarray(list(entries)), vectors=np.stack(list(entries.values())))
        tmp.replace(cache)
    if not keys:
        return np.zeros((0, 0), np.float32)
    return np.stack([entries[key] for key in keys]).astype(np.float32)
