import hashlib
import io
import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image

from fixtures.images import image_bytes, scene
from fixtures.shop import jpeg
from search.photo_search import CropBox
from search.query_photos import (
    QUERY_PHOTO_DIR,
    QueryPhotoNotFound,
    query_photo_content,
    query_photo_store,
    query_photos_cleanup,
)
from vision.decoding import ImageRejected


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    return tmp_path


def stored_files(media: Path) -> list[str]:
    folder = media / QUERY_PHOTO_DIR
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


def test_a_photo_is_stored_as_an_upright_jpeg_of_at_most_1024_px_under_its_hash(media):
    stored = query_photo_store(image_bytes((2048, 1536), format="PNG"))
    content = query_photo_content(stored.token)
    assert stored.token == hashlib.sha256(content).hexdigest()[:32]
    assert (stored.width, stored.height, stored.scale) == (1024, 768, 0.5)
    with Image.open(io.BytesIO(content)) as picture:
        assert (picture.format, picture.size, picture.mode) == ("JPEG", (1024, 768), "RGB")
    assert stored_files(media) == [f"{stored.token}.jpg"]


def test_exif_orientation_is_applied(media):
    picture = Image.new("RGB", (300, 200), (200, 30, 30))
    exif = picture.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", exif=exif)
    stored = query_photo_store(buffer.getvalue())
    assert (stored.width, stored.height) == (200, 300)


def test_a_small_photo_keeps_its_size_and_the_same_photo_keeps_one_file(media):
    content = jpeg(scene(3))
    first, second = query_photo_store(content), query_photo_store(content)
    assert first == second
    assert (first.width, first.height, first.scale) == (320, 400, 1.0)
    assert stored_files(media) == [f"{first.token}.jpg"]


def test_a_crop_box_is_scaled_to_the_stored_copy(media):
    stored = query_photo_store(image_bytes((2048, 1600), format="PNG"))
    assert stored.crop_in_stored_pixels(CropBox(100, 200, 901, 1000)) == CropBox(50, 100, 450, 500)


@pytest.mark.parametrize(
    "content, code, message",
    [
        (b"", "empty", "empty file"),
        (b"plain text, no picture", "undecodable", "not an image (content is not a recognised image format)"),
        (image_bytes((40, 300)), "too_small", "40x300 is too small (short side under 64 px)"),
    ],
)
def test_unusable_photos_are_rejected_and_not_stored(media, content, code, message):
    with pytest.raises(ImageRejected) as raised:
        query_photo_store(content)
    assert (raised.value.code, str(raised.value)) == (code, message)
    assert stored_files(media) == []


@pytest.mark.parametrize("token", ["", "0" * 32, "../../etc/passwd", "A" * 32, "0" * 31])
def test_unknown_and_malformed_tokens_are_not_found(media, token):
    with pytest.raises(QueryPhotoNotFound):
        query_photo_content(token)


def test_cleanup_deletes_only_photos_older_than_the_limit(media):
    old = query_photo_store(jpeg(scene(1)))
    young = query_photo_store(jpeg(scene(2)))
    day_ago = time.time() - 25 * 3600
    os.utime(media / QUERY_PHOTO_DIR / f"{old.token}.jpg", (day_ago, day_ago))
    assert query_photos_cleanup(max_age=timedelta(hours=24)) == 1
    assert stored_files(media) == [f"{young.token}.jpg"]
    assert query_photos_cleanup(max_age=timedelta(hours=24)) == 0  # idempotent


def test_storing_a_photo_again_makes_it_young_again(media):
    content = jpeg(scene(1))
    stored = query_photo_store(content)
    day_ago = time.time() - 25 * 3600
    os.utime(media / QUERY_PHOTO_DIR / f"{stored.token}.jpg", (day_ago, day_ago))
    query_photo_store(content)
    assert query_photos_cleanup(max_age=timedelta(hours=24)) == 0
    assert stored_files(media) == [f"{stored.token}.jpg"]


def test_storing_a_photo_again_never_removes_or_rewrites_it(media, monkeypatch):
    from django.core.files.storage import default_storage

    content = jpeg(scene(1))
    stored = query_photo_store(content)

    def refused(*args, **kwargs):
        raise AssertionError("the stored photo was deleted or written again")

    monkeypatch.setattr(default_storage, "delete", refused)
    monkeypatch.setattr(default_storage, "save", refused)
    assert query_photo_store(content) == stored
    assert query_photo_content(stored.token) == (media / QUERY_PHOTO_DIR / f"{stored.token}.jpg").read_bytes()


def test_the_same_photo_stored_by_two_uploads_at_once_keeps_one_file(media, monkeypatch):
    from search import query_photos

    content = jpeg(scene(2))
    stored = query_photo_store(content)
    # The second upload looked before the first had written: it saves too, and keeps no copy.
    monkeypatch.setattr(query_photos, "_keep", lambda path: False)
    assert query_photo_store(content) == stored
    assert stored_files(media) == [f"{stored.token}.jpg"]


def test_cleanup_without_any_photo_yet(media):
    assert query_photos_cleanup() == 0
