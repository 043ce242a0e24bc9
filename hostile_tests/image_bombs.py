"""The developers' corpus of hostile pictures, built in code (nothing checked in): pixel bombs
by dimensions, bit depth and mode, decoder-hungry formats, polyglots, lies about the content.
hostile_tests/test_image_bombs.py asserts the outcome of each at every entry point;
bench/uploads.py times them and measures their memory in a real web worker.

Each builder returns the bytes and the file name a shopper's browser would send."""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Callable

from PIL import Image

from fixtures.images import blank_png, png_chunk, scene


def encoded(picture: Image.Image, format: str, **options) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, format, **options)
    return buffer.getvalue()


def with_declared_size(jpeg: bytes, width: int, height: int) -> bytes:
    """A JPEG whose frame header (SOF0) claims another size than its data holds."""
    at = jpeg.index(b"\xff\xc0") + 5  # marker, length (2), precision (1), then height, width
    return jpeg[:at] + struct.pack(">HH", height, width) + jpeg[at + 4 :]


def gif_with_screen(width: int, height: int) -> bytes:
    """A 1x1 GIF frame on a logical screen of width x height: a few dozen bytes that Pillow
    would turn into a width x height picture."""
    tiny = encoded(Image.new("P", (1, 1)), "GIF")
    return tiny[:6] + struct.pack("<HH", width, height) + tiny[10:]


def png_with_payload(payload: bytes) -> bytes:
    """A real 400x300 PNG followed by a script: a polyglot a careless server would serve."""
    return encoded(scene(7, (400, 300)), "PNG") + payload


