"""Staff view of the learned rankers: every version with its window, metrics and why it went
live or did not, its feature importance as a chart, and promote / roll back. Versions are made
by training only (ranking.retraining: `manage.py ranker train`, the nightly task); they are
never edited here."""

from django.contrib import admin, messages

from ranking import charts, explanations, services
from ranking.models import RankerVersion, ShownResults


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by ranking's own code only (training, serving): staff look, never edit."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RankerVersion)
class RankerVersionAdmin(ReadOnlyAdmin):
    list_display = ["id", "status", "created_at", "trigger", "searches", "ndcg10", "ndcg10_compared", "message"]
    list_filter = ["status", "trigger"]
    fields = [
        "status",
        "message",
        "created_at",
        "trigger",
        "trained_from",
        "trained_to",
        "held_out_to",
        "metrics",
        "importance_chart",
        "feature_set",
        "feature_names",
        "params",
        "mlflow_run_id",
        "promoted_at",
        "retired_at",
    ]
    readonly_fields = fields
    actions = ["promote", "roll_back"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("model_text")

    def has_promote_permission(self, request):
        return request.user.has_perm(f"{self.opts.app_label}.change_{self.opts.model_name}")

    @admin.display(description="clicked searches")
    def searches(self, obj):
        return obj.metrics.get("training_searches")

    @admin.display(description="NDCG@10 held out")
    def ndcg10(self, obj):
        return obj.metrics.get("ndcg10")

    @admin.display(description="vs")
    def ndcg10_compared(self, obj):
        if "ndcg10_live" not in obj.metrics:
            return None
        return f"{obj.metrics['ndcg10_live']} ({obj.metrics.get('compared_with', '')})"

    @admin.display(description="feature importance")
    def importance_chart(self, obj):
        if not obj.feature_importance:
            return "No model (its training failed)."
        return charts.importance_bars(obj.feature_importance)

    @admin.action(description="Make this version the live ranker", permissions=["promote"])
    def promote(self, request, queryset):
        selected = list(queryset[:2])
        if len(selected) != 1:
            self.message_user(request, "Select exactly one version to make live.", messages.ERROR)
            return
        version = RankerVersion.objects.get(pk=selected[0].pk)  # with its model text
        try:
            previous = services.ranker_promote(version)
        except services.PromotionRefused as exc:
            self.message_user(request, f"Not promoted: {exc}", messages.ERROR)
            return
        before = f"; ranker {previous.pk} retired" if previous else ""
        self.message_user(request, f"Ranker {version.pk} is live{before}.", messages.SUCCESS)

    @admin.action(description="Roll back the live ranker to the one before it", permissions=["promote"])
    def roll_back(self, request, queryset):
        taken_down, put_back = services.ranker_rollback()
        if taken_down is None:
            self.message_user(request, "No ranker is live: nothing to roll back.", messages.WARNING)
            return
        now = f"ranker {put_back.pk} is live again" if put_back else "today's order serves"
        self.message_user(request, f"Ranker {taken_down.pk} rolled back: {now}.", messages.SUCCESS)


@admin.register(ShownResults)
class ShownResultsAdmin(ReadOnlyAdmin):
    """Why a search's results came in their order: each result shown, the features it was
    served with and, when a ranker ordered the page, that ranker's score for it."""

    list_display = ["search_id", "occurred_at", "search_kind", "ranker", "results"]
    list_filter = ["search_kind", "ranker"]
    search_fields = ["=search_id", "=visitor_id"]
    date_hierarchy = "occurred_at"
    fields = ["search_id", "occurred_at", "visitor_id", "search_kind", "ranker", "feature_set", "why_this_order"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).defer("features")

    @admin.display(description="results")
    def results(self, obj):
        return len(obj.product_ids)

    @admin.display(description="why this order")
    def why_this_order(self, obj):
        return explanations.why_this_order_table(explanations.why_this_order(obj))
