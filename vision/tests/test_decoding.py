import io

import numpy as np
import pytest
from PIL import Image

from fixtures.images import blank_png
from vision.decoding import ImageRejected, decode_image, make_derivatives


def encode(image: Image.Image, format: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format, **params)
    return buffer.getvalue()


def test_exif_orientation_is_applied():
    image = Image.new("RGB", (300, 200), (200, 10, 10))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    decoded = decode_image(encode(image, "JPEG", exif=exif.tobytes()))
    assert decoded.image.size == (200, 300)
    assert (decoded.format, decoded.original_width, decoded.original_height) == ("JPEG", 300, 200)


def test_cmyk_becomes_rgb():
    decoded = decode_image(encode(Image.new("CMYK", (240, 240), (0, 255, 255, 0)), "JPEG", quality=95))
    assert decoded.image.mode == "RGB"
    red, green, blue = decoded.image.getpixel((120, 120))
    assert red > 240 and green < 15 and blue < 15


def test_transparency_goes_onto_white():
    rgba = Image.new("RGBA", (220, 220), (0, 0, 255, 0))
    rgba.paste((0, 0, 255, 255), (0, 0, 110, 220))
    decoded = decode_image(encode(rgba, "PNG")).image
    assert decoded.mode == "RGB"
    assert (decoded.getpixel((50, 50)), decoded.getpixel((200, 50))) == ((0, 0, 255), (255, 255, 255))


def test_palette_with_transparent_index_goes_onto_white():
    palette = Image.new("P", (220, 220), 0)
    palette.putpalette([0, 0, 0, 10, 200, 10] + [0] * 762)
    palette.paste(1, (0, 0, 110, 220))
    decoded = decode_image(encode(palette, "PNG", transparency=0)).image
    assert (decoded.getpixel((50, 50)), decoded.getpixel((200, 50))) == ((10, 200, 10), (255, 255, 255))


def test_sixteen_bit_greyscale_is_scaled_to_eight_bits():
    pixels = np.full((220, 220), 65535, dtype=np.uint16)
    pixels[:, :110] = 32768
    image = Image.frombytes("I;16", (220, 220), pixels.astype("<u2").tobytes())
    decoded = decode_image(encode(image, "PNG")).image
    assert decoded.mode == "RGB"
    assert (decoded.getpixel((200, 10)), decoded.getpixel((10, 10))) == ((255, 255, 255), (127, 127, 127))


def test_first_frame_of_an_animated_gif():
    frames = [Image.new("RGB", (220, 220), colour) for colour in [(250, 0, 0), (0, 0, 250)]]
    content = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    red, green, blue = decode_image(content).image.getpixel((5, 5))
    assert red > 200 and blue < 50


@pytest.mark.parametrize("format", ["HEIF", "AVIF", "WEBP"])
def test_phone_and_web_formats_decode(format):
    decoded = decode_image(encode(Image.new("RGB", (320, 240), (20, 160, 60)), format, quality=90))
    assert (decoded.format, decoded.image.size) == (format, (320, 240))
    green = decoded.image.getpixel((160, 120))[1]
    assert 140 < green < 180


def test_large_jpeg_is_draft_decoded_but_never_below_min_side():
    content = encode(Image.new("RGB", (2400, 1600), (90, 90, 90)), "JPEG")
    decoded = decode_image(content, min_side=256)
    assert decoded.image.size == (600, 400)  # 1/4 scale: short side 400 >= 256, 1/8 would be 200
    assert (decoded.original_width, decoded.original_height) == (2400, 1600)
    assert decode_image(content).image.size == (2400, 1600)


def test_pixel_cap_rejects_before_decoding():
    content = encode(Image.new("L", (4000, 4000)), "PNG")
    with pytest.raises(ImageRejected) as caught:
        decode_image(content, max_pixels=10_000_000)
    assert (caught.value.code, str(caught.value)) == (
        "too_many_pixels",
        "too many pixels: 4000x4000 is over the 10000000-pixel limit",
    )


@pytest.mark.parametrize(
    "content, code, message",
    [
        (b"", "empty", "empty file"),
        (b"<html></html>", "undecodable", "not an image (content is not a recognised image format)"),
        (encode(Image.new("RGB", (220, 220)), "BMP"), "unsupported", "unsupported image format BMP"),
    ],
)
def test_rejections(content, code, message):
    with pytest.raises(ImageRejected) as caught:
        decode_image(content)
    assert (caught.value.code, str(caught.value)) == (code, message)


def test_truncated_jpeg_is_undecodable():
    content = encode(Image.new("RGB", (400, 400), (1, 2, 3)), "JPEG")[:300]
    with pytest.raises(ImageRejected) as caught:
        decode_image(content)
    assert caught.value.code == "undecodable" and str(caught.value).startswith("unreadable image (")


def test_derivatives_bound_the_long_side_and_never_enlarge():
    derivatives = make_derivatives(Image.new("RGB", (2000, 1000), (5, 5, 5)), {"thumbnail": 320, "display": 1200})
    sizes = {name: Image.open(io.BytesIO(data)).size for name, data in derivatives.items()}
    assert sizes == {"thumbnail": (320, 160), "display": (1200, 600)}
    small = make_derivatives(Image.new("RGB", (300, 200)), {"display": 1200})
    assert Image.open(io.BytesIO(small["display"])).size == (300, 200)


