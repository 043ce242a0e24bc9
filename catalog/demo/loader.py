"""Loading the demo catalogue into the shop: its products, categories, brands and photos
written through catalog.services like any other import."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from catalog import services
from catalog.demo.products import demo_photo, demo_products
from catalog.models import Brand, Category
from catalog.services import ProductData, VariantData
from visualshop.broker import sending


@dataclass(frozen=True)
class DemoLoadResult:
    products: int
    categories: int
    brands: int
    images: int


def load_demo_catalog(limit: int | None = None) -> DemoLoadResult:
    """Create or refresh the demo products (SKUs DEMO-0001...); returns what was created.

    Idempotent: products are matched by SKU and images by their bytes, so a second
    run creates nothing. One transaction: all of it or none of it.
    """
    items = demo_products(limit)
    created_products = created_images = 0
    with sending.messages_batched(), transaction.atomic():
        categories_before, brands_before = Category.objects.count(), Brand.objects.count()
        categories: dict[tuple[str, ...], Category | None] = {}
        brands: dict[str, Brand | None] = {}
        for item in items:
            if item.category_path not in categories:
                categories[item.category_path] = services.category_get_or_create_path(item.category_path)
            if item.brand not in brands:
                brands[item.brand] = services.brand_get_or_create(item.brand)
            product, created = services.product_upsert(
                ProductData(
                    sku=item.sku,
                    title=item.title,
                    price=item.price,
                    currency="EUR",
                    description=item.description,
                    category=categories[item.category_path],
                    brand=brands[item.brand],
                    stock=item.stock,
                    is_active=True,
                    attributes=item.attributes,
                )
            )
            created_products += created
            services.product_variants_upsert(
                product,
                [
                    VariantData(sku=f"{item.sku}-{size}", size=size, stock=stock, position=position)
                    for position, (size, stock) in enumerate(item.sizes)
                ],
            )
            for index in range(item.image_count):
                _image, image_created = services.product_image_add(
                    product=product,
                    content=demo_photo(item, index),
                    source=f"demo catalogue: {item.sku} photo {index + 1}",
                    position=index,
                )
                created_images += image_created
        return DemoLoadResult(
            products=created_products,
            categories=Category.objects.count() - categories_before,
            brands=Brand.objects.count() - brands_before,
            images=created_images,
        )
