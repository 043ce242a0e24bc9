"""Reads of the catalogue. Pages, the API and commands call these."""

from __future__ import annotations

from typing import Iterable

from django.db.models import F, Prefetch, QuerySet
from django.db.models.expressions import RawSQL

from catalog.models import Category, Product, ProductImage

VISIBLE_IMAGE_STATUSES = [ProductImage.Status.READY, ProductImage.Status.FLAGGED, ProductImage.Status.PENDING,
                          ProductImage.Status.PROCESSING]


def catalog_is_empty() -> bool:
    return not Product.objects.exists()


def category_roots() -> list[Category]:
    return list(Category.objects.filter(parent__isnull=True).order_by("name"))


def category_get(slug: str) -> Category:
    return Category.objects.select_related("parent").get(slug=slug)


def category_descendant_ids(category: Category) -> list[int]:
    """The category and everything below it, in one query."""
    rows = Category.objects.raw(_DESCENDANTS_SQL, [category.pk])
    return [row.pk for row in rows]


def category_ancestors(category: Category) -> list[Category]:
    """Root first, the category itself last: no query when the parents are loaded, else one."""
    chain = [category]
    while chain[0].parent_id and Category.parent.is_cached(chain[0]):
        chain.insert(0, chain[0].parent)
    if chain[0].parent_id:
        above = Category.objects.raw(
            """
            WITH RECURSIVE up AS (
                SELECT id, parent_id, 1 AS depth FROM catalog_category WHERE id = %s
                UNION ALL
                SELECT c.id, c.parent_id, up.depth + 1 FROM catalog_category c JOIN up ON c.id = up.parent_id
                WHERE up.depth < 100
            )
            SELECT c.* FROM catalog_category c JOIN up ON up.id = c.id ORDER BY up.depth DESC
            """,
            [chain[0].parent_id],
        )
        chain[:0] = list(above)
    return chain


class CategoryTree:
    """Every category, loaded in one query, linked both ways.

    Each node gets `subcategories` (sorted by name); lookups by slug, ancestors and
    descendants then cost no query. Shops have tens to a few thousand categories,
    which is cheap to load for every page that shows the navigation.
    """

    def __init__(self, categories: Iterable[Category]):
        nodes = sorted(categories, key=lambda c: (c.name.lower(), c.pk))
        self.by_id: dict[int, Category] = {c.pk: c for c in nodes}
        self.by_slug: dict[str, Category] = {c.slug: c for c in nodes}
        self.roots: list[Category] = []
        for node in nodes:
            node.subcategories = []
        for node in nodes:
            parent = self.by_id.get(node.parent_id) if node.parent_id else None
            if parent is None:
                self.roots.append(node)
            else:
                parent.subcategories.append(node)
                node.parent = parent  # no query when templates or code follow .parent

    def get(self, slug: str) -> Category | None:
        return self.by_slug.get(slug)

    def ancestors(self, category: Category) -> list[Category]:
        """Root first, the category itself last (the tree's own node for it)."""
        chain, node, seen = [], self.by_id.get(category.pk), set()
        while node is not None and node.pk not in seen:
            seen.add(node.pk)
            chain.insert(0, node)
            node = self.by_id.get(node.parent_id) if node.parent_id else None
        return chain

    def descendant_ids(self, category: Category) -> list[int]:
        """The category and everything below it."""
        ids, stack = [], [self.by_id[category.pk]] if category.pk in self.by_id else []
        while stack:
            node = stack.pop()
            ids.append(node.pk)
            stack.extend(node.subcategories)
        return ids


def category_tree() -> CategoryTree:
    return CategoryTree(Category.objects.all())


def category_covers(tree: CategoryTree) -> None:
    """Give every node of the tree a `cover` image (or None), in one query.

    A category's cover is the first visible photo of its first product; a category
    without products of its own borrows the cover of its first subcategory that has one.
    """
    rows = (
        ProductImage.objects.filter(
            status__in=VISIBLE_IMAGE_STATUSES, product__is_active=True, product__category__isnull=False
        )
        .annotate(cover_category_id=F("product__category_id"))
        .order_by("product__category_id", "product_id", "position", "id")
        .distinct("product__category_id")
        .only("id", "file", "thumbnail", "width", "height", "product_id")
    )
    own = {image.cover_category_id: image for image in rows}

    def cover(node: Category):
        node.cover = own.get(node.pk)
        for child in node.subcategories:
            found = cover(child)
            if node.cover is None:
                node.cover = found
        return node.cover

    for root in tree.roots:
        cover(root)


def _with_images(queryset: QuerySet[Product]) -> QuerySet[Product]:
    images = ProductImage.objects.filter(status__in=VISIBLE_IMAGE_STATUSES).order_by("position", "id")
    return queryset.select_related("category", "brand").prefetch_related(
        Prefetch("images", queryset=images, to_attr="visible_images")
    )


_DESCENDANTS_SQL = """
    WITH RECURSIVE tree AS (
        SELECT id FROM catalog_category WHERE id = %s
        UNION ALL
        SELECT c.id FROM catalog_category c JOIN tree t ON c.parent_id = t.id
    )
    SELECT id FROM tree
"""


def product_list(*, category: Category | None = None) -> QuerySet[Product]:
    """Active products, with brand, category and visible images; a category includes its descendants.

    The descendants are a subquery, so counting and paging cost one query each.
    """
    queryset = Product.objects.filter(is_active=True)
    if category is not None:
        queryset = queryset.filter(category_id__in=RawSQL(_DESCENDANTS_SQL, [category.pk]))
    return _with_images(queryset).order_by("title", "id")


def product_featured(limit: int = 8) -> list[Product]:
    """In-stock products, newest first."""
    return list(_with_images(Product.objects.filter(is_active=True, stock__gt=0)).order_by("-created_at", "-id")[:limit])


def product_get(pk: int) -> Product:
    """An active product with its brand, category (and the category's parent) and visible images."""
    return _with_images(Product.objects.filter(is_active=True)).select_related("category__parent").get(pk=pk)


def product_image_with_same_bytes(product_id: int | None, sha256: str, *, exclude_pk: int | None = None) -> int | None:
    """The id of an image of this product with exactly these bytes, if any (one picture
    twice on a product is a duplicate upload, not a second view)."""
    return (
        ProductImage.objects.filter(product_id=product_id, sha256=sha256).exclude(pk=exclude_pk)
        .values_list("pk", flat=True).first()
    )
