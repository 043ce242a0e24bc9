"""Reading image bytes: what the content really is (sniffed, never trusted from a
file name), its size and its checksum."""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

import pillow_heif
from PIL import Image, UnidentifiedImageError

pillow_heif.register_heif_opener()  # HEIC/HEIF from phones; Pillow reads AVIF itself

# Formats a shop accepts from staff, shoppers and feeds (MPO: JPEGs from some cameras).
EXTENSION_BY_FORMAT = {
    "JPEG": "jpg", "MPO": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif", "HEIF": "heic", "AVIF": "avif",
}
ACCEPTED_FORMATS = frozenset(EXTENSION_BY_FORMAT)
# Far above any product photo, far below a decompression bomb.
MAX_PIXELS = 60_000_000


class InvalidImage(ValueError):
    """The bytes are not an image the shop can use; the message says why."""


@dataclass(frozen=True)
class ImageInfo:
    format: str
    width: int
    height: int
    sha256: str

    @property
    def extension(self) -> str:
        return EXTENSION_BY_FORMAT[self.format]


def inspect_image(content: bytes) -> ImageInfo:
    """Identify and check image bytes without decoding every pixel."""
    if not content:
        raise InvalidImage("empty file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content)) as image:
                image_format = image.format or ""
                width, height = image.size
                if image_format not in ACCEPTED_FORMATS:
                    raise InvalidImage(f"unsupported image format {image_format or 'unknown'}")
                if width * height > MAX_PIXELS:
                    raise InvalidImage(f"image too large: {width}x{height} pixels")
                image.verify()
    except InvalidImage:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InvalidImage("not an image (content is not a recognised image format)") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InvalidImage(f"unreadable image ({exc})") from None
    return ImageInfo(format=image_format, width=width, height=height, sha256=hashlib.sha256(content).hexdigest())
