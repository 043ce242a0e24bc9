"""The shopper's photo as a vector: decoded, optionally cropped, and embedded in this process
with the active model version (search.product_search matches it against the catalogue).

decode_shopper_photo is the one check every shopper's picture passes, whichever way it came
(the shop's upload form, the API's multipart upload, image_url, a catalogue image id with a
crop box, a stored query photo): the same limits, the same messages."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.core.cache import cache
from PIL import Image

from search import reranking
from vision import selectors as vision_selectors
from vision.decoding import DecodedImage, ImageRejected, decode_image
from vision.embedders import embed_picture, embedder_for

logger = logging.getLogger(__name__)

# A shorter side says too little to search with. The long side may be at most
# SHOPPER_PHOTO_MAX_ASPECT times the short one: a sliver embeds as noise, and the stored copy
# (search.query_photos, long side 1024) keeps its short side >= 1024 / 16 = 64.
SHOPPER_PHOTO_MIN_SIDE = 64
SHOPPER_PHOTO_MAX_ASPECT = 16
# Every shopper's picture is decoded reduced to this short side at least (the stored query
# photo's long side, search.query_photos), whatever the entry point needs of it, so each
# judges the same decode cost and gives the same answer.
SHOPPER_PHOTO_DECODE_SIDE = 1024


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
            raise ImageRejected(
                "bad_crop",
                f"crop box {self.left},{self.top},{self.right},{self.bottom} "
                f"leaves less than 32x32 pixels of a {width}x{height} image",
            )
        scale_x, scale_y = picture.width / width, picture.height / height
        return picture.crop(
            (round(box[0] * scale_x), round(box[1] * scale_y), round(box[2] * scale_x), round(box[3] * scale_y))
        )


def decode_shopper_photo(content: bytes) -> DecodedImage:
    """A shopper's picture, upright RGB, reduced while its short side stays >=
    SHOPPER_PHOTO_DECODE_SIDE. Raises ImageRejected, code and message for the shopper:
    too_large (bytes), empty, unsupported, undecodable, too_many_pixels, too_large_to_decode
    (settings.IMAGE_DECODE_MAX_MB), too_small, too_narrow."""
    limit = settings.API_MAX_UPLOAD_BYTES
    if len(content) > limit:
        raise ImageRejected("too_large", f"the file is {len(content)} bytes, over the {limit}-byte limit")
    decoded = decode_image(content, min_side=SHOPPER_PHOTO_DECODE_SIDE)
    width, height = decoded.upright_size
    if min(width, height) < SHOPPER_PHOTO_MIN_SIDE:
        raise ImageRejected(
            "too_small", f"{width}x{height} is too small (short side under {SHOPPER_PHOTO_MIN_SIDE} px)"
        )
    if max(width, height) > SHOPPER_PHOTO_MAX_ASPECT * min(width, height):
        raise ImageRejected(
            "too_narrow",
            f"{width}x{height} is too narrow (long side over {SHOPPER_PHOTO_MAX_ASPECT} times the short side)",
        )
    return decoded


def embed_photo(model, content: bytes, crop: CropBox | None = None):
    """The vector of a shopper's photo under `model`. Raises ImageRejected (with a code and a
    message for the shopper) for bytes that are no usable picture (decode_shopper_photo).

    Kept in Django's cache for SEARCH_QUERY_VECTOR_CACHE_SECONDS, by model version, the bytes'
    SHA-256 and the crop: the same photo comes back for every page, filter and refinement of
    its results, and decoding and embedding it is the largest part of a photo results page's
    time (about 16 of 39 ms, bench/pages.py on 2026-12-07). Only a picture that passed the
    checks is kept; a cache that does not answer costs one embedding, never the search."""
    key = _vector_key(model, content, crop)
    cached = _cache_call(cache.get, key)
    if isinstance(cached, bytes) and len(cached) == 4 * model.dimension:
        return np.frombuffer(cached, dtype=np.float32)
    decoded = decode_shopper_photo(content)
    picture = decoded.image
    if crop is not None:
        picture = crop.apply(picture, decoded.upright_size)
    vector = embed_picture(model, picture, threads=settings.SEARCH_EMBEDDING_THREADS)
    _cache_call(
        cache.set, key, np.asarray(vector, dtype=np.float32).tobytes(), settings.SEARCH_QUERY_VECTOR_CACHE_SECONDS
    )
    return vector


def _vector_key(model, content: bytes, crop: CropBox | None) -> str:
    box = "whole" if crop is None else f"{crop.left},{crop.top},{crop.right},{crop.bottom}"
    return f"search:query-vector:{model.pk}:{hashlib.sha256(content).hexdigest()}:{box}"


def _cache_call(method, *args):
    try:
        return method(*args)
    except Exception as exc:  # the cache's own errors (Redis down, timeouts): search goes on without it
        logger.warning("query vector cache unavailable: %s", exc)
        return None


def warm_up_search() -> str:
    """Load the active model's session and its projection now, so the first shopper's photo
    search is not the one that pays for it (about 100 ms for the file, more for the first
    run). Web processes call it at start; returns what it did, for the log."""
    model = vision_selectors.embedding_model_active()
    if model is None:
        return "no active image model yet"
    embedder_for(model, settings.SEARCH_EMBEDDING_THREADS)
    projection = reranking.active_projection(model)
    return f"{model.name} {model.version} loaded" + (f" with projection {projection.id}" if projection else "")
