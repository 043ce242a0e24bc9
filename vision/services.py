"""Writes for search: model versions and the vectors they produce."""

from __future__ import annotations

import logging

import numpy as np
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from pgvector import HalfVector
from pgvector.psycopg import register_vector
from PIL import Image

from catalog.models import Product, ProductImage
from vision import selectors as vision_selectors
from vision import vector_index
from vision.decoding import ImageRejected, decode_image
from vision.models import EmbeddingModel, ImageEmbedding
from vision.onnx_model.build import MODEL_NAME, build_model, file_sha256
from vision.onnx_model.graph import EMBEDDING_DIM
from vision.onnx_model.preprocess import CROP, MEAN, RESIZE, STD
from vision.onnx_model.quantize import quantize_model
from visualshop.broker import sending

logger = logging.getLogger(__name__)

PREPROCESSING = {
    "orientation": "exif",
    "colour": "rgb, alpha on white",
    "resize_short_side": RESIZE,
    "interpolation": "bicubic",
    "centre_crop": CROP,
    "normalise": f"(x - {MEAN:g}) / {STD:g}",
    "layout": "NCHW float32",
    "features": "global average pool, L2-normalised",
}
REBUILD_TASK = "vision.tasks.rebuild_embeddings"  # sent by name: vision.tasks imports this module
# Parallel chains of rebuild steps (vision.rebuild): one per worker process on 2 cores.
REBUILD_CHAINS = 2
# Calibrating int8 on fewer images than this gives poor activation ranges.
MIN_CALIBRATION_IMAGES = 32


class CannotBuildModel(ValueError):
    pass


def _calibration_images(limit: int) -> list[Image.Image]:
    """Catalogue images decoded as the pipeline decodes them (oldest first: stable across runs)."""
    images = []
    names = (
        ProductImage.objects.filter(status__in=ProductImage.SEARCHABLE_STATUSES)
        .order_by("pk")
        .values_list("file", flat=True)[: limit * 2]
    )
    storage = ProductImage._meta.get_field("file").storage
    for name in names:
        try:
            with storage.open(name, "rb") as handle:
                images.append(decode_image(handle.read(), min_side=RESIZE).image)
        except (OSError, ImageRejected):
            continue
        if len(images) == limit:
            break
    return images


def _model_file(variant: str):
    fp32 = build_model()
    if variant == "fp32":
        return fp32
    if variant != "int8":
        raise CannotBuildModel(f"unknown model variant {variant!r} (use fp32 or int8)")
    images = _calibration_images(settings.EMBEDDING_CALIBRATION_IMAGES)
    if len(images) < MIN_CALIBRATION_IMAGES:
        raise CannotBuildModel(
            f"int8 needs at least {MIN_CALIBRATION_IMAGES} processed catalogue images to calibrate on; "
            f"there are {len(images)}"
        )
    return quantize_model(fp32, images)


def embedding_model_register(variant: str) -> EmbeddingModel:
    """Build (or find) the model file for `variant` and its row (a new row is parked as RETIRED)."""
    return embedding_model_register_file(_model_file(variant), variant=variant)


def embedding_model_register_file(path, *, variant: str) -> EmbeddingModel:
    """The row for a model file under var/models (created RETIRED, i.e. parked, if new)."""
    checksum = file_sha256(path)
    existing = EmbeddingModel.objects.filter(checksum=checksum).first()
    if existing is not None:
        return existing
    try:
        return EmbeddingModel.objects.create(
            name=MODEL_NAME,
            version=path.stem.removeprefix(f"{MODEL_NAME}-"),
            variant=variant,
            dimension=EMBEDDING_DIM,
            checksum=checksum,
            file_name=path.name,
            preprocessing=PREPROCESSING,
            status=EmbeddingModel.Status.RETIRED,  # parked until activated or rebuilt
        )
    except IntegrityError:
        return EmbeddingModel.objects.get(checksum=checksum)


def embedding_model_ensure_active() -> EmbeddingModel:
    """The active version; on a fresh install, the configured one becomes active at once
    (there is nothing to serve yet, so nothing to rebuild in the background)."""
    active = vision_selectors.embedding_model_active()
    if active is not None:
        return active
    variant = settings.EMBEDDING_MODEL_VARIANT
    try:
        model = embedding_model_register(variant)
    except CannotBuildModel as exc:
        logger.warning("embedding model %s not available yet (%s); starting with fp32", variant, exc)
        model = embedding_model_register("fp32")
    with transaction.atomic():
        locked = EmbeddingModel.objects.select_for_update().get(pk=model.pk)
        if EmbeddingModel.objects.filter(status=EmbeddingModel.Status.ACTIVE).exists():
            return EmbeddingModel.objects.get(status=EmbeddingModel.Status.ACTIVE)
        locked.status, locked.activated_at = EmbeddingModel.Status.ACTIVE, timezone.now()
        try:
            with transaction.atomic():
                locked.save(update_fields=["status", "activated_at"])
        except IntegrityError:  # another process activated one first
            return EmbeddingModel.objects.get(status=EmbeddingModel.Status.ACTIVE)
        vector_index.create_index(locked.pk, locked.dimension)
    return locked


