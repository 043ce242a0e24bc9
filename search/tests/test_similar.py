"""Cached similar products: computed from the product's image vectors, stored in one
transaction, and kept consistent in other products' lists when one product changes.

Vectors here are constructed, not embedded: each image is a unit vector at an angle in a
plane, so the cosine between two images is cos(difference of angles) and every ranking is
known in advance (the real pipeline's end-to-end case is in test_product_refresh)."""

import math

import numpy as np
import pytest

from catalog.models import Product, ProductImage
from fixtures.factories import make_product
from search import selectors, similar
from search.models import SimilarProduct
from search.similar import SimilarRow
from vision import knn, services
from vision.models import EmbeddingModel

pytestmark = pytest.mark.django_db


def at(degrees: float, dimension: int = 8) -> np.ndarray:
    vector = np.zeros(dimension, dtype=np.float32)
    vector[0], vector[1] = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    return vector


class Shop:
    """Products with READY images whose vectors point at given angles (an active model of
    dimension 8, no HNSW index: exact scans)."""

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
        self.images: dict[str, list[ProductImage]] = {}

    def add(
        self,
        sku: str,
        *angles: float,
        category: str | None = None,
        active: bool = True,
        colours: list[dict] | None = None,
    ) -> Product:
        product = make_product(sku, category)
        if not active:
            Product.objects.filter(pk=product.pk).update(is_active=False)
        self.products[sku] = product
        self.images[sku] = [
            self.image(product, angle, (colours or [{}] * len(angles))[n], f"{sku}-{n}")
            for n, angle in enumerate(angles)
        ]
        return product

    def image(self, product: Product, angle: float, colours: dict, name: str) -> ProductImage:
        image = ProductImage.objects.create(
            product=product,
            file=f"products/{name}.jpg",
            status=ProductImage.Status.READY,
            colours=colours,
        )
        services.image_embeddings_upsert(image.pk, {self.model.pk: at(angle)})
        return image

    def pk(self, sku: str) -> int:
        return self.products[sku].pk

    def sku(self, pk: int) -> str:
        return next(sku for sku, product in self.products.items() if product.pk == pk)

    def vectors(self, sku: str) -> list[tuple[int, np.ndarray]]:
        return knn.product_image_vectors(self.model, [self.pk(sku)]).get(self.pk(sku), [])

    def compute(self, sku: str) -> list[SimilarRow]:
        return similar.similar_compute(self.model, self.pk(sku), self.vectors(sku))

    def store_all(self) -> None:
        for sku in self.products:
            similar.similar_store(self.pk(sku), self.compute(sku))

    def listed(self, sku: str) -> list[tuple[str, float]]:
        rows = SimilarProduct.objects.filter(product_id=self.pk(sku)).order_by("rank")
        return [(self.sku(row.similar_id), round(row.score, 3)) for row in rows]


def cos(degrees: float) -> float:
    return round(math.cos(math.radians(degrees)), 3)


@pytest.fixture
def shop(settings):
    settings.SIMILAR_PRODUCTS_COUNT = 2
    return Shop()


def test_the_most_similar_active_products_best_first_with_their_matching_image(shop):
    shop.add("A", 0)
    shop.add("B", 10)
    shop.add("C", 30)
    shop.add("D", 60)
    shop.add("OFF", 5, active=False)  # never offered to shoppers
    rows = shop.compute("A")
    assert [(shop.sku(row.similar_id), round(row.score, 3), row.image_id) for row in rows] == [
        ("B", cos(10), shop.images["B"][0].pk),
        ("C", cos(30), shop.images["C"][0].pk),
    ]


def test_a_product_with_several_images_is_as_similar_as_its_best_pair(shop):
    shop.add("A", 0, 180)
    shop.add("NEAR-BACK", 175)
    shop.add("NEAR-FRONT", 20)
    shop.add("FAR", 90)
    rows = shop.compute("A")
    assert [(shop.sku(row.similar_id), round(row.score, 3)) for row in rows] == [
        ("NEAR-BACK", cos(5)),
        ("NEAR-FRONT", cos(20)),
    ]
    assert similar.similar_compute(shop.model, shop.pk("A"), []) == []  # no searchable image: nothing similar
    assert similar.similar_compute(None, shop.pk("A"), shop.vectors("A")) == []  # no model yet


def test_storing_replaces_the_whole_list(shop):
    for sku, angle in [("A", 0), ("B", 10), ("C", 30), ("D", 60)]:
        shop.add(sku, angle)
    similar.similar_store(shop.pk("A"), shop.compute("A"))
    assert shop.listed("A") == [("B", cos(10)), ("C", cos(30))]
    similar.similar_store(shop.pk("A"), [SimilarRow(shop.pk("D"), 0.5, None)])
    assert shop.listed("A") == [("D", 0.5)]
    assert list(SimilarProduct.objects.filter(product_id=shop.pk("A")).values_list("rank", flat=True)) == [1]


