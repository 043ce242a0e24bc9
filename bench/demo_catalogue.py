"""Benchmark: does a shopper's own photo find the right kind of thing in the demo catalogue?

In a throw-away database (`visualshop_bench_demo` on the embedded server, dropped at the end)
it loads the demo catalogue (catalog.demo: 600 products photographed for real, a curated subset
of clothing-small's `train`), processes every photo through the real pipeline and refreshes the
products' search data, as `make run` does. Then it asks photo search
(search.product_search.search_products, as the results page does) with photos that are not in
the catalogue:

- clothing-small's `validation` photos (341 casual photos of the same ten kinds, none of them
  in the catalogue): the right kind = the query's class. Reported: how often the first result
  is of the photo's kind (overall and per kind), precision of the first 10, and the best photo
  similarity (cosine) of any result (SearchResults.best_similarity);
- off-catalogue pictures: the drawn test catalogue's mugs and cushions (fixtures.drawn_catalogue;
  home goods this shop does not sell). Reported: the best cosine.

Each validation photo is also searched as the photo dialog sends it when the shopper leaves the
crop box where it starts (likely_item_box, a port of the dialog's likelyItemBox), and cropped to
any box the rule finds: "dialog_start_crop" (how max_area was chosen).

The two cosine distributions are what the "no close match" threshold is measured on
(SEARCH_NO_CLOSE_MATCH_COSINE, visualshop/settings/search.py): "threshold" reports, for the
setting in force, the share of validation photos that would be told "no close match"
(the cost: right answers hidden) and the share of off-catalogue pictures that would (the gain).

Prints one JSON object on stdout (progress on stderr). `--quick` (for CI) asks 5 validation
photos of each kind and 6 off-catalogue pictures; the catalogue is always whole.
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
from visualshop.throwaway import django_on_throwaway, sigterm_as_ctrl_c, throwaway_database  # noqa: E402

BENCH_DATABASE = "visualshop_bench_demo"
DEFAULT_DATASET = BASE_DIR.parent / "shared" / "datasets" / "clothing-small"
OFF_CATALOGUE_KINDS = ("mug", "cushion")
PLANS = {"full": {"per_kind": None, "off_catalogue": 28}, "quick": {"per_kind": 5, "off_catalogue": 6}}
PROCESS_BATCH = 32
SWEEP = (0.40, 0.425, 0.45, 0.475, 0.50, 0.525, 0.55)


def say(message: str) -> None:
    print(f"[bench/demo_catalogue] {message}", file=sys.stderr, flush=True)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 validation photos per kind (for CI)")
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET, help="clothing-small (its validation/)")
    return parser.parse_args()


def main() -> int:
    args = arguments()
    plan = PLANS["quick" if args.quick else "full"]
    sigterm_as_ctrl_c()
    started = time.perf_counter()
    with throwaway_database(BENCH_DATABASE, prefix="visualshop-bench-demo-") as (tmp, database_url):
        django_on_throwaway(tmp, database_url)
        catalogue = load_and_process()
        validation = ask_validation(args.dataset / "validation", plan["per_kind"])
        off_catalogue = ask_off_catalogue(plan["off_catalogue"])
        result = summary(catalogue, validation, off_catalogue)
    result.update({"quick": args.quick, "cpus": os.cpu_count(), "wall_s": round(time.perf_counter() - started, 1)})
    print(json.dumps(result))
    return 0


def load_and_process() -> dict:
    from catalog.demo.loader import load_demo_catalog
    from catalog.demo.products import PHOTO_DIR
    from catalog.models import Product, ProductImage
    from search.product_refresh import products_refresh
    from search.reranking import projection_refit_once_settled
    from vision.pipeline import product_images_process

    loaded = load_demo_catalog()
    say(f"demo catalogue: {loaded.products} products, {loaded.images} images; processing the photos")
    started = time.perf_counter()
    ids = list(ProductImage.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), PROCESS_BATCH):
        product_images_process(ids[start : start + PROCESS_BATCH])
    process_s = time.perf_counter() - started
    products_refresh(list(Product.objects.values_list("pk", flat=True)), only_dirty=False)
    projection = projection_refit_once_settled()  # as the shop's refresh task does once all are processed
    statuses: dict[str, int] = {}
    for status in ProductImage.objects.values_list("status", flat=True):
        statuses[status] = statuses.get(status, 0) + 1
    flag_codes: dict[str, int] = {}
    for codes in ProductImage.objects.filter(status="flagged").values_list("reason_codes", flat=True):
        for code in codes:
            flag_codes[code] = flag_codes.get(code, 0) + 1
    return {
        "products": loaded.products,
        "images": loaded.images,
        "photo_bytes": sum(path.stat().st_size for path in PHOTO_DIR.iterdir()),
        "image_statuses": dict(sorted(statuses.items())),
        "flag_codes": dict(sorted(flag_codes.items())),
        "process_s": round(process_s, 1),
        "projection": projection,
    }


def _kind_of_products() -> dict[int, str]:
    from catalog.demo.products import demo_products
    from catalog.models import Product

    kind_of_sku = {product.sku: product.kind for product in demo_products()}
    return {pk: kind_of_sku[sku] for pk, sku in Product.objects.values_list("pk", "sku")}


def _search(content: bytes, limit: int = 10, crop=None):
    from search.product_search import SearchRequest, search_products

    return search_products(SearchRequest(image=content, limit=limit, crop=crop))


# The photo dialog's starting crop box (likelyItemBox in static/js/photo-search.js), ported
# line for line so its effect on results can be measured; the browser draws the 64 px copy
# with its own smoothing, so a box may differ by a grid step.
LIKELY = {"side": 64, "ring": 2, "bucket": 0.1, "backdrop": 0.5, "distance": 48, "min_share": 0.03,
          "max_share": 0.9, "margin": 0.06, "max_area": 0.35}  # fmt: skip


def likely_item_box(content: bytes, max_area: float = LIKELY["max_area"]):
    """The dialog's starting box on the upright photo, as (search.photo_search.CropBox, the
    share of the photo it covers), or None. max_area: the largest share a box may cover
    (LIKELY's is the dialog's)."""
    import io

    import numpy as np
    from PIL import Image, ImageOps

    from search.photo_search import CropBox

    with Image.open(io.BytesIO(content)) as opened:
        picture = ImageOps.exif_transpose(opened).convert("RGB")
    width, height = picture.size
    scale = LIKELY["side"] / max(width, height)
    w, h = max(1, round(width * scale)), max(1, round(height * scale))
    pixels = np.asarray(picture.resize((w, h), Image.Resampling.BILINEAR), dtype=np.int32)
    ring = LIKELY["ring"]
    border_mask = np.ones((h, w), bool)
    border_mask[ring : h - ring, ring : w - ring] = False
    border = pixels[border_mask]
    keys = (border >> 5) @ np.array([64, 8, 1])
    backdrop, covered = [], 0
    for key in np.unique(keys):
        members = border[keys == key]
        if len(members) >= LIKELY["bucket"] * len(border):
            backdrop.append(members.mean(axis=0))
            covered += len(members)
    if covered < LIKELY["backdrop"] * len(border):
        return None
    distances = np.stack([((pixels - colour) ** 2).sum(axis=2) for colour in backdrop])
    far = (distances > LIKELY["distance"] ** 2).all(axis=0)
    ys, xs = np.nonzero(far)
    share = len(xs) / (w * h)
    if share < LIKELY["min_share"] or share > LIKELY["max_share"]:
        return None
    xs, ys = np.sort(xs), np.sort(ys)
    at = lambda values, q: values[min(len(values) - 1, int(q * len(values)))]  # noqa: E731
    left = max(0.0, at(xs, 0.02) / w - LIKELY["margin"])
    right = min(1.0, (at(xs, 0.98) + 1) / w + LIKELY["margin"])
    top = max(0.0, at(ys, 0.02) / h - LIKELY["margin"])
    bottom = min(1.0, (at(ys, 0.98) + 1) / h + LIKELY["margin"])
    area = float((right - left) * (bottom - top))
    if area > max_area:
        return None
    return CropBox(round(left * width), round(top * height), round(right * width), round(bottom * height)), area


def ask_validation(folder: Path, per_kind: int | None) -> list[dict]:
    """One row per validation photo: its kind, the first 10 results' kinds, the first cosine."""
    from vision.decoding import ImageRejected

    kind_of = _kind_of_products()
    rows = []
    for kind_dir in sorted(path for path in folder.iterdir() if path.is_dir()):
        paths = sorted(kind_dir.glob("*.jpg"))[:per_kind]
        for path in paths:
            content = path.read_bytes()
            try:
                found = _search(content)
            except ImageRejected as exc:
                say(f"{path}: rejected as a query ({exc}); left out")
                continue
            # Any box the dialog's rule finds up to 85% of the photo, to measure what cropping
            # to it does; the dialog itself starts on it only under LIKELY["max_area"].
            box, area = likely_item_box(content, max_area=BOX_STUDIED_MAX_AREA) or (None, None)
            cropped = _search(content, crop=box) if box is not None else found
            rows.append(
                {
                    "kind": kind_dir.name,
                    "kinds": [kind_of[hit.product_id] for hit in found.hits],
                    "cosine": found.best_similarity,
                    "likely_box": box is not None and area <= LIKELY["max_area"],
                    "studied_box": box is not None,
                    "box_area": area,
                    "kinds_cropped": [kind_of[hit.product_id] for hit in cropped.hits],
                }
            )
        say(f"validation {kind_dir.name}: {len(paths)} photos asked")
    return rows


