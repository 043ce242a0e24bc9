"""Sizes from a feed: rows sharing an `item_group_id` are the sizes of one product."""

import io

import pytest
from django.core.management import CommandError, call_command

from catalog.models import Product, ProductVariant
from fixtures.images import image_bytes

pytestmark = pytest.mark.django_db

HEADER = "id,item_group_id,title,price,size,quantity,image_link"


@pytest.fixture(autouse=True)
def media_root(tmp_path, settings):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def feed_dir(tmp_path):
    (tmp_path / "dress.jpg").write_bytes(image_bytes((320, 400), (200, 20, 20), "JPEG"))
    (tmp_path / "back.jpg").write_bytes(image_bytes((320, 400), (20, 20, 200), "JPEG"))
    return tmp_path


def run(feed_dir, *rows):
    feed = feed_dir / "feed.csv"
    feed.write_text("\n".join([HEADER, *rows]) + "\n")
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_catalog", str(feed), "--no-progress", stdout=out, stderr=err)
        error = None
    except CommandError as exc:
        error = str(exc)
    return out.getvalue(), err.getvalue(), error


def sizes(sku: str) -> list[tuple[str, str, int, int]]:
    return [(v.sku, v.size, v.stock, v.position) for v in ProductVariant.objects.filter(product__sku=sku)]


def test_rows_of_a_group_become_one_product_with_a_size_each(feed_dir):
    out, err, error = run(
        feed_dir,
        "MARTA-S,MARTA,Marta dress,59.00 EUR,S,3,dress.jpg",
        "MARTA-M,MARTA,Marta dress - M,59.00 EUR,M,0,dress.jpg",
        "MARTA-L,MARTA,Marta dress,59.00 EUR, L ,5,back.jpg",
        "MUG-1,,Teal mug,12.00 EUR,,7,back.jpg",
    )
    assert (err, error) == ("", None)
    # A later size's row updates the product its group's first row created.
    assert out == "4 rows: 2 created, 2 updated, 0 failed; 3 images added.\n"
    dress = Product.objects.get(sku="MARTA")
    # The first row names the product; the sizes' stock adds up to its own.
    assert (dress.title, str(dress.price), dress.stock, dress.attributes) == ("Marta dress", "59.00", 8, {})
    assert sizes("MARTA") == [("MARTA-S", "S", 3, 0), ("MARTA-M", "M", 0, 1), ("MARTA-L", "L", 5, 2)]
    # A later row's new picture is added; the first row's stays.
    assert dress.images.count() == 2
    mug = Product.objects.get(sku="MUG-1")
    assert (mug.stock, mug.variants.count()) == (7, 0)


def test_reimport_updates_sizes_in_place_and_appends_new_ones(feed_dir):
    run(feed_dir, "MARTA-S,MARTA,Marta dress,59.00,S,3,dress.jpg", "MARTA-M,MARTA,Marta dress,59.00,M,1,dress.jpg")
    out, err, error = run(
        feed_dir,
        "MARTA-XL,MARTA,Marta dress,59.00,XL,2,dress.jpg",
        "MARTA-M,MARTA,Marta dress,59.00,M,4,dress.jpg",
    )
    assert (out, err, error) == ("2 rows: 0 created, 2 updated, 0 failed; 0 images added.\n", "", None)
    # S is not in this feed: left as it was (a feed states what it lists, nothing more).
    assert sizes("MARTA") == [("MARTA-S", "S", 3, 0), ("MARTA-M", "M", 4, 1), ("MARTA-XL", "XL", 2, 2)]
    assert Product.objects.get(sku="MARTA").stock == 9


def test_bad_size_rows_are_named_and_the_rest_imported(feed_dir):
    run(feed_dir, "OTHER-M,OTHER,Other dress,10.00,M,1,dress.jpg", "JUNO,,Juno skirt,20.00,,4,dress.jpg")
    out, err, error = run(
        feed_dir,
        "MARTA-S,MARTA,Marta dress,59.00 EUR,S,3,dress.jpg",
        "MARTA-M,MARTA,Marta dress,64.00 EUR,M,2,dress.jpg",
        "MARTA-X,MARTA,Marta dress,59.00 EUR,,2,dress.jpg",
        "OTHER-M,MARTA,Marta dress,59.00 EUR,L,2,dress.jpg",
        "MARTA-S2,MARTA,Marta dress,59.00 EUR,S,2,dress.jpg",
        "MARTA-L,MARTA,Marta dress,59.00 EUR,L,1,dress.jpg",
        "MARTA,,Marta dress,59.00 EUR,,40,dress.jpg",
        "JUNO-M,JUNO,Juno skirt,20.00,M,2,dress.jpg",
    )
    assert error == "5 of 8 rows failed (listed above)."
    assert err.splitlines() == [
        "row 3: price 64.00 EUR differs from row 2's 59.00 EUR for item_group_id 'MARTA': "
        "the sizes of a product share its price",
        "row 4: item_group_id 'MARTA' without a size: rows of a group are the sizes of one product "
        "(give each colour its own id and no item_group_id)",
        "row 5: size SKU 'OTHER-M' already belongs to another product (Other dress (OTHER))",
        "row 6: the product already has size 'S' as SKU 'MARTA-S'",
        "row 8: product 'MARTA' is sold by size: give each size its own row with item_group_id 'MARTA' and its stock",
    ]
    assert out == "8 rows: 1 created, 2 updated, 5 failed; 1 images added.\n"
    assert sizes("MARTA") == [("MARTA-S", "S", 3, 0), ("MARTA-L", "L", 1, 1)]
    assert Product.objects.get(sku="MARTA").stock == 4
    assert sizes("OTHER") == [("OTHER-M", "M", 1, 0)]
    # JUNO was sold whole (4 in stock); a size row makes it a product sold by size.
    assert sizes("JUNO") == [("JUNO-M", "M", 2, 0)]
    assert Product.objects.get(sku="JUNO").stock == 2


def test_a_group_whose_first_row_failed_is_set_by_its_next_row(feed_dir):
    out, err, error = run(
        feed_dir,
        "MARTA-S,MARTA,Marta dress,not a price,S,3,dress.jpg",
        "MARTA-M,MARTA,Marta dress,59.00,M,2,dress.jpg",
        "MARTA-L,MARTA,Marta dress,59.00,L,1,dress.jpg",
    )
    assert err == "row 2: malformed price 'not a price' (expected e.g. '12.99 EUR')\n"
    assert out == "3 rows: 1 created, 1 updated, 1 failed; 1 images added.\n"
    assert sizes("MARTA") == [("MARTA-M", "M", 2, 0), ("MARTA-L", "L", 1, 1)]
