"""Hostile feed rows for `manage.py import_catalog`: local paths that try to leave the feed's
folder, URL schemes that are not http(s), and image URLs aimed at the shop's own network
(SSRF). Each case is one bad row between two good ones: the bad row fails with its exact
message, nothing is created or stored for it, the good rows are imported, the command
exits non-zero, and no request reached the test server that the row was refused for.

The outside files are real images: had any check been missing, the row would have been
imported instead of refused. The FIFOs prove that a refusal comes before any open: a
reader would wait on them, so each has a writer that feeds it "not an image" the moment
someone opens it, which turns a missing check into a wrong message instead of a hang.
"""

from __future__ import annotations

import base64
import http.server
import io
import ipaddress
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command

from catalog import url_fetch
from catalog.models import Product, ProductImage
from fixtures.images import image_bytes

pytestmark = pytest.mark.django_db

PNG = image_bytes((300, 300), (10, 120, 200), "PNG")
LOOKALIKE_HOST = "images.shop-cdn.example"  # made to resolve to 127.0.0.1 by the fake_dns cases


class Handler(http.server.BaseHTTPRequestHandler):
    """An image, and redirects from it to where a feed must not lead the shop."""

    paths_seen: list[str] = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.paths_seen.append(self.path)
        port = self.server.server_address[1]
        redirects = {
            "/to-metadata.jpg": "http://169.254.169.254/latest/meta-data/",
            "/to-private.jpg": "http://10.0.0.5/shirt.jpg",
            "/to-loopback.jpg": f"http://127.0.0.2:{port}/shirt.jpg",
            "/to-file.jpg": "file:///etc/passwd",
        }
        if self.path in redirects:
            self.send_response(302)
            self.send_header("Location", redirects[self.path])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body, status = (PNG, 200) if self.path == "/shirt.jpg" else (b"missing", 404)
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def server_port():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


@dataclass(frozen=True)
class Place:
    feed: Path  # the feed's folder
    outside: Path  # a folder beside it, holding a real image and a FIFO
    port: int  # the test server's, on 127.0.0.1


@dataclass(frozen=True)
class Case:
    name: str
    ref: Callable[[Place], str]  # the hostile image_link
    reason: Callable[[Place], str]  # the exact reason after "row 3: <ref>: "
    prepare: Callable[[Place], None] = lambda place: None
    loopback_counts_as_public: bool = False  # so that the redirect hop is what gets judged
    fake_dns: bool = False  # LOOKALIKE_HOST resolves to 127.0.0.1


OUTSIDE = "refused, the path leads outside the feed folder"
THROUGH_LINK = "refused, the path leads outside the feed folder through a symbolic link"
FILE_URL = "refused, file:// URLs are not accepted (use a path relative to the feed folder)"


def not_public(host: str, address: str, kind: str) -> str:
    return f"refused, {host} is not a public address ({address}: {kind}); use --allow-private to allow"


def link(name: str, target: Callable[[Place], Path | str]) -> Callable[[Place], None]:
    return lambda place: (place.feed / name).symlink_to(target(place))


LOCAL_CASES = [
    Case("absolute path to a server file", lambda p: "/etc/passwd", lambda p: OUTSIDE),
    Case("absolute path to an image outside", lambda p: str(p.outside / "secret.png"), lambda p: OUTSIDE),
    Case("../ traversal", lambda p: "../outside/secret.png", lambda p: OUTSIDE),
    Case("../ traversal from a subfolder", lambda p: "img/../../outside/secret.png", lambda p: OUTSIDE),
    Case("../ traversal to /etc", lambda p: "../" * 30 + "etc/passwd", lambda p: OUTSIDE),
    Case("file:// URL to a server file", lambda p: "file:///etc/passwd", lambda p: FILE_URL),
    Case("file:// URL to an image outside", lambda p: f"file://{p.outside}/secret.png", lambda p: FILE_URL),
    Case("file: URL to the feed's own image", lambda p: "FILE:good.png", lambda p: FILE_URL),
    Case(
        "symlink inside the folder to an image outside",
        lambda p: "img/linked.png",
        lambda p: THROUGH_LINK,
        prepare=link("img/linked.png", lambda p: p.outside / "secret.png"),
    ),
    Case(
        "symlinked folder leading outside",
        lambda p: "up/secret.png",
        lambda p: THROUGH_LINK,
        prepare=link("up", lambda p: p.outside),
    ),
    Case(
        "ftp:// URL",
        lambda p: "ftp://example.com/shirt.jpg",
        lambda p: "unsupported URL scheme 'ftp' (use http, https or a file path)",
    ),
    Case(
        "data: URL of a real image",
        lambda p: "data:image/png;base64," + base64.b64encode(PNG).decode(),
        lambda p: "unsupported URL scheme 'data' (use http, https or a file path)",
    ),
    Case("FIFO outside the folder", lambda p: str(p.outside / "pipe.png"), lambda p: OUTSIDE),
    Case(
        "FIFO outside through a symlink",
        lambda p: "pipe-link.png",
        lambda p: THROUGH_LINK,
        prepare=link("pipe-link.png", lambda p: p.outside / "pipe.png"),
    ),
    Case(
        "FIFO inside the folder",
        lambda p: "img/inner-pipe.png",
        lambda p: "refused, not a regular file (a device, FIFO or socket)",
    ),
    Case("/dev/zero", lambda p: "/dev/zero", lambda p: OUTSIDE),
    Case(
        "symlink to /dev/zero",
        lambda p: "zero.png",
        lambda p: THROUGH_LINK,
        prepare=link("zero.png", lambda p: "/dev/zero"),
    ),
    Case(
        "path longer than PATH_MAX",
        lambda p: "img/" * 1100 + "x.png",
        lambda p: "refused, the path is 4405 characters long, over the 4096-character limit",
    ),
    Case(
        "file name longer than NAME_MAX", lambda p: "x" * 300 + ".png", lambda p: "cannot be read (File name too long)"
    ),
]

