"""Staff interface to the catalogue. Writes go through catalog.services."""

import PIL.Image
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Count, Exists, OuterRef, Prefetch, Q
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from catalog import selectors, services
from catalog.image_files import InvalidImage, inspect_image
from catalog.importing import runs as import_runs
from catalog.importing.records import IN_STOCK_DEFAULT_QUANTITY
from catalog.models import Brand, CatalogueImport, Category, Product, ProductImage, ProductVariant

THUMBNAIL_STYLE = "width:64px;height:64px;object-fit:cover;border-radius:4px;background:#eee"


# Statuses whose reason staff must read: flagged images are still searchable (amber),
# rejected and failed ones are not (red).
REASON_COLOURS = {
    ProductImage.Status.FLAGGED: "#b26a00",
    ProductImage.Status.REJECTED: "#b00",
    ProductImage.Status.FAILED: "#b00",
}
NEEDS_ATTENTION = list(REASON_COLOURS)


def thumbnail(image: ProductImage | None) -> str:
    """The small derivative (320 px long side) once the pipeline wrote it, else the original."""
    if image is None:
        return "—"
    picture = image.thumbnail or image.file
    if not picture:
        return "—"
    return format_html('<img src="{}" alt="" style="{}" loading="lazy">', picture.url, THUMBNAIL_STYLE)


def reason_html(image: ProductImage) -> str:
    """The pipeline's reason in words, coloured by how much it matters."""
    if not image.reason:
        return "—"
    colour = REASON_COLOURS.get(image.status)
    if colour is None:
        return image.reason
    return format_html('<span style="color:{}">{}</span>', colour, image.reason)


def duplicate_html(image: ProductImage) -> str:
    """Link to the image this one duplicates (the id only: no query per row)."""
    if not image.duplicate_of_id:
        return "—"
    url = reverse("admin:catalog_productimage_change", args=[image.duplicate_of_id])
    return format_html('<a href="{}">duplicate of image {}</a>', url, image.duplicate_of_id)


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "parent", "product_count"]
    list_select_related = ["parent"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["parent"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_product_count=Count("products"))

    @admin.display(description="products", ordering="_product_count")
    def product_count(self, obj):
        return obj._product_count

    # The category path (names walked up to the root) is in the search documents and facets
    # of every product filed (or predicted) in the subtree.
    SEARCHED_FIELDS = {"name", "slug", "parent"}

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and self.SEARCHED_FIELDS.intersection(form.changed_data):
            services.category_products_mark_search_dirty(obj)

    def delete_model(self, request, obj):
        # Products are protected; those merely predicted in it lose their predicted category.
        with transaction.atomic():
            product_ids = services.category_product_ids(obj)
            super().delete_model(request, obj)
            services.products_mark_search_dirty(product_ids)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            product_ids = [pk for category in queryset for pk in services.category_product_ids(category)]
            super().delete_queryset(request, queryset)
            services.products_mark_search_dirty(product_ids)


@admin.register(Brand)
class BrandAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}
    # The brand's name is in its products' search documents and facets.
    SEARCHED_FIELDS = {"name", "slug"}

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and self.SEARCHED_FIELDS.intersection(form.changed_data):
            services.brand_products_mark_search_dirty(obj)

    def delete_model(self, request, obj):
        # Its products keep existing without a brand: collected before the delete clears it.
        with transaction.atomic():
            product_ids = services.brand_product_ids(obj)
            super().delete_model(request, obj)
            services.products_mark_search_dirty(product_ids)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            product_ids = services.brand_product_ids(queryset)
            super().delete_queryset(request, queryset)
            services.products_mark_search_dirty(product_ids)


class PictureFormField(forms.ImageField):
    """Django's image field, except that a picture Pillow refuses as a decompression bomb gets
    the catalogue's reason ("too many pixels: ...", catalog.image_files) instead of
    Django's "not an image or a corrupted image"."""

    def to_python(self, data):
        try:
            return super().to_python(data)
        except ValidationError as error:
            if not isinstance(error.__cause__, PIL.Image.DecompressionBombError):
                raise
            data.seek(0)
            try:
                inspect_image(data.read())
            except InvalidImage as exc:
                raise ValidationError(str(exc), code=exc.code) from None
            finally:
                data.seek(0)
            raise


