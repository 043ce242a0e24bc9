"""Model versions: a new version is built in the background and search switches atomically."""

import pytest

from catalog.models import ProductImage
from fixtures.factories import make_product, stored_image
from fixtures.images import scene_bytes
from vision import knn, rebuild, services, vector_index
from vision import selectors as vision_selectors
from vision.models import EmbeddingModel, ImageEmbedding
from vision.onnx_model.build import build_model
from vision.pipeline import product_images_process
from visualshop.broker import sending

pytestmark = pytest.mark.django_db


def catalogue(count: int, start: int = 0) -> list[ProductImage]:
    images = [stored_image(make_product(f"V-{n}"), scene_bytes(n), f"v{n}.jpg") for n in range(start, start + count)]
    product_images_process([image.pk for image in images])
    return images


def test_first_processed_image_activates_the_configured_model_with_its_index():
    catalogue(1)
    model = vision_selectors.embedding_model_active()
    assert (model.name, model.variant, model.dimension, model.status) == (
        "efficientnet-lite0",
        "fp32",
        1280,
        EmbeddingModel.Status.ACTIVE,
    )
    assert model.version == model.file_name.removeprefix("efficientnet-lite0-").removesuffix(".onnx")
    assert model.preprocessing["resize_short_side"] == 256 and model.preprocessing["centre_crop"] == 224
    assert vector_index.index_exists(model.pk)


def test_a_new_version_is_built_in_the_background_then_replaces_the_old_one_atomically(
    monkeypatch, django_capture_on_commit_callbacks
):
    images = catalogue(5)
    old = vision_selectors.embedding_model_active()
    query = ImageEmbedding.objects.get(image=images[0], model=old).embedding
    # A second version: the same network with another padding (a different file and checksum).
    new = services.embedding_model_register_file(build_model(padding="symmetric"), variant="fp32")
    sent = []
    monkeypatch.setattr(sending, "send_task", lambda name, *args, countdown=None: sent.append((name, args)))
    with django_capture_on_commit_callbacks(execute=True):
        services.embedding_model_start_rebuild(new)
    assert sent == [("vision.tasks.rebuild_embeddings", (new.pk,))] * 2
    new.refresh_from_db()
    assert new.status == EmbeddingModel.Status.BUILDING
    # While building, new images get both vectors, and search still reads the old version only.
    [late] = catalogue(1, start=5)
    assert set(late.embeddings.values_list("model_id", flat=True)) == {old.pk, new.pk}
    assert vision_selectors.embedding_model_active() == old
    assert len(knn.image_neighbours(old, query, limit=10)) == 6

    monkeypatch.setattr(rebuild, "REBUILD_CHUNK", 2)
    stored = [rebuild.rebuild_step(new.pk) for _ in range(3)]
    assert stored == [2, 2, 1]
    assert vision_selectors.embedding_model_active() == old  # the last step found work, so no switch yet
    assert not vector_index.index_exists(new.pk)  # built once, after the bulk load
    assert rebuild.rebuild_step(new.pk) == 0
    new.refresh_from_db()
    old.refresh_from_db()
    assert (new.status, old.status) == (EmbeddingModel.Status.ACTIVE, EmbeddingModel.Status.RETIRED)
    assert vector_index.index_exists(new.pk) and not vector_index.index_exists(old.pk)
    assert ImageEmbedding.objects.filter(model=old).count() == 0
    assert ImageEmbedding.objects.filter(model=new).count() == 6
    new_query = ImageEmbedding.objects.get(image=images[0], model=new).embedding
    neighbours = knn.image_neighbours(new, new_query, limit=10, exclude_image_id=images[0].pk)
    assert len(neighbours) == 5 and images[0].pk not in {n.image_id for n in neighbours}


def test_a_rebuild_cannot_start_while_another_version_builds():
    catalogue(1)
    first = services.embedding_model_register_file(build_model(padding="symmetric"), variant="fp32")
    services.embedding_model_start_rebuild(first)
    second = EmbeddingModel.objects.create(
        name="efficientnet-lite0",
        version="int8-test",
        variant="int8",
        dimension=1280,
        checksum="c" * 64,
        file_name="missing.onnx",
        status=EmbeddingModel.Status.RETIRED,
    )
    with pytest.raises(services.CannotBuildModel, match="is already being built"):
        services.embedding_model_start_rebuild(second)


@pytest.mark.slow
def test_the_sweep_switches_to_the_configured_int8_variant_calibrated_on_the_catalogue(settings, monkeypatch):
    images = catalogue(services.MIN_CALIBRATION_IMAGES)
    fp32 = vision_selectors.embedding_model_active()
    sent = []
    monkeypatch.setattr(sending, "send_task", lambda name, *args, countdown=None: sent.append((name, args)))
    assert services.embedding_models_sweep() == "nothing to do"
    settings.EMBEDDING_MODEL_VARIANT = "int8"
    settings.EMBEDDING_CALIBRATION_IMAGES = services.MIN_CALIBRATION_IMAGES
    outcome = services.embedding_models_sweep()
    int8 = EmbeddingModel.objects.get(variant="int8")
    assert outcome == f"started the rebuild of {int8.version}"
    assert int8.file_name.startswith("efficientnet-lite0-int8-") and int8.status == EmbeddingModel.Status.BUILDING
    # Its chains were lost: the next sweep resumes them; once every image has a vector it promotes.
    sent.clear()
    assert services.embedding_models_sweep() == f"resumed the rebuild of {int8.version}"
    assert sent == [("vision.tasks.rebuild_embeddings", (int8.pk,))] * 2
    while rebuild.rebuild_step(int8.pk):
        pass
    assert vision_selectors.embedding_model_active() == int8
    assert services.embedding_models_sweep() == "nothing to do"
    fp32.refresh_from_db()
    assert fp32.status == EmbeddingModel.Status.RETIRED
    # The int8 vectors find the same nearest image as fp32 did for a query image.
    query = ImageEmbedding.objects.get(image=images[3], model=int8).embedding
    assert knn.image_neighbours(int8, query, limit=1)[0].image_id == images[3].pk


def test_promoting_a_model_marks_every_active_product_for_a_refresh():
    from catalog.models import Product

    def model(version, status):
        return EmbeddingModel.objects.create(
            name="test",
            version=version,
            variant="fp32",
            dimension=8,
            checksum=version * 64,
            file_name="none.onnx",
            status=status,
        )

    old, new = model("a", EmbeddingModel.Status.ACTIVE), model("b", EmbeddingModel.Status.BUILDING)
    active, inactive = make_product("P-1"), make_product("P-2")
    Product.objects.filter(pk=inactive.pk).update(is_active=False)
    Product.objects.update(search_dirty=False)
    assert services.embedding_model_promote(new)
    # Its similar products and predicted category came from the retired model's vectors.
    assert list(Product.objects.filter(search_dirty=True).values_list("pk", flat=True)) == [active.pk]
    old.refresh_from_db()
    assert old.status == EmbeddingModel.Status.RETIRED