SSRF_CASES = [
    Case(
        "loopback",
        lambda p: f"http://127.0.0.1:{p.port}/shirt.jpg",
        lambda p: not_public("127.0.0.1", "127.0.0.1", "loopback"),
    ),
    Case("IPv6 loopback", lambda p: f"http://[::1]:{p.port}/shirt.jpg", lambda p: not_public("::1", "::1", "loopback")),
    Case(
        "IPv4-mapped IPv6 loopback",
        lambda p: f"http://[::ffff:127.0.0.1]:{p.port}/shirt.jpg",
        lambda p: not_public("::ffff:127.0.0.1", "::ffff:7f00:1", "loopback"),
    ),
    Case(
        "cloud metadata address",
        lambda p: "http://169.254.169.254/latest/meta-data/",
        lambda p: not_public("169.254.169.254", "169.254.169.254", "link-local"),
    ),
    Case(
        "loopback in hex",
        lambda p: f"http://0x7f000001:{p.port}/shirt.jpg",
        lambda p: not_public("0x7f000001", "127.0.0.1", "loopback"),
    ),
    Case(
        "loopback as one decimal number",
        lambda p: f"http://2130706433:{p.port}/shirt.jpg",
        lambda p: not_public("2130706433", "127.0.0.1", "loopback"),
    ),
    Case(
        "loopback shorthand",
        lambda p: f"http://127.1:{p.port}/shirt.jpg",
        lambda p: not_public("127.1", "127.0.0.1", "loopback"),
    ),
    Case(
        "unspecified address",
        lambda p: f"http://0.0.0.0:{p.port}/shirt.jpg",
        lambda p: not_public("0.0.0.0", "0.0.0.0", "unspecified"),
    ),
    Case(
        "public-looking name resolving to loopback",
        lambda p: f"http://{LOOKALIKE_HOST}:{p.port}/shirt.jpg",
        lambda p: not_public(LOOKALIKE_HOST, "127.0.0.1", "loopback"),
        fake_dns=True,
    ),
    Case(
        "redirect to the metadata address",
        lambda p: f"http://127.0.0.1:{p.port}/to-metadata.jpg",
        lambda p: (
            "redirected to http://169.254.169.254/latest/meta-data/: "
            + not_public("169.254.169.254", "169.254.169.254", "link-local")
        ),
        loopback_counts_as_public=True,
    ),
    Case(
        "redirect to a private address",
        lambda p: f"http://127.0.0.1:{p.port}/to-private.jpg",
        lambda p: "redirected to http://10.0.0.5/shirt.jpg: " + not_public("10.0.0.5", "10.0.0.5", "private"),
        loopback_counts_as_public=True,
    ),
    Case(
        "redirect to another loopback address",
        lambda p: f"http://127.0.0.1:{p.port}/to-loopback.jpg",
        lambda p: (
            f"redirected to http://127.0.0.2:{p.port}/shirt.jpg: " + not_public("127.0.0.2", "127.0.0.2", "loopback")
        ),
        loopback_counts_as_public=True,
    ),
    Case(
        "redirect to a file:// URL",
        lambda p: f"http://127.0.0.1:{p.port}/to-file.jpg",
        lambda p: "redirected to a non-http URL 'file:///etc/passwd'",
        loopback_counts_as_public=True,
    ),
]


@pytest.fixture
def place(tmp_path, settings, server_port):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    feed, outside = tmp_path / "feed", tmp_path / "outside"
    (feed / "img").mkdir(parents=True)
    outside.mkdir()
    (feed / "good.png").write_bytes(image_bytes((300, 300), (200, 30, 30), "PNG"))
    (feed / "img" / "good.png").write_bytes(image_bytes((300, 300), (30, 200, 30), "PNG"))
    (outside / "secret.png").write_bytes(image_bytes((300, 300), (30, 30, 200), "PNG"))
    return Place(feed, outside, server_port)


