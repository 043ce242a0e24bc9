"""Refreshing what search derives from products (search.product_refresh): colours, the
predicted category, cached similar products and the text document, stored together and the
dirty flag cleared only when the row did not move on meanwhile.

Most tests use constructed vectors (unit vectors at angles in a plane, as test_similar does:
the cosine of two images is the cosine of their angle difference). The last one runs real
pictures through the real pipeline: a photo-only catalogue becomes findable by words."""

import io
import math
from decimal import Decimal

import numpy as np
import pytest
from django.db import OperationalError, transaction
from django.db.models import F
from PIL import Image, ImageOps

from catalog import services as catalog_services
from catalog.models import Category, Product, ProductImage
from catalog.services import ProductData
from fixtures.factories import make_product, stored_image
from fixtures.images import scene
from search import attributes, product_refresh, similar
from search.models import SimilarProduct
from search.text import search_text
from vision import pipeline, services
from vision.models import EmbeddingModel

pytestmark = pytest.mark.django_db

Status = ProductImage.Status


def at(degrees: float) -> np.ndarray:
    vector = np.zeros(8, dtype=np.float32)
    vector[0], vector[1] = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    return vector


def cos(degrees: float) -> float:
    return round(math.cos(math.radians(degrees)), 3)


class Shop:
    """Products whose images point at given angles under an active 8-d model."""

    def __init__(self):
        self.model = EmbeddingModel.objects.create(
            name="test",
            version="angles",
            variant="fp32",
            dimension=8,
            checksum="a" * 64,
            file_name="none.onnx",
            status=EmbeddingModel.Status.ACTIVE,
        )
        self.products: dict[str, Product] = {}

    def add(self, sku: str, *images: tuple[float, dict] | tuple[float, dict, str], category: str | None = None):
        """images: (angle, colours[, status])"""
        product = make_product(sku, category)
        self.products[sku] = product
        for number, (angle, colours, *status) in enumerate(images):
            image = ProductImage.objects.create(
                product=product,
                file=f"products/{sku}-{number}.jpg",
                position=number,
                status=status[0] if status else Status.READY,
                colours=colours,
            )
            services.image_embeddings_upsert(image.pk, {self.model.pk: at(angle)})
        return product

    def pk(self, sku: str) -> int:
        return self.products[sku].pk

    def pks(self, *skus: str) -> list[int]:
        return [self.pk(sku) for sku in skus or self.products]

    def sku(self, pk: int) -> str:
        return next(sku for sku, product in self.products.items() if product.pk == pk)

    def row(self, sku: str) -> Product:
        return Product.objects.get(pk=self.pk(sku))

    def dirty(self) -> list[str]:
        return sorted(self.sku(pk) for pk in Product.objects.filter(search_dirty=True).values_list("pk", flat=True))

    def listed(self, sku: str) -> list[tuple[str, float]]:
        rows = SimilarProduct.objects.filter(product_id=self.pk(sku)).order_by("rank")
        return [(self.sku(row.similar_id), round(row.score, 3)) for row in rows]

    def found(self, query: str) -> list[str]:
        return sorted(self.sku(hit.product_id) for hit in search_text(query, facets=False).hits)


@pytest.fixture
def shop(settings):
    settings.SIMILAR_PRODUCTS_COUNT = 2
    settings.CATEGORY_PREDICTION_NEIGHBOURS = 2
    settings.CATEGORY_PREDICTION_MIN_SHARE = 0.7
    settings.PRODUCT_COLOURS_MAX = 3
    settings.PRODUCT_COLOUR_MIN_SHARE = 0.15
    shop = Shop()
    shop.add("SHOE1", (5, {"red": 1.0}), category="Shoes")
    shop.add("SHOE2", (10, {"red": 0.7, "white": 0.3}), category="Shoes")
    shop.add("BAG1", (90, {"blue": 1.0}), category="Bags")
    shop.add("BAG2", (95, {"blue": 1.0}), category="Bags")
    # Photo only: no category. Its two searchable images say red and white (black under
    # the minimum), and the rejected one is not counted.
    shop.add(
        "NEW",
        (0, {"red": 0.8, "black": 0.2}),
        (3, {"red": 0.6, "white": 0.4}, Status.FLAGGED),
        (180, {"green": 1.0}, Status.REJECTED),
    )
    # Half way between the shoes and the bags: its two nearest categorised images (SHOE2 and
    # BAG1, both 40 degrees away) split the vote 50/50.
    shop.add("UNSURE", (50, {"green": 1.0}))
    return shop