def ask_off_catalogue(count: int) -> list[float]:
    from fixtures.drawn_catalogue.photos import render_drawn_image
    from fixtures.drawn_catalogue.products import drawn_products

    pictures = [p for p in drawn_products() if p.kind in OFF_CATALOGUE_KINDS][:count]
    return [_search(render_drawn_image(product, 0), limit=1).best_similarity for product in pictures]


def _spread(values: list[float]) -> dict:
    ordered = sorted(values)
    at = lambda q: round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 4)  # noqa: E731
    return {
        "n": len(values),
        "min": round(ordered[0], 4),
        "p05": at(0.05),
        "p50": round(statistics.median(ordered), 4),
        "p95": at(0.95),
        "max": round(ordered[-1], 4),
    }


def summary(catalogue: dict, validation: list[dict], off_catalogue: list[float]) -> dict:
    from django.conf import settings

    per_kind: dict[str, list[bool]] = {}
    for row in validation:
        per_kind.setdefault(row["kind"], []).append(row["kinds"][0] == row["kind"])
    precision = [sum(kind == row["kind"] for kind in row["kinds"]) / len(row["kinds"]) for row in validation]
    threshold = settings.SEARCH_NO_CLOSE_MATCH_COSINE
    cosines = [row["cosine"] for row in validation]
    return {
        "benchmark": "demo_catalogue",
        "catalogue": catalogue,
        "queries": len(validation),
        "first_result_right_kind": round(sum(sum(v) for v in per_kind.values()) / len(validation), 4),
        "first_result_right_kind_by_kind": {kind: round(sum(v) / len(v), 4) for kind, v in sorted(per_kind.items())},
        "precision_at_10": round(statistics.mean(precision), 4),
        "dialog_start_crop": _with_starting_crop(validation),
        "best_cosine": {
            "validation": _spread(cosines),
            "validation_wrong_kind": _spread([r["cosine"] for r in validation if r["kinds"][0] != r["kind"]] or [0.0]),
            "off_catalogue": _spread(off_catalogue),
        },
        "threshold": {"no_close_match_cosine": threshold, **_told(threshold, validation, off_catalogue)},
        "threshold_sweep": {f"{t:.3f}": _told(t, validation, off_catalogue) for t in SWEEP},
    }


