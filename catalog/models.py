import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.urls import reverse


class Category(models.Model):
    """A node of the category tree ("Apparel > Dresses" is Dresses under Apparel)."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140, unique=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="category_unique_name_per_parent"),
            models.UniqueConstraint(
                fields=["name"], condition=models.Q(parent__isnull=True), name="category_unique_root_name"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("storefront:category", kwargs={"slug": self.slug})


class Brand(models.Model):
    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=140, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    sku = models.CharField("SKU", max_length=64, unique=True)
    title = models.CharField(max_length=255)
    slug = models.SlugField(max_length=255, blank=True)
    description = models.TextField(blank=True)
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.PROTECT, related_name="products")
    brand = models.ForeignKey(Brand, null=True, blank=True, on_delete=models.SET_NULL, related_name="products")
    price = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default="EUR")
    stock = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField("active", default=True)
    # Free-form text attributes: colour, material, size, pattern, ...
    attributes = models.JSONField(default=dict, blank=True)
    # Derived by search from the product's images (search.attributes): dominant colour names,
    # most dominant first, and the category its nearest catalogue neighbours suggest.
    colours = ArrayField(models.CharField(max_length=20), default=list, blank=True)
    predicted_category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Weighted full-text document (title > brand, category, colours > description), written by
    # search.text; NULL until first written.
    search_document = SearchVectorField(null=True, editable=False)
    # Set by every write that changes what search derives from a product (its text, its images);
    # cleared when the derived data (document, colours, predicted category, similar products)
    # is refreshed. A periodic task sweeps what the on-commit refresh missed.
    search_dirty = models.BooleanField(default=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title", "id"]
        indexes = [
            models.Index(fields=["category", "is_active"], name="product_category_active"),
            GinIndex(fields=["search_document"], name="product_search_document"),
            GinIndex(fields=["colours"], name="product_colours"),
            models.Index(fields=["id"], condition=models.Q(search_dirty=True), name="product_search_dirty"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(price__gte=0), name="product_price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.sku})"

    def get_absolute_url(self) -> str:
        return reverse("storefront:product", kwargs={"pk": self.pk, "slug": self.slug or "item"})

    @property
    def in_stock(self) -> bool:
        return self.stock > 0


class ProductVariant(models.Model):
    """One size of a product, with its own SKU and stock. A product with variants is bought by
    size, and its `stock` is the sum of its sizes' (kept so by catalog.services, in the same
    transaction as every write to a size's stock), so listings and search read one column."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    # The feed's `id` of the size's row (the product's SKU is the row's `item_group_id`).
    sku = models.CharField("SKU", max_length=64, unique=True)
    size = models.CharField(max_length=32)
    stock = models.PositiveIntegerField(default=0)
    # The order the size picker lists them in: smallest first, as the feed or staff give them.
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["product_id", "position", "id"]
        verbose_name = "size"
        constraints = [
            models.UniqueConstraint(fields=["product", "size"], name="productvariant_unique_size_per_product"),
            models.CheckConstraint(condition=~models.Q(size=""), name="productvariant_size_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.size} ({self.sku})"

    @property
    def in_stock(self) -> bool:
        return self.stock > 0


class ProductImage(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSING = "processing", "Processing"
        READY = "ready", "Ready"
        FLAGGED = "flagged", "Flagged"  # usable and searchable, but staff should look at it
        REJECTED = "rejected", "Rejected"  # never shown or searched
        FAILED = "failed", "Failed"  # processing crashed; the sweep retries while attempts remain

    # The pictures shoppers see and search finds: processed and usable. A product is listed
    # only with one of these (catalog.selectors.shop_products).
    SEARCHABLE_STATUSES = (Status.READY, Status.FLAGGED)

    @classmethod
    def searchable_sql(cls, status_column: str) -> str:
        """SEARCHABLE_STATUSES for raw SQL: "i.status IN ('ready', 'flagged')" for "i.status"."""
        statuses = ", ".join(f"'{status.value}'" for status in cls.SEARCHABLE_STATUSES)
        return f"{status_column} IN ({statuses})"

    # Codes stored in `reason_codes` (stable, for filters and metrics); `reason` says it in words.
    class Reason(models.TextChoices):
        MISSING_FILE = "missing_file", "File missing from storage"
        EMPTY = "empty", "Empty file"
        UNSUPPORTED = "unsupported", "Unsupported format"
        UNDECODABLE = "undecodable", "Cannot be decoded"
        TOO_MANY_PIXELS = "too_many_pixels", "Over the pixel limit"
        TOO_LARGE_TO_DECODE = "too_large_to_decode", "Over the decode memory limit"
        TOO_SMALL = "too_small", "Too small"
        BLURRED = "blurred", "Blurred"
        TOO_DARK = "too_dark", "Too dark"
        TOO_BRIGHT = "too_bright", "Too bright"
        EXACT_DUPLICATE = "exact_duplicate", "Exact duplicate"
        NEAR_DUPLICATE = "near_duplicate", "Near duplicate"
        MISCATEGORISED = "miscategorised", "Likely miscategorised"
        ERROR = "error", "Processing error"

    class FlagReview(models.TextChoices):
        DISMISSED = "dismissed", "Dismissed: the picture is fine"
        ACCEPTED = "accepted", "Accepted: the picture leaves the shop"

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    file = models.ImageField(upload_to="products/%Y/%m/", max_length=255)
    position = models.PositiveSmallIntegerField(default=0)
    # Where an imported image came from (URL or path in the feed), for staff and re-imports.
    source = models.CharField(max_length=1000, blank=True)
    sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    format = models.CharField(max_length=16, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    reason = models.CharField(max_length=255, blank=True)
    reason_codes = ArrayField(models.CharField(max_length=32, choices=Reason.choices), default=list, blank=True)
    # The other image a duplicate flag refers to.
    duplicate_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Processing runs started; the sweep gives up on a failing image after IMAGE_MAX_ATTEMPTS.
    attempts = models.PositiveSmallIntegerField(default=0)
    # Staff's answer to the pipeline's flags (catalog.services.image_flags_dismiss / _accept):
    # kept across reprocessing, and applied by the pipeline while the bytes are the same and no
    # flag beyond the reviewed ones is raised (a new flag or a new file: staff look again).
    flag_review = models.CharField(max_length=16, choices=FlagReview.choices, blank=True)
    flag_reviewed_codes = ArrayField(models.CharField(max_length=32), default=list, blank=True)
    flag_reviewed_sha256 = models.CharField(max_length=64, blank=True)
    flag_reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    flag_reviewed_at = models.DateTimeField(null=True, blank=True)
    # Derivatives written by the pipeline (JPEG, long side bounded); empty until processed.
    thumbnail = models.ImageField(upload_to="derived/", max_length=255, blank=True)
    display = models.ImageField(upload_to="derived/", max_length=255, blank=True)
    # Quality measures (vision.quality), kept so staff can sort and thresholds can be re-tuned.
    blur = models.FloatField(null=True, blank=True, help_text="variance of the Laplacian; low means blurred")
    brightness = models.FloatField(null=True, blank=True, help_text="mean luma 0-255")
    phash = models.BigIntegerField(null=True, blank=True, help_text="64-bit DCT perceptual hash")
    # Dominant colour names of this picture with their share of pixels (vision.colours),
    # e.g. {"red": 0.62, "white": 0.3}; the product's colours are aggregated from these.
    colours = models.JSONField(default=dict, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["product_id", "position", "id"]
        constraints = [
            # The same picture twice on one product is a duplicate upload, not a second view.
            models.UniqueConstraint(
                fields=["product", "sha256"], condition=~models.Q(sha256=""), name="productimage_unique_per_product"
            ),
        ]

    def __str__(self) -> str:
        return f"image {self.pk} of {self.product_id} ({self.status})"

    # Shoppers get derivatives only: the upload as it arrived is served to staff alone
    # (visualshop.media). Empty before processing (shops list processed pictures only).
    @property
    def card_url(self) -> str:
        """For grids and thumbnails: the small derivative."""
        return self.thumbnail.url if self.thumbnail else ""

    @property
    def display_url(self) -> str:
        """For the product page: the display-size derivative (the thumbnail if there is none)."""
        shown = self.display or self.thumbnail
        return shown.url if shown else ""


def _import_upload_path(run: "CatalogueImport", filename: str) -> str:
    # A folder per upload: a feed's local image paths resolve inside its own folder, which then
    # holds nothing but the feed (never another staff upload).
    return f"imports/{uuid.uuid4().hex}/{filename}"


class CatalogueImport(models.Model):
    """A catalogue file staff uploaded in the admin (CSV/TSV, JSON lines or a zip), imported in
    the background by catalog.importing.runs with the same importer as `manage.py import_catalog`."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"  # the file as a whole could not be read; nothing imported

    file = models.FileField(upload_to=_import_upload_path, max_length=255)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    rows_total = models.PositiveIntegerField(null=True, blank=True)
    rows_done = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    images_added = models.PositiveIntegerField(default=0)
    rows_failed = models.PositiveIntegerField(default=0)
    # "row 3: price missing", the first IMPORT_RUN_MAX_ERRORS of them; `message` says what
    # stopped a failed run.
    errors = models.JSONField(default=list, blank=True)
    message = models.CharField(max_length=500, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Bumped with the progress: a run whose worker died stops moving and the sweep restarts it.
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "catalogue import"

    def __str__(self) -> str:
        return f"import {self.pk} of {self.file_name} ({self.status})"

    @property
    def file_name(self) -> str:
        return self.file.name.rsplit("/", 1)[-1]
