"""Image URLs fetched under guards (catalog.url_fetch), from a real HTTP server on 127.0.0.1
(fixtures.image_server)."""

import http.server
import ipaddress
import threading
import time

import pytest

from catalog import url_fetch
from catalog.url_fetch import FetchLimits, ImageFetchError, checked_address, fetch_image_url, non_public_kind
from fixtures.image_server import JPEG, SLOW_SECONDS, ImageServerHandler


def limits(**overrides):
    values = {"timeout_seconds": 5.0, "max_bytes": 1_000_000, "max_redirects": 3, "allow_private": True, **overrides}
    return FetchLimits(**values)


def fetch(url, **overrides):
    return fetch_image_url(url, limits=limits(**overrides))


def fetch_error(url, **overrides) -> str:
    with pytest.raises(ImageFetchError) as caught:
        fetch(url, **overrides)
    return str(caught.value)


# ---------------------------------------------------------------------------
# fetch_image_url against the server
# ---------------------------------------------------------------------------


def test_fetches_an_image_url(image_server):
    assert fetch(f"{image_server}/shirt.jpg") == JPEG


def test_follows_redirects(image_server):
    assert fetch(f"{image_server}/moved.jpg") == JPEG


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://[::1/a.jpg", "invalid URL (Invalid IPv6 URL)"),
        ("http://[zz]/a.jpg", "invalid URL ('zz' does not appear to be an IPv4 or IPv6 address)"),
    ],
)
def test_a_url_python_cannot_split_is_an_error_not_a_crash(url, reason):
    assert fetch_error(url) == f"{url}: {reason}"


def test_loopback_is_refused_unless_allowed(image_server):
    assert fetch_error(f"{image_server}/shirt.jpg", allow_private=False) == (
        f"{image_server}/shirt.jpg: refused, 127.0.0.1 is not a public address (127.0.0.1: loopback); "
        "use --allow-private to allow"
    )


def test_html_served_as_jpeg_is_rejected_by_sniffing(image_server):
    assert fetch_error(f"{image_server}/page.jpg") == (
        f"{image_server}/page.jpg: not an image (content is not a recognised image format)"
    )


def test_oversize_body_is_refused_by_its_declared_length(image_server):
    assert fetch_error(f"{image_server}/big.jpg", max_bytes=len(JPEG) + 100) == (
        f"{image_server}/big.jpg: {len(JPEG) + 5000} bytes, over the {len(JPEG) + 100}-byte limit"
    )


def test_oversize_body_without_a_declared_length_is_cut_off(image_server):
    assert fetch_error(f"{image_server}/big-undeclared.jpg", max_bytes=100_000) == (
        f"{image_server}/big-undeclared.jpg: more than 100000 bytes, over the limit"
    )


def test_slow_server_times_out(image_server):
    started = time.monotonic()
    assert (
        fetch_error(f"{image_server}/slow.jpg", timeout_seconds=0.5)
        == f"{image_server}/slow.jpg: timed out after 0.5 s"
    )
    assert time.monotonic() - started < SLOW_SECONDS - 0.2


def test_trickling_server_hits_the_overall_deadline(image_server):
    started = time.monotonic()
    assert (
        fetch_error(f"{image_server}/trickle.jpg", timeout_seconds=0.5)
        == f"{image_server}/trickle.jpg: timed out after 0.5 s"
    )
    assert time.monotonic() - started < 1.5


def test_http_errors_are_reported(image_server):
    assert fetch_error(f"{image_server}/nothing.jpg") == f"{image_server}/nothing.jpg: HTTP 404 Not Found"


def test_redirect_loops_are_bounded(image_server):
    assert fetch_error(f"{image_server}/loop.jpg", max_redirects=2) == f"{image_server}/loop.jpg: more than 2 redirects"


def test_redirect_to_a_link_local_address_is_refused(image_server, image_server_counts_as_public):
    """Each hop is checked again: a public URL must not redirect the import into the cloud metadata service."""
    assert fetch(f"{image_server}/shirt.jpg", allow_private=False) == JPEG  # the first hop passes the check
    assert fetch_error(f"{image_server}/to-metadata.jpg", allow_private=False) == (
        f"{image_server}/to-metadata.jpg: redirected to http://169.254.169.254/latest/meta-data/: refused, "
        "169.254.169.254 is not a public address "
        "(169.254.169.254: link-local); use --allow-private to allow"
    )


