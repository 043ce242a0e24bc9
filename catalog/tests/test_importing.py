import io
import json
import zipfile
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from catalog.importing.records import RowError, parse_price
from catalog.importing.service import ImportOptions, import_catalog
from catalog.models import Category, Product, ProductImage
from catalog.tests.images import image_bytes

pytestmark = pytest.mark.django_db

HEADER = "id,title,description,price,brand,product_type,color,material,image_link,additional_image_link,availability"


@pytest.fixture
def feed_dir(tmp_path):
    (tmp_path / "img").mkdir()
    for name, colour in [("red", (200, 20, 20)), ("blue", (20, 20, 200)), ("green", (20, 200, 20))]:
        (tmp_path / "img" / f"{name}.jpg").write_bytes(image_bytes((320, 400), colour, "JPEG"))
    (tmp_path / "img" / "notes.jpg").write_bytes(b"<html>not an image</html>")
    return tmp_path


def write_csv(path, *rows, header=HEADER, encoding="utf-8"):
    path.write_bytes((header + "\n").encode() + b"".join(
        (row if isinstance(row, bytes) else (row + "\n").encode(encoding)) for row in rows))
    return path


def run(source, *args):
    """call_command; returns (stdout, stderr, error message or None)."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_catalog", str(source), "--no-progress", *args, stdout=out, stderr=err)
        return out.getvalue(), err.getvalue(), None
    except CommandError as exc:
        return out.getvalue(), err.getvalue(), str(exc)


def test_csv_feed_creates_products_with_tree_brand_attributes_and_images(feed_dir):
    feed = write_csv(
        feed_dir / "products.csv",
        'D-1,Red wrap dress,"Light, summery",49.90 EUR,Acme,Apparel > Dresses,red,linen,img/red.jpg,'
        '"img/blue.jpg,img/green.jpg",in stock',
        "S-1,Blue sneaker,,EUR 79.00,Stride,Shoes,blue,,img/blue.jpg,,out of stock",
    )
    out, err, error = run(feed)
    assert error is None, err
    assert out == "2 rows: 2 created, 0 updated, 0 failed; 4 images added.\n"
    dress = Product.objects.select_related("category__parent", "brand").get(sku="D-1")
    assert (dress.title, dress.description, dress.price, dress.currency, dress.stock) == (
        "Red wrap dress", "Light, summery", Decimal("49.90"), "EUR", 10)
    assert (dress.category.name, dress.category.parent.name, dress.brand.name) == ("Dresses", "Apparel", "Acme")
    assert dress.attributes == {"colour": "red", "material": "linen"}
    assert list(dress.images.values_list("position", "source", "width", "height", "format")) == [
        (0, "img/red.jpg", 320, 400, "JPEG"), (1, "img/blue.jpg", 320, 400, "JPEG"),
        (2, "img/green.jpg", 320, 400, "JPEG")]
    shoe = Product.objects.get(sku="S-1")
    assert (shoe.price, shoe.stock, shoe.category.name, shoe.category.parent) == (Decimal("79.00"), 0, "Shoes", None)


def test_reimport_updates_by_sku_and_never_duplicates(feed_dir):
    row = "D-1,Red dress,,10.00 EUR,Acme,Dresses,red,,img/red.jpg,img/blue.jpg,in stock"
    run(write_csv(feed_dir / "a.csv", row))
    changed = "D-1,Crimson dress,,12.50 EUR,Acme,Dresses,crimson,,img/red.jpg,img/green.jpg,out of stock"
    out, _, error = run(write_csv(feed_dir / "b.csv", changed))
    assert error is None
    assert out == "1 rows: 0 created, 1 updated, 0 failed; 1 images added.\n"
    product = Product.objects.get()
    assert (product.title, product.price, product.stock, product.attributes) == (
        "Crimson dress", Decimal("12.50"), 0, {"colour": "crimson"})
    # The blue image left the feed and went; red stayed (same row), green came.
    assert list(product.images.values_list("source", "position")) == [("img/red.jpg", 0), ("img/green.jpg", 1)]
    assert (Category.objects.count(), ProductImage.objects.count()) == (1, 2)
    out, _, _ = run(write_csv(feed_dir / "c.csv", changed))
    assert out == "1 rows: 0 created, 1 updated, 0 failed; 0 images added.\n"


def test_each_kind_of_bad_row_is_reported_and_the_rest_is_imported(feed_dir):
    feed = write_csv(
        feed_dir / "products.csv",
        "OK-1,Good shirt,,20.00 EUR,,Shirts,,,img/red.jpg,,in stock",
        "BAD-1,Bad price,,twelve euros,,,,,,,",
        "BAD-2,,,5.00 EUR,,,,,,,",
        "BAD-3,Not an image,,5.00 EUR,,,,,img/notes.jpg,,",
        "BAD-4,Missing image,,5.00 EUR,,,,,img/nowhere.jpg,,",
        "OK-1,Same SKU again,,5.00 EUR,,,,,,,",
        "BAD-5,Caf\xe9 latin-1,,5.00 EUR,,,,,,,".encode("latin-1") + b"\n",
        "BAD-6,Too precise,,5.001 EUR,,,,,,,",
        "BAD-7,Negative,,-5 EUR,,,,,,,",
        ",No id,,5.00 EUR,,,,,,,",
        "OK-2,Good mug,,8 EUR,,Home > Mugs,,,img/blue.jpg,,in stock",
    )
    out, err, error = run(feed)
    assert err.splitlines() == [
        "row 3: malformed price 'twelve euros' (expected e.g. '12.99 EUR')",
        "row 4: missing title",
        "row 5: img/notes.jpg: not an image (content is not a recognised image format)",
        f"row 6: {feed_dir / 'img' / 'nowhere.jpg'}: no such file",
        "row 7: duplicate id 'OK-1' (first in row 2)",
        "row 8: bad encoding: byte 0xe9 at column 10 is not UTF-8",
        "row 9: price '5.001 EUR' has more than 2 decimals",
        "row 10: negative price '-5 EUR'",
        "row 11: missing id (the SKU)",
    ]
    assert out == "11 rows: 2 created, 0 updated, 9 failed; 2 images added.\n"
    assert error == "9 of 11 rows failed (listed above)."
    assert sorted(Product.objects.values_list("sku", flat=True)) == ["OK-1", "OK-2"]
    assert Product.objects.get(sku="OK-1").title == "Good shirt"  # the duplicate did not overwrite it


def test_a_row_whose_image_fails_writes_nothing(feed_dir):
    run(write_csv(feed_dir / "a.csv", "P-1,Shirt,,5 EUR,,Shirts,,,img/red.jpg,,"))
    _, err, error = run(write_csv(feed_dir / "b.csv", "P-1,Renamed shirt,,9 EUR,,Shirts,,,img/red.jpg,img/notes.jpg,"))
    assert error == "1 of 1 rows failed (listed above)."
    product = Product.objects.get()
    assert (product.title, product.price, product.images.count()) == ("Shirt", Decimal("5.00"), 1)


def test_json_lines_feed_with_bad_lines(feed_dir):
    lines = [
        json.dumps({"id": "J-1", "title": "Wool hat", "price": "15.00 EUR", "product_type": "Accessories > Hats",
                    "color": "grey", "image_link": "img/green.jpg", "additional_image_link": ["img/red.jpg"]}),
        '{"id": "J-2", "title": "broken',
        json.dumps(["not", "an", "object"]),
        json.dumps({"id": "J-3", "title": "Cheap hat", "price": 3}),
    ]
    feed = feed_dir / "products.jsonl"
    feed.write_text("\n".join(lines) + "\n")
    out, err, error = run(feed)
    assert err.splitlines() == [
        "row 2: invalid JSON (Unterminated string starting at, column 24)",
        "row 3: expected a JSON object, got list",
    ]
    assert out == "4 rows: 2 created, 0 updated, 2 failed; 2 images added.\n"
    hat = Product.objects.get(sku="J-1")
    assert (hat.category.name, hat.category.parent.name, hat.attributes, hat.images.count()) == (
        "Hats", "Accessories", {"colour": "grey"}, 2)
    assert Product.objects.get(sku="J-3").price == Decimal("3.00")


def test_tsv_feed(feed_dir):
    feed = feed_dir / "products.tsv"
    feed.write_text("id\ttitle\tprice\tcolor\nT-1\tTab tee\t9.99 EUR\twhite\n")
    out, _, error = run(feed)
    assert error is None and out.startswith("1 rows: 1 created")
    assert Product.objects.get().attributes == {"colour": "white"}


def make_image_folder(root):
    for category, colours in {"dress": [(200, 0, 0), (150, 0, 0)], "t-shirt": [(0, 0, 200)]}.items():
        (root / category).mkdir(parents=True)
        for n, colour in enumerate(colours):
            (root / category / f"img{n}.jpg").write_bytes(image_bytes((300, 360), colour, "JPEG"))
    (root / "dress" / "readme.txt").write_text("not an image")
    return root


def test_image_folder_one_product_per_image(tmp_path):
    root = make_image_folder(tmp_path / "catalogue")
    out, err, error = run(root, "--default-price", "19.99")
    assert err.splitlines() == [
        "row 3 (dress/readme.txt): dress/readme.txt: not an image (content is not a recognised image format)"]
    assert out == "4 rows: 3 created, 0 updated, 1 failed; 3 images added.\n"
    assert error == "1 of 4 rows failed (listed above)."
    products = {p.sku: p for p in Product.objects.select_related("category")}
    assert sorted(products) == ["dress-img0", "dress-img1", "t-shirt-img0"]
    assert (products["t-shirt-img0"].title, products["t-shirt-img0"].category.name) == ("T shirt img0", "T shirt")
    assert {p.price for p in products.values()} == {Decimal("19.99")}
    assert products["dress-img0"].images.get().source == "dress/img0.jpg"
    out, _, _ = run(root, "--default-price", "19.99")
    assert out == "4 rows: 0 created, 3 updated, 1 failed; 0 images added.\n"


def zip_folder(folder, archive, prefix=""):
    with zipfile.ZipFile(archive, "w") as bundle:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                bundle.write(path, prefix + path.relative_to(folder).as_posix())
    return archive


def test_zip_of_an_image_folder(tmp_path):
    root = make_image_folder(tmp_path / "catalogue")
    (root / "dress" / "readme.txt").unlink()
    out, _, error = run(zip_folder(root, tmp_path / "catalogue.zip", prefix="train/"))
    assert error is None
    assert out == "3 rows: 3 created, 0 updated, 0 failed; 3 images added.\n"
    assert sorted(Category.objects.values_list("name", flat=True)) == ["Dress", "T shirt"]


def test_zip_of_a_feed_with_its_images(feed_dir, tmp_path):
    write_csv(feed_dir / "products.csv", "Z-1,Zipped dress,,30 EUR,,Dresses,,,img/red.jpg,,")
    (feed_dir / "img" / "notes.jpg").unlink()
    archive = zip_folder(feed_dir, tmp_path / "feed.zip")
    out, _, error = run(archive)
    assert error is None
    assert out == "1 rows: 1 created, 0 updated, 0 failed; 1 images added.\n"


def test_zip_with_a_path_escaping_the_folder_is_refused(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("../escape.csv", "id,title,price\n")
    _, _, error = run(archive)
    assert error == f"{archive}: unsafe path '../escape.csv' in the zip"
    assert not (tmp_path.parent / "escape.csv").exists()


def test_unusable_sources_are_one_clear_error(tmp_path):
    _, _, error = run(tmp_path / "missing.csv")
    assert error == f"{tmp_path / 'missing.csv'}: no such file or folder"
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04 not really")
    _, _, error = run(broken)
    assert error == f"{broken}: not a valid zip file"
    headerless = write_csv(tmp_path / "x.csv", "1,2", header="sku,name")
    _, _, error = run(headerless)
    assert error == "x.csv: the header has no id, title, price column (found: sku, name)"


@pytest.mark.parametrize("text, expected", [
    ("12.99 EUR", (Decimal("12.99"), "EUR")), ("EUR 12.99", (Decimal("12.99"), "EUR")),
    ("12.99", (Decimal("12.99"), "EUR")), ("7 usd", (Decimal("7.00"), "USD")), ("3,50 EUR", (Decimal("3.50"), "EUR")),
])
def test_price_formats(text, expected):
    assert parse_price(text) == expected


@pytest.mark.parametrize("text", ["", "EUR", "12.99 EUR USD", "1e5 EUR", "12.99.1"])
def test_malformed_prices(text):
    with pytest.raises(RowError, match="malformed price"):
        parse_price(text)


def test_import_service_reports_progress_per_row(feed_dir):
    feed = write_csv(feed_dir / "p.csv", "A,Ok,,1 EUR,,,,,,,", "B,,,1 EUR,,,,,,,")
    totals, rows = [], []
    report = import_catalog(feed, ImportOptions(), on_total=totals.append, on_row=rows.append)
    assert totals == [2]
    assert [None if r is None else str(r) for r in rows] == [None, "row 3: missing title"]
    assert (report.created, report.failed) == (1, 1)


def test_import_query_count_per_row_is_bounded(feed_dir, django_assert_max_num_queries):
    rows = [f"Q-{n},Shirt {n},,5 EUR,Acme,Shirts,,,,," for n in range(20)]
    feed = write_csv(feed_dir / "q.csv", *rows)
    # Per row: savepoints around the row and the upsert, select, insert; category and brand are cached.
    with django_assert_max_num_queries(20 * 8 + 6):
        import_catalog(feed)
