"""Staff view of the search projections (search.reranking): every fitted version with what it
was fitted on, its offline metric (category precision@10 of the catalogue's images, raw and
projected) and its MLflow run, and which one photo search uses. Versions are made by fitting
only (`manage.py fit_search_projection`, the periodic refit); staff may switch between them."""

from django.contrib import admin, messages

from search import reranking
from search.models import SearchProjection


@admin.register(SearchProjection)
class SearchProjectionAdmin(admin.ModelAdmin):
    list_display = ["version", "embedding_model", "status", "images", "dimension", "precision", "created_at"]
    list_filter = ["status", "embedding_model"]
    fields = ["version", "embedding_model", "status", "dimension", "fit", "mlflow_run_id", "created_at", "activated_at"]
    readonly_fields = fields
    actions = ["make_active", "switch_off"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("arrays").select_related("embedding_model")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_switch_permission(self, request):
        return request.user.has_perm(f"{self.opts.app_label}.change_{self.opts.model_name}")

    @admin.display(description="images fitted on")
    def images(self, obj):
        return obj.fit.get("images")

    @admin.display(description="category precision@10, raw → projected")
    def precision(self, obj):
        found = obj.fit.get("precision_at_10")
        return f"{found['raw']:.3f} → {found['projected']:.3f}" if found else "—"

    @admin.action(description="Use for photo search (the model's other projections retire)", permissions=["switch"])
    def make_active(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Choose exactly one projection to use.", messages.ERROR)
            return
        projection = queryset.get()
        reranking.projection_activate(projection)
        self.message_user(request, f"Photo search now uses projection {projection.version}.", messages.SUCCESS)

    @admin.action(description="Switch off (raw cosine and the category vote)", permissions=["switch"])
    def switch_off(self, request, queryset):
        switched = sum(
            reranking.projection_deactivate(model)
            for model in {p.embedding_model for p in queryset.filter(status=SearchProjection.Status.ACTIVE)}
        )
        self.message_user(request, f"{switched} projection(s) switched off.", messages.SUCCESS)
