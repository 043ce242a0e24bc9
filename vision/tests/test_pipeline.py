"""The image pipeline, run in-process on constructed images (one test per outcome)."""

import numpy as np
import pytest
from PIL import Image, ImageEnhance, ImageFilter

from catalog import services as catalog_services
from catalog.models import ProductImage
from fixtures.factories import make_product, stored_image
from fixtures.images import image_bytes, scene, scene_bytes
from vision import pipeline
from vision.models import EmbeddingModel, ImageEmbedding
from vision.quality import hamming_distance

pytestmark = pytest.mark.django_db

Status = ProductImage.Status


def jpeg(picture: Image.Image, **options) -> bytes:
    import io

    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", **options)
    return buffer.getvalue()


def process(*images: ProductImage) -> dict:
    outcomes = pipeline.product_images_process([image.pk for image in images])
    for image in images:
        image.refresh_from_db()
    return outcomes


def test_a_good_photo_becomes_ready_with_derivatives_measures_and_one_vector():
    image = stored_image(make_product("A-1"), scene_bytes(0, size=(480, 600)))
    outcome = process(image)
    assert (image.status, image.reason, image.reason_codes, image.attempts) == (Status.READY, "", [], 1)
    assert outcome == {image.pk: Status.READY}
    assert (image.width, image.height, image.format) == (480, 600, "JPEG")
    assert len(image.sha256) == 64 and image.processed_at is not None
    with image.file.storage.open(image.thumbnail.name) as handle:
        assert Image.open(handle).size == (256, 320)
    # An upright JPEG within 1200 px keeps its size, re-encoded under derived/ (the original is for staff).
    assert image.display.name == f"derived/{image.sha256[:2]}/{image.sha256}-display.jpg"
    with image.file.storage.open(image.display.name) as handle:
        assert Image.open(handle).size == (480, 600)
    model = EmbeddingModel.objects.get()
    assert (model.status, model.dimension, model.variant) == (EmbeddingModel.Status.ACTIVE, 1280, "fp32")
    vector = np.array(ImageEmbedding.objects.get(image=image, model=model).embedding)
    assert vector.shape == (1280,) and abs(np.linalg.norm(vector) - 1) < 1e-3


@pytest.mark.parametrize(
    ("content", "code", "reason"),
    [
        (b"", "empty", "empty file"),
        (b"this is not a picture", "undecodable", "not an image (content is not a recognised image format)"),
        (image_bytes((300, 300), format="BMP"), "unsupported", "unsupported image format BMP"),
        (scene_bytes(2, size=(150, 400)), "too_small", "150x400 is too small (short side under 200 px)"),
        (scene_bytes(2, size=(400, 500)), "too_many_pixels", "too many pixels: 400x500 is over the 100000-pixel limit"),
    ],
)
def test_unusable_files_are_rejected_with_their_reason(settings, content, code, reason):
    settings.IMAGE_MAX_PIXELS = 100_000
    image = stored_image(make_product("R-1"), content)
    assert process(image) == {image.pk: Status.REJECTED}
    assert (image.status, image.reason_codes, image.reason) == (Status.REJECTED, [code], reason)
    assert (image.thumbnail.name, image.embeddings.count()) == ("", 0)


def test_a_file_over_the_decode_budget_is_rejected_before_decoding(settings):
    from fixtures.images import blank_png

    settings.IMAGE_DECODE_MAX_MB = 20
    image = stored_image(make_product("R-3"), blank_png(300, 300, colour_type=0, bit_depth=16))
    assert process(image) == {image.pk: Status.REJECTED}
    assert (image.reason_codes, image.reason) == (
        ["too_large_to_decode"],
        "too large to decode: 300x300 needs 24 MB, the limit is 20 MB",
    )


def test_a_file_missing_from_storage_is_rejected():
    image = stored_image(make_product("R-2"), scene_bytes(3))
    image.file.storage.delete(image.file.name)
    assert process(image) == {image.pk: Status.REJECTED}
    assert (image.reason_codes, image.reason) == (["missing_file"], "file is missing from storage")


def flagged(picture_bytes: bytes, sku: str = "F-1") -> ProductImage:
    image = stored_image(make_product(sku), picture_bytes)
    assert process(image) == {image.pk: Status.FLAGGED}
    return image


def dark_picture() -> bytes:
    return jpeg(ImageEnhance.Brightness(scene(3)).enhance(0.15))