def test_a_refresh_stores_colours_the_confident_category_similar_products_and_the_document(shop):
    assert shop.dirty() == ["BAG1", "BAG2", "NEW", "SHOE1", "SHOE2", "UNSURE"]  # new products start dirty
    assert shop.found("red") == []  # no document written yet
    assert product_refresh.products_refresh(shop.pks()) == 6
    assert shop.dirty() == []
    new, unsure = shop.row("NEW"), shop.row("UNSURE")
    assert (new.colours, new.predicted_category.name, new.category_id) == (["red", "white"], "Shoes", None)
    assert (unsure.colours, unsure.predicted_category_id) == (["green"], None)  # not confident: nothing stored
    assert shop.row("BAG1").predicted_category.name == "Bags"
    # Best pair: NEW's flagged image at 3 degrees; the rejected one at 180 is never compared.
    assert shop.listed("NEW") == [("SHOE1", cos(2)), ("SHOE2", cos(7))]
    assert shop.listed("SHOE1") == [("NEW", cos(2)), ("SHOE2", cos(5))]
    # (40 degrees from both: which one ranks first is decided by half-precision rounding)
    assert sorted(shop.listed("UNSURE")) == [("BAG1", cos(40)), ("SHOE2", cos(40))]
    # The document holds the colours and, for a product without a category, the predicted one.
    assert shop.found("red") == ["NEW", "SHOE1", "SHOE2"]
    assert shop.found("white shoes") == ["NEW", "SHOE2"]
    assert shop.found("bags") == ["BAG1", "BAG2"]  # UNSURE's split vote put no category in its document


def test_a_batch_of_alike_products_is_refreshed_in_one_call_without_requeueing(
    shop, django_capture_on_commit_callbacks
):
    # Each product's neighbours are synced after the whole batch is written: syncing inline
    # merged the first product into the others' lists, moved their rows on and sent them
    # back to the queue one per message.
    with django_capture_on_commit_callbacks() as callbacks:
        assert product_refresh.products_refresh(shop.pks("SHOE1", "SHOE2", "NEW")) == 3
    assert (shop.dirty(), callbacks) == (["BAG1", "BAG2", "UNSURE"], [])
    assert shop.listed("SHOE2") == [("SHOE1", cos(5)), ("NEW", cos(7))]


def test_products_already_clean_cost_one_query(shop, django_assert_num_queries):
    product_refresh.products_refresh(shop.pks())
    with django_assert_num_queries(1):
        assert product_refresh.products_refresh(shop.pks()) == 0
    assert product_refresh.products_refresh([]) == 0
    Product.objects.filter(pk=shop.pk("NEW")).update(search_dirty=True)
    assert product_refresh.products_refresh(shop.pks()) == 1
    # only_dirty=False recomputes clean products too (same results: nothing else changes).
    assert product_refresh.products_refresh(shop.pks("NEW", "SHOE1"), only_dirty=False) == 2
    assert shop.listed("NEW") == [("SHOE1", cos(2)), ("SHOE2", cos(7))]
    assert product_refresh.products_refresh([10**9]) == 0  # gone: nothing to do


