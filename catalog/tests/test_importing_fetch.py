"""Image URLs in feeds, fetched from a real HTTP server on 127.0.0.1."""

import http.server
import io
import ipaddress
import threading
import time
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from catalog.importing import fetch as fetch_module
from catalog.importing.fetch import FetchLimits, ImageFetchError, checked_address, fetch_image, non_public_kind
from catalog.models import Product
from fixtures.images import image_bytes

JPEG = image_bytes((300, 300), (10, 120, 200), "JPEG")
SLOW_SECONDS = 1.5


class Handler(http.server.BaseHTTPRequestHandler):
    requests_seen: list[tuple[str, str]] = []  # (path, Host header), for the pinning test

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.requests_seen.append((self.path, self.headers.get("Host", "")))
        if self.path == "/shirt.jpg":
            self._send(200, JPEG, "image/jpeg")
        elif self.path == "/page.jpg":
            self._send(200, b"<html><body>Not found</body></html>", "image/jpeg")
        elif self.path == "/big.jpg":
            self._send(200, JPEG + b"\0" * 5000, "image/jpeg")
        elif self.path == "/big-undeclared.jpg":  # no Content-Length: the cap must hold while reading
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(JPEG + b"\0" * 200_000)
        elif self.path == "/slow.jpg":
            time.sleep(SLOW_SECONDS)
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
            self._redirect("/shirt.jpg")
        elif self.path == "/loop.jpg":
            self._redirect("/loop.jpg")
        elif self.path == "/to-metadata.jpg":
            self._redirect("http://169.254.169.254/latest/meta-data/")
        elif self.path.startswith("/to-loopback.jpg"):
            self._redirect(f"http://127.0.0.2:{self.server.server_address[1]}/shirt.jpg")
        else:
            self._send(404, b"missing", "text/plain")

    def _redirect(self, location):
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

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
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def server_counts_as_public(monkeypatch):
    """127.0.0.1 (the test server) stands in for a public host; every other address is judged for real."""
    real = fetch_module.non_public_kind
    monkeypatch.setattr(
        fetch_module, "non_public_kind",
        lambda address: None if address == ipaddress.ip_address("127.0.0.1") else real(address),
    )


def limits(**overrides):
    values = {"timeout_seconds": 5.0, "max_bytes": 1_000_000, "max_redirects": 3, "allow_private": True, **overrides}
    return FetchLimits(**values)


def fetch(url, **overrides):
    return fetch_image(url, base_dir=Path("/nonexistent"), limits=limits(**overrides))


def fetch_error(url, **overrides) -> str:
    with pytest.raises(ImageFetchError) as caught:
        fetch(url, **overrides)
    return str(caught.value)


# ---------------------------------------------------------------------------
# fetch_image against the server
# ---------------------------------------------------------------------------


def test_fetches_an_image_url(server):
    assert fetch(f"{server}/shirt.jpg") == JPEG


def test_follows_redirects(server):
    assert fetch(f"{server}/moved.jpg") == JPEG


@pytest.mark.parametrize(("url", "reason"), [
    ("http://[::1/a.jpg", "invalid URL (Invalid IPv6 URL)"),
    ("http://[zz]/a.jpg", "invalid URL ('zz' does not appear to be an IPv4 or IPv6 address)"),
])
def test_a_url_python_cannot_split_is_a_row_error_not_a_crash(url, reason):
    assert fetch_error(url) == f"{url}: {reason}"


def test_loopback_is_refused_unless_allowed(server):
    assert fetch_error(f"{server}/shirt.jpg", allow_private=False) == (
        f"{server}/shirt.jpg: refused, 127.0.0.1 is not a public address (127.0.0.1: loopback); "
        "use --allow-private to allow")


def test_html_served_as_jpeg_is_rejected_by_sniffing(server):
    assert fetch_error(f"{server}/page.jpg") == (
        f"{server}/page.jpg: not an image (content is not a recognised image format)")


def test_oversize_body_is_refused_by_its_declared_length(server):
    assert fetch_error(f"{server}/big.jpg", max_bytes=len(JPEG) + 100) == (
        f"{server}/big.jpg: {len(JPEG) + 5000} bytes, over the {len(JPEG) + 100}-byte limit")


def test_oversize_body_without_a_declared_length_is_cut_off(server):
    assert fetch_error(f"{server}/big-undeclared.jpg", max_bytes=100_000) == (
        f"{server}/big-undeclared.jpg: more than 100000 bytes, over the limit")


def test_slow_server_times_out(server):
    started = time.monotonic()
    assert fetch_error(f"{server}/slow.jpg", timeout_seconds=0.5) == f"{server}/slow.jpg: timed out after 0.5 s"
    assert time.monotonic() - started < SLOW_SECONDS - 0.2


