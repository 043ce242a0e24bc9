"""What a product's pictures say about it: its dominant colours and the category its
nearest catalogue neighbours suggest. Computed by search.product_refresh, stored on
Product.colours and Product.predicted_category.

Only searchable (ready or flagged) images count: a rejected, pending or failed image
says nothing about the product until the pipeline has settled it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from django.conf import settings

from catalog.models import ProductImage
from vision import knn
from vision.models import EmbeddingModel

# Extra neighbours fetched per image: the product's own other images and neighbours
# without a category are skipped, and the status filter applies after the index's LIMIT.
NEIGHBOUR_MARGIN = 5


def aggregate_colours(image_colours: list[dict[str, float]]) -> list[str]:
    """A product's colour names from its images' {name: share}: the mean share of each name
    over the images (an image without the name counts 0), the PRODUCT_COLOURS_MAX largest
    with at least PRODUCT_COLOUR_MIN_SHARE, largest first (ties by name). Images without
    colour data (processed before colours existed) are left out rather than counted as 0."""
    measured = [colours for colours in image_colours if colours]
    if not measured:
        return []
    totals: dict[str, float] = defaultdict(float)
    for colours in measured:
        for name, share in colours.items():
            totals[name] += share
    means = {name: total / len(measured) for name, total in totals.items()}
    ranked = sorted(means.items(), key=lambda item: (-item[1], item[0]))
    return [name for name, share in ranked if share >= settings.PRODUCT_COLOUR_MIN_SHARE][
        : settings.PRODUCT_COLOURS_MAX
    ]


def products_colours(product_ids: list[int]) -> dict[int, list[str]]:
    """Colours of each product from its searchable images (one query); [] without any."""
    per_product: dict[int, list[dict[str, float]]] = {product_id: [] for product_id in product_ids}
    rows = (
        ProductImage.objects.filter(product_id__in=product_ids, status__in=ProductImage.SEARCHABLE_STATUSES)
        .order_by("product_id", "position", "id")
        .values_list("product_id", "colours")
    )
    for product_id, colours in rows:
        per_product[product_id].append(colours or {})
    return {product_id: aggregate_colours(colours) for product_id, colours in per_product.items()}


@dataclass(frozen=True)
class CategoryVote:
    category_id: int | None  # the winner (None: no votes)
    share: float  # the winner's share of the vote weight, 0..1
    votes: int  # neighbour images that voted

    @property
    def confident(self) -> bool:
        return (
            self.category_id is not None
            and self.votes >= settings.CATEGORY_PREDICTION_NEIGHBOURS
            and self.share >= settings.CATEGORY_PREDICTION_MIN_SHARE
        )


def category_vote(neighbour_lists: list[list[knn.Neighbour]], product_id: int) -> CategoryVote:
    """Per image of the product, its CATEGORY_PREDICTION_NEIGHBOURS nearest images of *other*
    categorised products vote for their product's category, weighted by cosine (negative
    cosines weigh nothing). Ties go to the lower category id, so the outcome is stable."""
    wanted = settings.CATEGORY_PREDICTION_NEIGHBOURS
    weights: dict[int, float] = defaultdict(float)
    votes = 0
    for neighbours in neighbour_lists:
        others = [n for n in neighbours if n.product_id != product_id and n.category_id is not None][:wanted]
        for neighbour in others:
            weights[neighbour.category_id] += max(neighbour.cosine, 0.0)
        votes += len(others)
    total = sum(weights.values())
    if not weights or total <= 0:
        return CategoryVote(None, 0.0, votes)
    category_id, weight = min(weights.items(), key=lambda item: (-item[1], item[0]))
    return CategoryVote(category_id, weight / total, votes)


def predict_category(model: EmbeddingModel | None, product_id: int, images: list[tuple[int, np.ndarray]]) -> int | None:
    """The category the nearest catalogue images of other products agree on, or None when
    the vote is not confident (CategoryVote.confident) or there is nothing to vote with.
    `images` are the product's searchable images with their vectors under `model`."""
    if model is None or not images:
        return None
    limit = settings.CATEGORY_PREDICTION_NEIGHBOURS + len(images) + NEIGHBOUR_MARGIN
    neighbour_lists = [
        knn.image_neighbours(model, vector, limit=limit, exclude_image_id=image_id) for image_id, vector in images
    ]
    vote = category_vote(neighbour_lists, product_id)
    return vote.category_id if vote.confident else None