def test_a_new_product_is_merged_into_the_lists_it_now_belongs_to_without_refreshing_them(shop):
    for sku, angle in [("A", 0), ("B", 40), ("C", 100), ("D", 200)]:
        shop.add(sku, angle)
    shop.store_all()
    assert (shop.listed("A"), shop.listed("B"), shop.listed("C")) == (
        [("B", cos(40)), ("C", cos(100))],
        [("A", cos(40)), ("C", cos(60))],
        [("B", cos(60)), ("A", cos(100))],
    )
    shop.add("NEW", 20)
    rows = shop.compute("NEW")
    similar.similar_store(shop.pk("NEW"), rows)
    Product.objects.update(search_dirty=False)  # made dirty by their creation
    outcome = similar.similar_sync_neighbours(shop.model, shop.pk("NEW"), is_active=True, rows=rows)
    assert (sorted(map(shop.sku, outcome.merged)), outcome.dirty) == (["A", "B"], [])
    assert shop.listed("A") == [("NEW", cos(20)), ("B", cos(40))]  # C dropped off the end
    assert shop.listed("B") == [("NEW", cos(20)), ("A", cos(40))]
    assert shop.listed("C") == [("B", cos(60)), ("A", cos(100))]  # NEW at 80 degrees does not beat A... or B
    assert list(Product.objects.filter(search_dirty=True)) == []  # merging marks nothing dirty


def test_a_list_with_room_takes_the_new_product_whatever_its_score(shop, settings):
    shop.add("A", 0)
    shop.store_all()
    shop.add("NEW", 170)
    rows = shop.compute("NEW")
    outcome = similar.similar_sync_neighbours(shop.model, shop.pk("NEW"), is_active=True, rows=rows)
    assert outcome.merged == [shop.pk("A")]
    assert shop.listed("A") == [("NEW", cos(170))]


def test_a_product_that_got_less_similar_or_was_deactivated_sends_the_lists_holding_it_to_a_refresh(
    shop, django_capture_on_commit_callbacks
):
    for sku, angle in [("A", 0), ("B", 10), ("C", 30), ("D", 60)]:
        shop.add(sku, angle)
    shop.store_all()
    Product.objects.update(search_dirty=False)
    # B's image is replaced by one at 50 degrees: A and C held B with a better score.
    ProductImage.objects.filter(product=shop.products["B"]).delete()
    shop.image(shop.products["B"], 50, {}, "B-new")
    rows = shop.compute("B")
    with django_capture_on_commit_callbacks() as callbacks:
        outcome = similar.similar_sync_neighbours(shop.model, shop.pk("B"), is_active=True, rows=rows)
    # A held B at cos 10 and C held it at cos 20: both lower now. D (10 degrees away) gains B.
    assert sorted(map(shop.sku, outcome.dirty)) == ["A", "C"]
    assert outcome.merged == [shop.pk("D")]
    assert shop.listed("D") == [("B", cos(10)), ("C", cos(30))]
    assert sorted(Product.objects.filter(search_dirty=True).values_list("sku", flat=True)) == ["A", "C"]
    assert len(callbacks) == 1  # their refresh, queued on commit
    # Deactivated: every list holding it must drop it (A and C still hold it: not refreshed yet).
    Product.objects.update(search_dirty=False)
    outcome = similar.similar_sync_neighbours(shop.model, shop.pk("B"), is_active=False, rows=rows)
    assert (sorted(map(shop.sku, outcome.dirty)), outcome.merged) == (["A", "C", "D"], [])


def test_a_refresh_of_an_unchanged_product_changes_no_other_list(shop, django_assert_num_queries):
    for sku, angle in [("A", 0), ("B", 10), ("C", 30), ("D", 60)]:
        shop.add(sku, angle)
    shop.store_all()
    rows = shop.compute("B")
    # Who lists B, B's exact scores against them and B's new neighbours, their lists: no locks, no writes.
    with django_assert_num_queries(3):
        outcome = similar.similar_sync_neighbours(shop.model, shop.pk("B"), is_active=True, rows=rows)
    assert outcome == similar.SyncOutcome([], [])


def test_pair_scores_are_exact_and_symmetric(shop):
    shop.add("A", 0, 90)
    shop.add("B", 80)
    shop.add("C", 200, 10)
    scores = knn.product_pair_scores(shop.model, shop.pk("A"), [shop.pk("B"), shop.pk("C")])
    assert {shop.sku(pk): (round(s.score, 3), s.image_id) for pk, s in scores.items()} == {
        "B": (cos(10), shop.images["A"][1].pk),
        "C": (cos(10), shop.images["A"][0].pk),
    }
    back = knn.product_pair_scores(shop.model, shop.pk("B"), [shop.pk("A")])
    assert back[shop.pk("A")].score == scores[shop.pk("B")].score


def test_the_selector_loads_similar_products_and_their_images_in_one_query(shop, settings, django_assert_num_queries):
    settings.SIMILAR_PRODUCTS_COUNT = 12
    for n in range(6):
        shop.add(f"P{n}", n * 10)
    shop.store_all()
    Product.objects.filter(pk=shop.pk("P2")).update(is_active=False)  # left out until P0's list is refreshed
    with django_assert_num_queries(1):
        found = selectors.similar_products(shop.pk("P0"), limit=3)
        shown = [(row.rank, row.similar.sku, row.image.file.name, round(row.score, 3)) for row in found]
    assert shown == [
        (1, "P1", "products/P1-0.jpg", cos(10)),
        (3, "P3", "products/P3-0.jpg", cos(30)),
        (4, "P4", "products/P4-0.jpg", cos(40)),
    ]