def test_blurred_photo_is_flagged():
    image = flagged(jpeg(scene(3).filter(ImageFilter.GaussianBlur(4))))
    assert image.reason_codes == ["blurred"]
    assert image.reason == f"blurred (sharpness {image.blur:.0f} < 50)" and image.blur < 50
    assert image.embeddings.count() == 1  # flagged images stay searchable


def test_dark_photo_is_flagged(settings):
    settings.IMAGE_BLUR_THRESHOLD = 0  # darkening also lowers contrast; judge brightness alone
    image = flagged(dark_picture())
    assert image.reason_codes == ["too_dark"] and image.brightness < 35
    assert image.reason == f"too dark (brightness {image.brightness:.0f})"


def test_washed_out_photo_is_flagged(settings):
    settings.IMAGE_BLUR_THRESHOLD = 0
    image = flagged(jpeg(Image.blend(scene(3), Image.new("RGB", (320, 400), "white"), 0.97)))
    assert image.reason_codes == ["too_bright"] and image.brightness > 248


def test_the_same_bytes_on_another_product_are_an_exact_duplicate():
    first = stored_image(make_product("D-1"), scene_bytes(4))
    process(first)
    second = flagged(scene_bytes(4), sku="D-2")
    assert (second.reason_codes, second.duplicate_of_id) == (["exact_duplicate"], first.pk)
    assert second.reason == f"exact duplicate of image {first.pk}"
    assert first.status == Status.READY


def test_of_two_uploads_of_the_same_bytes_the_later_is_the_copy_whichever_is_processed_first():
    """Checksums recorded at upload (catalog.services): the earlier upload is processed last
    and stays ready; the later one, processed first, is flagged as its copy."""
    first, _ = catalog_services.product_image_add(product=make_product("D-10"), content=scene_bytes(4))
    second, _ = catalog_services.product_image_add(product=make_product("D-11"), content=scene_bytes(4))
    assert process(second) == {second.pk: Status.FLAGGED}
    assert process(first) == {first.pk: Status.READY}
    assert (first.status, first.reason, first.reason_codes, first.duplicate_of_id) == (Status.READY, "", [], None)
    assert (second.status, second.reason, second.reason_codes, second.duplicate_of_id) == (
        Status.FLAGGED,
        f"exact duplicate of image {first.pk}",
        ["exact_duplicate"],
        first.pk,
    )


def test_of_two_copies_in_one_batch_only_the_later_is_flagged():
    first, _ = catalog_services.product_image_add(product=make_product("D-12"), content=scene_bytes(4))
    second, _ = catalog_services.product_image_add(product=make_product("D-13"), content=scene_bytes(4))
    assert process(first, second) == {first.pk: Status.READY, second.pk: Status.FLAGGED}
    assert (second.reason, second.reason_codes, second.duplicate_of_id) == (
        f"exact duplicate of image {first.pk}",
        ["exact_duplicate"],
        first.pk,
    )


def test_an_earlier_copy_without_a_checksum_flags_the_later_copy_that_settled_first():
    """Stored without a checksum (a form that bypasses the services): the copies only know each
    other by their bytes once processed. The later one settles ready first; when the earlier one
    settles, the later one becomes its flagged copy and the earlier one stays ready."""
    first = stored_image(make_product("D-14"), scene_bytes(4))
    second = stored_image(make_product("D-15"), scene_bytes(4))
    assert (first.sha256, second.sha256) == ("", "")
    assert process(second) == {second.pk: Status.READY}
    assert process(first) == {first.pk: Status.READY}
    second.refresh_from_db()
    assert (first.status, first.reason_codes) == (Status.READY, [])
    assert (second.status, second.reason, second.reason_codes, second.duplicate_of_id) == (
        Status.FLAGGED,
        f"exact duplicate of image {first.pk}",
        ["exact_duplicate"],
        first.pk,
    )
    assert second.embeddings.count() == 1  # a flagged copy stays searchable


