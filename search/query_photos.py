"""The shopper's query photo, kept for a while so the results page can re-run the search
(paging, filters, words) without another upload.

A photo is validated (search.photo_search.decode_shopper_photo, the check of every entry
point: format sniffing, pixel cap, decode budget, size and shape, EXIF orientation),
normalised to an upright RGB JPEG of at most QUERY_PHOTO_MAX_SIDE px, and stored in the
default storage under its content hash, the token:
    query-photos/<token>.jpg
Crop boxes on the results page are in that stored picture's pixels. Old photos are deleted
by query_photos_cleanup (safe to run periodically and concurrently).
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image

from search.photo_search import SHOPPER_PHOTO_DECODE_SIDE, CropBox, decode_shopper_photo
from vision.decoding import encode_jpeg

QUERY_PHOTO_DIR = "query-photos"
QUERY_PHOTO_MAX_SIDE = SHOPPER_PHOTO_DECODE_SIDE  # long side of the stored copy
QUERY_PHOTO_QUALITY = 90
QUERY_PHOTO_MAX_AGE = timedelta(hours=24)  # how long a results link keeps working
TOKEN_LENGTH = 32
TOKEN_RE = re.compile(rf"^[0-9a-f]{{{TOKEN_LENGTH}}}$")


class QueryPhotoNotFound(LookupError):
    """No stored photo for this token: never stored, malformed, or cleaned up."""


@dataclass(frozen=True)
class StoredQueryPhoto:
    token: str
    width: int  # of the stored copy
    height: int
    scale: float  # stored pixels per uploaded (upright) pixel, <= 1

    def crop_in_stored_pixels(self, crop: CropBox) -> CropBox:
        """A crop box drawn on the uploaded picture, in the stored copy's pixels."""
        return CropBox(*(round(value * self.scale) for value in (crop.left, crop.top, crop.right, crop.bottom)))


def _path(token: str) -> str:
    return f"{QUERY_PHOTO_DIR}/{token}.jpg"


def _keep(path: str) -> bool:
    """Make a stored photo young again (query_photos_cleanup measures its age from its
    modification time); False if there is none."""
    try:
        os.utime(default_storage.path(path))
    except FileNotFoundError:
        return False
    except NotImplementedError:  # a storage without local files: kept as it is
        return default_storage.exists(path)
    return True


def query_photo_store(content: bytes) -> StoredQueryPhoto:
    """Validate and store a shopper's photo. Raises vision.decoding.ImageRejected (code
    and message for the shopper, see search.photo_search.decode_shopper_photo).
    Storing the same picture twice keeps one file (and makes it young again)."""
    decoded = decode_shopper_photo(content)
    width, height = decoded.upright_size
    picture = decoded.image
    if max(picture.size) > QUERY_PHOTO_MAX_SIDE:
        ratio = QUERY_PHOTO_MAX_SIDE / max(picture.size)
        picture = picture.resize(
            (max(1, round(picture.width * ratio)), max(1, round(picture.height * ratio))),
            Image.Resampling.LANCZOS,
            reducing_gap=3.0,
        )
    data = encode_jpeg(picture, quality=QUERY_PHOTO_QUALITY)
    token = hashlib.sha256(data).hexdigest()[:TOKEN_LENGTH]
    path = _path(token)
    # The token is the content's hash: a file under it already holds these bytes. It is never
    # deleted and written again (a results page reading it meanwhile would find it gone).
    if not _keep(path):
        saved = default_storage.save(path, ContentFile(data))
        if saved != path:  # the same photo stored meanwhile by another upload: keep that one
            default_storage.delete(saved)
    return StoredQueryPhoto(token, picture.width, picture.height, picture.width / width)


def query_photo_content(token: str) -> bytes:
    """The stored JPEG of a token. Raises QueryPhotoNotFound."""
    if not TOKEN_RE.match(token or ""):
        raise QueryPhotoNotFound(token)
    try:
        with default_storage.open(_path(token), "rb") as handle:
            return handle.read()
    except (FileNotFoundError, OSError):
        raise QueryPhotoNotFound(token) from None


def query_photos_cleanup(*, max_age: timedelta = QUERY_PHOTO_MAX_AGE, now: datetime | None = None) -> int:
    """Delete stored query photos older than max_age; the number deleted. Idempotent and safe
    beside uploads and other runs (a file gone meanwhile is skipped), so a periodic task can
    call it as often as it likes."""
    cutoff = (now or datetime.now(UTC)) - max_age
    try:
        _folders, files = default_storage.listdir(QUERY_PHOTO_DIR)
    except FileNotFoundError:
        return 0
    deleted = 0
    for name in files:
        path = f"{QUERY_PHOTO_DIR}/{name}"
        try:
            modified = default_storage.get_modified_time(path)
        except (FileNotFoundError, OSError):
            continue
        if modified.tzinfo is None:
            modified = modified.replace(tzinfo=UTC)
        if modified < cutoff:
            try:
                default_storage.delete(path)
            except (FileNotFoundError, OSError):
                continue
            deleted += 1
    return deleted
