"""The demo catalogue's products: generated, deterministic, varied (no database)."""

from collections import Counter
from decimal import Decimal

import pytest

from catalog.demo.photos import render_demo_image
from catalog.demo.products import demo_products


@pytest.mark.slow
def test_generation_is_deterministic():
    first, second = demo_products(), demo_products()
    assert first == second
    assert [p.attributes for p in first] == [p.attributes for p in second]
    for product in first[:24]:
        for index in range(product.image_count):
            assert render_demo_image(product, index) == render_demo_image(product, index)


def test_a_limit_is_a_prefix_of_the_whole_catalogue():
    assert demo_products(30) == demo_products()[:30]
    assert demo_products(0) == []


def test_the_catalogue_is_big_and_varied():
    products = demo_products()
    assert len(products) >= 150
    assert [p.sku for p in products[:3]] == ["DEMO-0001", "DEMO-0002", "DEMO-0003"]
    assert len({p.sku for p in products}) == len(products)
    assert len({p.title for p in products}) == len(products)
    assert len({p.category_path for p in products}) >= 6
    assert all(len(p.category_path) >= 1 for p in products)
    assert len({p.brand for p in products}) >= 5
    assert len({p.attributes["colour"] for p in products}) >= 12
    assert {p.attributes["pattern"] for p in products} == {"solid", "striped", "polka dot", "checked", "gradient"}
    assert len({(p.kind, p.variant) for p in products}) >= 20
    assert all({"colour", "pattern", "material"} <= p.attributes.keys() for p in products)
    assert all(isinstance(v, str) and v for p in products for v in p.attributes.values())
    assert all(isinstance(p.price, Decimal) and p.price > 0 and p.price.as_tuple().exponent == -2 for p in products)
    stocks = [p.stock for p in products]
    assert 5 <= stocks.count(0) <= 40 and max(stocks) > 20
    assert Counter(p.image_count for p in products).keys() == {1, 2, 3}
    assert all(p.description.count(".") >= 3 for p in products)


def test_titles_read_like_a_shop():
    titles = {p.title for p in demo_products()}
    assert any(t.startswith("Striped ") for t in titles)
    assert all(" in " in t and t[0].isupper() for t in titles)