def test_trickling_server_hits_the_overall_deadline(server):
    started = time.monotonic()
    assert fetch_error(f"{server}/trickle.jpg", timeout_seconds=0.5) == f"{server}/trickle.jpg: timed out after 0.5 s"
    assert time.monotonic() - started < 1.5


def test_http_errors_are_reported(server):
    assert fetch_error(f"{server}/nothing.jpg") == f"{server}/nothing.jpg: HTTP 404 Not Found"


def test_redirect_loops_are_bounded(server):
    assert fetch_error(f"{server}/loop.jpg", max_redirects=2) == f"{server}/loop.jpg: more than 2 redirects"


def test_redirect_to_a_link_local_address_is_refused(server, server_counts_as_public):
    """Each hop is checked again: a public URL must not redirect the import into the cloud metadata service."""
    assert fetch(f"{server}/shirt.jpg", allow_private=False) == JPEG  # the first hop passes the check
    assert fetch_error(f"{server}/to-metadata.jpg", allow_private=False) == (
        f"{server}/to-metadata.jpg: redirected to http://169.254.169.254/latest/meta-data/: refused, "
        "169.254.169.254 is not a public address "
        "(169.254.169.254: link-local); use --allow-private to allow")


def test_redirect_to_a_loopback_address_is_refused_before_connecting(server, server_counts_as_public):
    Handler.requests_seen.clear()
    assert fetch_error(f"{server}/to-loopback.jpg", allow_private=False) == (
        f"{server}/to-loopback.jpg: redirected to http://127.0.0.2:{server.rsplit(':', 1)[1]}/shirt.jpg: "
        "refused, 127.0.0.2 is not a public address (127.0.0.2: loopback); "
        "use --allow-private to allow")
    assert [path for path, _ in Handler.requests_seen] == ["/to-loopback.jpg"]


def test_connection_goes_to_the_checked_address_with_the_host_name_kept(server, monkeypatch):
    """The name is resolved once, checked, and that very address is used (no second lookup
    that a rebinding DNS server could answer differently)."""
    port = server.rsplit(":", 1)[1]
    lookups = []

    def resolve(host, port_):
        lookups.append(host)
        return [ipaddress.ip_address("127.0.0.1")]

    monkeypatch.setattr(fetch_module, "resolve_host", resolve)
    Handler.requests_seen.clear()
    assert fetch(f"http://images.shop.test:{port}/shirt.jpg") == JPEG
    assert lookups == ["images.shop.test"]
    assert Handler.requests_seen == [("/shirt.jpg", f"images.shop.test:{port}")]


def test_a_host_with_any_non_public_address_is_refused(monkeypatch):
    monkeypatch.setattr(fetch_module, "resolve_host", lambda host, port: [
        ipaddress.ip_address("93.184.216.34"), ipaddress.ip_address("10.0.0.7")])
    with pytest.raises(ImageFetchError) as caught:
        checked_address("http://mixed.shop.test/a.jpg", allow_private=False)
    assert str(caught.value) == (
        "http://mixed.shop.test/a.jpg: refused, mixed.shop.test is not a public address (10.0.0.7: private); "
        "use --allow-private to allow")
    assert checked_address("http://mixed.shop.test/a.jpg", allow_private=True) == ipaddress.ip_address("93.184.216.34")


def test_unresolvable_host(monkeypatch):
    import socket

    def fail(host, port):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(fetch_module, "resolve_host", fail)
    assert fetch_error("http://nowhere.shop.test/a.jpg") == (
        "http://nowhere.shop.test/a.jpg: cannot resolve host 'nowhere.shop.test' (Name or service not known)")


@pytest.mark.parametrize("address, kind", [
    ("127.0.0.1", "loopback"), ("::1", "loopback"), ("10.1.2.3", "private"), ("172.16.0.1", "private"),
    ("192.168.0.10", "private"), ("fc00::1", "private"), ("169.254.169.254", "link-local"),
    ("fe80::1", "link-local"), ("0.0.0.0", "unspecified"), ("224.0.0.1", "multicast"), ("240.0.0.1", "reserved"),
    ("100.64.0.1", "not globally routable"), ("::ffff:10.0.0.1", "private"), ("2002:7f00:1::", "loopback"),
    ("93.184.216.34", None), ("2606:4700::1", None), ("::ffff:8.8.8.8", None),
])
def test_address_classification(address, kind):
    assert non_public_kind(ipaddress.ip_address(address)) == kind


@pytest.mark.parametrize("url", ["http://127.0.0.1/a.jpg", "http://localhost/a.jpg", "http://[::1]/a.jpg",
                                 "http://2130706433/a.jpg", "http://0x7f.1/a.jpg"])