PICTURE_FIELD = {models.ImageField: {"form_class": PictureFormField}}


class ProductImageInline(admin.TabularInline):
    model = ProductImage
    formfield_overrides = PICTURE_FIELD
    extra = 1
    fields = [
        "preview",
        "file",
        "position",
        "status",
        "reasons",
        "duplicate",
        "width",
        "height",
        "format",
        "processed_at",
    ]
    readonly_fields = ["preview", "status", "reasons", "duplicate", "width", "height", "format", "processed_at"]

    @admin.display(description="preview")
    def preview(self, obj):
        return thumbnail(obj if obj.pk else None)

    @admin.display(description="reasons")
    def reasons(self, obj):
        return reason_html(obj) if obj.pk else "—"

    @admin.display(description="duplicate")
    def duplicate(self, obj):
        return duplicate_html(obj) if obj.pk else "—"


class ProductVariantInline(admin.TabularInline):
    """The sizes of a product sold by size. Their stock adds up to the product's (saved through
    catalog.services.product_stock_resum); a size that was ordered cannot be deleted (its order
    lines protect it): set its stock to 0 instead."""

    model = ProductVariant
    fields = ["size", "sku", "stock", "position"]
    extra = 0
    verbose_name_plural = "sizes (each with its own SKU and stock; the product's stock is their sum)"


class SizedStockListForm(forms.ModelForm):
    """The changelist's row form: a product sold by size takes its stock from its sizes, so a
    stock typed in the list is refused with a row error rather than overwritten unseen."""

    def clean_stock(self):
        stock = self.cleaned_data["stock"]
        has_sizes = getattr(self.instance, "_has_sizes", False)
        if has_sizes and stock != self.instance.stock:
            raise ValidationError("Sold by size: change the sizes' stock on the product's page.")
        return stock


class ImageStatusFilter(admin.SimpleListFilter):
    """Products that have at least one image in the chosen status."""

    title = "image status"
    parameter_name = "image_status"

    def lookups(self, request, model_admin):
        return ProductImage.Status.choices

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(images__status=self.value()).distinct()
        return queryset


