"""Turning uploaded image bytes into a clean RGB picture and its derivatives.

Pure functions (no database): EXIF orientation, every colour mode to RGB (alpha
onto white, since product cut-outs on black look broken), 16-bit to 8-bit, the
first frame of an animation, and decoding bounded by bytes: the pixel cap and the
decode budget (catalog.image_files.decode_cost) are checked before a pixel is
allocated, a large JPEG is decoded at reduced scale (libjpeg's DCT scaling), any
other picture is reduced right after decoding, strip by strip, so no full-size
conversion copy is ever made. vision.pipeline runs these in the Celery workers;
search.photo_search for shoppers' photos.
"""

from __future__ import annotations

import ctypes
import io
import math
import threading
from dataclasses import dataclass

import numpy as np
from PIL import ExifTags, Image

from catalog.image_files import (
    DERIVATIVE_SIZES,
    STRIP_PIXELS,
    InvalidImage,
    check_decode_cost,
    draft_jpeg,
    image_limit,
    open_image,
    reduction_factor,
)

BACKGROUND = (255, 255, 255)
# Modes reduced before conversion: no transparency to composite first, and Image.reduce takes them.
OPAQUE_REDUCIBLE_MODES = frozenset({"RGB", "L", "CMYK", "YCbCr", "LAB", "HSV"})
GREY_DEEP_MODES = frozenset({"I;16", "I;16B", "I;16L", "I;16N", "I", "F"})
# How each EXIF orientation is undone (as PIL.ImageOps.exif_transpose does).
UPRIGHT_BY_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


TURNING_ORIENTATIONS = {5, 6, 7, 8}

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter (malloc.h)
LARGE_BUFFER_BYTES = 1024 * 1024


def _return_large_buffers_to_the_system() -> None:
    """glibc raises its mmap threshold to the largest block freed so far (up to 32 MB); after
    one decode Pillow's 16 MB pixel blocks come from the heap of the thread that asked, which
    keeps them when freed, so a threaded web worker grew by about one decode per thread (bench/
    uploads.py: 134 -> 278 MB idle). A fixed threshold keeps every buffer over 1 MB mmapped:
    returned to the system when freed."""
    try:
        ctypes.CDLL("libc.so.6").mallopt(M_MMAP_THRESHOLD, LARGE_BUFFER_BYTES)
    except (OSError, AttributeError):  # not glibc: its allocator, its policy
        pass


_return_large_buffers_to_the_system()

# Decodes running at once in one process (gunicorn's gthread workers serve several requests
# per process): a process's decode memory stays under IMAGE_DECODE_CONCURRENCY budgets.
_decode_slots: threading.BoundedSemaphore | None = None
_decode_slots_lock = threading.Lock()


def _decode_slot() -> threading.BoundedSemaphore:
    global _decode_slots
    with _decode_slots_lock:
        if _decode_slots is None:
            _decode_slots = threading.BoundedSemaphore(max(1, image_limit("IMAGE_DECODE_CONCURRENCY")))
        return _decode_slots


