"""Turning uploaded image bytes into a clean RGB picture and its derivatives.

Pure functions (no database): EXIF orientation, every colour mode to RGB (alpha
onto white, since product cut-outs on black look broken), 16-bit to 8-bit, the
first frame of an animation, draft decoding of large JPEGs, and a pixel cap
checked before decoding so a decompression bomb never allocates its pixels.
search.pipeline runs these in the Celery workers.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from catalog.image_files import ACCEPTED_FORMATS, MAX_PIXELS

DEFAULT_MAX_PIXELS = MAX_PIXELS  # the same cap the import and upload check applies
# Long side of each derivative: a grid thumbnail and the product-page size.
DERIVATIVE_SIZES = {"thumbnail": 320, "display": 1200}
BACKGROUND = (255, 255, 255)


class ImageRejected(ValueError):
    """The bytes cannot become a product picture. `code` is stable, str() is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class DecodedImage:
    image: Image.Image  # RGB, upright
    format: str  # as the file really is, e.g. "JPEG"
    original_width: int  # before draft decoding and orientation
    original_height: int

    @property
    def upright_size(self) -> tuple[int, int]:
        """Full-resolution size as displayed (EXIF may have turned it by 90 degrees)."""
        turned = (self.image.width > self.image.height) != (self.original_width > self.original_height)
        return (self.original_height, self.original_width) if turned else (self.original_width, self.original_height)


def decode_image(content: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS, min_side: int | None = None) -> DecodedImage:
    """Decode to upright RGB. With min_side, a large JPEG is decoded at reduced scale
    (libjpeg's DCT scaling) as long as its short side stays >= min_side."""
    if not content:
        raise ImageRejected("empty", "empty file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(content))
            image_format = image.format or ""
            if image_format not in ACCEPTED_FORMATS:
                raise ImageRejected("unsupported", f"unsupported image format {image_format or 'unknown'}")
            width, height = image.size
            if width * height > max_pixels:
                raise ImageRejected("too_many_pixels", f"{width}x{height} is over the {max_pixels}-pixel limit")
            if getattr(image, "n_frames", 1) > 1:
                image.seek(0)  # an animation is judged by its first frame
            if image_format in ("JPEG", "MPO") and min_side:
                scale = min(width, height) / min_side
                if scale >= 2:
                    image.draft("RGB", (width // int(scale), height // int(scale)))
            image.load()
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRejected("too_many_pixels", "image is over the pixel limit") from None
    except UnidentifiedImageError:
        raise ImageRejected("undecodable", "not an image (content is not a recognised image format)") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageRejected("undecodable", f"unreadable image ({exc})") from None
    image = ImageOps.exif_transpose(image)
    return DecodedImage(to_rgb(image), image_format, width, height)


def to_rgb(image: Image.Image) -> Image.Image:
    """Any Pillow mode to RGB; transparency is composited onto white."""
    if image.mode == "RGB":
        return image
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        pixels = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if image.mode.startswith("I;16") or pixels.max() > 255 else 255.0
        grey = Image.fromarray(np.clip(pixels * 255.0 / peak, 0, 255).astype(np.uint8), "L")
        return grey.convert("RGB")
    if image.mode == "F":
        pixels = np.asarray(image, dtype=np.float64)
        return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "L").convert("RGB")
    if (image.mode == "P" and "transparency" in image.info) or image.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, BACKGROUND)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    if image.mode == "CMYK":
        # Pillow's CMYK->RGB ignores ICC profiles; Adobe's inverted CMYK JPEGs are handled by its decoder.
        return image.convert("RGB")
    return image.convert("RGB")


def make_derivatives(image: Image.Image, sizes: dict[str, int] = DERIVATIVE_SIZES, quality: int = 85) -> dict[str, bytes]:
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