def test_the_decode_budget_refuses_before_decoding():
    content = blank_png(7700, 7700, colour_type=0, bit_depth=16)  # the 115 KB picture of issue 10
    with pytest.raises(ImageRejected) as caught:
        decode_image(content, min_side=224, max_decode_mb=100)
    assert (caught.value.code, str(caught.value)) == (
        "too_large_to_decode",
        "too large to decode: 7700x7700 needs 137 MB, the limit is 100 MB",
    )


@pytest.mark.parametrize("colour_type, bit_depth", [(0, 16), (4, 8), (6, 16), (3, 8), (2, 16)])
def test_any_mode_comes_back_reduced_to_the_min_side_and_upright_rgb(colour_type, bit_depth):
    decoded = decode_image(blank_png(3000, 2000, colour_type=colour_type, bit_depth=bit_depth), min_side=224)
    # factor 2000 // 224 = 8: 375x250, never below min_side; all-zero alpha goes onto white
    expected = (255, 255, 255) if colour_type in (4, 6) else (0, 0, 0)
    assert (decoded.image.mode, decoded.image.size, decoded.upright_size, decoded.image.getpixel((100, 100))) == (
        "RGB",
        (375, 250),
        (3000, 2000),
        expected,
    )


def test_transparency_goes_onto_white_before_reducing():
    # Fully transparent black beside opaque red: averaging colours first would darken the edge.
    picture = Image.new("RGBA", (1000, 500), (0, 0, 0, 0))
    picture.paste((255, 0, 0, 255), (0, 0, 500, 500))
    decoded = decode_image(encode(picture, "PNG"), min_side=100)
    assert (decoded.image.size, decoded.image.getpixel((10, 10)), decoded.image.getpixel((190, 10))) == (
        (200, 100),
        (255, 0, 0),
        (255, 255, 255),
    )


def test_a_large_sixteen_bit_greyscale_is_scaled_like_a_small_one():
    pixels = np.full((1500, 3000), 32768, dtype=np.uint16)
    image = Image.frombytes("I;16", (3000, 1500), pixels.astype("<u2").tobytes())
    decoded = decode_image(encode(image, "PNG"), min_side=300)
    assert (decoded.image.size, decoded.image.getpixel((10, 10))) == ((600, 300), (127, 127, 127))


def test_exif_orientation_is_applied_to_the_reduced_picture():
    picture = Image.new("RGB", (2400, 1200), (0, 0, 255))
    exif = Image.Exif()
    exif[0x0112] = 6  # turned: displayed as 1200x2400
    buffer = io.BytesIO()
    picture.save(buffer, "PNG", exif=exif.tobytes())
    decoded = decode_image(buffer.getvalue(), min_side=300)
    assert (decoded.image.size, decoded.upright_size) == ((300, 600), (1200, 2400))


def test_a_near_square_picture_reduced_to_a_square_keeps_its_upright_size():
    """3600x3599 halved with rounding up is 1800x1800: its proportions no longer tell whether
    EXIF turned it, so the full size must not be swapped."""
    decoded = decode_image(encode(Image.new("L", (3600, 3599), 128), "PNG"), min_side=1200)
    assert (decoded.image.size, decoded.upright_size) == ((1800, 1800), (3600, 3599))


def test_a_decode_waits_for_a_free_slot():
    # gthread web workers decode in several threads: at most IMAGE_DECODE_CONCURRENCY at once.
    import threading

    from vision.decoding import _decode_slot

    slots = _decode_slot()
    held = 0
    while slots.acquire(blocking=False):
        held += 1
    results = []
    content = encode(Image.new("RGB", (300, 200)), "PNG")
    decoding = threading.Thread(target=lambda: results.append(decode_image(content)))
    decoding.start()
    decoding.join(timeout=1.0)
    still_waiting = decoding.is_alive()
    for _ in range(held):
        slots.release()
    decoding.join()
    assert (held, still_waiting, results[0].image.size) == (2, True, (300, 200))


PEAK_SCRIPT = """
import os, sys
import django
django.setup()
from vision.decoding import ImageRejected, decode_image
from fixtures.images import blank_png
from vision.decoding import ImageRejected, decode_image
from fixtures.images import blank_png

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) * 1024

content = blank_png(%(width)d, %(height)d, colour_type=%(colour_type)d, bit_depth=%(bit_depth)d)
open("/proc/self/clear_refs", "w").write("5")  # peak RSS := RSS now
before = status("VmRSS")
try:
    decode_image(content, min_side=1024, max_decode_mb=128)
    outcome = "accepted"
except ImageRejected as exc:
    outcome = exc.code
print(outcome, (status("VmHWM") - before) // (1024 * 1024))
"""


@pytest.mark.parametrize(
    "width, height, colour_type, bit_depth, outcome, ceiling_mb",
    [
        (4800, 4800, 6, 16, "accepted", 160),  # the largest 16-bit RGBA the budget takes: ~106 MB measured
        (7700, 7700, 0, 16, "too_large_to_decode", 8),  # issue 10's 115 KB bomb: refused before decoding
    ],
)
def test_a_decode_stays_within_its_budget(width, height, colour_type, bit_depth, outcome, ceiling_mb):
    # In a fresh process, so the peak RSS is this decode's alone; the ceiling is generous (the
    # budget plus a quarter), the numbers it guards were 300 MB and more before.
    import os
    import subprocess
    import sys

    script = PEAK_SCRIPT % {"width": width, "height": height, "colour_type": colour_type, "bit_depth": bit_depth}
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "visualshop.settings.test"}
    finished = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    )
    assert finished.returncode == 0, finished.stderr
    decided, peak_mb = finished.stdout.split()
    assert (decided, int(peak_mb) <= ceiling_mb) == (outcome, True), peak_mb