def test_an_image_whose_file_changed_while_it_settled_leaves_its_copies_as_they_were(monkeypatch):
    """Staff replace the earlier copy's file while it is being processed: nothing of its result
    is written, and the later copy it would have flagged stays ready (those bytes are gone)."""
    first = stored_image(make_product("D-16"), scene_bytes(4))
    second = stored_image(make_product("D-17"), scene_bytes(4))
    assert process(second) == {second.pk: Status.READY}
    settle_copies = pipeline._settle_copies

    def file_replaced_meanwhile(image, sha256, verdict):
        settle_copies(image, sha256, verdict)
        ProductImage.objects.filter(pk=first.pk).update(file="products/replaced-meanwhile.jpg")

    monkeypatch.setattr(pipeline, "_settle_copies", file_replaced_meanwhile)
    pipeline.product_images_process([first.pk])
    first.refresh_from_db()
    second.refresh_from_db()
    # The replacement here ran inside the settling transaction, so it is rolled back with it.
    assert (first.status, first.embeddings.count()) == (Status.PROCESSING, 0)  # its change queues another run
    assert (second.status, second.reason, second.reason_codes, second.duplicate_of_id) == (Status.READY, "", [], None)


def test_the_same_bytes_twice_on_one_product_are_rejected():
    product = make_product("D-5")
    first = stored_image(product, scene_bytes(4))
    process(first)
    copy = stored_image(product, scene_bytes(4))  # stored directly, as a form that bypasses the services would
    assert process(copy) == {copy.pk: Status.REJECTED}
    assert (copy.reason_codes, copy.reason, copy.duplicate_of_id) == (
        ["exact_duplicate"],
        f"the same picture is already image {first.pk} of this product",
        first.pk,
    )


def test_a_re_encoded_smaller_copy_is_a_near_duplicate():
    first = stored_image(make_product("N-1"), scene_bytes(4, size=(480, 600)))
    other = stored_image(make_product("N-3"), scene_bytes(3))
    process(first, other)
    second = flagged(jpeg(scene(4, size=(480, 600)).resize((400, 500)), quality=60), sku="N-2")
    assert (second.reason_codes, second.duplicate_of_id) == (["near_duplicate"], first.pk)
    assert second.reason.startswith(f"near duplicate of image {first.pk} (cosine 0.9")


def variant(picture: Image.Image, seed: int) -> Image.Image:
    """The same scene shifted and re-coloured a little: similar, not a near duplicate."""
    rng = np.random.default_rng(seed)
    dx, dy = (int(v) for v in rng.integers(-30, 30, 2))
    moved = picture.transform(picture.size, Image.Transform.AFFINE, (1, 0, dx, 0, 1, dy), fillcolor=(128, 128, 128))
    return ImageEnhance.Color(moved).enhance(float(rng.uniform(0.5, 1.5)))


def test_a_photo_whose_nearest_neighbours_sit_in_another_category_is_flagged(settings):
    settings.IMAGE_NEAR_DUPLICATE_COSINE = 1.01  # variants of one scene must not count as duplicates here
    settings.IMAGE_NEAR_DUPLICATE_HAMMING = -1
    settings.IMAGE_BLUR_THRESHOLD = 0  # some random scenes are soft; only the category matters here
    settings.IMAGE_MISCATEGORISED_NEIGHBOURS = 1000  # build the catalogue first, then judge newcomers
    shoes = [stored_image(make_product(f"S-{n}", "Shoes"), jpeg(variant(scene(5), n))) for n in range(10)]
    dresses = [stored_image(make_product(f"X-{n}", "Dresses"), scene_bytes(20 + n)) for n in range(10)]
    process(*shoes, *dresses)
    assert {(image.status, *image.reason_codes) for image in shoes + dresses} == {(Status.READY,)}
    settings.IMAGE_MISCATEGORISED_NEIGHBOURS = 10
    shoe_filed_as_dress = stored_image(make_product("X-99", "Dresses"), jpeg(variant(scene(5), 99)))
    shoe_filed_as_shoe = stored_image(make_product("S-99", "Shoes"), jpeg(variant(scene(5), 98)))
    process(shoe_filed_as_dress, shoe_filed_as_shoe)
    assert shoe_filed_as_dress.reason_codes == ["miscategorised"]
    assert shoe_filed_as_dress.reason == "likely miscategorised: 10 of 10 nearest images are in Shoes"
    assert (shoe_filed_as_shoe.status, shoe_filed_as_shoe.reason_codes) == (Status.READY, [])
    # The first image of a new category resembles only older categories: not judged yet.
    first_bag = stored_image(make_product("B-1", "Bags"), jpeg(variant(scene(5), 97)))
    process(first_bag)
    assert (first_bag.status, first_bag.reason_codes) == (Status.READY, [])


