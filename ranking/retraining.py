"""Training a new ranker, judging it and promoting it only when it is better: what the nightly
task and `manage.py ranker train` run.

Window (now = when it runs): trained on [now - HOLDOUT - TRAINING_DAYS, now - HOLDOUT), judged
on the held-out later searches [now - HOLDOUT, now). The gate: its mean NDCG@10 on the
held-out searches (labels from what shoppers did: purchase 3 > add to cart 2 > click 1, each
divided by its position's examination propensity, training.examination_propensities) must
beat the live ranker's on the same searches, or today's order's when none is live, by
RANKING_PROMOTION_MARGIN (relative). A run that fails, has too little data, or does not beat
the live one is kept as a version (status failed or refused, with its reason) and never goes
live; staff see it in the admin and `manage.py ranker list`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from django.conf import settings
from django.utils import timezone

from ranking import registry, selectors, services, training
from ranking.features import FEATURE_NAMES, FEATURE_SET, columns
from ranking.models import RankerVersion

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    version: RankerVersion
    promoted: bool
    reason: str  # for people: why it went live or did not


def ranker_retrain(
    *,
    now: datetime | None = None,
    trigger: str = "command",
    promote: bool = True,
    training_days: float | None = None,
    holdout_days: float | None = None,
) -> Outcome:
    """Train, judge and (when better and `promote`) promote a ranker on the data up to `now`,
    on a window of training_days and holdout_days (default RANKING_TRAINING_DAYS and
    RANKING_HOLDOUT_DAYS)."""
    now = now or timezone.now()
    holdout_days = settings.RANKING_HOLDOUT_DAYS if holdout_days is None else holdout_days
    training_days = settings.RANKING_TRAINING_DAYS if training_days is None else training_days
    held_out_from = now - timedelta(days=holdout_days)
    trained_from = held_out_from - timedelta(days=training_days)
    version = RankerVersion(
        trained_from=trained_from,
        trained_to=held_out_from,
        held_out_to=now,
        feature_set=FEATURE_SET,
        feature_names=list(FEATURE_NAMES),
        trigger=trigger,
    )
    try:
        data = training.dataset(trained_from, held_out_from)
        held_out = training.dataset(held_out_from, now)
        version.metrics = {
            "training_searches": data.searches,
            "training_rows": len(data),
            "held_out_searches": held_out.searches,
        }
        if data.searches < settings.RANKING_MIN_TRAINING_SEARCHES:
            return _kept(
                version,
                RankerVersion.Status.FAILED,
                f"{data.searches} clicked searches to learn from, fewer than RANKING_MIN_TRAINING_SEARCHES "
                f"({settings.RANKING_MIN_TRAINING_SEARCHES})",
            )
        trained = training.train(data, FEATURE_NAMES, debias=True)
        version.params = trained.params
        version.model_text = trained.booster.model_to_string()
        version.feature_importance = trained.importance()
        version.metrics["train_seconds"] = round(trained.seconds, 2)
        if held_out.searches < settings.RANKING_MIN_HELD_OUT_SEARCHES:
            return _kept(
                version,
                RankerVersion.Status.REFUSED,
                f"{held_out.searches} clicked held-out searches to judge it by, fewer than "
                f"RANKING_MIN_HELD_OUT_SEARCHES ({settings.RANKING_MIN_HELD_OUT_SEARCHES})",
            )
        # The held-out searches were ordered by the live ranker: their clicks are weighted by
        # the inverse of their positions' examination (measured on the explored searches), so
        # the live order is not favoured for having put its picks where shoppers look.
        propensities = training.examination_propensities(data, settings.RANKING_EXPLORATION_DEPTH)
        ndcg = training.mean_ndcg(held_out, trained.scores(held_out.features), propensities=propensities)
        baseline_name, baseline = _live_ndcg(held_out, propensities)
        version.metrics.update(
            {
                "ndcg10": round(ndcg, 4),
                "ndcg10_live": round(baseline, 4),
                "compared_with": baseline_name,
                "explored_searches": propensities.explored_searches,
                "propensity_eta": None if propensities.eta is None else round(propensities.eta, 3),
            }
        )
    except Exception as exc:  # a training that breaks is recorded, never served
        logger.exception("ranker training failed")
        return _kept(version, RankerVersion.Status.FAILED, f"training failed: {exc}")
    bar = baseline * (1 + settings.RANKING_PROMOTION_MARGIN)
    if ndcg < bar:
        return _kept(
            version,
            RankerVersion.Status.REFUSED,
            f"NDCG@10 {ndcg:.4f} on {held_out.searches} held-out searches does not beat {baseline_name} "
            f"({baseline:.4f}) by RANKING_PROMOTION_MARGIN {settings.RANKING_PROMOTION_MARGIN:.0%} (needs {bar:.4f})",
        )
    reason = f"NDCG@10 {ndcg:.4f} beats {baseline_name} ({baseline:.4f}) on {held_out.searches} held-out searches"
    outcome = _kept(version, RankerVersion.Status.TRAINED, reason)
    if promote:
        services.ranker_promote(outcome.version)
        outcome.version.refresh_from_db()
        return Outcome(outcome.version, True, reason)
    return outcome


def _live_ndcg(held_out: training.Dataset, propensities: training.Propensities) -> tuple[str, float]:
    """What the new model must beat on these searches: the live ranker, else today's order."""
    live = None
    try:
        live = selectors.live_ranker()
    except Exception:  # an unloadable live model is beaten by anything that loads
        logger.exception("the live ranker cannot be loaded to judge against")
    if live is not None and live.feature_set == FEATURE_SET:
        scores = np.asarray(live.booster.predict(held_out.features[:, columns(live.feature_names)], num_threads=1))
        return f"live ranker {live.version_id}", training.mean_ndcg(held_out, scores, propensities=propensities)
    todays = training.todays_order_scores(held_out)
    return "today's order", training.mean_ndcg(held_out, todays, propensities=propensities)


def _kept(version: RankerVersion, status: str, message: str) -> Outcome:
    version.status = status
    version.message = message
    version.save()
    try:
        version.mlflow_run_id = registry.training_run_record(version)
        version.save(update_fields=["mlflow_run_id"])
    except registry.RegistryUnavailable as exc:
        logger.warning("%s", exc)
        version.message = f"{message}; not recorded in MLflow: {exc}"
        version.save(update_fields=["message"])
    return Outcome(version, False, message)
