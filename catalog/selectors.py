"""Reads of the catalogue. Pages, the API and commands call these."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import BooleanField, Count, Exists, ExpressionWrapper, F, OuterRef, Prefetch, Q, QuerySet
from django.db.models.expressions import RawSQL

from catalog.image_files import DERIVATIVE_SIZES
from catalog.models import Category, Product, ProductImage, ProductVariant

# Pictures shoppers see (ProductImage.SEARCHABLE_STATUSES) are shown through their derivatives
# (an upload as it arrived is staff-only, visualshop.media). A product is listed only with one.
# The rule for raw SQL on `p` (catalog_product): the product has a picture shoppers see.
PRODUCT_HAS_PICTURE_SQL = (
    "EXISTS (SELECT 1 FROM catalog_productimage pic WHERE pic.product_id = p.id AND "
    f"{ProductImage.searchable_sql('pic.status')})"
)


def product_has_picture() -> Exists:
    """Filter for products shoppers may see: active ones are listed only with a picture
    (ready or flagged); one whose pictures are all rejected, failed or still being processed,
    or that has none, is for staff to give a photo (the admin's "needs a photo" filter)."""
    return Exists(ProductImage.objects.filter(product_id=OuterRef("pk"), status__in=ProductImage.SEARCHABLE_STATUSES))


def shop_products() -> QuerySet[Product]:
    """The products shoppers may see: active and with a picture."""
    return Product.objects.filter(product_has_picture(), is_active=True)


def products_needing_a_photo() -> QuerySet[Product]:
    """Products kept from shoppers for want of a picture (whether active or not): none at all,
    or only rejected, failed or not yet processed ones."""
    return Product.objects.filter(~product_has_picture())


def catalog_is_empty() -> bool:
    return not Product.objects.exists()


def image_status_counts() -> dict[str, int]:
    """How many pictures have each status (statuses with none are left out): one query."""
    rows = ProductImage.objects.order_by().values_list("status").annotate(count=Count("id"))
    return dict(rows)


def images_awaiting_processing() -> bool:
    """Whether any picture is still waiting for the pipeline or in it (failed ones are not:
    they may never succeed, and the sweep retries them on its own schedule)."""
    return ProductImage.objects.filter(
        status__in=(ProductImage.Status.PENDING, ProductImage.Status.PROCESSING)
    ).exists()


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
            status__in=ProductImage.SEARCHABLE_STATUSES, product__is_active=True, product__category__isnull=False
        )
        .annotate(cover_category_id=F("product__category_id"))
        .order_by("product__category_id", "product_id", "position", "id")
        .distinct("product__category_id")
        .only("id", "file", "thumbnail", "display", "width", "height", "product_id")
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


def categories_to_browse(tree: CategoryTree, limit: int = 8) -> list[Category]:
    """The most specific categories shoppers can see products in (leaves with a cover), in the
    tree's order: where a search that found nothing sends them instead. One query."""
    category_covers(tree)
    found: list[Category] = []

    def leaves(node: Category) -> None:
        if node.subcategories:
            for child in node.subcategories:
                leaves(child)
        elif node.cover is not None:
            found.append(node)

    for root in tree.roots:
        leaves(root)
    return found[:limit]


def _with_images(queryset: QuerySet[Product]) -> QuerySet[Product]:
    images = ProductImage.objects.filter(status__in=ProductImage.SEARCHABLE_STATUSES).order_by("position", "id")
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
    """Products shoppers may see (shop_products), with brand, category and visible images; a
    category includes its descendants.

    The descendants are a subquery, so counting and paging cost one query each.
    """
    queryset = shop_products()
    if category is not None:
        queryset = queryset.filter(category_id__in=RawSQL(_DESCENDANTS_SQL, [category.pk]))
    return _with_images(queryset).order_by("title", "id")


def product_featured(limit: int = 8) -> list[Product]:
    """In-stock products shoppers may see, newest first."""
    return list(_with_images(shop_products().filter(stock__gt=0)).order_by("-created_at", "-id")[:limit])


def product_get(pk: int) -> Product:
    """A product shoppers may see with its brand, category (and the category's parent) and
    visible images, and its sizes (`sizes`, smallest first; empty for a product sold whole).
    Product.DoesNotExist for an inactive one or one without a picture."""
    return (
        _with_images(shop_products())
        .select_related("category__parent")
        .prefetch_related(
            Prefetch("variants", queryset=ProductVariant.objects.order_by("position", "id"), to_attr="sizes")
        )
        .get(pk=pk)
    )


def product_image_with_same_bytes(product_id: int | None, sha256: str, *, exclude_pk: int | None = None) -> int | None:
    """The id of an image of this product with exactly these bytes, if any (one picture
    twice on a product is a duplicate upload, not a second view)."""
    return (
        ProductImage.objects.filter(product_id=product_id, sha256=sha256)
        .exclude(pk=exclude_pk)
        .values_list("pk", flat=True)
        .first()
    )


# -- listings: sort orders and facets --------------------------------------------------------

# Sort keys of a product listing (the `sort` query parameter) and their labels, default first.
PRODUCT_SORTS = {
    "featured": "Featured",
    "price-asc": "Price: low to high",
    "price-desc": "Price: high to low",
    "newest": "Newest",
}
DEFAULT_SORT = "featured"


def products_sorted(queryset: QuerySet[Product], sort: str) -> QuerySet[Product]:
    """The products in a listing order (PRODUCT_SORTS); unknown keys sort as featured.

    Featured: in stock before sold out, then by title. Every order ends with the id, so
    pages never share or skip a product.
    """
    if sort == "price-asc":
        return queryset.order_by("price", "id")
    if sort == "price-desc":
        return queryset.order_by("-price", "-id")
    if sort == "newest":
        return queryset.order_by("-created_at", "-id")
    sold_out = ExpressionWrapper(Q(stock=0), output_field=BooleanField())
    return queryset.alias(sold_out=sold_out).order_by("sold_out", "title", "id")


# -- pictures: srcset from the stored derivatives --------------------------------------------


def image_srcset(image: ProductImage) -> str:
    """`srcset` candidates of an image: its derivatives (catalog.image_files.DERIVATIVE_SIZES,
    long side bounded, never enlarged), each with its width, smallest first and each width
    once. Never the upload (staff-only, visualshop.media). Empty for an unprocessed image or
    one whose size is unknown."""
    if not (image.width and image.height) or not (image.thumbnail or image.display):
        return ""
    long_side = max(image.width, image.height)
    candidates: dict[int, str] = {}
    for name in ("thumbnail", "display"):
        file = getattr(image, name)
        if file:
            width = round(image.width * min(1.0, DERIVATIVE_SIZES[name] / long_side))
            candidates.setdefault(width, file.url)
    return ", ".join(f"{url} {width}w" for width, url in sorted(candidates.items()))


def images_with_srcset(images: Iterable[ProductImage]) -> None:
    """Give each image a `srcset` attribute for the templates (no query)."""
    for image in images:
        image.srcset = image_srcset(image)


def products_with_srcset(products: Iterable[Product]) -> None:
    """`srcset` on the visible images of products loaded by the selectors here (no query)."""
    for product in products:
        images_with_srcset(getattr(product, "visible_images", ()))
