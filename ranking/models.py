"""What the learned ranking keeps: the features of the results each search showed (its
training data, logged when it was served), products' engagement and visitors' profiles (both
kept from events), and every trained ranker as a version.

Products and visitors are referred to by id, not by foreign key, as tracking's events are:
these rows are derived from history and are rebuilt or purged on their own schedule.
"""

from django.db import models

EXPLORED_SUFFIX = "+explore"


class ShownResults(models.Model):
    """The features of the results one search showed, exactly as the ranker saw them when the
    page was served (ranking.features.FEATURE_NAMES of `feature_set`), one row per product in
    the order shown. Training joins them to the search's impressions, clicks, adds to cart and
    purchases (tracking's events carry the same search id): what is learned from is what was
    served, so training and serving cannot drift apart."""

    search_id = models.UUIDField(primary_key=True)
    occurred_at = models.DateTimeField(db_index=True)
    visitor_id = models.UUIDField()
    search_kind = models.CharField(max_length=16)
    feature_set = models.CharField(max_length=32)
    # What ordered the page: "default" or "ranker-<version>", with EXPLORED_SUFFIX when its first
    # results were shuffled (ranking.serving.explored).
    ranker = models.CharField(max_length=64)
    product_ids = models.JSONField()  # [id, ...] in the order shown, from the page's first result
    first_position = models.PositiveSmallIntegerField(default=1)  # 1 on page 1, 25 on page 2, ...
    features = models.BinaryField()  # float32, len(product_ids) x len(FEATURE_NAMES), row-major

    def __str__(self) -> str:
        return f"search {self.search_id}: {len(self.product_ids)} results"


class ProductEngagement(models.Model):
    """How shoppers took to a product lately: its impressions, clicks, adds to cart and
    purchases from searches, each decayed by its age (RANKING_POPULARITY_HALF_LIFE_DAYS), as
    of `as_of`. Rebuilt from the events by ranking.engagement."""

    product_id = models.IntegerField(primary_key=True)
    impressions = models.FloatField(default=0.0)
    clicks = models.FloatField(default=0.0)
    carts = models.FloatField(default=0.0)
    purchases = models.FloatField(default=0.0)
    as_of = models.DateTimeField()

    def __str__(self) -> str:
        return f"product {self.product_id}: {self.clicks:.1f} clicks / {self.impressions:.1f} impressions"


class EngagementTotals(models.Model):
    """The whole catalogue's decayed engagement (one row): the rates a product without history
    is smoothed toward (ranking.features.Rates)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    impressions = models.FloatField(default=0.0)
    clicks = models.FloatField(default=0.0)
    carts = models.FloatField(default=0.0)
    purchases = models.FloatField(default=0.0)
    as_of = models.DateTimeField()

    def __str__(self) -> str:
        return f"catalogue engagement as of {self.as_of:%Y-%m-%d %H:%M}"


class VisitorProfile(models.Model):
    """A visitor's tastes as their events show them, decayed by age (ranking.profiles):
    weights per category, brand and colour of the products they engaged with, their prices
    (mean and spread of the log price) and a taste vector (the decayed mean of those products'
    image vectors under `vector_model_id`). A signed-in visitor's profile is under their first
    visitor id and carries their account id."""

    visitor_id = models.UUIDField(primary_key=True)
    user_id = models.IntegerField(null=True, blank=True, db_index=True)
    weight = models.FloatField(default=0.0)  # decayed engagement in all (the affinities' denominator)
    categories = models.JSONField(default=dict)  # {"<category id>": weight}
    brands = models.JSONField(default=dict)
    colours = models.JSONField(default=dict)
    log_price_mean = models.FloatField(null=True, blank=True)
    log_price_spread = models.FloatField(null=True, blank=True)
    taste = models.BinaryField(null=True, blank=True)  # float32 unit vector
    vector_model_id = models.IntegerField(null=True, blank=True)
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"profile of visitor {self.visitor_id}"


class RankerVersion(models.Model):
    """One trained ranker: its training window, feature list, parameters, offline metrics and
    the LightGBM model itself. At most one is live (serving); promotion and rollback move it
    (ranking.services)."""

    class Status(models.TextChoices):
        TRAINED = "trained", "Trained, not promoted yet"
        LIVE = "live", "Live"
        RETIRED = "retired", "Retired (was live)"
        ROLLED_BACK = "rolled_back", "Rolled back (was live; never put back by a rollback)"
        REFUSED = "refused", "Refused by the promotion gate"
        FAILED = "failed", "Training failed"

    created_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.TRAINED, db_index=True)
    trained_from = models.DateTimeField(null=True, blank=True)
    trained_to = models.DateTimeField(null=True, blank=True)
    held_out_to = models.DateTimeField(null=True, blank=True)
    feature_set = models.CharField(max_length=32, blank=True)
    feature_names = models.JSONField(default=list)
    params = models.JSONField(default=dict)
    # Offline metrics on the held-out later searches: ndcg10 (this model), ndcg10_live (the live
    # one, or today's order when none is live, on the same searches), searches, rows, ...
    metrics = models.JSONField(default=dict)
    feature_importance = models.JSONField(default=dict)  # {feature: total gain}
    model_text = models.TextField(blank=True)  # LightGBM's own text format
    mlflow_run_id = models.CharField(max_length=64, blank=True)
    trigger = models.CharField(max_length=32, blank=True)  # "command", "nightly", "bench"
    message = models.TextField(blank=True)  # why it was refused, or the training error
    promoted_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["status"], condition=models.Q(status="live"), name="one_live_ranker")
        ]

    def __str__(self) -> str:
        return f"ranker {self.pk} ({self.get_status_display()})"
