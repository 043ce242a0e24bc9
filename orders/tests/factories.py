"""Products for order tests, made through the catalogue's own services."""

from decimal import Decimal

from catalog import services as catalog_services
from catalog.models import Product, ProductVariant
from catalog.services import ProductData, VariantData
from fixtures.factories import mark_processed
from fixtures.images import image_bytes
from orders.services import CustomerData


def product(
    sku: str,
    *,
    title: str | None = None,
    price: str = "10.00",
    stock: int = 5,
    active: bool = True,
    images: int = 0,
    currency: str = "EUR",
) -> Product:
    made, _ = catalog_services.product_upsert(
        ProductData(
            sku=sku,
            title=title or f"Product {sku}",
            price=Decimal(price),
            stock=stock,
            is_active=active,
            currency=currency,
        )
    )
    for n in range(images):
        image, _ = catalog_services.product_image_add(
            product=made,
            content=image_bytes((120, 150), colour=(n * 70, sum(map(ord, sku)) % 256, 90)),
            position=n,
        )
        mark_processed(image)  # the shop shows products with a processed picture only
    return made


def customer(**overrides) -> CustomerData:
    data = {
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "phone": "+44 20 7946 0000",
        "address_line1": "12 St James's Square",
        "address_line2": "Flat 3",
        "postal_code": "SW1Y 4JH",
        "city": "London",
        "region": "",
        "country": "GB",
    }
    return CustomerData(**{**data, **overrides})


CHECKOUT_POST = {
    "name": "Ada Lovelace",
    "email": "ada@example.com",
    "phone": "",
    "address_line1": "12 St James's Square",
    "address_line2": "",
    "postal_code": "SW1Y 4JH",
    "city": "London",
    "region": "",
    "country": "GB",
}


def with_sizes(made: Product, **stock_by_size: int) -> dict[str, ProductVariant]:
    """Make `made` sold by size (smallest first, as given: S=2, M=0); returns its sizes by name."""
    catalog_services.product_variants_upsert(
        made,
        [
            VariantData(sku=f"{made.sku}-{size}", size=size, stock=stock, position=position)
            for position, (size, stock) in enumerate(stock_by_size.items())
        ],
    )
    made.refresh_from_db()
    return {variant.size: variant for variant in made.variants.all()}
