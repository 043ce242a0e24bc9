"""Staff interface to the catalogue. Writes go through catalog.services."""

from django.contrib import admin, messages
from django.db.models import Count, Q
from django.utils.html import format_html

from catalog import services
from catalog.image_files import InvalidImage
from catalog.models import Brand, Category, Product, ProductImage

THUMBNAIL_STYLE = "width:64px;height:64px;object-fit:cover;border-radius:4px;background:#eee"


def thumbnail(image: ProductImage | None) -> str:
    if image is None or not image.file:
        return "—"
    return format_html('<img src="{}" alt="" style="{}" loading="lazy">', image.file.url, THUMBNAIL_STYLE)


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


@admin.register(Brand)
class BrandAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}


class ProductImageInline(admin.TabularInline):
    model = ProductImage
    extra = 1
    fields = ["preview", "file", "position", "status", "reason", "width", "height", "format", "processed_at"]
    readonly_fields = ["preview", "status", "reason", "width", "height", "format", "processed_at"]

    @admin.display(description="preview")
    def preview(self, obj):
        return thumbnail(obj if obj.pk else None)


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


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["preview", "title", "sku", "category", "brand", "price", "currency", "stock", "is_active",
                    "image_summary"]
    list_display_links = ["preview", "title"]
    list_filter = ["is_active", ImageStatusFilter, "category", "brand"]
    list_select_related = ["category", "brand"]
    search_fields = ["sku", "title", "description", "brand__name"]
    autocomplete_fields = ["category", "brand"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [ProductImageInline]
    actions = ["reprocess_images"]

    def get_queryset(self, request):
        first_images = ProductImage.objects.order_by("position", "id")
        from django.db.models import Prefetch

        return (
            super()
            .get_queryset(request)
            .prefetch_related(Prefetch("images", queryset=first_images, to_attr="admin_images"))
            .annotate(
                _problem_images=Count(
                    "images", filter=Q(images__status__in=[ProductImage.Status.FLAGGED, ProductImage.Status.REJECTED])
                )
            )
        )

    @admin.display(description="image")
    def preview(self, obj):
        return thumbnail(obj.admin_images[0] if obj.admin_images else None)

    @admin.display(description="images")
    def image_summary(self, obj):
        total = len(obj.admin_images)
        if obj._problem_images:
            return format_html('{} <strong style="color:#b00">({} need attention)</strong>', total, obj._problem_images)
        return total

    def save_formset(self, request, form, formset, change):
        """Images go through the catalogue services (checksum, dedupe, processing queue)."""
        if formset.model is not ProductImage:
            return super().save_formset(request, form, formset, change)
        instances = formset.save(commit=False)
        for image in formset.deleted_objects:
            services.product_image_delete(image)
        for image in instances:
            try:
                if image.pk is None:
                    saved, created = services.product_image_add(
                        product=form.instance, content=image.file.read(), position=image.position,
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


@admin.register(ProductImage)
class ProductImageAdmin(admin.ModelAdmin):
    list_display = ["preview", "product", "position", "status", "reason", "width", "height", "format", "processed_at"]
    list_display_links = ["preview", "product"]
    list_filter = ["status", "format"]
    list_select_related = ["product"]
    search_fields = ["product__sku", "product__title", "sha256", "reason", "source"]
    readonly_fields = ["preview", "sha256", "width", "height", "format", "status", "reason", "processed_at",
                       "source", "created_at", "updated_at"]
    autocomplete_fields = ["product"]
    actions = ["reprocess"]

    @admin.display(description="preview")
    def preview(self, obj):
        return thumbnail(obj)

    @admin.action(description="Reprocess the selected images")
    def reprocess(self, request, queryset):
        count = services.product_images_reprocess(queryset.values_list("pk", flat=True))
        self.message_user(request, f"{count} image(s) queued for processing.", messages.SUCCESS)