def png_zip_polyglot() -> bytes:
    """Both a valid PNG (read from the start) and a valid ZIP (read from the end)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("shell.php", "<?php system($_GET['c']); ?>")
    return encoded(scene(8, (400, 300)), "PNG") + buffer.getvalue()


def png_with_html_text() -> bytes:
    """A PNG whose tEXt chunk is an HTML page with a script (sniffed as HTML by old browsers)."""
    png = encoded(scene(9, (400, 300)), "PNG")
    html = png_chunk(b"tEXt", b"Comment\x00<html><script>alert(document.cookie)</script></html>")
    return png[:33] + html + png[33:]  # after the signature (8) and IHDR (25)


def turned_jpeg(width: int, height: int, orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encoded(Image.new("RGB", (width, height), (90, 120, 200)), "JPEG", exif=exif.tobytes())


SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="100000" height="100000">'
    b'<script>alert(1)</script><rect width="100%" height="100%"/></svg>'
)

# name: (builder of (bytes, file name)). Sizes at the edges of the defaults (IMAGE_MAX_PIXELS 60 Mpx,
# IMAGE_DECODE_MAX_MB 128): the largest accepted picture of each kind and the bombs just past it.
CORPUS: dict[str, Callable[[], tuple[bytes, str]]] = {
    # accepted worst cases: the most pixels each mode/bit depth gets through the decode budget
    "png 8-bit grey 7700x7700": lambda: (blank_png(7700, 7700, colour_type=0), "grey.png"),
    "png palette 7700x7700": lambda: (blank_png(7700, 7700, colour_type=3), "palette.png"),
    "png 16-bit grey 5800x5800": lambda: (blank_png(5800, 5800, colour_type=0, bit_depth=16), "grey16.png"),
    "png 16-bit RGB 4800x4800": lambda: (blank_png(4800, 4800, colour_type=2, bit_depth=16), "rgb16.png"),
    "png RGBA 4800x4800": lambda: (blank_png(4800, 4800, colour_type=6), "rgba.png"),
    "png 16-bit RGBA 4800x4800": lambda: (blank_png(4800, 4800, colour_type=6, bit_depth=16), "rgba16.png"),
    "gif 7700x7700": lambda: (encoded(Image.new("P", (7700, 7700)), "GIF"), "big.gif"),
    "webp 2800x2800": lambda: (encoded(Image.new("RGB", (2800, 2800), (9, 9, 9)), "WEBP", lossless=True), "big.webp"),
    "avif RGBA 3400x3400": lambda: (encoded(Image.new("RGBA", (3400, 3400), (9, 9, 9, 9)), "AVIF"), "big.avif"),
    "jpeg 7700x7700": lambda: (encoded(Image.new("RGB", (7700, 7700), (9, 9, 9)), "JPEG"), "big.jpg"),
    # bombs: refused before decoding
    "png 16-bit grey 7700x7700 (issue 10)": lambda: (blank_png(7700, 7700, colour_type=0, bit_depth=16), "bomb16.png"),
    "png 16-bit RGB 7700x7700": lambda: (blank_png(7700, 7700, colour_type=2, bit_depth=16), "bomb-rgb16.png"),
    "png RGBA 7700x7700": lambda: (blank_png(7700, 7700, colour_type=6), "bomb-rgba.png"),
    "png 1-bit grey 20000x10000": lambda: (blank_png(20000, 10000, colour_type=0, bit_depth=1), "bomb1.png"),
    "png 8-bit grey 8000x8000": lambda: (blank_png(8000, 8000, colour_type=0), "bomb-grey.png"),
    "gif screen 65535x65535": lambda: (gif_with_screen(65535, 65535), "bomb.gif"),
    "jpeg declaring 9000x9000": lambda: (
        with_declared_size(encoded(Image.new("RGB", (64, 64)), "JPEG"), 9000, 9000),
        "bomb.jpg",
    ),
    "jpeg progressive 7700x7700": lambda: (
        encoded(Image.new("RGB", (7700, 7700), (9, 9, 9)), "JPEG", progressive=True),
        "progressive.jpg",
    ),
    "webp 7700x7700": lambda: (encoded(Image.new("RGB", (7700, 7700), (9, 9, 9)), "WEBP", lossless=True), "bomb.webp"),
    "avif RGBA 7700x7700": lambda: (encoded(Image.new("RGBA", (7700, 7700), (9, 9, 9, 9)), "AVIF"), "bomb.avif"),
    # not pictures the shop takes
    "tiff": lambda: (encoded(Image.new("RGB", (400, 300)), "TIFF"), "photo.tiff"),
    "svg": lambda: (SVG, "photo.svg"),
    "zero bytes": lambda: (b"", "empty.jpg"),
    "html named .jpg": lambda: (b"<html><script>alert(1)</script></html>", "photo.jpg"),
    "truncated jpeg": lambda: (encoded(scene(3, (400, 300)), "JPEG")[:400], "cut.jpg"),
    # polyglots and lies: accepted as the picture they start with, re-encoded, the rest dropped
    "png + php payload": lambda: (png_with_payload(b"<?php system($_GET['c']); ?>"), "shell.php.png"),
    "png + zip": lambda: (png_zip_polyglot(), "archive.png"),
    "png with html text chunk": lambda: (png_with_html_text(), "page.png"),
    "gif named .jpg": lambda: (encoded(scene(4, (400, 300)).convert("P"), "GIF"), "photo.jpg"),
    # shapes
    "tiny 10x10": lambda: (encoded(Image.new("RGB", (10, 10), (200, 0, 0)), "PNG"), "tiny-10x10.png"),
    "panorama 8000x60": lambda: (encoded(Image.new("RGB", (8000, 60), (0, 90, 0)), "PNG"), "panorama.png"),
    "sliver 2000x100": lambda: (encoded(Image.new("RGB", (2000, 100), (0, 90, 0)), "PNG"), "sliver.png"),
    "exif turns 1100x64 upright to 64x1100": lambda: (turned_jpeg(1100, 64, 6), "turned.jpg"),
    "exif turns 2000x60 upright to 60x2000": lambda: (turned_jpeg(2000, 60, 8), "turned-small.jpg"),
}