def test_a_product_whose_row_moved_on_while_computing_stays_dirty_and_is_queued_again(
    shop, monkeypatch, django_capture_on_commit_callbacks
):
    real_predict = attributes.predict_category

    def predict_while_a_neighbour_merges(model, product_id, images):
        if product_id == shop.pk("NEW"):
            # What another worker's merge into NEW's similar list does: a new row version,
            # not marked dirty and no message of its own (search.similar).
            with transaction.atomic():
                Product.objects.filter(pk=product_id).update(search_dirty=F("search_dirty"))
        return real_predict(model, product_id, images)

    monkeypatch.setattr(attributes, "predict_category", predict_while_a_neighbour_merges)
    with django_capture_on_commit_callbacks() as callbacks:
        assert product_refresh.products_refresh(shop.pks("NEW", "SHOE1")) == 1
    assert shop.dirty() == ["BAG1", "BAG2", "NEW", "SHOE2", "UNSURE"]
    new = shop.row("NEW")
    assert (new.colours, new.predicted_category_id) == ([], None)  # the stale results were dropped
    # (its list holds only what SHOE1's sync merged into it, which is what moved it on again)
    assert shop.listed("NEW") == [("SHOE1", cos(2))]
    sent = []
    monkeypatch.setattr(catalog_services._search_refresh, "send", sent.append)
    for callback in callbacks:
        callback()
    assert sent == [[shop.pk("NEW")]]
    monkeypatch.setattr(attributes, "predict_category", real_predict)
    assert product_refresh.products_refresh(sent[0]) == 1  # the queued message refreshes it
    assert shop.row("NEW").colours == ["red", "white"] and "NEW" not in shop.dirty()


def test_a_product_that_fails_stays_dirty_and_the_batch_goes_on(shop, monkeypatch):
    real_compute = similar.similar_compute

    def failing_for_new(model, product_id, images):
        if product_id == shop.pk("NEW"):
            raise RuntimeError("simulated bug")
        return real_compute(model, product_id, images)

    monkeypatch.setattr(similar, "similar_compute", failing_for_new)
    assert product_refresh.products_refresh(shop.pks("SHOE1", "NEW", "UNSURE")) == 2
    assert shop.dirty() == ["BAG1", "BAG2", "NEW", "SHOE2"]
    assert shop.row("NEW").colours == []
    assert shop.row("UNSURE").colours == ["green"]


def test_a_database_error_stops_the_batch_for_the_task_to_retry(shop, monkeypatch):
    def database_gone(model, product_id, images):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(similar, "similar_compute", database_gone)
    with pytest.raises(OperationalError):
        product_refresh.products_refresh(shop.pks("SHOE1", "NEW"))
    assert shop.dirty() == ["BAG1", "BAG2", "NEW", "SHOE1", "SHOE2", "UNSURE"]


def test_a_deactivated_product_sends_the_lists_holding_it_to_their_own_refresh(
    shop, django_capture_on_commit_callbacks
):
    product_refresh.products_refresh(shop.pks())
    Product.objects.filter(pk=shop.pk("SHOE1")).update(is_active=False, search_dirty=True)
    with django_capture_on_commit_callbacks() as callbacks:
        assert product_refresh.products_refresh(shop.pks("SHOE1")) == 1
    # NEW and SHOE2 list SHOE1, which shoppers can no longer be offered.
    assert shop.dirty() == ["NEW", "SHOE2"]
    assert len(callbacks) == 1
    assert product_refresh.products_refresh(shop.pks("NEW", "SHOE2")) == 2
    assert shop.listed("NEW") == [("SHOE2", cos(7)), ("UNSURE", cos(47))]
    assert shop.dirty() == []


def test_the_sweep_refreshes_at_most_its_limit_oldest_first(shop, settings):
    assert product_refresh.products_sweep_dirty(limit=2) == 2
    assert shop.dirty() == ["BAG1", "BAG2", "NEW", "UNSURE"]  # SHOE1 and SHOE2 were created first
    settings.SEARCH_REFRESH_SWEEP_LIMIT = 3
    assert product_refresh.products_sweep_dirty() == 3
    assert shop.dirty() == ["UNSURE"]
    assert product_refresh.products_sweep_dirty() == 1
    assert product_refresh.products_sweep_dirty() == 0


# The story end to end: real pictures, the real pipeline -------------------------------------


def tinted(seed: int, variant: int, dark: tuple, light: tuple) -> bytes:
    """A JPEG of scene `seed` shifted a little (`variant`) and recoloured from dark to light:
    variants of one scene look alike to the model (cosine about 0.95), scenes do not."""
    rng = np.random.default_rng(variant)
    dx, dy = (int(v) for v in rng.integers(-30, 30, 2))
    picture = scene(seed).transform((320, 400), Image.Transform.AFFINE, (1, 0, dx, 0, 1, dy), fillcolor=(128, 128, 128))
    buffer = io.BytesIO()
    ImageOps.colorize(picture.convert("L"), black=dark, white=light).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def red(variant: int) -> bytes:
    return tinted(5, variant, (90, 0, 0), (255, 60, 60))