def test_spellings_of_loopback_are_refused(url):
    with pytest.raises(ImageFetchError, match="is not a public address .*: loopback"):
        checked_address(url, allow_private=False)


def test_unsupported_scheme():
    assert fetch_error("ftp://example.com/a.jpg") == (
        "ftp://example.com/a.jpg: unsupported URL scheme 'ftp' (use http, https or a file path)")


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
def test_feed_with_urls_imports_good_rows_and_reports_each_bad_one(server, tmp_path, settings):
    settings.IMPORT_IMAGE_TIMEOUT_SECONDS = 0.5
    settings.IMPORT_IMAGE_MAX_BYTES = len(JPEG) + 100
    out, err, error = import_feed(tmp_path, [
        ("U-1", f"{server}/shirt.jpg"),
        ("U-2", f"{server}/page.jpg"),
        ("U-3", f"{server}/gone.jpg"),
        ("U-4", f"{server}/slow.jpg"),
        ("U-5", f"{server}/big.jpg"),
        ("U-6", f"{server}/moved.jpg"),
    ], "--allow-private")
    assert err.splitlines() == [
        f"row 3: {server}/page.jpg: not an image (content is not a recognised image format)",
        f"row 4: {server}/gone.jpg: HTTP 404 Not Found",
        f"row 5: {server}/slow.jpg: timed out after 0.5 s",
        f"row 6: {server}/big.jpg: {len(JPEG) + 5000} bytes, over the {len(JPEG) + 100}-byte limit",
    ]
    assert out == "6 rows: 2 created, 0 updated, 4 failed; 2 images added.\n"
    assert error == "4 of 6 rows failed (listed above)."
    assert dict(Product.objects.values_list("sku", "images__source")) == {
        "U-1": f"{server}/shirt.jpg", "U-6": f"{server}/moved.jpg"}


@pytest.mark.django_db
def test_feed_with_loopback_urls_is_refused_without_allow_private(server, tmp_path):
    Handler.requests_seen.clear()
    out, err, error = import_feed(tmp_path, [("U-1", f"{server}/shirt.jpg")])
    assert err.splitlines() == [
        f"row 2: {server}/shirt.jpg: refused, 127.0.0.1 is not a public address (127.0.0.1: loopback); "
        "use --allow-private to allow"]
    assert out == "1 rows: 0 created, 0 updated, 1 failed; 0 images added.\n"
    assert error == "1 of 1 rows failed (listed above)."
    assert Handler.requests_seen == [] and not Product.objects.exists()


@pytest.mark.django_db
def test_feed_redirecting_to_a_private_address_fails_that_row(server, tmp_path, server_counts_as_public):
    out, err, error = import_feed(tmp_path, [("U-1", f"{server}/shirt.jpg"), ("U-2", f"{server}/to-metadata.jpg")])
    assert err.splitlines() == [
        f"row 3: {server}/to-metadata.jpg: redirected to http://169.254.169.254/latest/meta-data/: refused, "
        "169.254.169.254 is not a public address "
        "(169.254.169.254: link-local); use --allow-private to allow"]
    assert out == "2 rows: 1 created, 0 updated, 1 failed; 1 images added.\n"
    assert list(Product.objects.values_list("sku", flat=True)) == ["U-1"]


# ---------------------------------------------------------------------------
# HTTPS: the pinned connection still checks the certificate against the host name
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    """An HTTPS server on 127.0.0.1 with a self-signed certificate for images.shop.test."""
    import shutil
    import ssl
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-keyout", key, "-out", cert,
         "-subj", "/CN=images.shop.test", "-addext", "subjectAltName=DNS:images.shop.test"],
        check=True, capture_output=True,
    )
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1], cert
    httpd.shutdown()
    httpd.server_close()


def test_https_to_a_pinned_address_verifies_the_certificate_name(tls_server, monkeypatch):
    port, cert = tls_server
    monkeypatch.setattr(fetch_module, "resolve_host", lambda host, port_: [ipaddress.ip_address("127.0.0.1")])

    def fetch_tls(url):
        session = fetch_module.image_http_session()
        session.verify = str(cert)  # trust the test certificate
        return fetch_image(url, base_dir=Path("."), limits=limits(), session=session)

    assert fetch_tls(f"https://images.shop.test:{port}/shirt.jpg") == JPEG
    with pytest.raises(ImageFetchError) as caught:
        fetch_tls(f"https://other.shop.test:{port}/shirt.jpg")
    assert str(caught.value) == (
        f"https://other.shop.test:{port}/shirt.jpg: TLS check failed for other.shop.test "
        "(hostname 'other.shop.test' doesn't match 'images.shop.test')")
