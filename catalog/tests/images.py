"""Small constructed images for tests (no dataset needed)."""

import io

from PIL import Image


def image_bytes(size=(300, 240), colour=(200, 30, 30), format="PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format)
    return buffer.getvalue()


def scene(seed: int, size=(320, 400)) -> Image.Image:
    """A sharp, mid-bright picture of random shapes; different seeds look different to the model
    (cosine < 0.8), unlike random noise, which the CNN sees as one texture."""
    import numpy as np
    from PIL import ImageDraw

    rng = np.random.default_rng(seed)
    picture = Image.new("RGB", size, tuple(int(v) for v in rng.integers(60, 200, 3)))
    draw = ImageDraw.Draw(picture)
    for _ in range(12):
        x0, y0 = int(rng.integers(0, size[0])), int(rng.integers(0, size[1]))
        box = (x0, y0, x0 + int(rng.integers(20, 150)), y0 + int(rng.integers(20, 150)))
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        (draw.rectangle if rng.integers(0, 2) else draw.ellipse)(box, fill=colour)
    return picture


def scene_bytes(seed: int, size=(320, 400), format="JPEG", **save_options) -> bytes:
    buffer = io.BytesIO()
    scene(seed, size).save(buffer, format, **save_options)
    return buffer.getvalue()


# PNG chunk layout: IHDR colour types and their channels per pixel.
PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # grey, RGB, palette, grey+alpha, RGBA


def png_chunk(kind: bytes, data: bytes) -> bytes:
    import struct
    import zlib

    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def blank_png(width: int, height: int, *, colour_type: int = 2, bit_depth: int = 8) -> bytes:
    """A valid PNG of any size, mode and bit depth whose pixels are all zero: a few hundred
    bytes that decode to width*height pixels (a decompression bomb when large). Written
    chunk by chunk because Pillow cannot save 16-bit colour or build huge images cheaply."""
    import struct
    import zlib

    row = b"\x00" + bytes((width * PNG_CHANNELS[colour_type] * bit_depth + 7) // 8)  # filter 0, then zeros
    compressor = zlib.compressobj(9)
    body = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    palette = png_chunk(b"PLTE", bytes(v for v in range(256) for _ in "rgb")) if colour_type == 3 else b""  # greys
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + palette + png_chunk(b"IDAT", body)
            + png_chunk(b"IEND", b""))
