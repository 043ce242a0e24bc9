"""Reads of the catalogue. Pages, the API and commands call these."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

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
    rows = Category.objects.raw(
        """
        WITH RECURSIVE tree AS (
            SELECT id FROM catalog_category WHERE id = %s
            UNION ALL
            SELECT c.id FROM catalog_category c JOIN tree t ON c.parent_id = t.id
        )
        SELECT id FROM tree
        """,
        [category.pk],
    )
    return [row.pk for row in rows]


def category_ancestors(category: Category) -> list[Category]:
    """Root first, the category itself last."""
    chain = [category]
    while chain[0].parent_id:
        chain.insert(0, Category.objects.get(pk=chain[0].parent_id))
    return chain


def _with_images(queryset: QuerySet[Product]) -> QuerySet[Product]:
    images = ProductImage.objects.filter(status__in=VISIBLE_IMAGE_STATUSES).order_by("position", "id")
    return queryset.select_related("category", "brand").prefetch_related(
        Prefetch("images", queryset=images, to_attr="visible_images")
    )


def product_list(*, category: Category | None = None) -> QuerySet[Product]:
    queryset = Product.objects.filter(is_active=True)
    if category is not None:
        queryset = queryset.filter(category_id__in=category_descendant_ids(category))
    return _with_images(queryset).order_by("title", "id")


def product_featured(limit: int = 8) -> list[Product]:
    """In-stock products, newest first."""
    return list(_with_images(Product.objects.filter(is_active=True, stock__gt=0)).order_by("-created_at", "-id")[:limit])


def product_get(pk: int) -> Product:
    return _with_images(Product.objects.filter(is_active=True)).get(pk=pk)