AREA_BANDS = ((0.0, 0.35), (0.35, 0.6), (0.6, 0.86))
BOX_STUDIED_MAX_AREA = 0.85


def _with_starting_crop(validation: list[dict]) -> dict:
    """The same photos searched as the dialog sends them when the shopper leaves its box where it
    starts (on the likely item where likelyItemBox finds one under LIKELY["max_area"], else the
    whole photo), and what cropping to any box the rule finds (up to BOX_STUDIED_MAX_AREA) does,
    by the box's share of the photo: the measurement behind max_area."""
    served_key = lambda row: "kinds_cropped" if row["likely_box"] else "kinds"  # noqa: E731
    studied = [row for row in validation if row["studied_box"]]

    def right_first(rows, key):
        if not rows:
            return None
        return round(sum(row[key(row) if callable(key) else key][0] == row["kind"] for row in rows) / len(rows), 4)

    def precision(rows, key):
        lists = [(row, row[key(row) if callable(key) else key]) for row in rows]
        return round(statistics.mean(sum(k == row["kind"] for k in kinds) / len(kinds) for row, kinds in lists), 4)

    return {
        "max_area": LIKELY["max_area"],
        "photos_with_a_box": sum(row["likely_box"] for row in validation),
        "first_result_right_kind": right_first(validation, served_key),
        "precision_at_10": precision(validation, served_key),
        "studied_boxes": {
            "photos": len(studied),
            "whole": right_first(studied, "kinds"),
            "cropped": right_first(studied, "kinds_cropped"),
            "by_box_area": {
                f"{low:.2f}-{high:.2f}": {
                    "photos": len(band),
                    "whole": right_first(band, "kinds"),
                    "cropped": right_first(band, "kinds_cropped"),
                }
                for low, high in AREA_BANDS
                for band in [[row for row in studied if low <= row["box_area"] < high]]
            },
        },
    }


def _told(threshold: float, validation: list[dict], off_catalogue: list[float]) -> dict:
    """What a "no close match" threshold would do: the share of validation photos told so, the
    share of those whose first result was of the wrong kind anyway, the share of off-catalogue
    pictures told so."""
    told = [row for row in validation if row["cosine"] < threshold]
    return {
        "validation_told": round(len(told) / len(validation), 4),
        "validation_told_and_wrong_kind": round(sum(r["kinds"][0] != r["kind"] for r in told) / len(told), 4)
        if told
        else None,
        "off_catalogue_told": round(sum(c < threshold for c in off_catalogue) / len(off_catalogue), 4),
    }


if __name__ == "__main__":
    sys.exit(main())
