"""Writes of the ranking app: what a search showed (the training data), and the rankers'
lives: recorded, promoted, refused, rolled back."""

from __future__ import annotations

import uuid
from datetime import datetime

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from ranking import selectors
from ranking.features import FEATURE_NAMES, FEATURE_SET
from ranking.models import RankerVersion, ShownResults
from ranking.serving import RankedSearch
from tracking import services as tracking_services


def shown_results_log(
    search_id: uuid.UUID | None,
    visitor_id: uuid.UUID | None,
    ranked: RankedSearch,
    *,
    occurred_at: datetime | None = None,
) -> None:
    """Keep the features of the page a search showed, under the search's id: written once the
    request's transaction commits and its response has gone out, with its events
    (tracking.services.after_response), so the shopper does not wait for it. Nothing for an
    untracked visitor (no search id), a page beyond the candidates or an empty page."""
    if search_id is None or visitor_id is None or ranked.shown_features is None or not ranked.results.hits:
        return
    matrix = np.ascontiguousarray(ranked.shown_features, dtype=np.float32)
    if matrix.shape != (len(ranked.results.hits), len(FEATURE_NAMES)):
        raise ValueError(f"feature rows {matrix.shape} do not match {len(ranked.results.hits)} hits")
    row = ShownResults(
        search_id=search_id,
        occurred_at=occurred_at or timezone.now(),
        visitor_id=visitor_id,
        search_kind=ranked.results.mode,
        feature_set=FEATURE_SET,
        ranker=ranked.ranker,
        product_ids=[hit.product_id for hit in ranked.results.hits],
        first_position=ranked.first_position,
        features=matrix.tobytes(),
    )
    transaction.on_commit(
        lambda: tracking_services.after_response(lambda: _shown_results_write(row), what="shown results")
    )


def _shown_results_write(row: ShownResults) -> None:
    """One statement, its commit not waiting for the disk (as tracking's events are:
    tracking.services._ASYNC_COMMIT_SQL): a training row lost in a database crash costs the
    ranker one search; a search logged twice (a retried request) is kept once."""
    fields = list(ShownResults._meta.concrete_fields)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    values = [f.get_db_prep_save(getattr(row, f.attname), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SET LOCAL synchronous_commit TO off; INSERT INTO {ShownResults._meta.db_table} ({columns}) "
            f"VALUES ({', '.join(['%s'] * len(fields))}) ON CONFLICT (search_id) DO NOTHING",
            values,
        )


class PromotionRefused(RuntimeError):
    """A version that cannot go live (failed, or of another feature set)."""


def ranker_promote(version: RankerVersion, *, now: datetime | None = None) -> RankerVersion | None:
    """Make `version` the live ranker; the one live before is retired. Returns that one (None
    if none was live). Raises PromotionRefused for a failed version, one the promotion gate
    refused (ranking.retraining), or one of another feature set than this code builds."""
    if version.status == RankerVersion.Status.FAILED or not version.model_text:
        raise PromotionRefused(f"ranker {version.pk} has no model (its training failed)")
    if version.status == RankerVersion.Status.REFUSED:
        raise PromotionRefused(f"ranker {version.pk} was refused by the promotion gate: {version.message}")
    if version.feature_set != FEATURE_SET:
        raise PromotionRefused(
            f"ranker {version.pk} was trained on feature set {version.feature_set}, not {FEATURE_SET}"
        )
    now = now or timezone.now()
    with transaction.atomic():
        previous = RankerVersion.objects.select_for_update().filter(status=RankerVersion.Status.LIVE).first()
        if previous is not None and previous.pk == version.pk:
            return None
        if previous is not None:
            previous.status = RankerVersion.Status.RETIRED
            previous.retired_at = now
            previous.save(update_fields=["status", "retired_at"])
        version.status = RankerVersion.Status.LIVE
        version.promoted_at = now
        version.save(update_fields=["status", "promoted_at"])
        transaction.on_commit(selectors.live_ranker_forget)
    return previous


def ranker_rollback(*, now: datetime | None = None) -> tuple[RankerVersion | None, RankerVersion | None]:
    """Take the live ranker down (rolled back: a later rollback never puts it back) and put
    back the one live before it (the most recently retired); with none before, today's order
    serves. Returns (taken down, put back)."""
    now = now or timezone.now()
    with transaction.atomic():
        live = RankerVersion.objects.select_for_update().filter(status=RankerVersion.Status.LIVE).first()
        if live is None:
            return None, None
        before = (
            RankerVersion.objects.filter(status=RankerVersion.Status.RETIRED, feature_set=FEATURE_SET)
            .exclude(pk=live.pk)
            .order_by("-retired_at", "-pk")
            .first()
        )
        live.status = RankerVersion.Status.ROLLED_BACK
        live.retired_at = now
        live.save(update_fields=["status", "retired_at"])
        if before is not None:
            before.status = RankerVersion.Status.LIVE
            before.promoted_at = now
            before.retired_at = None
            before.save(update_fields=["status", "promoted_at", "retired_at"])
        transaction.on_commit(selectors.live_ranker_forget)
    return live, before
