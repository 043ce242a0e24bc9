"""What a product's pictures say about it (search.attributes): its colour names from its
images' colour shares, and the category its nearest neighbours vote for.

The vote is tested on hand-made neighbour lists, then predict_category on constructed
vectors (unit vectors at angles in a plane: the cosine of two images is the cosine of
their angle difference, so every neighbour order is known in advance)."""

import math

import numpy as np
import pytest

from catalog.models import Category, ProductImage
from fixtures.factories import make_product
from search import attributes
from search.attributes import CategoryVote, aggregate_colours, category_vote, predict_category
from vision import knn, services
from vision.knn import Neighbour
from vision.models import EmbeddingModel

Status = ProductImage.Status


# aggregate_colours --------------------------------------------------------------------------


@pytest.fixture
def colour_settings(settings):
    settings.PRODUCT_COLOUR_MIN_SHARE = 0.15
    settings.PRODUCT_COLOURS_MAX = 3
    return settings


def test_colours_are_the_mean_share_over_the_images_largest_first(colour_settings):
    # red (0.8 + 0.4) / 2 = 0.6, blue (0 + 0.4) / 2 = 0.2, white (0.2 + 0.1) / 2 = 0.15
    # (kept: at the minimum), green 0.1 / 2 = 0.05 (left out).
    assert aggregate_colours([{"red": 0.8, "white": 0.2}, {"red": 0.4, "blue": 0.4, "white": 0.1, "green": 0.1}]) == [
        "red",
        "blue",
        "white",
    ]


def test_images_without_colour_data_are_left_out_rather_than_counted_as_none(colour_settings):
    # Counted as zeros, the two empty images would halve every share: only red (0.25) would stay.
    assert aggregate_colours([{"red": 0.5, "blue": 0.5}, {}, {"red": 0.5, "yellow": 0.5}, {}]) == [
        "red",
        "blue",
        "yellow",
    ]
    assert aggregate_colours([{}, {}]) == []
    assert aggregate_colours([]) == []


def test_names_under_the_minimum_share_are_dropped(colour_settings):
    colour_settings.PRODUCT_COLOUR_MIN_SHARE = 0.25
    # red (0.5 + 0.75) / 2, white 0.5 / 2 = 0.25 (at the minimum: kept), navy 0.25 / 2 (dropped)
    assert aggregate_colours([{"red": 0.5, "white": 0.5}, {"red": 0.75, "navy": 0.25}]) == ["red", "white"]
    colour_settings.PRODUCT_COLOUR_MIN_SHARE = 0.3
    assert aggregate_colours([{"red": 0.5, "white": 0.5}, {"red": 0.75, "navy": 0.25}]) == ["red"]
    colour_settings.PRODUCT_COLOUR_MIN_SHARE = 0.1
    assert aggregate_colours([{"red": 0.5, "white": 0.5}, {"red": 0.75, "navy": 0.25}]) == ["red", "white", "navy"]


def test_at_most_the_configured_number_of_names(colour_settings):
    colour_settings.PRODUCT_COLOUR_MIN_SHARE = 0.0
    shares = {"red": 0.4, "blue": 0.3, "green": 0.2, "black": 0.1}
    assert aggregate_colours([shares]) == ["red", "blue", "green"]
    colour_settings.PRODUCT_COLOURS_MAX = 1
    assert aggregate_colours([shares]) == ["red"]


def test_equal_shares_are_ordered_by_name(colour_settings):
    assert aggregate_colours([{"red": 0.5, "blue": 0.5}]) == ["blue", "red"]
    assert aggregate_colours([{"white": 0.25, "red": 0.5, "black": 0.25}]) == ["red", "black", "white"]
    colour_settings.PRODUCT_COLOURS_MAX = 2
    assert aggregate_colours([{"white": 0.25, "red": 0.5, "black": 0.25}]) == ["red", "black"]


# category_vote ------------------------------------------------------------------------------

OWN = 1