def blue(variant: int) -> bytes:
    return tinted(7, variant, (0, 0, 90), (60, 60, 255))


def test_a_photo_only_product_becomes_findable_by_its_colour_and_predicted_category(settings):
    settings.CATEGORY_PREDICTION_NEIGHBOURS = 4
    settings.CATEGORY_PREDICTION_MIN_SHARE = 0.7

    def item(number: int, category: str | None, picture: bytes) -> tuple[Product, ProductImage]:
        leaf = catalog_services.category_get_or_create_path([category]) if category else None
        product, _ = catalog_services.product_upsert(
            ProductData(sku=f"SKU-{number:03}", title=f"Item {number}", price=Decimal("20.00"), category=leaf)
        )
        return product, stored_image(product, picture)

    shoes = [item(n, "Shoes", red(n)) for n in range(1, 5)]
    bags = [item(n, "Bags", blue(n)) for n in range(5, 9)]
    photo_only, photo = item(17, None, red(17))
    images = [image for _, image in shoes + bags] + [photo]
    outcomes = pipeline.product_images_process([image.pk for image in images])
    assert set(outcomes.values()) <= {Status.READY, Status.FLAGGED}  # searchable (alike pictures may be flagged)
    colours = dict(ProductImage.objects.filter(pk__in=[photo.pk, bags[0][1].pk]).values_list("pk", "colours"))
    assert (list(colours[photo.pk]), list(colours[bags[0][1].pk])) == (["red"], ["blue"])

    products = [product.pk for product, _ in shoes + bags] + [photo_only.pk]
    assert product_refresh.products_refresh(products) == 9
    assert not Product.objects.filter(search_dirty=True).exists()
    photo_only.refresh_from_db()
    assert (photo_only.colours, photo_only.category_id) == (["red"], None)
    assert photo_only.predicted_category == Category.objects.get(name="Shoes")
    similar_skus = list(
        SimilarProduct.objects.filter(product=photo_only).order_by("rank").values_list("similar__sku", flat=True)
    )
    assert sorted(similar_skus[:4]) == ["SKU-001", "SKU-002", "SKU-003", "SKU-004"]  # the red shoes first

    def found(query: str) -> set[int]:
        return {hit.product_id for hit in search_text(query, facets=False).hits}

    assert found("red shoes") == {product.pk for product, _ in shoes} | {photo_only.pk}
    assert found("blue") == {product.pk for product, _ in bags}
    assert photo_only.pk not in found("bags")


def test_a_batch_writes_its_text_documents_in_one_index_call(shop, monkeypatch):
    calls = []
    real_index = product_refresh.index_products
    monkeypatch.setattr(product_refresh, "index_products", lambda ids: (calls.append(sorted(ids)), real_index(ids)))
    assert product_refresh.products_refresh(shop.pks("SHOE1", "SHOE2", "NEW")) == 3
    assert calls == [sorted(shop.pks("SHOE1", "SHOE2", "NEW"))]
    assert shop.found("red") == ["NEW", "SHOE1", "SHOE2"]


def test_a_batch_refresh_costs_a_fixed_number_of_queries_per_product(shop, django_assert_num_queries):
    product_refresh.products_refresh(shop.pks())  # lists settled: the syncs below merge nothing
    batch = shop.pks("SHOE1", "SHOE2", "BAG1")
    Product.objects.filter(pk__in=batch).update(search_dirty=True)
    # Pinned: reads for the batch (versions, model, vectors, colours), per product its
    # computation, its write (savepoints, row check, update, similar rows) and its neighbour
    # sync, and ONE text-index statement for the whole batch (there was one per product,
    # inside each product's write). A query per product more or less shows up here.
    with django_assert_num_queries(64):
        assert product_refresh.products_refresh(batch) == 3
