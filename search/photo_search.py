"""The shopper's photo as a vector: decoded, optionally cropped, and embedded in this process
with the active model version (search.product_search matches it against the catalogue)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from PIL import Image

from catalog.preprocessing import ImageRejected, decode_image
from search.embedders import embed_picture
from search.model.preprocess import RESIZE


class PhotoSearchUnavailable(RuntimeError):
    """No model version is active yet (no catalogue image has been processed)."""


@dataclass(frozen=True)
class CropBox:
    """Pixel box on the upright picture: the part the shopper means (a jacket in a street photo)."""

    left: int
    top: int
    right: int
    bottom: int

    def apply(self, picture: Image.Image, original_size: tuple[int, int]) -> Image.Image:
        """Crop `picture`, which may be a reduced decode of an image of `original_size` (the
        coordinates the shopper's box is in)."""
        width, height = original_size
        box = (max(0, self.left), max(0, self.top), min(width, self.right), min(height, self.bottom))
        if box[2] - box[0] < 32 or box[3] - box[1] < 32:
            raise ImageRejected("bad_crop", f"crop box {self.left},{self.top},{self.right},{self.bottom} "
                                            f"leaves less than 32x32 pixels of a {width}x{height} image")
        scale_x, scale_y = picture.width / width, picture.height / height
        return picture.crop((round(box[0] * scale_x), round(box[1] * scale_y),
                             round(box[2] * scale_x), round(box[3] * scale_y)))


def embed_photo(model, content: bytes, crop: CropBox | None = None):
    """The vector of a shopper's photo under `model`. Raises ImageRejected (with a code and a
    message for the shopper) for bytes that are no usable picture."""
    decoded = decode_image(content, max_pixels=settings.IMAGE_MAX_PIXELS, min_side=RESIZE)
    picture = decoded.image
    if crop is not None:
        picture = crop.apply(picture, decoded.upright_size)
    return embed_picture(model, picture)