def n(image_id: int, category_id: int | None, cosine: float, product_id: int | None = None) -> Neighbour:
    """A neighbour image of product `product_id` (by default a product of its own, 100 + image id)."""
    return Neighbour(
        image_id=image_id, product_id=product_id or 100 + image_id, category_id=category_id, phash=None, cosine=cosine
    )


@pytest.fixture
def vote_settings(settings):
    settings.CATEGORY_PREDICTION_NEIGHBOURS = 3
    settings.CATEGORY_PREDICTION_MIN_SHARE = 0.7
    return settings


def test_neighbours_vote_with_their_cosine(vote_settings):
    # Counted, category 5 would win 3 to 2; weighed, 7 has 0.9 + 0.8 = 1.7 against 0.3 + 0.3 + 0.2.
    vote = category_vote([[n(1, 7, 0.9), n(2, 5, 0.3), n(3, 5, 0.3)], [n(4, 7, 0.8), n(5, 5, 0.2)]], OWN)
    assert (vote.category_id, round(vote.share, 6), vote.votes) == (7, 0.68, 5)
    assert not vote.confident  # 68% of the weight, under 70%


def test_only_the_first_neighbours_of_other_categorised_products_vote(vote_settings):
    neighbours = [
        n(1, 9, 0.99, product_id=OWN),  # the product's own other image: skipped
        n(2, None, 0.98),  # an uncategorised product: skipped
        n(3, 5, 0.9),
        n(4, 5, 0.8),
        n(5, None, 0.75),
        n(6, 5, 0.7),  # the third one that counts
        n(7, 8, 0.6),
        n(8, 8, 0.6),
        n(9, 8, 0.6),  # beyond CATEGORY_PREDICTION_NEIGHBOURS
    ]
    assert category_vote([neighbours], OWN) == CategoryVote(5, 1.0, 3)


def test_a_negative_cosine_votes_with_no_weight(vote_settings):
    vote = category_vote([[n(1, 5, 0.6), n(2, 6, -0.4), n(3, 6, 0.2)]], OWN)
    assert (vote.category_id, round(vote.share, 6), vote.votes) == (5, 0.75, 3)
    assert category_vote([[n(1, 5, -0.1), n(2, 6, -0.2)]], OWN) == CategoryVote(None, 0.0, 2)


def test_equal_weights_go_to_the_lower_category_id(vote_settings):
    assert category_vote([[n(1, 9, 0.5), n(2, 4, 0.5)]], OWN) == CategoryVote(4, 0.5, 2)
    assert category_vote([[n(1, 4, 0.5)], [n(2, 9, 0.5)]], OWN) == CategoryVote(4, 0.5, 2)


def test_nothing_to_vote_with(vote_settings):
    assert category_vote([], OWN) == CategoryVote(None, 0.0, 0)
    assert category_vote([[n(1, 5, 0.9, product_id=OWN), n(2, None, 0.9)], []], OWN) == CategoryVote(None, 0.0, 0)


@pytest.mark.parametrize(
    ("vote", "confident"),
    [
        (CategoryVote(5, 0.7, 3), True),  # at both minimums
        (CategoryVote(5, 1.0, 6), True),
        (CategoryVote(5, 0.69, 10), False),  # share too small
        (CategoryVote(5, 1.0, 2), False),  # too few votes
        (CategoryVote(None, 0.0, 0), False),
    ],
)
def test_a_vote_is_confident_with_enough_votes_and_a_large_enough_share(vote_settings, vote, confident):
    assert vote.confident is confident


# predict_category and products_colours (database) -------------------------------------------


def at(degrees: float) -> np.ndarray:
    vector = np.zeros(8, dtype=np.float32)
    vector[0], vector[1] = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    return vector


class Catalogue:
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

    def add(self, sku: str, *angles: float, category: str | None = None, status: str = Status.READY):
        product = make_product(sku, category)
        images = []
        for number, angle in enumerate(angles):
            image = ProductImage.objects.create(product=product, file=f"products/{sku}-{number}.jpg", status=status)
            services.image_embeddings_upsert(image.pk, {self.model.pk: at(angle)})
            images.append((image.pk, at(angle)))
        return product, images

    def predict(self, sku: str, *angles: float) -> str | None:
        product, images = self.add(sku, *angles)
        category_id = predict_category(self.model, product.pk, images)
        return Category.objects.get(pk=category_id).name if category_id else None


