"""`import_catalog` on feeds, ImageFolders and zips built in tmp_path (no datasets needed)."""

import io
import json
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.db import DatabaseError

from catalog import services
from catalog.importing.records import RowError, parse_price
from catalog.importing.service import ImportOptions, import_catalog
from catalog.models import Brand, Category, Product, ProductImage
from fixtures.images import image_bytes

pytestmark = pytest.mark.django_db

HEADER = "id,title,description,price,brand,product_type,color,material,image_link,additional_image_link,availability"


@pytest.fixture
def feed_dir(tmp_path):
    (tmp_path / "img").mkdir()
    for name, colour in [("red", (200, 20, 20)), ("blue", (20, 20, 200)), ("green", (20, 200, 20))]:
        (tmp_path / "img" / f"{name}.jpg").write_bytes(image_bytes((320, 400), colour, "JPEG"))
    (tmp_path / "img" / "notes.jpg").write_bytes(b"<html>not an image</html>")
    return tmp_path


def write_csv(path, *rows, header=HEADER):
    """A CSV feed; rows given as bytes are written as they are (for encoding errors)."""
    path.write_bytes(
        (header + "\n").encode() + b"".join((row if isinstance(row, bytes) else (row + "\n").encode()) for row in rows)
    )
    return path


def run(source, *args):
    """call_command; returns (stdout, stderr, CommandError message or None)."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_catalog", str(source), "--no-progress", *args, stdout=out, stderr=err)
        return out.getvalue(), err.getvalue(), None
    except CommandError as exc:
        return out.getvalue(), err.getvalue(), str(exc)


@pytest.fixture(autouse=True)
def media_root(tmp_path, settings):
    """Each test stores images in its own folder, so it can see exactly which files it left."""
    settings.MEDIA_ROOT = str(tmp_path / "media")


def stored_files() -> list[str]:
    root = Path(default_storage.location)
    return sorted(p.name for p in root.rglob("*") if p.is_file())


# ---------------------------------------------------------------------------
# Feeds
# ---------------------------------------------------------------------------


def test_csv_feed_creates_products_with_tree_brand_attributes_and_images(feed_dir):
    feed = write_csv(
        feed_dir / "products.csv",
        'D-1,Red wrap dress,"Light, summery",49.90 EUR,Acme,Apparel > Dresses,red,linen,img/red.jpg,'
        '"img/blue.jpg, img/green.jpg",in stock',
        "S-1,Blue sneaker,,EUR 79.00,Stride,Shoes,blue,,img/blue.jpg,,out_of_stock",
    )
    out, err, error = run(feed)
    assert (err, error) == ("", None)
    assert out == "2 rows: 2 created, 0 updated, 0 failed; 4 images added.\n"
    dress = Product.objects.select_related("category__parent", "brand").get(sku="D-1")
    assert (dress.title, dress.description, dress.price, dress.currency, dress.stock, dress.is_active) == (
        "Red wrap dress",
        "Light, summery",
        Decimal("49.90"),
        "EUR",
        10,
        True,
    )
    assert (dress.category.name, dress.category.parent.name, dress.category.parent.parent) == (
        "Dresses",
        "Apparel",
        None,
    )
    assert dress.brand.name == "Acme"
    assert dress.attributes == {"colour": "red", "material": "linen"}
    assert list(dress.images.values_list("position", "source", "width", "height", "format", "status")) == [
        (0, "img/red.jpg", 320, 400, "JPEG", "pending"),
        (1, "img/blue.jpg", 320, 400, "JPEG", "pending"),
        (2, "img/green.jpg", 320, 400, "JPEG", "pending"),
    ]
    shoe = Product.objects.select_related("category", "brand").get(sku="S-1")
    assert (shoe.price, shoe.stock, shoe.category.name, shoe.category.parent, shoe.brand.name) == (
        Decimal("79.00"),
        0,
        "Shoes",
        None,
        "Stride",
    )
    assert shoe.attributes == {"colour": "blue"}  # the empty material column adds nothing


def test_more_gmc_columns_become_attributes_and_quantity_wins_over_availability(feed_dir):
    feed = write_csv(
        feed_dir / "p.csv",
        "T-1,Tee,9.99,cotton,M,striped,female,adult,3,in stock",
        header="id,title,price,material,size,pattern,gender,age_group,quantity,availability",
    )
    out, _, error = run(feed)
    assert error is None
    tee = Product.objects.get()
    assert tee.attributes == {
        "material": "cotton",
        "size": "M",
        "pattern": "striped",
        "gender": "female",
        "age_group": "adult",
    }
    assert (tee.price, tee.currency, tee.stock) == (Decimal("9.99"), "EUR", 3)


def test_json_lines_feed(feed_dir):
    lines = [
        {
            "id": "J-1",
            "title": "Wool hat",
            "price": "15.00 EUR",
            "product_type": "Accessories > Hats",
            "color": "grey",
            "image_link": "img/green.jpg",
            "additional_image_link": ["img/red.jpg"],
        },
        {
            "id": "J-2",
            "title": "Cheap hat",
            "price": 3,
            "product_type": "Accessories > Hats",
            "availability": "in stock",
            "image_link": "img/blue.jpg",
        },
    ]
    feed = feed_dir / "products.jsonl"
    feed.write_text("".join(json.dumps(line) + "\n" for line in lines))
    out, err, error = run(feed)
    assert (err, error) == ("", None)
    assert out == "2 rows: 2 created, 0 updated, 0 failed; 3 images added.\n"
    hat = Product.objects.get(sku="J-1")
    assert (hat.category.name, hat.category.parent.name, hat.attributes) == ("Hats", "Accessories", {"colour": "grey"})
    assert list(hat.images.values_list("source", flat=True)) == ["img/green.jpg", "img/red.jpg"]
    assert Product.objects.get(sku="J-2").price == Decimal("3.00")
    assert Category.objects.count() == 2  # the shared path is one tree


def test_tsv_feed(feed_dir):
    feed = feed_dir / "products.tsv"
    feed.write_text("id\ttitle\tprice\tcolor\nT-1\tTab tee\t9.99 EUR\twhite\n")
    out, _, error = run(feed)
    assert error is None and out.startswith("1 rows: 1 created")
    assert Product.objects.get().attributes == {"colour": "white"}


# ---------------------------------------------------------------------------
# Bad rows: each kind with its row number and exact reason; the rest goes on
# ---------------------------------------------------------------------------


def test_each_kind_of_bad_csv_row_is_reported_and_the_rest_is_imported(feed_dir):
    feed = write_csv(
        feed_dir / "products.csv",
        "OK-1,Good shirt,,20.00 EUR,,Shirts,,,img/red.jpg,,in stock",  # row 2
        "BAD-1,Bad price,,twelve euros,,,,,,,",  # row 3
        "BAD-2,,,5.00 EUR,,,,,,,",  # row 4
        "BAD-3,Not an image,,5.00 EUR,,,,,img/notes.jpg,,",  # row 5
        "BAD-4,Missing image,,5.00 EUR,,,,,img/nowhere.jpg,,",  # row 6
        "OK-1,Same SKU again,,5.00 EUR,,,,,,,",  # row 7
        "BAD-5,Caf\xe9 latin-1,,5.00 EUR,,,,,,,".encode("latin-1") + b"\n",  # row 8
        "BAD-6,Too precise,,5.001 EUR,,,,,,,",  # row 9
        "BAD-7,Negative,,-5 EUR,,,,,,,",  # row 10
        ",No id,,5.00 EUR,,,,,,,",  # row 11
        "BAD-8,Odd stock,,5.00 EUR,,,,,,,maybe",  # row 12
        "OK-2,Good mug,,8 EUR,,Home > Mugs,,,img/blue.jpg,,in stock",  # row 13
    )
    out, err, error = run(feed)
    assert err.splitlines() == [
        "row 3: malformed price 'twelve euros' (expected e.g. '12.99 EUR')",
        "row 4: missing title",
        "row 5: img/notes.jpg: not an image (content is not a recognised image format)",
        "row 6: img/nowhere.jpg: no such file",
        "row 7: duplicate id 'OK-1' (first in row 2)",
        "row 8: bad encoding: byte 0xe9 at column 10 is not UTF-8",
        "row 9: price '5.001 EUR' has more than 2 decimals",
        "row 10: negative price '-5 EUR'",
        "row 11: missing id (the SKU)",
        "row 12: unknown availability 'maybe' (expected 'in stock' or 'out of stock')",
    ]
    assert out == "12 rows: 2 created, 0 updated, 10 failed; 2 images added.\n"
    assert error == "10 of 12 rows failed (listed above)."
    assert sorted(Product.objects.values_list("sku", flat=True)) == ["OK-1", "OK-2"]
    assert Product.objects.get(sku="OK-1").title == "Good shirt"  # the duplicate did not overwrite it
    assert ProductImage.objects.count() == 2


def test_each_kind_of_bad_json_line_is_reported(feed_dir):
    feed = feed_dir / "products.jsonl"
    feed.write_bytes(
        b"\n".join(
            [
                json.dumps({"id": "J-1", "title": "Wool hat", "price": "15 EUR"}).encode(),  # line 1
                b'{"id": "J-2", "title": "broken',  # line 2
                json.dumps(["not", "an", "object"]).encode(),  # line 3
                b'{"id": "J-3", "title": "Caf\xe9", "price": "1 EUR"}',  # line 4
                json.dumps({"id": "J-4", "title": "No price"}).encode(),  # line 5
                json.dumps({"id": "J-1", "title": "Again", "price": "1 EUR"}).encode(),  # line 6
                b"",
                json.dumps({"id": "J-5", "title": "Cap", "price": "9 EUR"}).encode(),  # line 8
            ]
        )
        + b"\n"
    )
    out, err, error = run(feed)
    assert err.splitlines() == [
        "row 2: invalid JSON (Unterminated string starting at, column 24)",
        "row 3: expected a JSON object, got list",
        "row 4: bad encoding: byte 0xe9 at column 28 is not UTF-8",
        "row 5: malformed price '' (expected e.g. '12.99 EUR')",
        "row 6: duplicate id 'J-1' (first in row 1)",
    ]
    assert out == "7 rows: 2 created, 0 updated, 5 failed; 0 images added.\n"
    assert error == "5 of 7 rows failed (listed above)."
    assert sorted(Product.objects.values_list("sku", flat=True)) == ["J-1", "J-5"]


def test_a_second_row_for_an_id_is_a_duplicate_even_when_the_first_was_broken(feed_dir):
    feed = write_csv(feed_dir / "p.csv", "X-1,,,1 EUR,,,,,,,", "X-1,Fixed,,1 EUR,,,,,,,")
    _, err, _ = run(feed)
    assert err.splitlines() == ["row 2: missing title", "row 3: duplicate id 'X-1' (first in row 2)"]
    assert not Product.objects.exists()


def test_a_row_whose_image_fails_writes_nothing(feed_dir):
    run(write_csv(feed_dir / "a.csv", "P-1,Shirt,,5 EUR,,Shirts,,,img/red.jpg,,"))
    files_before = stored_files()
    _, err, error = run(
        write_csv(feed_dir / "b.csv", 'P-1,Renamed shirt,,9 EUR,,Tops,,,img/red.jpg,"img/green.jpg,img/notes.jpg",')
    )
    assert err == "row 2: img/notes.jpg: not an image (content is not a recognised image format)\n"
    assert error == "1 of 1 rows failed (listed above)."
    product = Product.objects.select_related("category").get()
    assert (product.title, product.price, product.category.name, product.images.count()) == (
        "Shirt",
        Decimal("5.00"),
        "Shirts",
        1,
    )
    assert stored_files() == files_before
    assert not Category.objects.filter(name="Tops").exists()


def test_a_row_the_database_refuses_midway_is_rolled_back_whole(feed_dir, monkeypatch):
    """The first image is stored, then the database refuses the second: no product, no
    category, no file is left behind, and the next row still gets its (rolled back) category."""
    real_add = services.product_image_add

    def add_then_fail(*, product, content, source="", position=0):
        if position == 1:
            raise DatabaseError("disk quota exceeded\nDETAIL: ...")
        return real_add(product=product, content=content, source=source, position=position)

    monkeypatch.setattr(services, "product_image_add", add_then_fail)
    feed = write_csv(
        feed_dir / "p.csv",
        "R-1,Two pictures,,5 EUR,Newbrand,New > Things,,,img/red.jpg,img/blue.jpg,",
        "R-2,One picture,,5 EUR,Newbrand,New > Things,,,img/green.jpg,,",
    )
    out, err, _ = run(feed)
    assert err == "row 2: rejected by the database (disk quota exceeded)\n"
    assert out == "2 rows: 1 created, 0 updated, 1 failed; 1 images added.\n"
    product = Product.objects.select_related("category__parent", "brand").get()
    assert (product.sku, product.category.name, product.category.parent.name, product.brand.name) == (
        "R-2",
        "Things",
        "New",
        "Newbrand",
    )
    assert stored_files() == [product.images.get().file.name.rsplit("/", 1)[1]]


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


# ---------------------------------------------------------------------------
# Re-imports
# ---------------------------------------------------------------------------


def test_reimport_updates_by_sku_and_never_duplicates(feed_dir):
    row = "D-1,Red dress,Old text,10.00 EUR,Acme,Dresses,red,silk,img/red.jpg,img/blue.jpg,in stock"
    run(write_csv(feed_dir / "a.csv", row))
    changed = "D-1,Crimson dress,New text,12.50 EUR,Acme,Dresses,crimson,,img/red.jpg,img/green.jpg,out of stock"
    out, _, error = run(write_csv(feed_dir / "b.csv", changed))
    assert error is None
    assert out == "1 rows: 0 created, 1 updated, 0 failed; 1 images added.\n"
    product = Product.objects.get()
    assert (product.title, product.description, product.price, product.stock, product.attributes) == (
        "Crimson dress",
        "New text",
        Decimal("12.50"),
        0,
        {"colour": "crimson"},
    )
    # The blue image left the feed and went; red stayed (same bytes), green came.
    assert list(product.images.values_list("source", "position")) == [("img/red.jpg", 0), ("img/green.jpg", 1)]
    assert (Product.objects.count(), Category.objects.count(), Brand.objects.count(), ProductImage.objects.count()) == (
        1,
        1,
        1,
        2,
    )
    out, _, _ = run(write_csv(feed_dir / "c.csv", changed))
    assert out == "1 rows: 0 created, 1 updated, 0 failed; 0 images added.\n"
    assert (Product.objects.count(), ProductImage.objects.count()) == (1, 2)


def test_reimport_changes_only_what_the_feed_states(feed_dir):
    run(write_csv(feed_dir / "a.csv", "D-1,Dress,Long text,10 EUR,Acme,Dresses,red,silk,img/red.jpg,,in stock"))
    product = Product.objects.get()
    product.is_active = False  # staff took it off sale
    product.attributes["fit"] = "slim"  # and added an attribute no feed knows
    product.save()
    ProductImage.objects.create(product=product, file="products/staff.jpg", source="admin upload: staff.jpg")
    # A price update feed: no description, brand, category, colour or image columns.
    out, _, error = run(
        write_csv(feed_dir / "b.csv", "D-1,Dress,12 EUR,out of stock", header="id,title,price,availability")
    )
    assert error is None and out.startswith("1 rows: 0 created, 1 updated")
    product = Product.objects.select_related("category", "brand").get()
    assert (product.price, product.stock, product.description, product.brand.name, product.category.name) == (
        Decimal("12.00"),
        0,
        "Long text",
        "Acme",
        "Dresses",
    )
    assert (product.is_active, product.attributes) == (False, {"colour": "red", "material": "silk", "fit": "slim"})
    assert sorted(product.images.values_list("source", flat=True)) == ["admin upload: staff.jpg", "img/red.jpg"]
    # A feed that lists other images replaces the imported ones; the staff upload stays.
    run(write_csv(feed_dir / "c.csv", "D-1,Dress,12 EUR,img/blue.jpg", header="id,title,price,image_link"))
    assert sorted(product.images.values_list("source", flat=True)) == ["admin upload: staff.jpg", "img/blue.jpg"]


# ---------------------------------------------------------------------------
# ImageFolder and zips
# ---------------------------------------------------------------------------


def make_image_folder(root):
    for category, colours in {"dress": [(200, 0, 0), (150, 0, 0)], "t-shirt": [(0, 0, 200)]}.items():
        (root / category).mkdir(parents=True)
        for n, colour in enumerate(colours):
            (root / category / f"009b3c31-{n}fe2-4b8e.jpg").write_bytes(image_bytes((300, 360), colour, "JPEG"))
    return root


def test_image_folder_makes_one_product_per_image(tmp_path):
    root = make_image_folder(tmp_path / "catalogue")
    (root / "dress" / "readme.jpg").write_text("not an image")
    out, err, error = run(root, "--default-price", "19.99")
    assert err.splitlines() == ["row 3 (dress/readme.jpg): not an image (content is not a recognised image format)"]
    assert out == "4 rows: 3 created, 0 updated, 1 failed; 3 images added.\n"
    assert error == "1 of 4 rows failed (listed above)."
    products = {p.sku: p for p in Product.objects.select_related("category")}
    assert sorted(products) == ["dress-009b3c31-0fe2-4b8e", "dress-009b3c31-1fe2-4b8e", "t-shirt-009b3c31-0fe2-4b8e"]
    tee = products["t-shirt-009b3c31-0fe2-4b8e"]
    assert (tee.title, tee.category.name, tee.category.parent, tee.price, tee.stock, tee.is_active) == (
        "T-shirt 009b3c31",
        "T-shirt",
        None,
        Decimal("19.99"),
        10,
        True,
    )
    assert tee.images.get().source == "t-shirt/009b3c31-0fe2-4b8e.jpg"


def test_image_folder_without_a_price_creates_hidden_products_and_says_so(tmp_path):
    root = make_image_folder(tmp_path / "catalogue")
    out, err, error = run(root)
    assert (err, error) == ("", None)
    assert out == (
        "3 rows: 3 created, 0 updated, 0 failed; 3 images added.\n"
        "3 new products have no price: created hidden at 0.00 "
        "(price them in the admin; --default-price prices the products an import creates).\n"
    )
    assert set(Product.objects.values_list("price", "is_active")) == {(Decimal("0.00"), False)}


def test_image_folder_reimport_keeps_what_staff_changed(tmp_path):
    root = make_image_folder(tmp_path / "catalogue")
    run(root, "--default-price", "19.99")
    Product.objects.filter(sku="dress-009b3c31-0fe2-4b8e").update(title="Red summer dress", price=Decimal("59.00"))
    out, err, error = run(root, "--default-price", "5")
    assert (err, error) == ("", None)
    assert out == "3 rows: 0 created, 3 updated, 0 failed; 0 images added.\n"
    dress = Product.objects.get(sku="dress-009b3c31-0fe2-4b8e")
    assert (dress.title, dress.price) == ("Red summer dress", Decimal("59.00"))
    assert (Product.objects.count(), ProductImage.objects.count(), Category.objects.count()) == (3, 3, 2)


def test_image_folder_reports_files_outside_category_folders(tmp_path):
    root = make_image_folder(tmp_path / "catalogue")
    (root / "loose.jpg").write_bytes(image_bytes())
    _, err, _ = run(root, "--default-price", "1")
    assert err == "row 3 (loose.jpg): not inside a category folder (expected <category>/<image>)\n"


def zip_folder(folder, archive, prefix=""):
    with zipfile.ZipFile(archive, "w") as bundle:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                bundle.write(path, prefix + path.relative_to(folder).as_posix())
    return archive


def test_zip_of_an_image_folder(tmp_path):
    root = make_image_folder(tmp_path / "catalogue")
    out, _, error = run(zip_folder(root, tmp_path / "catalogue.zip", prefix="train/"), "--default-price", "9")
    assert error is None
    assert out == "3 rows: 3 created, 0 updated, 0 failed; 3 images added.\n"
    assert sorted(Category.objects.values_list("name", flat=True)) == ["Dress", "T-shirt"]
    assert Product.objects.filter(sku="dress-009b3c31-0fe2-4b8e").exists()  # same SKUs as the unzipped folder


def test_zip_of_a_feed_with_its_images(feed_dir, tmp_path):
    write_csv(feed_dir / "products.csv", "Z-1,Zipped dress,,30 EUR,,Dresses,,,img/red.jpg,img/blue.jpg,")
    (feed_dir / "img" / "notes.jpg").unlink()
    archive = zip_folder(feed_dir, tmp_path / "feed.zip", prefix="export/")
    out, _, error = run(archive)
    assert error is None
    assert out == "1 rows: 1 created, 0 updated, 0 failed; 2 images added.\n"
    assert list(Product.objects.get().images.values_list("source", flat=True)) == ["img/red.jpg", "img/blue.jpg"]


def test_a_zipped_feed_may_only_use_the_zips_own_files(feed_dir, tmp_path):
    outside = tmp_path / "secret.jpg"
    outside.write_bytes(image_bytes())
    archive = tmp_path / "feed.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr(
            "products.csv",
            (
                "id,title,price,image_link\n"
                "Z-1,Escape,1 EUR,../../secret.jpg\n"
                f"Z-2,Absolute,1 EUR,{outside}\n"
                f"Z-3,File URL,1 EUR,file://{outside}\n"
            ),
        )
    _, err, error = run(archive)
    assert err.splitlines() == [
        "row 2: ../../secret.jpg: refused, the path leads outside the zip's folder",
        f"row 3: {outside}: refused, the path leads outside the zip's folder",
        f"row 4: file://{outside}: refused, file:// URLs are not accepted (use a path relative to the zip's folder)",
    ]
    assert error == "3 of 3 rows failed (listed above)."


def test_zip_with_a_path_escaping_the_folder_is_refused(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("../escape.csv", "id,title,price\n")
    _, _, error = run(archive)
    assert error == f"{archive}: unsafe path '../escape.csv' in the zip"
    assert not (tmp_path.parent / "escape.csv").exists()


def test_zip_that_unpacks_too_big_is_refused(tmp_path, monkeypatch):
    from catalog.importing import sources

    monkeypatch.setattr(sources, "ZIP_MAX_TOTAL_BYTES", 1000)
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("products.csv", "id,title,price\n" + "x" * 5000)
    _, _, error = run(archive)
    assert error == f"{archive}: unpacks to more than 1000 bytes"


# ---------------------------------------------------------------------------
# Parsing, progress hooks, queries
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("12.99 EUR", (Decimal("12.99"), "EUR")),
        ("EUR 12.99", (Decimal("12.99"), "EUR")),
        ("12.99", (Decimal("12.99"), "EUR")),
        ("7 usd", (Decimal("7.00"), "USD")),
        ("3,50 EUR", (Decimal("3.50"), "EUR")),
        ("0 EUR", (Decimal("0.00"), "EUR")),
    ],
)
def test_price_formats(text, expected):
    assert parse_price(text) == expected


@pytest.mark.parametrize("text", ["", "EUR", "12.99 EUR USD", "1e5 EUR", "12.99.1", "NaN", "12,99,1 EUR"])
def test_malformed_prices(text):
    with pytest.raises(RowError, match="malformed price"):
        parse_price(text)


def test_import_service_reports_progress_per_row(feed_dir):
    feed = write_csv(feed_dir / "p.csv", "A,Ok,,1 EUR,,,,,,,", "B,,,1 EUR,,,,,,,")
    totals, rows = [], []
    report = import_catalog(feed, ImportOptions(), on_total=totals.append, on_row=rows.append)
    assert totals == [2]
    assert [None if r is None else str(r) for r in rows] == [None, "row 3: missing title"]
    assert (report.created, report.updated, report.failed, report.rows) == (1, 0, 1, 2)


def test_query_count_per_row_is_bounded(feed_dir, django_assert_max_num_queries):
    rows = [f"Q-{n},Shirt {n},,5 EUR,Acme,Apparel > Shirts,blue,,img/red.jpg,,in stock" for n in range(20)]
    feed = write_csv(feed_dir / "q.csv", *rows)
    # Per new row: savepoint, existing product?, upsert (savepoint, select, savepoint,
    # insert, release, release), image (select, savepoint, insert, release), release = 13.
    # The category path and brand are looked up once per import, not once per row.
    with django_assert_max_num_queries(20 * 13 + 12):
        report = import_catalog(feed)
    assert report.created == 20
    # Per updated row: savepoint, product, upsert (savepoint, select, update, release),
    # image (select), images to prune (select), release = 9.
    with django_assert_max_num_queries(20 * 9 + 6):
        report = import_catalog(feed)
    assert report.updated == 20


# ---------------------------------------------------------------------------
# Local image paths stay in their folder; names that do not fit are row errors
# ---------------------------------------------------------------------------


def test_image_root_is_where_a_feeds_paths_resolve_and_stay(tmp_path, feed_dir):
    """The feed in one folder, its pictures in another (feed_dir/img): --image-root."""
    feeds = tmp_path / "feeds"
    feeds.mkdir()
    (feeds / "local.jpg").write_bytes(image_bytes())  # beside the feed, but outside the image root
    feed = write_csv(
        feeds / "p.csv",
        "I-1,Red,1 EUR,red.jpg",  # row 2
        "I-2,Beside the feed,1 EUR,../feeds/local.jpg",  # row 3
        header="id,title,price,image_link",
    )
    out, err, error = run(feed, "--image-root", str(feed_dir / "img"))
    assert err.splitlines() == [
        "row 3: ../feeds/local.jpg: refused, the path leads outside the --image-root folder",
    ]
    assert out == "2 rows: 1 created, 0 updated, 1 failed; 1 images added.\n"
    assert error == "1 of 2 rows failed (listed above)."
    assert list(Product.objects.values_list("sku", flat=True)) == ["I-1"]
    archive = zip_folder(feed_dir, tmp_path / "feed.zip")
    _, _, error = run(archive, "--image-root", str(feed_dir / "img"))
    assert error == f"{archive}: --image-root is for a feed file or a folder; a zip uses its own images"
    _, _, error = run(feed, "--image-root", str(tmp_path / "nowhere"))
    assert error == f"--image-root {tmp_path / 'nowhere'}: no such folder"


def test_an_image_folder_file_linked_outside_the_folder_is_refused(tmp_path):
    root = make_image_folder(tmp_path / "catalogue")
    (tmp_path / "private.jpg").write_bytes(image_bytes((300, 360), (9, 9, 9), "JPEG"))
    (root / "dress" / "zz-linked.jpg").symlink_to(tmp_path / "private.jpg")
    (root / "dress" / "zz-inside.jpg").symlink_to(root / "t-shirt" / "009b3c31-0fe2-4b8e.jpg")
    out, err, error = run(root, "--default-price", "5")
    assert err.splitlines() == [
        "row 4 (dress/zz-linked.jpg): refused, the path leads outside the image folder through a symbolic link",
    ]
    assert out == "5 rows: 4 created, 0 updated, 1 failed; 4 images added.\n"
    assert error == "1 of 5 rows failed (listed above)."
    assert not Product.objects.filter(sku="dress-zz-linked").exists()
    assert Product.objects.filter(sku="dress-zz-inside").exists()  # a link inside the folder is fine


def test_an_image_folder_of_links_into_a_picture_library_needs_image_root(tmp_path):
    library = make_image_folder(tmp_path / "library")
    links = tmp_path / "links"
    (links / "dress").mkdir(parents=True)
    (links / "dress" / "a.jpg").symlink_to(library / "dress" / "009b3c31-0fe2-4b8e.jpg")
    (links / "dress" / "b.jpg").symlink_to(tmp_path / "library-notes.jpg")  # outside the library
    (tmp_path / "library-notes.jpg").write_bytes(image_bytes())
    out, err, error = run(links, "--default-price", "5")
    assert err.splitlines() == [
        "row 1 (dress/a.jpg): refused, the path leads outside the image folder through a symbolic link",
        "row 2 (dress/b.jpg): refused, the path leads outside the image folder through a symbolic link",
    ]
    assert not Product.objects.exists()
    out, err, error = run(links, "--default-price", "5", "--image-root", str(library))
    assert err.splitlines() == [
        "row 2 (dress/b.jpg): refused, the path leads outside the --image-root folder through a symbolic link",
    ]
    assert out == "2 rows: 1 created, 0 updated, 1 failed; 1 images added.\n"
    assert list(Product.objects.values_list("sku", flat=True)) == ["dress-a"]


def test_image_folder_files_sharing_a_sku_are_a_row_error_naming_both(tmp_path):
    root = make_image_folder(tmp_path / "catalogue")
    (root / "dress" / "animated.gif").write_bytes(image_bytes((300, 360), (0, 90, 0), "GIF"))
    (root / "dress" / "animated.webp").write_bytes(image_bytes((300, 360), (0, 0, 90), "WEBP"))
    (root / "dress" / "Red Dress.jpg").write_bytes(image_bytes((300, 360), (90, 0, 0), "JPEG"))
    (root / "dress" / "red-dress.jpg").write_bytes(image_bytes((300, 360), (91, 0, 0), "JPEG"))
    out, err, error = run(root, "--default-price", "5")
    assert err.splitlines() == [
        "row 5 (dress/animated.webp): same SKU 'dress-animated' as dress/animated.gif (row 4); "
        "rename one of the two files",
        "row 6 (dress/red-dress.jpg): same SKU 'dress-red-dress' as dress/Red Dress.jpg (row 3); "
        "rename one of the two files",
    ]
    assert out == "7 rows: 5 created, 0 updated, 2 failed; 5 images added.\n"
    assert error == "2 of 7 rows failed (listed above)."
    # The first file in name order keeps the SKU a folder import has always given it.
    assert Product.objects.get(sku="dress-animated").images.get().source == "dress/animated.gif"
    assert Product.objects.get(sku="dress-red-dress").images.get().source == "dress/Red Dress.jpg"
    assert ProductImage.objects.count() == 5


def test_values_longer_than_their_column_are_row_errors_not_cut(feed_dir):
    feed = write_csv(
        feed_dir / "p.csv",
        f"L-1,{'T' * 100_000},1 EUR,,",  # row 2
        f"L-2,Fits,1 EUR,{'B' * 121},",  # row 3
        f"L-3,Fits,1 EUR,,Home > {'C' * 121}",  # row 4
        f"{'S' * 65},Fits,1 EUR,,",  # row 5
        f"L-4,{'t' * 255},1 EUR,{'b' * 60}   {'b' * 59},{'c' * 120}",  # row 6: exactly at the limits
        header="id,title,price,brand,product_type",
    )
    out, err, error = run(feed)
    assert err.splitlines() == [
        "row 2: title 'TTTTTTTTTTTTTTTTTTTT'... is 100000 characters long, over the 255-character limit",
        "row 3: brand 'BBBBBBBBBBBBBBBBBBBB'... is 121 characters long, over the 120-character limit",
        "row 4: product_type level 'CCCCCCCCCCCCCCCCCCCC'... is 121 characters long, over the 120-character limit",
        "row 5: id 'SSSSSSSSSSSSSSSSSSSS'... is 65 characters long, over the 64-character limit",
    ]
    assert out == "5 rows: 1 created, 0 updated, 4 failed; 0 images added.\n"
    assert error == "4 of 5 rows failed (listed above)."
    product = Product.objects.select_related("brand", "category").get()
    assert (product.sku, len(product.title), len(product.brand.name), len(product.category.name)) == (
        "L-4",
        255,
        120,
        120,
    )


def test_an_image_folder_category_name_longer_than_a_category_is_a_row_error(tmp_path):
    root = make_image_folder(tmp_path / "catalogue")
    (root / ("k" * 121)).mkdir()
    (root / ("k" * 121) / "a.jpg").write_bytes(image_bytes())
    out, err, _ = run(root, "--default-price", "5")
    assert err == (
        f"row 3 ({'k' * 121}/a.jpg): category folder name 'Kkkkkkkkkkkkkkkkkkkk'... "
        "is 121 characters long, over the 120-character limit\n"
    )
    assert out == "4 rows: 3 created, 0 updated, 1 failed; 3 images added.\n"


@pytest.mark.parametrize(
    "size, reason",
    [
        # over twice Pillow's own limit (it refuses before telling the size), then under it
        ((20000, 10000), "too many pixels: 200000000 pixels is over the 60000000-pixel limit"),
        ((10000, 8000), "too many pixels: 10000x8000 is over the 60000000-pixel limit"),
    ],
)
def test_a_pixel_bomb_in_a_feed_is_a_row_error_saying_too_many_pixels(feed_dir, size, reason):
    from fixtures.images import blank_png

    (feed_dir / "img" / "bomb.png").write_bytes(blank_png(*size, colour_type=0, bit_depth=1))
    _, err, error = run(
        write_csv(
            feed_dir / "p.csv", "B-1,Bomb,,5 EUR,,Shirts,,,img/bomb.png,,", "B-2,Shirt,,5 EUR,,Shirts,,,img/red.jpg,,"
        )
    )
    assert (err, error) == (f"row 2: img/bomb.png: {reason}\n", "1 of 2 rows failed (listed above).")
    assert list(Product.objects.values_list("sku", flat=True)) == ["B-2"]


def test_the_pixel_cap_of_a_feed_image_is_the_setting(feed_dir, settings):
    """IMAGE_MAX_PIXELS is the one pixel cap: a picture far under the default but over the
    setting fails its row, naming the setting's limit."""
    from fixtures.images import blank_png

    settings.IMAGE_MAX_PIXELS = 1_000_000
    (feed_dir / "img" / "wide.png").write_bytes(blank_png(1001, 1000, colour_type=0))
    _, err, error = run(
        write_csv(
            feed_dir / "p.csv", "W-1,Wide,,5 EUR,,Shirts,,,img/wide.png,,", "W-2,Shirt,,5 EUR,,Shirts,,,img/red.jpg,,"
        )
    )
    assert (err, error) == (
        "row 2: img/wide.png: too many pixels: 1001x1000 is over the 1000000-pixel limit\n",
        "1 of 2 rows failed (listed above).",
    )
    assert list(Product.objects.values_list("sku", flat=True)) == ["W-2"]


