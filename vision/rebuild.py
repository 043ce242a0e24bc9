"""Re-embedding the catalogue for a model version being built, in the background.

`services.embedding_model_start_rebuild` sends REBUILD_CHAINS chains of `rebuild_embeddings`
tasks. Each step locks a chunk of images that lack the version's vector
(SKIP LOCKED, so the chains split the work and use every worker), embeds them,
bulk-inserts the vectors with COPY and sends the next step. When nothing is left
the version is promoted: its index is built once, after the load, and search
switches to it in one transaction. Until then the active version keeps serving.
"""

from __future__ import annotations

import logging

from django.db import transaction

from catalog import services as catalog_services
from catalog.image_files import DERIVATIVE_SIZES
from catalog.models import ProductImage
from vision import services
from vision.decoding import ImageRejected, decode_image
from vision.embedders import embed_picture
from vision.models import EmbeddingModel
from visualshop.broker import sending

logger = logging.getLogger(__name__)

REBUILD_CHUNK = 64


def rebuild_step(model_id: int) -> int:
    """Embed one chunk; send the next step, or promote when the catalogue is done. Returns vectors stored."""
    model = EmbeddingModel.objects.filter(pk=model_id, status=EmbeddingModel.Status.BUILDING).first()
    if model is None:
        return 0  # promoted or abandoned meanwhile
    with transaction.atomic():
        images = list(
            ProductImage.objects.select_for_update(skip_locked=True)
            .filter(status__in=ProductImage.SEARCHABLE_STATUSES)
            .exclude(embeddings__model=model)
            .order_by("pk")[:REBUILD_CHUNK]
        )
        rows, unreadable = [], []
        for image in images:
            picture = _decode(image)
            if picture is None:
                unreadable.append(image.pk)
            else:
                rows.append((image.pk, embed_picture(model, picture)))
        stored = services.image_embeddings_bulk_insert(model.pk, rows)
        if unreadable:  # the pipeline settles them again (and embeds them with every live version)
            catalog_services.product_images_reprocess(unreadable)
    if images:
        sending.send_task(services.REBUILD_TASK, model.pk)
    elif not services.embedding_model_promote(model) and services.image_ids_missing_vectors(model, limit=1):
        # Images locked by the other chain: look again shortly.
        sending.send_task(services.REBUILD_TASK, model.pk, countdown=2)
    return stored


def _decode(image: ProductImage):
    try:
        with image.file.open("rb") as handle:
            return decode_image(handle.read(), min_side=max(DERIVATIVE_SIZES.values())).image
    except (OSError, ImageRejected) as exc:
        logger.warning("rebuild: image %s unreadable (%s); sending it back through the pipeline", image.pk, exc)
        return None
