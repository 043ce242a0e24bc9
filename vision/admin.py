"""Staff view of the image model versions. Versions are created by `manage.py embedding_model`
(vision.services); here staff see them and can start a rebuild. Vectors (ImageEmbedding)
are deliberately not registered: they are written by the pipeline only."""

from django.contrib import admin, messages
from django.db import IntegrityError
from django.db.models import Count

from vision import services
from vision.models import EmbeddingModel


@admin.register(EmbeddingModel)
class EmbeddingModelAdmin(admin.ModelAdmin):
    list_display = ["name", "version", "variant", "dimension", "status", "vector_count", "created_at", "activated_at"]
    list_filter = ["status", "variant"]
    search_fields = ["name", "version", "checksum"]
    fields = [
        "name",
        "version",
        "variant",
        "dimension",
        "status",
        "vector_count",
        "checksum",
        "file_name",
        "preprocessing",
        "created_at",
        "activated_at",
    ]
    readonly_fields = fields
    actions = ["rebuild_and_switch"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_vector_count=Count("embeddings"))

    # Rows change only through vision.services: a saved admin form would write back
    # every column and could undo a concurrent promotion.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_rebuild_permission(self, request):
        return request.user.has_perm(f"{self.opts.app_label}.change_{self.opts.model_name}")

    @admin.display(description="vectors", ordering="_vector_count")
    def vector_count(self, obj):
        count = getattr(obj, "_vector_count", None)
        return obj.embeddings.count() if count is None else count

    @admin.action(description="Rebuild the catalogue with this version and switch to it", permissions=["rebuild"])
    def rebuild_and_switch(self, request, queryset):
        selected = list(queryset[:2])
        if len(selected) != 1:
            self.message_user(request, "Select exactly one version to rebuild the catalogue with.", messages.ERROR)
            return
        model = selected[0]
        label = f"{model.name} {model.version}"
        if model.status == EmbeddingModel.Status.ACTIVE:
            self.message_user(request, f"{label} is already the active version; nothing to rebuild.", messages.ERROR)
            return
        try:
            services.embedding_model_start_rebuild(model)
        except services.CannotBuildModel as exc:
            self.message_user(request, f"Cannot rebuild with {label}: {exc}", messages.ERROR)
            return
        except IntegrityError:  # another version started building at the same moment
            self.message_user(
                request, f"Cannot rebuild with {label}: another version is already being built.", messages.ERROR
            )
            return
        self.message_user(
            request,
            f"Rebuilding the catalogue with {label} in the background. The active version keeps serving "
            "searches until every image has a vector from this one; then search switches to it.",
            messages.SUCCESS,
        )