def test_one_broken_image_does_not_stop_the_batch(monkeypatch):
    good, bad, also_good = (stored_image(make_product(f"B-{n}"), scene_bytes(n)) for n in (1, 2, 3))
    real = pipeline.measure_quality

    def crash_on_the_second(picture):
        if bad.pk == current[0]:
            raise RuntimeError("simulated bug")
        return real(picture)

    current = [None]
    real_process = pipeline.product_image_process

    def tracking(image_id, **kwargs):
        current[0] = image_id
        return real_process(image_id, **kwargs)

    monkeypatch.setattr(pipeline, "measure_quality", crash_on_the_second)
    monkeypatch.setattr(pipeline, "product_image_process", tracking)
    assert process(good, bad, also_good) == {good.pk: Status.READY, bad.pk: Status.FAILED, also_good.pk: Status.READY}
    assert (bad.status, bad.reason_codes, bad.reason, bad.attempts) == (
        Status.FAILED,
        ["error"],
        "processing error: RuntimeError: simulated bug",
        1,
    )


def test_processing_twice_changes_nothing_and_writes_no_second_copy(settings):
    settings.IMAGE_BLUR_THRESHOLD = 0  # a large random scene is soft at thumbnail scale
    image = stored_image(make_product("I-1"), scene_bytes(1, size=(1300, 1500)))
    process(image)
    first = (image.status, image.thumbnail.name, image.display.name, image.processed_at)
    assert process(image) == {image.pk: None}  # settled: a duplicate message is a no-op
    catalog_services.product_images_reprocess([image.pk], enqueue=False)
    assert process(image) == {image.pk: Status.READY}
    assert (image.status, image.thumbnail.name, image.display.name) == first[:3]
    assert image.display.name == f"derived/{image.sha256[:2]}/{image.sha256}-display.jpg"
    folder = image.file.storage.path(f"derived/{image.sha256[:2]}")
    import os

    assert sorted(os.listdir(folder)) == [f"{image.sha256}-display.jpg", f"{image.sha256}-thumbnail.jpg"]
    assert image.embeddings.count() == 1 and image.attempts == 1


def test_a_deleted_image_is_skipped():
    image = stored_image(make_product("G-1"), scene_bytes(1))
    image_id = image.pk
    image.delete()
    assert pipeline.product_images_process([image_id]) == {image_id: None}


def test_a_phone_heic_and_a_rotated_jpeg_arrive_upright_through_the_import_checks(settings):
    import io

    settings.IMAGE_BLUR_THRESHOLD = 0  # only the decoding is under test

    product = make_product("H-1")
    heic = io.BytesIO()
    scene(6, size=(400, 300)).save(heic, "HEIF", quality=90)
    heic_image, created = catalog_services.product_image_add(product=product, content=heic.getvalue())
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    rotated = jpeg(scene(7, size=(400, 300)), exif=exif.tobytes())
    rotated_image, _ = catalog_services.product_image_add(product=product, content=rotated)
    assert created and heic_image.file.name.endswith(".heic")
    process(heic_image, rotated_image)
    assert (heic_image.status, heic_image.format, heic_image.width, heic_image.height) == (
        Status.READY,
        "HEIF",
        400,
        300,
    )
    assert heic_image.display.name.endswith("-display.jpg")  # browsers cannot show HEIC
    assert (rotated_image.status, rotated_image.width, rotated_image.height) == (Status.READY, 300, 400)
    with rotated_image.display.open() as handle:
        assert Image.open(handle).size == (300, 400)  # upright, not the stored sideways JPEG


@pytest.mark.parametrize(("hash_min_cosine", "expected"), [(0.9, ["near_duplicate"]), (1.01, [])])
def test_a_close_perceptual_hash_counts_only_with_visual_similarity(settings, hash_min_cosine, expected):
    settings.IMAGE_NEAR_DUPLICATE_COSINE = 1.01  # the cosine rule alone never fires here
    settings.IMAGE_NEAR_DUPLICATE_HASH_MIN_COSINE = hash_min_cosine
    first = stored_image(make_product("Q-1"), scene_bytes(4, size=(480, 600)))
    process(first)
    second = stored_image(make_product("Q-2"), jpeg(scene(4, size=(480, 600)).resize((400, 500)), quality=60))
    process(second)
    assert second.reason_codes == expected
    assert hamming_distance(first.phash, second.phash) <= 4


