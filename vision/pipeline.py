"""The image pipeline: every new or changed ProductImage is decoded, checked, given
derivatives and embedded, then settled as READY, FLAGGED or REJECTED in one transaction.

Retry-safe by construction: an image is claimed by a status update, every file
written is named by the source bytes' checksum (a second run finds it already
there), and the row, its reasons and its vectors are written together at the end.
A worker killed anywhere before that commit leaves the image PROCESSING with
nothing half-written; the sweep (catalog.services.images_sweep_stale) queues it again.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone

from catalog import services as catalog_services
from catalog.image_files import DERIVATIVE_SIZES
from catalog.models import Category, ProductImage
from vision import knn, metrics, services
from vision import selectors as vision_selectors
from vision.colours import dominant_colours
from vision.decoding import ImageRejected, decode_image, encode_jpeg, make_derivatives
from vision.embedders import embed_picture
from vision.models import EmbeddingModel, ImageEmbedding
from vision.onnx_model.preprocess import RESIZE, resize_short_side
from vision.quality import QualityMeasures, hamming_distance, measure_quality
from visualshop.broker import sending

logger = logging.getLogger(__name__)

Status = ProductImage.Status
Reason = ProductImage.Reason
# A database that is restarting: the whole batch is retried by the task, the rest is per image.
TRANSIENT_ERRORS = (OperationalError, InterfaceError)
CLAIMABLE = (Status.PENDING, Status.PROCESSING, Status.FAILED)
# Neighbours fetched for the duplicate and category checks (the category check uses
# the first IMAGE_MISCATEGORISED_NEIGHBOURS of them that belong to other products).
CANDIDATES = 30


@dataclass
class Verdict:
    status: str = Status.READY
    codes: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    duplicate_of: int | None = None

    def flag(self, code: str, message: str, *, duplicate_of: int | None = None) -> None:
        self.status = Status.FLAGGED
        self.codes.append(code)
        self.messages.append(message)
        if duplicate_of is not None and self.duplicate_of is None:
            self.duplicate_of = duplicate_of

    def exact_duplicate_of(self, image_id: int) -> None:
        """An exact copy is not also a near duplicate: that flag (of the same picture) gives way."""
        if Reason.EXACT_DUPLICATE in self.codes:
            return
        kept = [(c, m) for c, m in zip(self.codes, self.messages) if c != Reason.NEAR_DUPLICATE]
        self.codes, self.messages = [c for c, _ in kept], [m for _, m in kept]
        self.duplicate_of = None
        self.flag(Reason.EXACT_DUPLICATE, f"exact duplicate of image {image_id}", duplicate_of=image_id)

    def dismissed_by_staff(self) -> None:
        """Staff found these flags wrong for this picture: ready, the flags kept only in words."""
        self.status, self.codes, self.duplicate_of = Status.READY, [], None
        self.messages = [catalog_services.FLAGS_DISMISSED_PREFIX + "; ".join(self.messages)]

    @property
    def reason(self) -> str:
        return "; ".join(self.messages)[:255]


def _staff_review(image: ProductImage, sha256: str, verdict: Verdict) -> str | None:
    """Staff's review of this picture's flags when it still applies: to these very bytes, and
    every flag raised now was among those staff saw. None otherwise: a new flag, or a new file,
    is for staff to look at again."""
    if verdict.status != Status.FLAGGED or not image.flag_review or image.flag_reviewed_sha256 != sha256:
        return None
    if not set(verdict.codes) <= set(image.flag_reviewed_codes):
        return None
    return image.flag_review


@contextmanager
def _stage(name: str):
    started = time.perf_counter()
    try:
        yield
    finally:
        metrics.STAGE_SECONDS.labels(name).observe(time.perf_counter() - started)


def product_images_process(image_ids: list[int]) -> dict[int, str | None]:
    """Process each image on its own: one broken image never stops the others.
    Returns the status each ended in (None: deleted, replaced or settled meanwhile).

    Each settled image marks its product search-dirty as it commits; the refreshes are sent
    once for the batch (messages of SEARCH_REFRESH_BATCH product ids, a product once),
    not one message per image."""
    models = vision_selectors.embedding_models_live() or [services.embedding_model_ensure_active()]
    outcomes = {}
    with sending.messages_batched():
        for image_id in image_ids:
            try:
                outcomes[image_id] = product_image_process(image_id, models=models)
            except TRANSIENT_ERRORS:
                raise  # what already committed is still sent when the block ends
            except Exception as exc:  # a bug or an unforeseen file: record it, go on with the batch
                logger.exception("image processing failed image_id=%s", image_id)
                outcomes[image_id] = _fail(image_id, exc)
    return outcomes


def product_image_process(image_id: int, *, models: list[EmbeddingModel]) -> str | None:
    claimed = ProductImage.objects.filter(pk=image_id, status__in=CLAIMABLE).update(
        status=Status.PROCESSING, attempts=F("attempts") + 1, updated_at=timezone.now()
    )
    if not claimed:
        return None
    image = ProductImage.objects.select_related("product").get(pk=image_id)
    with _stage("read"):
        try:
            with image.file.open("rb") as handle:
                content = handle.read()
        except FileNotFoundError:
            return _reject(image, Reason.MISSING_FILE, "file is missing from storage")
    sha256 = hashlib.sha256(content).hexdigest()
    same_bytes = list(  # one query for both duplicate checks
        ProductImage.objects.filter(sha256=sha256)
        .exclude(pk=image.pk)
        .order_by("pk")
        .values_list("pk", "product_id", "status")
    )
    twin = next((pk for pk, product_id, _ in same_bytes if product_id == image.product_id), None)
    if twin is not None:  # one picture twice on a product is a duplicate upload, not a second view
        return _reject(
            image,
            Reason.EXACT_DUPLICATE,
            f"the same picture is already image {twin} of this product",
            duplicate_of=twin,
        )
    # Only an earlier image (lower id) makes this one a copy: of two uploads of the same bytes
    # the first stays ready whichever is processed first (and _store re-checks under a lock).
    elsewhere = next((pk for pk, _, status in same_bytes if pk < image.pk and status != Status.REJECTED), None)
    byte_identical = {pk for pk, _, _ in same_bytes}
    with _stage("decode"):
        try:
            decoded = decode_image(
                content, max_pixels=settings.IMAGE_MAX_PIXELS, min_side=max(DERIVATIVE_SIZES.values())
            )
        except ImageRejected as exc:
            return _reject(image, exc.code, str(exc))
    picture = decoded.image
    width, height = decoded.upright_size
    if min(width, height) < settings.IMAGE_MIN_SIDE:
        return _reject(
            image, Reason.TOO_SMALL, f"{width}x{height} is too small (short side under {settings.IMAGE_MIN_SIDE} px)"
        )
    with _stage("quality"):
        # One resize serves three stages: the model's own (short side 256, bicubic) is also
        # the scale the quality measures use and the source of the 320 px thumbnail.
        working = resize_short_side(picture)
        quality = measure_quality(working if min(picture.size) >= RESIZE else picture)
        colours = dominant_colours(working)  # ~1-2 ms on the 256 px copy (vision.colours)
    with _stage("derivatives"):
        derivative_names = _store_derivatives(image, decoded, sha256, working)
    with _stage("embed"):
        vectors = {model.pk: embed_picture(model, working) for model in models}
    with _stage("checks"):
        verdict = _judge(image, elsewhere, quality, models[0], vectors[models[0].pk], byte_identical=byte_identical)
    review = _staff_review(image, sha256, verdict)
    if review == ProductImage.FlagReview.ACCEPTED:
        return _reject(
            image, verdict.codes[0], f"rejected by staff: {verdict.reason}", duplicate_of=verdict.duplicate_of
        )
    if review == ProductImage.FlagReview.DISMISSED:
        verdict.dismissed_by_staff()
    with _stage("store"):
        stored = _store(
            image,
            verdict,
            vectors,
            fields={
                "sha256": sha256,
                "width": width,
                "height": height,
                "format": decoded.format,
                "blur": quality.blur,
                "brightness": quality.brightness,
                "phash": quality.phash,
                "colours": colours,
                **derivative_names,
            },
        )
    if not stored:
        return None
    metrics.IMAGES_PROCESSED.labels(verdict.status).inc()
    for code in verdict.codes:
        metrics.IMAGES_FLAGGED.labels(code).inc()
    return verdict.status


def _store_derivatives(image: ProductImage, decoded, sha256: str, working) -> dict[str, str]:
    """Derivative files named by the source checksum: a retry or a duplicate finds them written.
    Every derivative is re-encoded from the decoded pixels, even for an upload already display-
    sized: derived/ is what shoppers may download (originals are for staff, visualshop.media),
    and a re-encoded JPEG carries no appended bytes or metadata of the upload."""
    storage = image.file.storage
    sizes = dict(DERIVATIVE_SIZES)
    wanted = {kind: f"derived/{sha256[:2]}/{sha256}-{kind}.jpg" for kind in sizes}
    missing = {kind: name for kind, name in wanted.items() if not storage.exists(name)}
    for kind, name in missing.items():
        if kind == "thumbnail" and min(decoded.image.size) >= RESIZE and max(working.size) <= sizes[kind] * 1.25:
            # The model's copy (short side 256, a 4:5 photo gives 256x320) is a card-sized
            # thumbnail already: encoding it saves a second resize.
            derived = encode_jpeg(working)
        else:
            # The working copy is large enough for the thumbnail and far cheaper to shrink.
            source = working if max(working.size) >= sizes[kind] else decoded.image
            derived = make_derivatives(source, {kind: sizes[kind]})[kind]
        saved = storage.save(name, ContentFile(derived))
        if saved != name:  # another worker wrote it a moment ago: same bytes, keep one
            storage.delete(saved)
    return wanted


def _judge(
    image: ProductImage,
    same_bytes: int | None,
    quality: QualityMeasures,
    model: EmbeddingModel,
    vector: np.ndarray,
    *,
    byte_identical: set[int] = frozenset(),
) -> Verdict:
    verdict = Verdict()
    if quality.blur < settings.IMAGE_BLUR_THRESHOLD:
        verdict.flag(Reason.BLURRED, f"blurred (sharpness {quality.blur:.0f} < {settings.IMAGE_BLUR_THRESHOLD:g})")
    if quality.brightness < settings.IMAGE_DARK_THRESHOLD:
        verdict.flag(Reason.TOO_DARK, f"too dark (brightness {quality.brightness:.0f})")
    elif quality.brightness > settings.IMAGE_BRIGHT_THRESHOLD:
        verdict.flag(Reason.TOO_BRIGHT, f"too bright (brightness {quality.brightness:.0f})")
    if same_bytes is not None:
        verdict.flag(Reason.EXACT_DUPLICATE, f"exact duplicate of image {same_bytes}", duplicate_of=same_bytes)
    neighbours = knn.image_neighbours(model, vector, limit=CANDIDATES, exclude_image_id=image.pk)
    if same_bytes is None:
        # A byte-identical image is judged by the exact rule alone (only the later one is a copy);
        # as a near duplicate the earlier one would be flagged for a later copy processed first.
        near = next((n for n in neighbours if n.image_id not in byte_identical and _near_duplicate(n, quality)), None)
        if near is not None:
            verdict.flag(
                Reason.NEAR_DUPLICATE,
                f"near duplicate of image {near.image_id} (cosine {near.cosine:.3f})",
                duplicate_of=near.image_id,
            )
    _judge_category(verdict, image, model, neighbours)
    return verdict


def _near_duplicate(neighbour: knn.Neighbour, quality: QualityMeasures) -> bool:
    if neighbour.cosine >= settings.IMAGE_NEAR_DUPLICATE_COSINE:
        return True
    return (
        neighbour.phash is not None
        and neighbour.cosine >= settings.IMAGE_NEAR_DUPLICATE_HASH_MIN_COSINE
        and hamming_distance(neighbour.phash, quality.phash) <= settings.IMAGE_NEAR_DUPLICATE_HAMMING
    )


def _judge_category(
    verdict: Verdict, image: ProductImage, model: EmbeddingModel, neighbours: list[knn.Neighbour]
) -> None:
    """Flag when the nearest images of *other* products overwhelmingly share one other category."""
    own = image.product.category_id
    wanted = settings.IMAGE_MISCATEGORISED_NEIGHBOURS
    others = [n for n in neighbours if n.product_id != image.product_id and n.category_id is not None][:wanted]
    if own is None or len(others) < wanted:
        return  # a young catalogue has too few neighbours to judge
    category_id, count = Counter(n.category_id for n in others).most_common(1)[0]
    if category_id == own or count < settings.IMAGE_MISCATEGORISED_SHARE * wanted:
        return
    # A category's first images have only other categories to resemble (an import runs
    # category by category): judge only once the own category has as many images.
    established = len(
        ImageEmbedding.objects.filter(model=model, image__product__category_id=own)
        .exclude(image__product_id=image.product_id)
        .values("pk")[:wanted]
    )
    if established < wanted:
        return
    name = Category.objects.filter(pk=category_id).values_list("name", flat=True).first()
    verdict.flag(Reason.MISCATEGORISED, f"likely miscategorised: {count} of {wanted} nearest images are in {name}")


def _store(image: ProductImage, verdict: Verdict, vectors: dict[int, np.ndarray], *, fields: dict) -> bool:
    """Settle the image and store its vectors together; False if it changed meanwhile."""
    with transaction.atomic():
        _lock_checksum(fields["sha256"])
        _settle_copies(image, fields["sha256"], verdict)
        # The row lock of the UPDATE re-checks the file: if it was deleted or staff replaced
        # the file meanwhile, nothing is written (that change queued its own run).
        updated = ProductImage.objects.filter(pk=image.pk, file=image.file.name).update(
            status=verdict.status,
            reason=verdict.reason,
            reason_codes=verdict.codes,
            duplicate_of_id=verdict.duplicate_of,
            processed_at=timezone.now(),
            updated_at=timezone.now(),
            **fields,
        )
        if not updated:
            # Nor the later copies _settle_copies flagged against bytes this image no longer has.
            transaction.set_rollback(True)
            return False
        services.image_embeddings_upsert(image.pk, vectors)
        # The product's colours, predicted category and similar products now include this
        # image: refreshed once this commits (search.product_refresh).
        catalog_services.products_mark_search_dirty([image.product_id])
    return True


# Namespace of the pipeline's advisory locks (the first key of pg_advisory_xact_lock(int, int)).
CHECKSUM_LOCK_NAMESPACE = 0x5653_0001


def _lock_checksum(sha256: str) -> None:
    """Serialise the settling of images with these bytes (until the transaction ends): the
    second of two byte-identical images settled at the same moment sees the first one's row.
    Checksums sharing the 32-bit key only wait for each other."""
    key = int(sha256[:8], 16) - 2**31
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [CHECKSUM_LOCK_NAMESPACE, key])


def _settle_copies(image: ProductImage, sha256: str, verdict: Verdict) -> None:
    """Under the checksum lock: of images with the same bytes on different products the one
    with the lowest id is the original, every later one an exact duplicate of it.

    Usually the checksum was recorded at upload and the early check decided it already; an
    image stored without one (a form that bypasses the services) is only known by its bytes
    now, so a later copy may have settled first: it is flagged here, and this image is
    flagged if an earlier copy settled meanwhile."""
    copies = list(
        ProductImage.objects.filter(sha256=sha256)
        .exclude(product_id=image.product_id)
        .exclude(status=Status.REJECTED)
        .order_by("pk")
        .values_list("pk", "status", "reason_codes", "reason")
    )
    earlier = next((pk for pk, *_ in copies if pk < image.pk), None)
    if earlier is not None:
        verdict.exact_duplicate_of(earlier)
        return
    for pk, status, codes, reason in copies:
        if status in (Status.READY, Status.FLAGGED) and Reason.EXACT_DUPLICATE not in codes:
            message = f"exact duplicate of image {image.pk}"
            ProductImage.objects.filter(pk=pk).update(
                status=Status.FLAGGED,
                reason_codes=[*codes, Reason.EXACT_DUPLICATE],
                reason="; ".join(filter(None, [reason, message]))[:255],
                duplicate_of_id=image.pk,
                updated_at=timezone.now(),
            )
            metrics.IMAGES_FLAGGED.labels(Reason.EXACT_DUPLICATE).inc()


def _reject(image: ProductImage, code: str, message: str, *, duplicate_of: int | None = None) -> str | None:
    with transaction.atomic():
        updated = ProductImage.objects.filter(pk=image.pk, file=image.file.name).update(
            status=Status.REJECTED,
            reason=message[:255],
            reason_codes=[code],
            duplicate_of=duplicate_of,
            thumbnail="",
            display="",
            colours={},
            processed_at=timezone.now(),
            updated_at=timezone.now(),
        )
        if updated:  # else the file changed meanwhile and its own run owns the vectors
            services.image_embeddings_delete(image.pk)
            # A replaced file that is rejected takes the old picture out of the product's data.
            catalog_services.products_mark_search_dirty([image.product_id])
    if not updated:
        return None
    metrics.IMAGES_PROCESSED.labels(Status.REJECTED).inc()
    metrics.IMAGES_REJECTED.labels(code).inc()
    return Status.REJECTED


def _fail(image_id: int, exc: Exception) -> str | None:
    with transaction.atomic():
        updated = ProductImage.objects.filter(pk=image_id, status=Status.PROCESSING).update(
            status=Status.FAILED,
            reason=f"processing error: {type(exc).__name__}: {exc}"[:255],
            reason_codes=[Reason.ERROR],
            updated_at=timezone.now(),
        )
        if updated:  # a reprocessed image that was searchable no longer is
            product_id = ProductImage.objects.filter(pk=image_id).values_list("product_id", flat=True).first()
            catalog_services.products_mark_search_dirty([product_id] if product_id else [])
    if not updated:
        return None
    metrics.IMAGES_PROCESSED.labels(Status.FAILED).inc()
    return Status.FAILED
