import io

import pytest
from PIL import Image

from catalog.preprocessing import ImageRejected
from catalog.tests.factories import make_product, stored_image
from catalog.tests.images import scene, scene_bytes
from search import selectors
from search.photo_search import CropBox, PhotoSearchUnavailable, photo_search
from search.pipeline import product_images_process

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue(settings):
    settings.IMAGE_NEAR_DUPLICATE_COSINE = 1.01
    images = [stored_image(make_product(f"P-{seed}"), scene_bytes(seed), f"p{seed}.jpg") for seed in range(1, 6)]
    product_images_process([image.pk for image in images])
    return images


def jpeg(picture: Image.Image) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def test_a_shoppers_photo_of_a_catalogue_item_finds_it_first(catalogue):
    shopper_photo = jpeg(scene(3).resize((480, 600)))  # another size and compression of product P-3
    matches = photo_search(shopper_photo, limit=3)
    assert len(matches) == 3
    assert matches[0].product_id == catalogue[2].product_id and matches[0].score > 0.95


def test_a_crop_box_searches_for_the_part_the_shopper_means(catalogue):
    street = Image.new("RGB", (1000, 800), (30, 30, 30))
    street.paste(scene(4), (500, 300))  # P-4's picture in a corner of a larger, dark photo
    box = CropBox(left=500, top=300, right=820, bottom=700)
    assert photo_search(jpeg(street), limit=1, crop=box)[0].product_id == catalogue[3].product_id


def test_filters_apply_to_photo_search(catalogue):
    matches = photo_search(scene_bytes(3), limit=5, filters=selectors.ProductFilters(price_max=0))
    assert matches == []


@pytest.mark.parametrize(("content", "crop", "code", "message"), [
    (b"", None, "empty", "empty file"),
    (b"<html>", None, "undecodable", "not an image (content is not a recognised image format)"),
    (scene_bytes(1), CropBox(0, 0, 20, 500), "bad_crop", "crop box 0,0,20,500 leaves less than 32x32 pixels of a 320x400 image"),
])
def test_unusable_photos_are_refused_with_a_reason(catalogue, content, crop, code, message):
    with pytest.raises(ImageRejected) as refused:
        photo_search(content, crop=crop)
    assert (refused.value.code, str(refused.value)) == (code, message)


def test_before_any_image_is_processed_photo_search_says_so():
    with pytest.raises(PhotoSearchUnavailable, match="^no catalogue image has been processed yet$"):
        photo_search(scene_bytes(1))