class NeedsPhotoFilter(admin.SimpleListFilter):
    """Products shoppers cannot see for want of a picture (catalog.selectors.product_has_picture)."""

    title = "photo in the shop"
    parameter_name = "photo"

    def lookups(self, request, model_admin):
        return [("needed", "Needs a photo"), ("shown", "Shown with a photo")]

    def queryset(self, request, queryset):
        if self.value() == "needed":
            return queryset.filter(~selectors.product_has_picture())
        if self.value() == "shown":
            return queryset.filter(selectors.product_has_picture())
        return queryset


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = [
        "preview",
        "title",
        "sku",
        "category",
        "brand",
        "price",
        "currency",
        "stock",
        "is_active",
        "image_summary",
    ]
    list_display_links = ["preview", "title"]
    # Edited in the list; saved through save_model, so search refreshes what it derives from them.
    list_editable = ["price", "stock"]
    list_filter = ["is_active", NeedsPhotoFilter, ImageStatusFilter, "category", "brand"]
    list_select_related = ["category", "brand"]
    search_fields = ["sku", "title", "description", "brand__name"]
    autocomplete_fields = ["category", "brand"]
    # Colours and the predicted category are derived from the pictures by search (each refresh
    # recomputes them), so staff see them but do not edit them.
    readonly_fields = ["colours", "predicted_category", "created_at", "updated_at"]
    inlines = [ProductVariantInline, ProductImageInline]
    actions = ["reprocess_images"]

    def get_changelist_form(self, request, **kwargs):
        return super().get_changelist_form(request, form=SizedStockListForm, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.variants.exists():
            fields.append("stock")  # the sizes' sum: edited size by size below
        return fields

    def get_queryset(self, request):
        first_images = ProductImage.objects.order_by("position", "id")
        return (
            super()
            .get_queryset(request)
            .prefetch_related(Prefetch("images", queryset=first_images, to_attr="admin_images"))
            .annotate(
                _problem_images=Count("images", filter=Q(images__status__in=NEEDS_ATTENTION)),
                _has_picture=selectors.product_has_picture(),
                _has_sizes=Exists(ProductVariant.objects.filter(product=OuterRef("pk"))),
            )
        )

    @admin.display(description="image")
    def preview(self, obj):
        return thumbnail(obj.admin_images[0] if obj.admin_images else None)

    @admin.display(description="images")
    def image_summary(self, obj):
        total = len(obj.admin_images)
        summary = str(total)
        if obj._problem_images:
            summary = format_html(
                '{} <strong style="color:#b00">({} need attention)</strong>', total, obj._problem_images
            )
        if not obj._has_picture:  # kept from shoppers until one picture is ready or flagged
            summary = format_html(
                '{} <strong style="color:#b00">needs a photo (not shown in the shop)</strong>', summary
            )
        return summary

    def save_model(self, request, obj, form, change):
        """A product edited here changes what search derives from it (its text document, the
        similar lists it may leave when deactivated): marked search-dirty, refreshed on commit."""
        super().save_model(request, obj, form, change)
        if not change or form.changed_data:
            services.products_mark_search_dirty([obj.pk])

    def save_formset(self, request, form, formset, change):
        """Images go through the catalogue services (checksum, dedupe, processing queue); sizes
        are saved as the form validated them, then the product's stock is made their sum."""
        if formset.model is ProductVariant:
            formset.save()
            services.product_stock_resum(form.instance)
            return None
        if formset.model is not ProductImage:
            return super().save_formset(request, form, formset, change)
        instances = formset.save(commit=False)
        for image in formset.deleted_objects:
            services.product_image_delete(image)
        for image in instances:
            try:
                if image.pk is None:
                    saved, created = services.product_image_add(
                        product=form.instance,
                        content=image.file.read(),
                        position=image.position,
                        source=f"admin upload: {image.file.name}"[:1000],
                    )
                    if not created:
                        self.message_user(
                            request,
                            f"Image {image.file.name} is the same picture as image {saved.pk} of this product; "
                            "it was not added again.",
                            messages.WARNING,
                        )
                elif "file" in self._changed_fields(formset, image):
                    services.product_image_replace_file(image, content=image.file.read(), position=image.position)
                else:
                    image.save(update_fields=["position", "updated_at"])
            except InvalidImage as exc:
                self.message_user(request, f"Image {image.file.name} was not saved: {exc}", messages.ERROR)
        formset.save_m2m()

    @staticmethod
    def _changed_fields(formset, image) -> list[str]:
        return next((f.changed_data for f in formset.forms if f.instance is image), [])

    @admin.action(description="Reprocess the images of the selected products")
    def reprocess_images(self, request, queryset):
        image_ids = ProductImage.objects.filter(product__in=queryset).values_list("pk", flat=True)
        count = services.product_images_reprocess(image_ids)
        self.message_user(request, f"{count} image(s) queued for processing.", messages.SUCCESS)


class ReasonFilter(admin.SimpleListFilter):
    """Images whose reason_codes include the chosen code."""

    title = "reason"
    parameter_name = "reason_code"

    def lookups(self, request, model_admin):
        return ProductImage.Reason.choices

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(reason_codes__contains=[self.value()])
        return queryset


class ProductImageAdminForm(forms.ModelForm):
    """An uploaded file is checked here, so a bad one is a form error and nothing is saved."""

    class Meta:
        model = ProductImage
        fields = ["product", "file", "position"]

    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get("file")
        if "file" not in self.changed_data or not upload:
            return cleaned
        content = upload.read()
        upload.seek(0)
        try:
            info = inspect_image(content)
        except InvalidImage as exc:
            self.add_error("file", str(exc))
            return cleaned
        product = cleaned.get("product") or getattr(self.instance, "product", None)
        clash = selectors.product_image_with_same_bytes(
            product and product.pk, info.sha256, exclude_pk=self.instance.pk
        )
        if clash is not None:
            self.add_error("file", f"the same picture is already image {clash} of this product")
        return cleaned


@admin.register(ProductImage)
class ProductImageAdmin(admin.ModelAdmin):
    form = ProductImageAdminForm
    formfield_overrides = PICTURE_FIELD
    list_display = [
        "preview",
        "product",
        "position",
        "status",
        "reasons",
        "duplicate",
        "width",
        "height",
        "format",
        "processed_at",
    ]
    list_display_links = ["preview", "product"]
    list_filter = ["status", ReasonFilter, "format"]
    list_select_related = ["product"]
    search_fields = ["product__sku", "product__title", "sha256", "reason", "source"]
    # The pipeline owns everything but the product, the file and the position.
    fieldsets = [
        (None, {"fields": ["preview", "product", "file", "position", "source"]}),
        ("Processing", {"fields": ["status", "reasons", "reason_codes", "duplicate", "attempts", "processed_at"]}),
        (
            "Staff review of the flags",
            {"fields": ["flag_review", "flag_reviewed_codes", "flag_reviewed_by", "flag_reviewed_at"]},
        ),
        ("Measures", {"fields": ["width", "height", "format", "blur", "brightness", "phash", "sha256"]}),
        ("Derivatives", {"fields": ["thumbnail_preview", "display_preview"]}),
        ("Record", {"fields": ["created_at", "updated_at"]}),
    ]
    readonly_fields = [
        "preview",
        "sha256",
        "width",
        "height",
        "format",
        "status",
        "reasons",
        "reason_codes",
        "duplicate",
        "attempts",
        "blur",
        "brightness",
        "phash",
        "thumbnail_preview",
        "display_preview",
        "processed_at",
        "source",
        "created_at",
        "updated_at",
        "flag_review",
        "flag_reviewed_codes",
        "flag_reviewed_by",
        "flag_reviewed_at",
    ]
    autocomplete_fields = ["product"]
    actions = ["reprocess", "dismiss_flags", "accept_flags"]

    @admin.display(description="preview")
    def preview(self, obj):
        return thumbnail(obj)

    @admin.display(description="reasons", ordering="reason")
    def reasons(self, obj):
        return reason_html(obj)

    @admin.display(description="duplicate", ordering="duplicate_of")
    def duplicate(self, obj):
        return duplicate_html(obj)

    @admin.display(description="thumbnail")
    def thumbnail_preview(self, obj):
        if not obj.thumbnail:
            return "—"
        return format_html('<img src="{}" alt="" style="max-width:320px;max-height:320px">', obj.thumbnail.url)

    @admin.display(description="display image")
    def display_preview(self, obj):
        if not obj.display:
            return "—"
        return format_html(
            '<a href="{0}"><img src="{0}" alt="" style="max-width:640px;max-height:640px" loading="lazy"></a>',
            obj.display.url,
        )

    def get_readonly_fields(self, request, obj=None):
        # Moving an image to another product is a new upload there, not an edit.
        return [*self.readonly_fields, "product"] if obj is not None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        """Uploads go through the catalogue services (checksum, processing queue)."""
        if not change:
            saved, _ = services.product_image_add(
                product=obj.product,
                content=obj.file.read(),
                position=obj.position,
                source=f"admin upload: {obj.file.name}"[:1000],
            )
            obj.pk = saved.pk
        elif "file" in form.changed_data:
            services.product_image_replace_file(obj, content=obj.file.read(), position=obj.position)
        else:
            obj.save(update_fields=["position", "updated_at"])

    @admin.action(description="Reprocess the selected images")
    def reprocess(self, request, queryset):
        count = services.product_images_reprocess(queryset.values_list("pk", flat=True))
        self.message_user(request, f"{count} image(s) queued for processing.", messages.SUCCESS)

    @admin.action(description="Dismiss the flags: the picture is fine")
    def dismiss_flags(self, request, queryset):
        count = services.image_flags_dismiss(queryset.values_list("pk", flat=True), by=request.user)
        self._flag_review_message(
            request, count, "flagged picture(s) dismissed: shown as ready, not flagged again for the same reasons."
        )

    @admin.action(description="Accept the flags: take the picture out of the shop")
    def accept_flags(self, request, queryset):
        count = services.image_flags_accept(queryset.values_list("pk", flat=True), by=request.user)
        self._flag_review_message(
            request, count, "flagged picture(s) accepted: taken out of the shop (rejected when reprocessed)."
        )

    def _flag_review_message(self, request, count: int, done: str) -> None:
        if count:
            self.message_user(request, f"{count} {done}", messages.SUCCESS)
        else:
            self.message_user(request, "None of the selected pictures is flagged: nothing changed.", messages.WARNING)


class CatalogueImportForm(forms.ModelForm):
    class Meta:
        model = CatalogueImport
        fields = ["file"]
        help_texts = {
            "file": (
                "A CSV/TSV or JSON-lines feed with Google Merchant Center columns (id, title, description, price "
                "like '12.99 EUR', brand, product_type like 'Apparel > Dresses', image_link, "
                f"additional_image_link, availability: 'in stock' is {IN_STOCK_DEFAULT_QUANTITY} items), or a "
                ".zip holding a feed and its pictures. Products are matched by id: importing again updates them. "
                "Rows sharing an item_group_id are the sizes of one product (its id), one size per row (size, "
                "quantity)."
            )
        }

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith((".csv", ".tsv", ".jsonl", ".zip")):
            raise ValidationError("Upload a .csv, .tsv, .jsonl or .zip file.")
        return upload


@admin.register(CatalogueImport)
class CatalogueImportAdmin(admin.ModelAdmin):
    """Upload a catalogue file; a worker imports it (catalog.importing.runs) and this list shows
    its progress, counts and the rows that failed."""

    form = CatalogueImportForm
    list_display = ["created_at", "file_name", "status", "progress", "created", "updated", "rows_failed", "started_by"]
    list_filter = ["status"]
    list_select_related = ["started_by"]
    readonly_fields = [
        "file",
        "status",
        "progress",
        "created",
        "updated",
        "images_added",
        "rows_failed",
        "message",
        "row_errors",
        "started_by",
        "created_at",
        "started_at",
        "finished_at",
    ]

    def get_fields(self, request, obj=None):
        return ["file"] if obj is None else self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def has_change_permission(self, request, obj=None):
        return False  # a run is a record: viewed, never edited

    def save_model(self, request, obj, form, change):
        if change:
            return
        run = import_runs.catalogue_import_start(form.cleaned_data["file"], by=request.user)
        obj.pk, obj.file = run.pk, run.file

    def response_add(self, request, obj, post_url_continue=None):
        self.message_user(request, f"Importing {obj.file_name} in the background; this list shows its progress.")
        return super().response_post_save_add(request, obj)

    @admin.display(description="file")
    def file_name(self, obj):
        return obj.file_name

    @admin.display(description="progress")
    def progress(self, obj):
        if obj.rows_total is None:
            return "—" if obj.status != CatalogueImport.Status.QUEUED else "waiting for a worker"
        return f"{obj.rows_done} of {obj.rows_total} rows"

    @admin.display(description="rows that failed")
    def row_errors(self, obj):
        if not obj.errors:
            return "—"
        more = obj.rows_failed - len(obj.errors)
        lines = format_html_join("", "<li>{}</li>", ((error,) for error in obj.errors))
        tail = format_html("<p>and {} more</p>", more) if more > 0 else ""
        return format_html('<ul style="margin:0">{}</ul>{}', lines, tail)