# ---------------------------------------------------------------------------
# A broker that is down during the import
# ---------------------------------------------------------------------------


@pytest.fixture
def broker_down(monkeypatch, broker_back_off_reset):
    from kombu.exceptions import OperationalError

    def send_task(name, args):
        raise OperationalError("Error 2 connecting to /nowhere.sock")

    monkeypatch.setattr("visualshop.celery.app.send_task", send_task)


NOT_QUEUED = (
    "3 images could not be queued for processing (the task broker is unreachable): they stay pending and the "
    "periodic sweep queues them once the broker is back, or run `manage.py process_images --pending --enqueue`."
)


@pytest.mark.django_db(transaction=True)  # real commits: images are queued as each row commits
def test_images_that_could_not_be_queued_are_counted_and_the_exit_code_says_so(tmp_path, broker_down):
    root = make_image_folder(tmp_path / "catalogue")
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("import_catalog", str(root), "--no-progress", "--default-price", "9.99", stdout=out, stderr=err)
    assert (str(caught.value), caught.value.returncode) == (NOT_QUEUED, 3)
    assert out.getvalue() == "3 rows: 3 created, 0 updated, 0 failed; 3 images added.\n"
    assert err.getvalue() == ""
    assert set(ProductImage.objects.values_list("status", flat=True)) == {ProductImage.Status.PENDING}


@pytest.mark.django_db(transaction=True)
def test_failed_rows_and_unqueued_images_are_both_reported(tmp_path, broker_down):
    root = make_image_folder(tmp_path / "catalogue")
    (root / "dress" / "readme.jpg").write_text("not an image")
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("import_catalog", str(root), "--no-progress", "--default-price", "9.99", stdout=out, stderr=err)
    assert (str(caught.value), caught.value.returncode) == ("1 of 4 rows failed (listed above).", 1)
    assert err.getvalue().splitlines() == [
        "row 3 (dress/readme.jpg): not an image (content is not a recognised image format)",
        NOT_QUEUED,
    ]