def test_redirect_to_a_loopback_address_is_refused_before_connecting(image_server, image_server_counts_as_public):
    ImageServerHandler.requests_seen.clear()
    assert fetch_error(f"{image_server}/to-loopback.jpg", allow_private=False) == (
        f"{image_server}/to-loopback.jpg: redirected to http://127.0.0.2:{image_server.rsplit(':', 1)[1]}/shirt.jpg: "
        "refused, 127.0.0.2 is not a public address (127.0.0.2: loopback); "
        "use --allow-private to allow"
    )
    assert [path for path, _ in ImageServerHandler.requests_seen] == ["/to-loopback.jpg"]


def test_connection_goes_to_the_checked_address_with_the_host_name_kept(image_server, monkeypatch):
    """The name is resolved once, checked, and that very address is used (no second lookup
    that a rebinding DNS server could answer differently)."""
    port = image_server.rsplit(":", 1)[1]
    lookups = []

    def resolve(host, port_):
        lookups.append(host)
        return [ipaddress.ip_address("127.0.0.1")]

    monkeypatch.setattr(url_fetch, "resolve_host", resolve)
    ImageServerHandler.requests_seen.clear()
    assert fetch(f"http://images.shop.test:{port}/shirt.jpg") == JPEG
    assert lookups == ["images.shop.test"]
    assert ImageServerHandler.requests_seen == [("/shirt.jpg", f"images.shop.test:{port}")]


def test_a_host_with_any_non_public_address_is_refused(monkeypatch):
    monkeypatch.setattr(
        url_fetch,
        "resolve_host",
        lambda host, port: [ipaddress.ip_address("93.184.216.34"), ipaddress.ip_address("10.0.0.7")],
    )
    with pytest.raises(ImageFetchError) as caught:
        checked_address("http://mixed.shop.test/a.jpg", allow_private=False)
    assert str(caught.value) == (
        "http://mixed.shop.test/a.jpg: refused, mixed.shop.test is not a public address (10.0.0.7: private); "
        "use --allow-private to allow"
    )
    assert checked_address("http://mixed.shop.test/a.jpg", allow_private=True) == ipaddress.ip_address("93.184.216.34")


def test_only_http_and_https_are_fetched():
    assert (
        fetch_error("ftp://example.com/a.jpg")
        == "ftp://example.com/a.jpg: unsupported URL scheme 'ftp' (use http or https)"
    )


def test_unresolvable_host(monkeypatch):
    import socket

    def fail(host, port):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(url_fetch, "resolve_host", fail)
    assert fetch_error("http://nowhere.shop.test/a.jpg") == (
        "http://nowhere.shop.test/a.jpg: cannot resolve host 'nowhere.shop.test' (Name or service not known)"
    )


@pytest.mark.parametrize(
    "address, kind",
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.0.10", "private"),
        ("fc00::1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "not globally routable"),
        ("::ffff:10.0.0.1", "private"),
        ("2002:7f00:1::", "loopback"),
        ("93.184.216.34", None),
        ("2606:4700::1", None),
        ("::ffff:8.8.8.8", None),
    ],
)
def test_address_classification(address, kind):
    assert non_public_kind(ipaddress.ip_address(address)) == kind


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/a.jpg",
        "http://localhost/a.jpg",
        "http://[::1]/a.jpg",
        "http://2130706433/a.jpg",
        "http://0x7f.1/a.jpg",
    ],
)
def test_spellings_of_loopback_are_refused(url):
    with pytest.raises(ImageFetchError, match="is not a public address .*: loopback"):
        checked_address(url, allow_private=False)


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
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            key,
            "-out",
            cert,
            "-subj",
            "/CN=images.shop.test",
            "-addext",
            "subjectAltName=DNS:images.shop.test",
        ],
        check=True,
        capture_output=True,
    )
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), ImageServerHandler)
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
    monkeypatch.setattr(url_fetch, "resolve_host", lambda host, port_: [ipaddress.ip_address("127.0.0.1")])

    def fetch_tls(url):
        session = url_fetch.image_http_session()
        session.verify = str(cert)  # trust the test certificate
        return fetch_image_url(url, limits=limits(), session=session)

    assert fetch_tls(f"https://images.shop.test:{port}/shirt.jpg") == JPEG
    with pytest.raises(ImageFetchError) as caught:
        fetch_tls(f"https://other.shop.test:{port}/shirt.jpg")
    assert str(caught.value) == (
        f"https://other.shop.test:{port}/shirt.jpg: TLS check failed for other.shop.test "
        "(hostname 'other.shop.test' doesn't match 'images.shop.test')"
    )