@pytest.fixture
def fifos(place):
    """FIFOs outside and inside the feed folder, each with a writer waiting for a reader."""
    paths = [place.outside / "pipe.png", place.feed / "img" / "inner-pipe.png"]
    opened: list[Path] = []

    def feed_the_reader(path: Path) -> None:
        fd = os.open(path, os.O_WRONLY)  # returns once somebody opens the FIFO for reading
        opened.append(path)
        os.write(fd, b"not an image")
        os.close(fd)

    writers = []
    for path in paths:
        os.mkfifo(path)
        writers.append(threading.Thread(target=feed_the_reader, args=(path,), daemon=True))
        writers[-1].start()
    yield opened
    for path, writer in zip(paths, writers):
        if writer.is_alive():  # nobody read it (as it should be): be the reader that releases the writer
            reader = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
            writer.join()
            os.close(reader)


def run_import(feed_file: Path) -> tuple[str, str, CommandError | None]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_catalog", str(feed_file), "--no-progress", stdout=out, stderr=err)
    except CommandError as exc:
        return out.getvalue(), err.getvalue(), exc
    return out.getvalue(), err.getvalue(), None


def stored_files() -> list[Path]:
    return [path for path in Path(default_storage.location).rglob("*") if path.is_file()]


@pytest.mark.parametrize("case", LOCAL_CASES + SSRF_CASES, ids=lambda case: case.name)
def test_a_hostile_image_link_fails_its_row_only(case, place, fifos, monkeypatch):
    if case.loopback_counts_as_public:
        real_kind = url_fetch.non_public_kind
        monkeypatch.setattr(
            url_fetch,
            "non_public_kind",
            lambda address: None if address == ipaddress.ip_address("127.0.0.1") else real_kind(address),
        )
    if case.fake_dns:
        real_getaddrinfo = socket.getaddrinfo

        def getaddrinfo(host, port, *args, **kwargs):
            if host == LOOKALIKE_HOST:
                return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("127.0.0.1", port))]
            return real_getaddrinfo(host, port, *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    case.prepare(place)
    ref = case.ref(place)
    feed_file = place.feed / "products.csv"
    feed_file.write_text(
        "id,title,price,image_link\n"
        "GOOD-1,Good shirt,10 EUR,good.png\n"
        f'HOSTILE,Hostile row,10 EUR,"{ref}"\n'
        "GOOD-2,Good mug,10 EUR,img/good.png\n"
    )
    Handler.paths_seen.clear()

    out, err, error = run_import(feed_file)

    assert err == f"row 3: {ref}: {case.reason(place)}\n"
    assert out == "3 rows: 2 created, 0 updated, 1 failed; 2 images added.\n"
    assert error is not None and (str(error), error.returncode) == ("1 of 3 rows failed (listed above).", 1)
    assert sorted(Product.objects.values_list("sku", flat=True)) == ["GOOD-1", "GOOD-2"]
    assert sorted(ProductImage.objects.values_list("source", flat=True)) == ["good.png", "img/good.png"]
    assert len(stored_files()) == 2
    assert fifos == []  # no FIFO was opened
    # The refused address never got a request; a refused redirect only its first hop.
    assert Handler.paths_seen == ([ref.split(str(place.port), 1)[1]] if case.loopback_counts_as_public else [])


def test_the_whole_corpus_in_one_feed(place, fifos):
    """All local cases in one feed: each row reports its own reason, in order, and one bad row
    does not disturb the next."""
    for case in LOCAL_CASES:
        case.prepare(place)
    rows = [(f"H-{n}", case.ref(place), case.reason(place)) for n, case in enumerate(LOCAL_CASES)]
    feed_file = place.feed / "products.csv"
    feed_file.write_text(
        "id,title,price,image_link\n"
        + "".join(f'{sku},Hostile,1 EUR,"{ref}"\n' for sku, ref, _ in rows)
        + "GOOD-1,Good shirt,10 EUR,good.png\n"
    )
    out, err, error = run_import(feed_file)
    assert err.splitlines() == [f"row {n}: {ref}: {reason}" for n, (_, ref, reason) in enumerate(rows, start=2)]
    total = len(rows) + 1
    assert out == f"{total} rows: 1 created, 0 updated, {len(rows)} failed; 1 images added.\n"
    assert str(error) == f"{len(rows)} of {total} rows failed (listed above)."
    assert list(Product.objects.values_list("sku", flat=True)) == ["GOOD-1"]
    assert len(stored_files()) == 1
    assert fifos == []
