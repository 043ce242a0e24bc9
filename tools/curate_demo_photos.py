"""Curate the demo catalogue's photographs from the CC0 clothing dataset (run by hand, rarely).

    python tools/curate_demo_photos.py ../shared/datasets/clothing-small

Writes catalog/demo/photographs/<kind>-<first 8 of the source uuid>.jpg and manifest.json
(what catalog.demo.products turns into products). Deterministic: the same dataset gives the
same files, byte for byte.

For each kind, the dataset's `train` photos are taken in a seeded order (sha1 of seed + file
name, so the choice does not follow the dataset's own file order) and a photo is kept when the
pipeline would keep it: it decodes, its short side is at least IMAGE_MIN_SIDE, it is neither
blurred, too dark nor too bright by the shop's own thresholds (vision.quality, settings), and
its perceptual hash is not within IMAGE_NEAR_DUPLICATE_HAMMING of a photo already kept. Kept
photos are turned upright, re-encoded as baseline JPEG (quality 82, no metadata) at most
MAX_LONG_SIDE px long. The manifest names each photo's file, kind and source; titles, prices and
the rest are made from it by catalog.demo.products (colours are measured by the pipeline when
the shop processes the photos, as for any catalogue).

`validation` photos are never taken: they stay outside the catalogue for evaluation (the
demo_catalogue benchmark, the browser test's dress).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import sys
from pathlib import Path

from PIL import Image, ImageOps

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "visualshop.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

from vision.onnx_model.preprocess import resize_short_side  # noqa: E402
from vision.quality import hamming_distance, measure_quality  # noqa: E402

SEED = "visualshop-demo-photographs-v1"
OUT_DIR = BASE_DIR / "catalog" / "demo" / "photographs"
MAX_LONG_SIDE = 560
JPEG_QUALITY = 82
# How many products of each kind: a clothing shop's proportions (more tops, dresses and shoes
# than hats), 600 in all. Measured with bench/demo_catalogue.py (validation photos, first
# result of the photo's kind): 300 products (half of each) 0.783 overall, dresses 0.56.
PER_KIND = {
    "dress": 72,
    "t-shirt": 72,
    "shoes": 72,
    "shirt": 60,
    "longsleeve": 60,
    "outwear": 60,
    "pants": 60,
    "shorts": 48,
    "skirt": 48,
    "hat": 48,
}


def _seeded_order(paths: list[Path]) -> list[Path]:
    return sorted(paths, key=lambda path: hashlib.sha1(f"{SEED}:{path.name}".encode()).hexdigest())


def _rejection(picture: Image.Image, quality) -> str | None:
    width, height = picture.size
    if min(width, height) < settings.IMAGE_MIN_SIDE:
        return f"too small ({width}x{height})"
    if quality.blur < settings.IMAGE_BLUR_THRESHOLD:
        return f"blurred ({quality.blur:.0f})"
    if quality.brightness < settings.IMAGE_DARK_THRESHOLD:
        return f"too dark ({quality.brightness:.0f})"
    if quality.brightness > settings.IMAGE_BRIGHT_THRESHOLD:
        return f"too bright ({quality.brightness:.0f})"
    return None


def _encode(picture: Image.Image) -> bytes:
    if max(picture.size) > MAX_LONG_SIDE:
        picture = picture.copy()
        picture.thumbnail((MAX_LONG_SIDE, MAX_LONG_SIDE), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return buffer.getvalue()


def curate(dataset: Path) -> list[dict]:
    entries: list[dict] = []
    kept_hashes: list[int] = []
    for kind, wanted in PER_KIND.items():
        folder = dataset / "train" / kind
        kept = skipped = 0
        for path in _seeded_order(list(folder.glob("*.jpg"))):
            if kept == wanted:
                break
            try:
                with Image.open(path) as opened:
                    picture = ImageOps.exif_transpose(opened).convert("RGB")
            except OSError as exc:
                print(f"{path}: skipped, does not decode ({exc})", file=sys.stderr)
                skipped += 1
                continue
            working = resize_short_side(picture)
            quality = measure_quality(working)
            reason = _rejection(picture, quality)
            if reason is None and any(
                hamming_distance(quality.phash, other) <= settings.IMAGE_NEAR_DUPLICATE_HAMMING for other in kept_hashes
            ):
                reason = "near-duplicate of a photo already kept"
            if reason:
                print(f"{path}: skipped, {reason}", file=sys.stderr)
                skipped += 1
                continue
            content = _encode(picture)
            name = f"{kind}-{path.stem[:8]}.jpg"
            (OUT_DIR / name).write_bytes(content)
            entries.append({"file": name, "kind": kind, "source": f"train/{kind}/{path.name}"})
            kept_hashes.append(quality.phash)
            kept += 1
        print(f"{kind}: kept {kept}, skipped {skipped}", file=sys.stderr)
        if kept < wanted:
            raise SystemExit(f"{kind}: only {kept} usable photos, {wanted} wanted")
    return entries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path, help="the clothing-small folder (train/<kind>/*.jpg)")
    args = parser.parse_args()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for old in OUT_DIR.glob("*.jpg"):
        old.unlink()
    entries = curate(args.dataset)
    manifest = {
        "dataset": "clothing-small (Alexey Grigorev's clothing dataset, top-10 classes subset)",
        "licence": "CC0 1.0 (public domain)",
        "photos": entries,
    }
    (OUT_DIR / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    total = sum(path.stat().st_size for path in OUT_DIR.iterdir())
    print(json.dumps({"photos": len(entries), "bytes": total}))


if __name__ == "__main__":
    main()