@pytest.fixture
def catalogue(db, vote_settings):
    shop = Catalogue()
    for number, angle in enumerate([5, 10, 15]):
        shop.add(f"SHOE-{number}", angle, category="Shoes")
    shop.add("BAG-0", 40, category="Bags")
    shop.add("LOOSE-0", 1)  # uncategorised: never votes
    shop.add("GONE-0", 2, category="Bags", status=Status.REJECTED)  # not searchable: never votes
    shop.add("WAIT-0", 3, category="Bags", status=Status.PENDING)
    return shop


def test_the_nearest_categorised_images_of_other_products_predict_the_category(catalogue):
    assert catalogue.predict("NEW-1", 0) == "Shoes"  # the three shoes, nothing else


def test_a_split_vote_predicts_nothing(catalogue, vote_settings):
    vote_settings.CATEGORY_PREDICTION_NEIGHBOURS = 4  # now the bag votes too
    # Shoes weigh cos 5 + cos 10 + cos 15 = 2.95 of 3.71 (with the bag's cos 40): 79%.
    assert catalogue.predict("NEW-2", 0) == "Shoes"
    vote_settings.CATEGORY_PREDICTION_MIN_SHARE = 0.8
    assert catalogue.predict("NEW-3", 0) is None


def test_too_few_voters_predict_nothing(catalogue, vote_settings):
    vote_settings.CATEGORY_PREDICTION_NEIGHBOURS = 5  # only four categorised searchable images exist
    assert catalogue.predict("NEW-4", 0) is None


def test_every_image_of_the_product_asks_its_own_neighbours(catalogue, vote_settings):
    # Two images: each fetches enough neighbours to skip the other one (3 + 2 + margin) and
    # finds the three shoes (6 votes); the bag at 40 is never among the first three.
    product, images = catalogue.add("NEW-5", 0, 1)
    assert predict_category(catalogue.model, product.pk, images) == Category.objects.get(name="Shoes").pk
    vote = category_vote(
        [
            knn.image_neighbours(catalogue.model, vector, limit=10, exclude_image_id=image_id)
            for image_id, vector in images
        ],
        product.pk,
    )
    assert (vote.votes, vote.share) == (6, 1.0)


def test_no_model_or_no_searchable_image_predicts_nothing(catalogue):
    product, images = catalogue.add("NEW-6", 0)
    assert predict_category(None, product.pk, images) is None
    assert predict_category(catalogue.model, product.pk, []) is None


@pytest.mark.django_db
def test_product_colours_count_only_ready_and_flagged_images(colour_settings, django_assert_num_queries):
    product = make_product("C-1")
    for number, (status, colours) in enumerate(
        [
            (Status.READY, {"red": 0.6, "white": 0.4}),
            (Status.FLAGGED, {"red": 1.0}),
            (Status.READY, {}),  # processed before colours existed: left out
            (Status.REJECTED, {"blue": 1.0}),
            (Status.PENDING, {"blue": 1.0}),
            (Status.PROCESSING, {"blue": 1.0}),
            (Status.FAILED, {"green": 1.0}),
        ]
    ):
        ProductImage.objects.create(product=product, file=f"products/c-{number}.jpg", status=status, colours=colours)
    only_rejected = make_product("C-2")
    ProductImage.objects.create(
        product=only_rejected, file="products/c2.jpg", status=Status.REJECTED, colours={"black": 1.0}
    )
    bare = make_product("C-3")
    with django_assert_num_queries(1):
        colours = attributes.products_colours([product.pk, only_rejected.pk, bare.pk])
    # red (0.6 + 1.0) / 2 = 0.8, white 0.4 / 2 = 0.2
    assert colours == {product.pk: ["red", "white"], only_rejected.pk: [], bare.pk: []}