@pytest.mark.django_db(transaction=True)
def test_a_batch_of_images_queues_one_search_refresh_for_its_products(monkeypatch, settings, broker_back_off_reset):
    # Committed for real (each image settles in its own transaction, as in a worker): the
    # refreshes of one batch are sent together, not one message per settled image.
    sent = []
    monkeypatch.setattr("visualshop.celery.app.send_task", lambda name, args: sent.append((name, args)))
    first, second = make_product("M-1"), make_product("M-2")
    images = [
        stored_image(first, scene_bytes(1), "a.jpg"),
        stored_image(first, scene_bytes(2), "b.jpg"),
        stored_image(second, scene_bytes(3), "c.jpg"),
    ]
    sent.clear()
    outcomes = pipeline.product_images_process([image.pk for image in images])
    assert set(outcomes.values()) <= {Status.READY, Status.FLAGGED}
    assert sent == [(settings.SEARCH_REFRESH_TASK, [[first.pk, second.pk]])]


def reprocess(image: ProductImage) -> dict:
    catalog_services.product_images_reprocess([image.pk], enqueue=False)
    return process(image)


def test_dismissed_flags_stay_dismissed_for_the_same_picture_until_a_new_flag_comes_up(settings, admin_user):
    settings.IMAGE_BLUR_THRESHOLD = 0
    image = flagged(dark_picture())
    saw = image.reason
    assert catalog_services.image_flags_dismiss([image.pk], by=admin_user) == 1
    image.refresh_from_db()
    assert (image.status, image.reason_codes, image.reason) == (Status.READY, [], f"flags dismissed by staff: {saw}")
    assert (image.flag_review, image.flag_reviewed_codes, image.flag_reviewed_by) == (
        "dismissed",
        ["too_dark"],
        admin_user,
    )
    assert image.flag_reviewed_sha256 == image.sha256 and image.flag_reviewed_at is not None
    assert reprocess(image) == {image.pk: Status.READY}
    assert (image.status, image.reason_codes, image.reason) == (Status.READY, [], f"flags dismissed by staff: {saw}")
    # A flag staff did not see (the blur threshold raised) is flagged again, the old one with it.
    settings.IMAGE_BLUR_THRESHOLD = 10**9
    assert reprocess(image) == {image.pk: Status.FLAGGED}
    assert image.reason_codes == ["blurred", "too_dark"]


def test_a_dismissal_does_not_carry_over_to_other_bytes(settings, admin_user):
    settings.IMAGE_BLUR_THRESHOLD = 0
    image = flagged(dark_picture())
    catalog_services.image_flags_dismiss([image.pk], by=admin_user)
    ProductImage.objects.filter(pk=image.pk).update(flag_reviewed_sha256="0" * 64)  # reviewed another file
    assert reprocess(image) == {image.pk: Status.FLAGGED}
    assert image.reason_codes == ["too_dark"]


def test_accepted_flags_take_the_picture_out_of_the_shop_now_and_on_every_reprocessing(settings, admin_user):
    settings.IMAGE_BLUR_THRESHOLD = 0
    image = flagged(dark_picture())
    saw = image.reason
    assert catalog_services.image_flags_accept([image.pk], by=admin_user) == 1
    image.refresh_from_db()
    assert (image.status, image.flag_review, image.flag_reviewed_codes) == (Status.PENDING, "accepted", ["too_dark"])
    for _ in range(2):
        assert process(image) == {image.pk: Status.REJECTED}
        assert (image.status, image.reason_codes, image.reason) == (
            Status.REJECTED,
            ["too_dark"],
            f"rejected by staff: {saw}",
        )
        assert (image.thumbnail.name, image.display.name) == ("", "")
        assert not ImageEmbedding.objects.filter(image=image).exists()
        catalog_services.product_images_reprocess([image.pk], enqueue=False)


def test_only_flagged_pictures_are_reviewed(admin_user):
    image = stored_image(make_product("R-1"), scene_bytes(0, size=(480, 600)))
    assert process(image) == {image.pk: Status.READY}
    assert catalog_services.image_flags_dismiss([image.pk], by=admin_user) == 0
    assert catalog_services.image_flags_accept([image.pk], by=admin_user) == 0
    image.refresh_from_db()
    assert (image.status, image.flag_review, image.flag_reviewed_by) == (Status.READY, "", None)