class ImageRejected(ValueError):
    """The bytes cannot become a product picture. `code` is stable, str() is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class DecodedImage:
    image: Image.Image  # RGB, upright
    format: str  # as the file really is, e.g. "JPEG"
    original_width: int  # before reduced decoding and orientation
    original_height: int
    turned: bool = False  # EXIF orientation 5-8: displayed turned by 90 degrees

    @property
    def upright_size(self) -> tuple[int, int]:
        """Full-resolution size as displayed. From the orientation, not the decoded picture's
        proportions: a near-square picture reduced with rounding up can flip those."""
        return (
            (self.original_height, self.original_width) if self.turned else (self.original_width, self.original_height)
        )


def decode_image(
    content: bytes, *, max_pixels: int | None = None, max_decode_mb: int | None = None, min_side: int | None = None
) -> DecodedImage:
    """Decode to upright RGB, first frame of an animation. Refused before decoding (ImageRejected):
    over max_pixels, or needing more than max_decode_mb of memory (defaults: settings
    IMAGE_MAX_PIXELS, IMAGE_DECODE_MAX_MB); at most IMAGE_DECODE_CONCURRENCY decodes run at
    once in a process, the others wait. With min_side, the picture comes back reduced by
    a whole factor as long as its short side stays >= min_side (a JPEG is decoded at that
    scale; anything else is reduced strip by strip right after decoding)."""
    max_pixels = image_limit("IMAGE_MAX_PIXELS") if max_pixels is None else max_pixels
    max_decode_mb = image_limit("IMAGE_DECODE_MAX_MB") if max_decode_mb is None else max_decode_mb
    try:
        image = open_image(content, max_pixels=max_pixels)
        width, height = image.size
        draft_jpeg(image, min_side)
        check_decode_cost(image, min_side=min_side, max_decode_mb=max_decode_mb, full_size=(width, height))
        with _decode_slot():  # waits while IMAGE_DECODE_CONCURRENCY other threads decode
            image.load()
            orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
            picture = upright_rgb(image, reduction_factor(image.size, min_side), orientation)
    except InvalidImage as exc:
        raise ImageRejected(exc.code, str(exc)) from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageRejected("undecodable", f"unreadable image ({exc})") from None
    return DecodedImage(picture, image.format, width, height, turned=orientation in TURNING_ORIENTATIONS)


def upright_rgb(image: Image.Image, factor: int = 1, orientation: int = 1) -> Image.Image:
    """`image` as RGB, reduced by `factor` (box averaging), turned upright. Every step after
    decoding works on the reduced picture or on one strip of the full one, so the full-size
    picture exists once, in its own mode, never as a second, converted copy."""
    width, height = image.size
    reduced_size = (math.ceil(width / factor), math.ceil(height / factor))
    if factor == 1 or image.mode in OPAQUE_REDUCIBLE_MODES:
        small = image.reduce(factor) if factor > 1 else image
        rgb = to_rgb(small) if small.width * small.height <= STRIP_PIXELS else _to_rgb_by_strips(small, 1)
    elif image.mode in GREY_DEEP_MODES:  # averaged in their own depth, then scaled to 8 bits
        rgb = to_rgb(image.resize(reduced_size, Image.Resampling.BOX), grey_peak=_grey_peak(image))
    else:  # transparency goes onto white before averaging; palettes cannot be averaged
        rgb = _to_rgb_by_strips(image, factor)
    upright = UPRIGHT_BY_ORIENTATION.get(orientation)
    return rgb.transpose(upright) if upright is not None else rgb


def _to_rgb_by_strips(image: Image.Image, factor: int) -> Image.Image:
    if image.mode == "RGB" and factor == 1:
        return image
    width, height = image.size
    rows = max(1, STRIP_PIXELS // (width * factor)) * factor
    grey_peak = _grey_peak(image)
    rgb = Image.new("RGB", (math.ceil(width / factor), math.ceil(height / factor)))
    for top in range(0, height, rows):
        strip = to_rgb(image.crop((0, top, width, min(height, top + rows))), grey_peak=grey_peak)
        rgb.paste(strip.reduce(factor) if factor > 1 else strip, (0, top // factor))
    return rgb


def _grey_peak(image: Image.Image) -> int:
    """The white of a 16- or 32-bit greyscale picture: 65535 for 16-bit files, else 255 unless
    brighter values occur (the whole picture's, so every strip is scaled alike)."""
    if image.mode.startswith("I;16"):
        return 65535
    if image.mode == "I":
        return 65535 if image.getextrema()[1] > 255 else 255
    return 255


def to_rgb(image: Image.Image, *, grey_peak: int | None = None) -> Image.Image:
    """Any Pillow mode to RGB; transparency is composited onto white."""
    if image.mode == "RGB":
        return image
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        peak = grey_peak if grey_peak is not None else _grey_peak(image)
        pixels = np.asarray(image).astype(np.int64)  # whole numbers: 32768 of 65535 is 127, as before
        grey = Image.fromarray(np.clip(pixels * 255 // peak, 0, 255).astype(np.uint8), "L")
        return grey.convert("RGB")
    if image.mode == "F":
        pixels = np.asarray(image, dtype=np.float64)
        return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "L").convert("RGB")
    if (image.mode == "P" and "transparency" in image.info) or image.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = image if image.mode == "RGBA" else image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, BACKGROUND)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    # CMYK: Pillow's CMYK->RGB ignores ICC profiles; Adobe's inverted CMYK JPEGs are handled by its decoder.
    return image.convert("RGB")


def make_derivatives(
    image: Image.Image, sizes: dict[str, int] = DERIVATIVE_SIZES, quality: int = 85
) -> dict[str, bytes]:
    """JPEG bytes per size name, long side bounded (never enlarged)."""
    derivatives = {}
    for name, long_side in sizes.items():
        scale = long_side / max(image.size)
        resized = image
        if scale < 1:
            size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
            resized = image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
        derivatives[name] = encode_jpeg(resized, quality=quality)
    return derivatives


def encode_jpeg(image: Image.Image, quality: int = 85) -> bytes:
    """Progressive only for large images (they appear sooner); no optimize pass: it costs
    as much as the encoding itself for about 5% fewer bytes."""
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality, progressive=max(image.size) > 600)
    return buffer.getvalue()
