"""A simulated shopper's hidden tastes, and how much a product matches them (its affinity).
The simulator's shoppers act on these (simulation.click_model); nothing else in the shop
ever reads them, so what a ranker learns from their clicks it must learn from behaviour."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class CatalogueItem:
    """What the simulator knows of a product: what a shopper sees on its card and page."""

    product_id: int
    category_id: int | None
    category_name: str
    colours: tuple[str, ...]
    brand_id: int | None
    price: float
    currency: str
    in_stock: bool
    image_name: str  # its first searchable picture (a shopper's "photo"), "" if none
    image_size: tuple[int, int]  # that picture's width and height (0, 0 if unknown)
    sizes_in_stock: tuple[int, ...]  # ids of its sizes in stock (empty: sold whole)


@dataclass(frozen=True)
class Tastes:
    categories: tuple[int, ...]  # favourite categories, most liked first
    colours: tuple[str, ...]
    brands: tuple[int, ...]
    price_low: float
    price_high: float


def draw_tastes(rng, catalogue: list[CatalogueItem]) -> Tastes:
    """One shopper's tastes, drawn from the catalogue: 1-2 categories (likelier the more
    products they have), 1-2 colours, 0-2 brands, a price band around a typical price."""
    by_category: dict[int, int] = {}
    colours: dict[str, int] = {}
    brands: dict[int, int] = {}
    for item in catalogue:
        if item.category_id is not None:
            by_category[item.category_id] = by_category.get(item.category_id, 0) + 1
        for colour in item.colours:
            colours[colour] = colours.get(colour, 0) + 1
        if item.brand_id is not None:
            brands[item.brand_id] = brands.get(item.brand_id, 0) + 1
    categories = _weighted_sample(rng, by_category, rng.choice((1, 1, 2)))
    favourite_colours = _weighted_sample(rng, colours, rng.choice((1, 2)))
    favourite_brands = _weighted_sample(rng, brands, rng.choice((0, 1, 2)))
    median = statistics.median(item.price for item in catalogue)
    centre = median * math.exp(rng.gauss(0.0, 0.5))
    return Tastes(categories, favourite_colours, favourite_brands, centre * 0.6, centre * 1.5)


def with_budget(tastes: Tastes, budget: float) -> Tastes:
    """The same tastes with the price band scaled: what a sale season or a tighter budget does
    to what a shopper will pay (budget 1: unchanged)."""
    if budget == 1.0:
        return tastes
    return replace(tastes, price_low=tastes.price_low * budget, price_high=tastes.price_high * budget)


def affinity(tastes: Tastes, item: CatalogueItem) -> float:
    """How much the shopper likes the product: category 2, colour 1, brand 0.7, price in band
    0.8, far over it -1."""
    score = 0.0
    if item.category_id in tastes.categories:
        score += 2.0
    if set(item.colours) & set(tastes.colours):
        score += 1.0
    if item.brand_id is not None and item.brand_id in tastes.brands:
        score += 0.7
    if tastes.price_low <= item.price <= tastes.price_high:
        score += 0.8
    elif item.price > 1.5 * tastes.price_high:
        score -= 1.0
    return score


def _weighted_sample(rng, counts: dict, k: int) -> tuple:
    """k distinct keys, each drawn with probability proportional to its count (in key order
    first, so the draw depends on the seed only)."""
    pool = sorted(counts.items(), key=lambda pair: str(pair[0]))
    chosen = []
    for _ in range(min(k, len(pool))):
        total = sum(count for _, count in pool)
        pick = rng.random() * total
        for index, (key, count) in enumerate(pool):
            pick -= count
            if pick < 0 or index == len(pool) - 1:
                chosen.append(key)
                pool.pop(index)
                break
    return tuple(chosen)
