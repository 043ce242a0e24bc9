"""Products for order tests, made through the catalogue's own services."""

from decimal import Decimal

from catalog import services as catalog_services
from catalog.models import Product
from catalog.services import ProductData
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
