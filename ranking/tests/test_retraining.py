import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from mlflow.tracking import MlflowClient

from ranking import retraining, services
from ranking.features import FEATURE_NAMES, FEATURE_SET
from ranking.models import RankerVersion, ShownResults
from tracking.models import Event

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 12, 1, 3, 17, tzinfo=UTC)
Status = RankerVersion.Status
SIZE = 6


@pytest.fixture(autouse=True)
def small_windows(settings):
    settings.RANKING_TRAINING_DAYS = 10
    settings.RANKING_HOLDOUT_DAYS = 2
    settings.RANKING_MIN_TRAINING_SEARCHES = 100
    settings.RANKING_MIN_HELD_OUT_SEARCHES = 30
    settings.RANKING_PROMOTION_MARGIN = 0.01


def searches(count: int, start: datetime, days: float, *, clicked_best: bool, seed: int) -> None:
    """Logged searches of SIZE results in today's (random) order; the shopper clicks the result
    with the highest price_relative (clicked_best) or the lowest (a sabotaged log)."""
    rng = np.random.default_rng(seed)
    shown, events = [], []
    for n in range(count):
        at = start + timedelta(days=days * n / count)
        search_id, visitor = uuid.uuid4(), uuid.uuid4()
        matrix = rng.normal(size=(SIZE, len(FEATURE_NAMES))).astype(np.float32)
        matrix[:, FEATURE_NAMES.index("fused_rank")] = np.arange(1, SIZE + 1)
        products = list(range(n * SIZE + 1, n * SIZE + SIZE + 1))
        column = matrix[:, FEATURE_NAMES.index("price_relative")]
        clicked = products[int(np.argmax(column) if clicked_best else np.argmin(column))]
        shown.append(
            ShownResults(
                search_id=search_id,
                occurred_at=at,
                visitor_id=visitor,
                search_kind="text",
                feature_set=FEATURE_SET,
                ranker="default",
                product_ids=products,
                features=matrix.tobytes(),
            )
        )
        for position, product in enumerate(products, start=1):
            events.append(_event("impression", at, visitor, search_id, product, position))
        events.append(_event("click", at, visitor, search_id, clicked, None))
    ShownResults.objects.bulk_create(shown)
    Event.objects.bulk_create(events)


def _event(kind, at, visitor, search_id, product, position):
    return Event(
        event_id=uuid.uuid4(),
        kind=kind,
        occurred_at=at,
        visitor_id=visitor,
        search_id=search_id,
        product_id=product,
        position=position,
    )


def held_out_and_training(*, sabotaged: bool = False, seed: int = 0) -> None:
    searches(300, NOW - timedelta(days=12), 10, clicked_best=not sabotaged, seed=seed)
    searches(80, NOW - timedelta(days=2), 2, clicked_best=True, seed=seed + 100)


def test_a_better_model_is_promoted_and_recorded_in_mlflow(settings):
    held_out_and_training()

    outcome = retraining.ranker_retrain(now=NOW, trigger="nightly")

    version = outcome.version
    assert outcome.promoted is True and version.status == Status.LIVE
    assert version.metrics["compared_with"] == "today's order"
    assert version.metrics["training_searches"] == 300 and version.metrics["held_out_searches"] == 80
    assert version.metrics["ndcg10"] > version.metrics["ndcg10_live"] * 1.01
    assert (version.trained_from, version.trained_to, version.held_out_to) == (
        NOW - timedelta(days=12),
        NOW - timedelta(days=2),
        NOW,
    )
    assert max(version.feature_importance, key=version.feature_importance.get) == "price_relative"
    run = MlflowClient(tracking_uri=settings.MLFLOW_TRACKING_URI).get_run(version.mlflow_run_id)
    assert run.data.tags["ranker_version"] == str(version.pk)
    assert run.data.metrics["ndcg10"] == pytest.approx(version.metrics["ndcg10"])
    assert run.data.params["feature_set"] == FEATURE_SET


def test_a_sabotaged_training_set_is_refused_and_the_live_ranker_stays(settings):
    held_out_and_training()
    good = retraining.ranker_retrain(now=NOW).version
    ShownResults.objects.filter(occurred_at__lt=NOW - timedelta(days=2)).delete()
    Event.objects.filter(occurred_at__lt=NOW - timedelta(days=2)).delete()
    searches(300, NOW - timedelta(days=12), 10, clicked_best=False, seed=5)

    outcome = retraining.ranker_retrain(now=NOW)

    assert outcome.promoted is False and outcome.version.status == Status.REFUSED
    assert f"does not beat live ranker {good.pk}" in outcome.version.message
    assert RankerVersion.objects.get(status=Status.LIVE) == good
    with pytest.raises(services.PromotionRefused, match="refused by the promotion gate"):
        services.ranker_promote(outcome.version)


def test_too_little_data_fails_and_the_command_says_so(capsys):
    searches(20, NOW - timedelta(days=12), 10, clicked_best=True, seed=1)
    outcome = retraining.ranker_retrain(now=NOW)
    assert outcome.version.status == Status.FAILED
    assert outcome.version.message.startswith(
        "20 clicked searches to learn from, fewer than RANKING_MIN_TRAINING_SEARCHES (100)"
    )
    assert not outcome.version.model_text
    with pytest.raises(
        CommandError, match=r"^ranker \d+: Training failed\. \d+ clicked searches to learn from, fewer than"
    ):
        call_command("ranker", "train")  # the same few searches, in the window before today
    call_command("ranker", "list")
    listed = capsys.readouterr().out
    assert f"{outcome.version.pk:>5}  failed" in listed


def test_promote_and_rollback_commands(capsys):
    first = RankerVersion.objects.create(feature_set=FEATURE_SET, feature_names=["fused_rank"], model_text="t")
    second = RankerVersion.objects.create(feature_set=FEATURE_SET, feature_names=["fused_rank"], model_text="t")
    call_command("ranker", "promote", str(first.pk))
    call_command("ranker", "promote", str(second.pk))
    call_command("ranker", "rollback")
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"Ranker {first.pk} is live.",
        f"Ranker {second.pk} is live (ranker {first.pk} retired).",
        f"Ranker {second.pk} rolled back: ranker {first.pk} is live again.",
    ]
    with pytest.raises(CommandError, match="^No ranker version 999999;"):
        call_command("ranker", "promote", "999999")
    call_command("ranker", "rollback")
    with pytest.raises(CommandError, match="^No ranker is live: nothing to roll back"):
        call_command("ranker", "rollback")


def test_a_run_can_be_given_its_own_window():
    held_out_and_training()

    outcome = retraining.ranker_retrain(now=NOW, training_days=5, holdout_days=6, promote=False)

    version = outcome.version
    assert (version.trained_from, version.trained_to, version.held_out_to) == (
        NOW - timedelta(days=11),
        NOW - timedelta(days=6),
        NOW,
    )
    # Of the 300 searches over NOW-12..NOW-2, days 11 to 6 before NOW train; the last 120 of
    # them and the 80 after judge.
    assert (version.metrics["training_searches"], version.metrics["held_out_searches"]) == (150, 200)
    assert outcome.promoted is False
