"""Reading image bytes: what the content really is (sniffed, never trusted from a
file name), its size and its checksum, and what decoding it would cost.

Decoding is bounded by bytes, not pixels: a 16-bit or RGBA picture costs more per pixel
than a greyscale one, and WebP, AVIF and HEIF decoders keep copies of their own while
decoding. `decode_cost` estimates the memory a decode and its conversion to RGB need (per
pixel figures measured with Pillow 13, see bench/uploads.py), so a picture is refused
before any pixel is allocated.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
import warnings
from dataclasses import dataclass

import pillow_heif
from django.conf import settings
from PIL import Image, UnidentifiedImageError

pillow_heif.register_heif_opener()  # HEIC/HEIF from phones; Pillow reads AVIF itself
# Over Image.MAX_IMAGE_PIXELS (89 Mpx) Pillow only warns; open_image's own cap decides. Set
# once for the process: warnings.catch_warnings around each open is not thread-safe, and web
# workers open pictures in several threads.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)

# Formats a shop accepts from staff, shoppers and feeds (MPO: JPEGs from some cameras).
EXTENSION_BY_FORMAT = {
    "JPEG": "jpg",
    "MPO": "jpg",
    "PNG": "png",
    "WEBP": "webp",
    "GIF": "gif",
    "HEIF": "heic",
    "AVIF": "avif",
}
ACCEPTED_FORMATS = frozenset(EXTENSION_BY_FORMAT)
# The limits' defaults (visualshop/settings/images.py reads them from the environment), for
# code that decodes outside Django (bench/search_floor.py); every check in Django reads the
# settings (image_limit).
DEFAULT_LIMITS = {"IMAGE_MAX_PIXELS": 60_000_000, "IMAGE_DECODE_MAX_MB": 128, "IMAGE_DECODE_CONCURRENCY": 2}
# The pipeline decodes catalogue pictures at reduced scale as long as the short side keeps
# this many pixels (the display derivative's long side): import judges the cost of that decode.
CATALOGUE_DECODE_MIN_SIDE = 1200
# Long side of each derivative a ProductImage has (made by vision.decoding.make_derivatives):
# a grid thumbnail and the product-page size.
DERIVATIVE_SIZES = {"thumbnail": 320, "display": CATALOGUE_DECODE_MIN_SIDE}

MB = 1024 * 1024
# Bytes Pillow stores per pixel: every mode not listed takes 4 (RGB is stored as RGBX).
MODE_BYTES_PER_PIXEL = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2}
# What a decoder holds beside Pillow's image while decoding, per pixel (peak RSS measured on
# 4000x4000 and 7700x7700 pictures): libwebp's RGBA canvas and its copy as Python bytes;
# libavif's and libheif's planes. PNG and GIF decode row by row into the image.
DECODER_BYTES_PER_PIXEL = {"WEBP": 12, "AVIF": 7, "HEIF": 5}
# A progressive JPEG keeps every DCT coefficient of the whole picture (2 bytes each, per
# band), whatever scale it is drafted at.
PROGRESSIVE_JPEG_BYTES_PER_SAMPLE = 2
# Conversion to RGB runs over horizontal strips of about this many pixels (see preprocessing).
STRIP_PIXELS = 1_000_000
# A strip in its own mode, as RGBA, as RGB, and numpy's working copies for 16-bit greyscale.
STRIP_BYTES = STRIP_PIXELS * 24


def image_limit(name: str) -> int:
    """settings.<name>, or its default when Django is not set up."""
    return getattr(settings, name) if settings.configured else DEFAULT_LIMITS[name]


class InvalidImage(ValueError):
    """The bytes are not an image the shop can use; the message says why, `code` is stable."""

    def __init__(self, message: str, code: str = "undecodable") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class ImageInfo:
    format: str
    width: int
    height: int
    sha256: str

    @property
    def extension(self) -> str:
        return EXTENSION_BY_FORMAT[self.format]


def too_many_pixels(width: int, height: int, max_pixels: int) -> InvalidImage:
    return InvalidImage(f"too many pixels: {width}x{height} is over the {max_pixels}-pixel limit", "too_many_pixels")


_PILLOW_BOMB_SIZE = re.compile(r"Image size \((\d+) pixels\)")


def _pillow_bomb(error: Exception, max_pixels: int) -> InvalidImage:
    """Pillow refused the dimensions itself (over twice Image.MAX_IMAGE_PIXELS) before telling them."""
    found = _PILLOW_BOMB_SIZE.search(str(error))
    size = f"{int(found.group(1))} pixels" if found else "the image"
    return InvalidImage(f"too many pixels: {size} is over the {max_pixels}-pixel limit", "too_many_pixels")


def open_image(content: bytes, *, max_pixels: int) -> Image.Image:
    """Image.open plus the checks that need no pixel: not empty, an accepted format (sniffed
    from the bytes), at most max_pixels. Raises InvalidImage."""
    if not content:
        raise InvalidImage("empty file", "empty")
    try:
        image = Image.open(io.BytesIO(content))
    except Image.DecompressionBombError as exc:
        raise _pillow_bomb(exc, max_pixels) from None
    except UnidentifiedImageError:
        raise InvalidImage("not an image (content is not a recognised image format)") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InvalidImage(f"unreadable image ({exc})") from None
    image_format = image.format or ""
    if image_format not in ACCEPTED_FORMATS:
        raise InvalidImage(f"unsupported image format {image_format or 'unknown'}", "unsupported")
    width, height = image.size
    if width * height > max_pixels:
        raise too_many_pixels(width, height, max_pixels)
    return image


def reduction_factor(size: tuple[int, int], min_side: int | None) -> int:
    """The whole-number scale a picture of `size` can be reduced by, its short side staying >= min_side."""
    return max(1, min(size) // min_side) if min_side else 1


def decode_cost(image: Image.Image, *, min_side: int | None, full_size: tuple[int, int] | None = None) -> int:
    """Peak bytes that decoding `image` (opened, JPEG already drafted) and turning it into an
    upright RGB picture reduced to short side >= min_side take: the larger of the decoding
    (Pillow's image in its own mode plus the decoder's buffers) and the conversion (that
    image plus the reduced RGB result, one conversion strip and the turned copy for EXIF
    orientation, counted whatever the orientation: reading it would decode a PNG)."""
    width, height = image.size
    pixels = width * height
    image_bytes = pixels * MODE_BYTES_PER_PIXEL.get(image.mode, 4)
    decoding = image_bytes + pixels * DECODER_BYTES_PER_PIXEL.get(image.format, 0)
    if image.format in ("JPEG", "MPO") and image.info.get("progressive"):
        full_width, full_height = full_size or image.size
        decoding += full_width * full_height * len(image.getbands()) * PROGRESSIVE_JPEG_BYTES_PER_SAMPLE
    factor = reduction_factor(image.size, min_side)
    result_pixels = math.ceil(width / factor) * math.ceil(height / factor)
    converting = image_bytes + result_pixels * 4 * 2  # the result and its turned copy
    if image.mode != "RGB" or factor > 1:
        converting += STRIP_BYTES
    return max(decoding, converting)


def check_decode_cost(
    image: Image.Image, *, min_side: int | None, max_decode_mb: int, full_size: tuple[int, int] | None = None
) -> None:
    """Raises InvalidImage ("too_large_to_decode") when decoding would need more than max_decode_mb."""
    needed = decode_cost(image, min_side=min_side, full_size=full_size)
    if needed > max_decode_mb * MB:
        width, height = full_size or image.size
        raise InvalidImage(
            f"too large to decode: {width}x{height} needs {math.ceil(needed / MB)} MB, the limit is {max_decode_mb} MB",
            "too_large_to_decode",
        )


def inspect_image(content: bytes, *, max_pixels: int | None = None, max_decode_mb: int | None = None) -> ImageInfo:
    """Identify and check image bytes without decoding a pixel: the checks decode_image
    (vision.decoding) makes before decoding, for the scale the pipeline decodes at."""
    max_pixels = image_limit("IMAGE_MAX_PIXELS") if max_pixels is None else max_pixels
    max_decode_mb = image_limit("IMAGE_DECODE_MAX_MB") if max_decode_mb is None else max_decode_mb
    image = open_image(content, max_pixels=max_pixels)
    with image:
        image_format, (width, height) = image.format, image.size
        try:
            check_decode_cost(
                draft_jpeg(image, CATALOGUE_DECODE_MIN_SIDE),
                min_side=CATALOGUE_DECODE_MIN_SIDE,
                max_decode_mb=max_decode_mb,
                full_size=(width, height),
            )
            image.verify()
        except InvalidImage:
            raise
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise InvalidImage(f"unreadable image ({exc})") from None
    return ImageInfo(format=image_format, width=width, height=height, sha256=hashlib.sha256(content).hexdigest())


def draft_jpeg(image: Image.Image, min_side: int | None) -> Image.Image:
    """A JPEG set to decode at reduced scale (libjpeg's DCT scaling), its short side staying
    >= min_side; other formats as they are. Changes image.size, not the pixels (none are read)."""
    if image.format in ("JPEG", "MPO") and min_side:
        width, height = image.size
        scale = min(width, height) // min_side
        if scale >= 2:
            image.draft("RGB", (width // scale, height // scale))
    return image
