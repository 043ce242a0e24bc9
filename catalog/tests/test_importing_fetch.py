"""Image links in feeds: how the importer tells URLs from local paths (catalog.importing.fetch),
and feeds of image URLs fetched from a real HTTP server on 127.0.0.1 (fixtures.image_server).
The URL guards themselves are tested in catalog/tests/test_url_fetch.py."""

import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from catalog.importing.fetch import fetch_image
from catalog.models import Product
from catalog.url_fetch import FetchLimits, ImageFetchError
from fixtures.image_server import JPEG, ImageServerHandler


def limits(**overrides):
    values = {"timeout_seconds": 5.0, "max_bytes": 1_000_000, "max_redirects": 3, "allow_private": True, **overrides}
    return FetchLimits(**values)


def fetch_error(ref, **overrides) -> str:
    with pytest.raises(ImageFetchError) as caught:
        fetch_image(ref, base_dir=Path("/nonexistent"), limits=limits(**overrides))
    return str(caught.value)


def test_an_image_url_is_fetched(image_server):
    assert fetch_image(f"{image_server}/shirt.jpg", base_dir=Path("/nonexistent"), limits=limits()) == JPEG


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://[::1/a.jpg", "invalid URL (Invalid IPv6 URL)"),
        ("http://[zz]/a.jpg", "invalid URL ('zz' does not appear to be an IPv4 or IPv6 address)"),
    ],
)
def test_a_url_python_cannot_split_is_a_row_error_not_a_crash(url, reason):
    assert fetch_error(url) == f"{url}: {reason}"


def test_unsupported_scheme():
    assert fetch_error("ftp://example.com/a.jpg") == (
        "ftp://example.com/a.jpg: unsupported URL scheme 'ftp' (use http, https or a file path)"
    )


# ---------------------------------------------------------------------------
# The command with URL feeds: limits come from settings
# ---------------------------------------------------------------------------


def import_feed(tmp_path, rows, *args):
    """Run the command on a feed of (id, image URL) rows; returns (stdout, stderr, CommandError text or None)."""
    feed = tmp_path / "feed.csv"
    feed.write_text("id,title,price,image_link\n" + "".join(f"{sku},Item {sku},10 EUR,{url}\n" for sku, url in rows))
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_catalog", str(feed), "--no-progress", *args, stdout=out, stderr=err)
        return out.getvalue(), err.getvalue(), None
    except CommandError as exc:
        return out.getvalue(), err.getvalue(), str(exc)


@pytest.mark.django_db
def test_feed_with_urls_imports_good_rows_and_reports_each_bad_one(image_server, tmp_path, settings):
    settings.IMPORT_IMAGE_TIMEOUT_SECONDS = 0.5
    settings.IMPORT_IMAGE_MAX_BYTES = len(JPEG) + 100
    out, err, error = import_feed(
        tmp_path,
        [
            ("U-1", f"{image_server}/shirt.jpg"),
            ("U-2", f"{image_server}/page.jpg"),
            ("U-3", f"{image_server}/gone.jpg"),
            ("U-4", f"{image_server}/slow.jpg"),
            ("U-5", f"{image_server}/big.jpg"),
            ("U-6", f"{image_server}/moved.jpg"),
        ],
        "--allow-private",
    )
    assert err.splitlines() == [
        f"row 3: {image_server}/page.jpg: not an image (content is not a recognised image format)",
        f"row 4: {image_server}/gone.jpg: HTTP 404 Not Found",
        f"row 5: {image_server}/slow.jpg: timed out after 0.5 s",
        f"row 6: {image_server}/big.jpg: {len(JPEG) + 5000} bytes, over the {len(JPEG) + 100}-byte limit",
    ]
    assert out == "6 rows: 2 created, 0 updated, 4 failed; 2 images added.\n"
    assert error == "4 of 6 rows failed (listed above)."
    assert dict(Product.objects.values_list("sku", "images__source")) == {
        "U-1": f"{image_server}/shirt.jpg",
        "U-6": f"{image_server}/moved.jpg",
    }


@pytest.mark.django_db
def test_feed_with_loopback_urls_is_refused_without_allow_private(image_server, tmp_path):
    ImageServerHandler.requests_seen.clear()
    out, err, error = import_feed(tmp_path, [("U-1", f"{image_server}/shirt.jpg")])
    assert err.splitlines() == [
        f"row 2: {image_server}/shirt.jpg: refused, 127.0.0.1 is not a public address (127.0.0.1: loopback); "
        "use --allow-private to allow"
    ]
    assert out == "1 rows: 0 created, 0 updated, 1 failed; 0 images added.\n"
    assert error == "1 of 1 rows failed (listed above)."
    assert ImageServerHandler.requests_seen == [] and not Product.objects.exists()


@pytest.mark.django_db
def test_feed_redirecting_to_a_private_address_fails_that_row(image_server, tmp_path, image_server_counts_as_public):
    out, err, error = import_feed(
        tmp_path, [("U-1", f"{image_server}/shirt.jpg"), ("U-2", f"{image_server}/to-metadata.jpg")]
    )
    assert err.splitlines() == [
        f"row 3: {image_server}/to-metadata.jpg: redirected to http://169.254.169.254/latest/meta-data/: refused, "
        "169.254.169.254 is not a public address "
        "(169.254.169.254: link-local); use --allow-private to allow"
    ]
    assert out == "2 rows: 1 created, 0 updated, 1 failed; 1 images added.\n"
    assert list(Product.objects.values_list("sku", flat=True)) == ["U-1"]