def embedding_model_start_rebuild(model: EmbeddingModel) -> EmbeddingModel:
    """Make `model` the version being built: new images get its vectors from now on, and
    the existing catalogue is embedded in the background (search.tasks). The active
    version keeps serving until `embedding_model_promote`."""
    with transaction.atomic():
        model = EmbeddingModel.objects.select_for_update().get(pk=model.pk)  # the caller's copy may be stale
        if model.status == EmbeddingModel.Status.ACTIVE:
            return model
        building = EmbeddingModel.objects.select_for_update().filter(status=EmbeddingModel.Status.BUILDING).first()
        if building is not None and building.pk != model.pk:
            raise CannotBuildModel(f"{building.name} {building.version} is already being built")
        try:
            with transaction.atomic():
                EmbeddingModel.objects.filter(pk=model.pk).update(status=EmbeddingModel.Status.BUILDING)
        except IntegrityError:  # another version started building a moment ago
            raise CannotBuildModel("another model version is already being built") from None
        model.status = EmbeddingModel.Status.BUILDING
        transaction.on_commit(lambda: _send_rebuild_chains(model))
    return model


def _send_rebuild_chains(model: EmbeddingModel) -> None:
    for _ in range(REBUILD_CHAINS):
        sending.send_task(REBUILD_TASK, model.pk)


def image_ids_missing_vectors(model: EmbeddingModel, limit: int | None = None) -> list[int]:
    query = (
        ProductImage.objects.filter(status__in=ProductImage.SEARCHABLE_STATUSES)
        .exclude(embeddings__model=model)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return list(query[:limit] if limit else query)


def embedding_model_promote(model: EmbeddingModel) -> bool:
    """Switch search to `model` if every searchable image has its vector. The index is built
    first, then one transaction retires the old version and activates this one: every
    search sees either the old version complete or the new one complete."""
    if model.status != EmbeddingModel.Status.BUILDING or image_ids_missing_vectors(model, limit=1):
        return False
    vector_index.create_index(model.pk, model.dimension)
    with transaction.atomic():
        locked = EmbeddingModel.objects.select_for_update().get(pk=model.pk)
        if locked.status != EmbeddingModel.Status.BUILDING:
            return False
        old = list(EmbeddingModel.objects.select_for_update().filter(status=EmbeddingModel.Status.ACTIVE))
        EmbeddingModel.objects.filter(pk__in=[m.pk for m in old]).update(status=EmbeddingModel.Status.RETIRED)
        locked.status, locked.activated_at = EmbeddingModel.Status.ACTIVE, timezone.now()
        locked.save(update_fields=["status", "activated_at"])
        # Similar products and predicted categories were computed from the retired model's
        # vectors: every active product is refreshed under the new one. One UPDATE; the
        # periodic sweep (search.product_refresh.products_sweep_dirty) works through them.
        Product.objects.filter(is_active=True, search_dirty=False).update(search_dirty=True)
    for retired in old:  # nothing reads them any more
        vector_index.drop_index(retired.pk)
        ImageEmbedding.objects.filter(model=retired).delete()
    logger.info("embedding model %s %s is now active", model.name, model.version)
    return True


def image_embeddings_upsert(image_id: int, vectors: dict[int, np.ndarray]) -> None:
    """Store one image's vector per model id, replacing an older one (retry-safe)."""
    with connection.cursor() as cursor:
        for model_id, vector in vectors.items():
            cursor.execute(
                """
                INSERT INTO search_imageembedding (image_id, model_id, embedding, created_at)
                VALUES (%s, %s, %s::halfvec, now())
                ON CONFLICT (model_id, image_id) DO UPDATE SET embedding = EXCLUDED.embedding,
                    created_at = EXCLUDED.created_at
                """,
                [image_id, model_id, vector_index.halfvec_literal(vector)],
            )


def image_embeddings_bulk_insert(model_id: int, rows: list[tuple[int, np.ndarray]]) -> int:
    """Bulk path (rebuilds): COPY into a temporary table in binary, then one INSERT that
    skips images the live pipeline embedded meanwhile. Returns rows inserted."""
    if not rows:
        return 0
    with transaction.atomic():
        raw = connection.connection  # psycopg 3 connection under Django's wrapper
        register_vector(raw)
        with raw.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS incoming_embedding")  # a caller's outer transaction may hold one
            cursor.execute("CREATE TEMP TABLE incoming_embedding (image_id bigint, embedding halfvec) ON COMMIT DROP")
            with cursor.copy("COPY incoming_embedding (image_id, embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
                copy.set_types(["int8", "halfvec"])
                for image_id, vector in rows:
                    copy.write_row((image_id, HalfVector(np.asarray(vector, dtype=np.float16))))
            cursor.execute(
                """
                INSERT INTO search_imageembedding (image_id, model_id, embedding, created_at)
                SELECT n.image_id, %s, n.embedding, now() FROM incoming_embedding n
                JOIN catalog_productimage i ON i.id = n.image_id
                ON CONFLICT (model_id, image_id) DO NOTHING
                """,
                [model_id],
            )
            return cursor.rowcount


def image_embeddings_delete(image_id: int) -> None:
    ImageEmbedding.objects.filter(image_id=image_id).delete()


def embedding_models_sweep() -> str:
    """Periodic: keep model versions moving. A rebuild whose task chain was lost (worker
    killed, broker flushed) is resumed; a configured variant that differs from the active
    one starts its rebuild. Returns what it did, for the log."""
    building = EmbeddingModel.objects.filter(status=EmbeddingModel.Status.BUILDING).first()
    if building is not None:
        if embedding_model_promote(building):
            return f"promoted {building.version}"
        _send_rebuild_chains(building)
        return f"resumed the rebuild of {building.version}"
    active = vision_selectors.embedding_model_active()
    wanted = settings.EMBEDDING_MODEL_VARIANT
    if active is None or active.variant == wanted:
        return "nothing to do"
    try:
        model = embedding_model_start_rebuild(embedding_model_register(wanted))
    except CannotBuildModel as exc:
        return f"{wanted} wanted but not buildable yet: {exc}"
    return f"started the rebuild of {model.version}"
