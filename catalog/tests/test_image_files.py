"""catalog.image_files: what bytes are, and whether decoding them fits the pixel cap and the
decode budget, judged before a pixel is decoded."""

import io

import pytest
from PIL import Image

from catalog.image_files import InvalidImage, inspect_image
from fixtures.images import blank_png


def refusal(content: bytes, **limits) -> tuple[str, str]:
    with pytest.raises(InvalidImage) as caught:
        inspect_image(content, **limits)
    return caught.value.code, str(caught.value)


def test_a_bomb_pillow_refuses_itself_is_too_many_pixels_not_not_an_image():
    # 20000x10000 is over twice Pillow's own limit: Image.open raises before telling the size.
    assert refusal(blank_png(20000, 10000, colour_type=0, bit_depth=1), max_pixels=60_000_000) == (
        "too_many_pixels",
        "too many pixels: 200000000 pixels is over the 60000000-pixel limit",
    )


def test_a_bomb_under_pillows_limit_is_too_many_pixels_with_its_size():
    assert refusal(blank_png(10000, 8000, colour_type=0, bit_depth=1), max_pixels=60_000_000) == (
        "too_many_pixels",
        "too many pixels: 10000x8000 is over the 60000000-pixel limit",
    )


def test_the_decode_budget_counts_bytes_per_pixel_not_pixels():
    # The same 49 Mpx: 8-bit greyscale takes 1 byte a pixel, 16-bit 2 (plus the reduced RGB
    # copy at the pipeline's scale, 1400x1400, and one conversion strip).
    info = inspect_image(blank_png(7000, 7000, colour_type=0, bit_depth=8), max_decode_mb=128)
    assert (info.format, info.width, info.height) == ("PNG", 7000, 7000)
    assert refusal(blank_png(7000, 7000, colour_type=0, bit_depth=16), max_decode_mb=128) == (
        "too_large_to_decode",
        "too large to decode: 7000x7000 needs 132 MB, the limit is 128 MB",
    )


def test_the_decode_budget_counts_the_decoders_own_buffers():
    # libwebp decodes into an RGBA canvas and hands Pillow a copy: 16 bytes a pixel in all,
    # so a WebP fits in far fewer pixels than a PNG of the same mode.
    buffer = io.BytesIO()
    Image.new("RGB", (3000, 3000), (9, 9, 9)).save(buffer, "WEBP", lossless=True)
    assert refusal(buffer.getvalue(), max_decode_mb=128) == (
        "too_large_to_decode",
        "too large to decode: 3000x3000 needs 138 MB, the limit is 128 MB",
    )
    assert inspect_image(blank_png(3000, 3000), max_decode_mb=128).format == "PNG"


def test_the_settings_are_the_defaults(settings):
    settings.IMAGE_MAX_PIXELS = 1_000_000
    assert refusal(blank_png(1001, 1000, colour_type=0)) == (
        "too_many_pixels",
        "too many pixels: 1001x1000 is over the 1000000-pixel limit",
    )
    settings.IMAGE_MAX_PIXELS, settings.IMAGE_DECODE_MAX_MB = 60_000_000, 10
    assert refusal(blank_png(3000, 3000, colour_type=6)) == (
        "too_large_to_decode",
        "too large to decode: 3000x3000 needs 75 MB, the limit is 10 MB",
    )
