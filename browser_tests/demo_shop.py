"""The demo shop of the browser tests (`demo_shop` in browser_tests/conftest.py): the demo
catalogue as a fresh `make run` serves it, built in the test's database."""

from __future__ import annotations

from pathlib import Path

from catalog.demo.loader import load_demo_catalog
from catalog.models import Product, ProductImage
from search.product_refresh import products_refresh
from search.reranking import projection_refit_once_settled
from vision.pipeline import product_images_process

# A real photo of a dress that is not in the demo catalogue: clothing-small's validation/dress/
# 19e4de0d-fb90-47c2-83b4-37e3652c5a16.jpg (CC0 1.0), kept in the repository so tests need no
# dataset.
DRESS_PHOTO = Path(__file__).resolve().parent.parent / "fixtures" / "photos" / "dress-19e4de0d.jpg"
PROCESS_BATCH = 32


def build_demo_shop() -> int:
    """Load the demo catalogue, process every photo, refresh every product and fit the
    projection, as the worker does after `make run` loads it. Returns the product count."""
    loaded = load_demo_catalog()
    ids = list(ProductImage.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), PROCESS_BATCH):
        product_images_process(ids[start : start + PROCESS_BATCH])
    products_refresh(list(Product.objects.values_list("pk", flat=True)), only_dirty=False)
    projection_refit_once_settled()
    return loaded.products
