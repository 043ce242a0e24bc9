"""Image URLs in feeds, fetched from a real HTTP server on loopback."""

import http.server
import threading
import time
from pathlib import Path

import pytest

from catalog.importing.fetch import FetchLimits, ImageFetchError, check_public_host, fetch_image
from catalog.tests.images import image_bytes

JPEG = image_bytes((300, 300), (10, 120, 200), "JPEG")


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path == "/shirt.jpg":
            self._send(200, JPEG, "image/jpeg")
        elif self.path == "/page.jpg":
            self._send(200, b"<html><body>Not found</body></html>", "image/jpeg")
        elif self.path == "/big.jpg":
            self._send(200, JPEG + b"\0" * 5000, "image/jpeg")
        elif self.path == "/slow.jpg":
            time.sleep(1.5)
            self._send(200, JPEG, "image/jpeg")
        elif self.path == "/trickle.jpg":
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.end_headers()
            for i in range(0, len(JPEG), 100):
                self.wfile.write(JPEG[i:i + 100])
                self.wfile.flush()
                time.sleep(0.1)
        elif self.path == "/moved.jpg":
            self.send_response(302)
            self.send_header("Location", "/shirt.jpg")
            self.end_headers()
        elif self.path == "/loop.jpg":
            self.send_response(302)
            self.send_header("Location", "/loop.jpg")
            self.end_headers()
        else:
            self._send(404, b"missing", "text/plain")

    def _send(self, status, body, content_type):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def limits(**overrides):
    values = {"timeout_seconds": 5.0, "max_bytes": 1_000_000, "max_redirects": 3, "allow_private": True, **overrides}
    return FetchLimits(**values)


def fetch(url, **overrides):
    return fetch_image(url, base_dir=Path("/nonexistent"), limits=limits(**overrides))


def test_fetches_an_image_url(server):
    assert fetch(f"{server}/shirt.jpg") == JPEG


def test_follows_redirects(server):
    assert fetch(f"{server}/moved.jpg") == JPEG


def test_loopback_is_refused_unless_allowed(server):
    with pytest.raises(ImageFetchError) as caught:
        fetch(f"{server}/shirt.jpg", allow_private=False)
    assert str(caught.value) == (
        f"{server}/shirt.jpg: refused, 127.0.0.1 is a private or loopback address (127.0.0.1); "
        "use --allow-private to allow")


@pytest.mark.parametrize("host", ["10.1.2.3", "192.168.0.10", "169.254.169.254", "localhost", "[::1]", "0.0.0.0"])
def test_private_link_local_and_loopback_hosts_are_refused(host):
    with pytest.raises(ImageFetchError, match="is a private or loopback address"):
        check_public_host(f"http://{host}/x.jpg")


def test_html_served_as_jpeg_is_rejected_by_sniffing(server):
    with pytest.raises(ImageFetchError) as caught:
        fetch(f"{server}/page.jpg")
    assert str(caught.value) == f"{server}/page.jpg: not an image (content is not a recognised image format)"


def test_oversize_body_is_refused(server):
    with pytest.raises(ImageFetchError) as caught:
        fetch(f"{server}/big.jpg", max_bytes=len(JPEG) + 100)
    assert str(caught.value) == f"{server}/big.jpg: {len(JPEG) + 5000} bytes, over the {len(JPEG) + 100}-byte limit"


def test_slow_server_times_out(server):
    started = time.monotonic()
    with pytest.raises(ImageFetchError) as caught:
        fetch(f"{server}/slow.jpg", timeout_seconds=0.5)
    assert str(caught.value) == f"{server}/slow.jpg: timed out after 0.5 s"
    assert time.monotonic() - started < 1.4


def test_trickling_server_hits_the_overall_deadline(server):
    with pytest.raises(ImageFetchError) as caught:
        fetch(f"{server}/trickle.jpg", timeout_seconds=0.5)
    assert str(caught.value) == f"{server}/trickle.jpg: timed out after 0.5 s"


def test_http_errors_are_reported(server):
    with pytest.raises(ImageFetchError) as caught:
        fetch(f"{server}/nothing.jpg")
    assert str(caught.value) == f"{server}/nothing.jpg: HTTP 404 Not Found"


def test_redirect_loops_are_bounded(server):
    with pytest.raises(ImageFetchError) as caught:
        fetch(f"{server}/loop.jpg", max_redirects=2)
    assert str(caught.value) == f"{server}/loop.jpg: more than 2 redirects"


def test_redirect_to_a_private_address_is_refused(monkeypatch):
    """A public URL that redirects inward is checked again at each hop."""
    import catalog.importing.fetch as fetch_module

    checked = []

    def fake_check(url):  # the first hop "is public", the redirect target is checked for real
        checked.append(url)
        if url.startswith("http://public.example"):
            return
        check_public_host(url)

    class Response:
        status_code, reason, headers = 302, "Found", {"Location": "http://127.0.0.1:9/admin.jpg"}

        def __enter__(self):
            return self

        def __exit__(self, *args):
            return False

    class Session:
        def get(self, url, **kwargs):
            return Response()

    monkeypatch.setattr(fetch_module, "check_public_host", fake_check)
    with pytest.raises(ImageFetchError) as caught:
        fetch_module.fetch_image("http://public.example/a.jpg", base_dir=Path("."), limits=limits(allow_private=False),
                                 session=Session())
    assert checked == ["http://public.example/a.jpg", "http://127.0.0.1:9/admin.jpg"]
    assert "refused, 127.0.0.1 is a private or loopback address" in str(caught.value)


def test_unsupported_scheme():
    with pytest.raises(ImageFetchError) as caught:
        fetch("ftp://example.com/a.jpg")
    assert str(caught.value) == "unsupported URL scheme 'ftp' in 'ftp://example.com/a.jpg' (use http, https or a file path)"


@pytest.mark.django_db
def test_feed_with_urls_imports_good_rows_and_reports_bad_ones(server, tmp_path, settings):
    import io

    from django.core.management import CommandError, call_command

    from catalog.models import Product

    settings.IMPORT_IMAGE_TIMEOUT_SECONDS = 1
    feed = tmp_path / "feed.csv"
    feed.write_text(
        "id,title,price,image_link\n"
        f"U-1,Shirt,10 EUR,{server}/shirt.jpg\n"
        f"U-2,Page,10 EUR,{server}/page.jpg\n"
        f"U-3,Gone,10 EUR,{server}/gone.jpg\n"
    )
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="^2 of 3 rows failed"):
        call_command("import_catalog", str(feed), "--allow-private", "--no-progress", stdout=out, stderr=err)
    assert err.getvalue().splitlines() == [
        f"row 3: {server}/page.jpg: not an image (content is not a recognised image format)",
        f"row 4: {server}/gone.jpg: HTTP 404 Not Found",
    ]
    assert Product.objects.get().images.get().source == f"{server}/shirt.jpg"
    err = io.StringIO()
    with pytest.raises(CommandError, match="^3 of 3 rows failed"):
        call_command("import_catalog", str(feed), "--no-progress", stdout=io.StringIO(), stderr=err)
    assert err.getvalue().splitlines()[0] == (
        f"row 2: {server}/shirt.jpg: refused, 127.0.0.1 is a private or loopback address (127.0.0.1); "
        "use --allow-private to allow")
