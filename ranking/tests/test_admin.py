import uuid
from datetime import UTC, datetime

import numpy as np
import pytest
from django.urls import reverse

from ranking.features import FEATURE_NAMES, FEATURE_SET
from ranking.models import RankerVersion, ShownResults
from ranking.training import Dataset, train

pytestmark = pytest.mark.django_db
CHANGELIST = "admin:ranking_rankerversion_changelist"


def version(**fields) -> RankerVersion:
    values = dict(feature_set=FEATURE_SET, feature_names=["fused_rank", "ctr_smoothed"], model_text="tree")
    return RankerVersion.objects.create(**{**values, **fields})


def run_action(client, action: str, *versions) -> list[str]:
    response = client.post(
        reverse(CHANGELIST), {"action": action, "_selected_action": [v.pk for v in versions]}, follow=True
    )
    assert response.status_code == 200
    return [str(message) for message in response.context["messages"]]


def test_the_list_shows_each_versions_outcome_and_metrics(admin_client):
    version(
        status=RankerVersion.Status.REFUSED,
        message="NDCG@10 0.4100 on 80 held-out searches does not beat today's order (0.4200)",
        metrics={"training_searches": 812, "ndcg10": 0.41, "ndcg10_live": 0.42, "compared_with": "today's order"},
    )
    html = admin_client.get(reverse(CHANGELIST)).content.decode()
    assert "Refused by the promotion gate" in html
    assert "NDCG@10 0.4100 on 80 held-out searches does not beat today&#x27;s order (0.4200)" in html
    assert '<td class="field-searches">812</td>' in html
    assert "0.42 (today&#x27;s order)" in html


def test_the_change_page_charts_the_feature_importance(admin_client):
    live = version(status=RankerVersion.Status.LIVE, feature_importance={"fused_rank": 30.0, "ctr_smoothed": 10.0})
    html = admin_client.get(reverse("admin:ranking_rankerversion_change", args=[live.pk])).content.decode()
    assert '<svg class="chart" role="img"' in html
    assert "<title>fused_rank: 75.0% of the gain</title>" in html
    assert "<title>ctr_smoothed: 25.0% of the gain</title>" in html
    assert 'name="status"' not in html  # read only
    failed = version(status=RankerVersion.Status.FAILED, model_text="")
    html = admin_client.get(reverse("admin:ranking_rankerversion_change", args=[failed.pk])).content.decode()
    assert "No model (its training failed)." in html


def test_promote_and_roll_back_actions(admin_client):
    first, second = version(), version()
    refused = version(status=RankerVersion.Status.REFUSED, message="worse than the live one")

    assert run_action(admin_client, "promote", first) == [f"Ranker {first.pk} is live."]
    assert run_action(admin_client, "promote", second) == [f"Ranker {second.pk} is live; ranker {first.pk} retired."]
    assert run_action(admin_client, "promote", refused) == [
        f"Not promoted: ranker {refused.pk} was refused by the promotion gate: worse than the live one"
    ]
    assert run_action(admin_client, "promote", first, second) == ["Select exactly one version to make live."]
    assert run_action(admin_client, "roll_back", second) == [
        f"Ranker {second.pk} rolled back: ranker {first.pk} is live again."
    ]
    assert RankerVersion.objects.get(status=RankerVersion.Status.LIVE) == first


def test_why_this_order_shows_each_results_features_and_the_serving_rankers_score(admin_client):
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(500, len(FEATURE_NAMES))).astype(np.float32)
    labels = (rows[:, FEATURE_NAMES.index("ctr_smoothed")] > 0).astype(np.int32)
    trained = train(
        Dataset(rows, labels, np.tile(np.arange(1, 6, dtype=np.int32), 100), [5] * 100, []), ["ctr_smoothed"], rounds=10
    )
    ranker = version(feature_names=["ctr_smoothed"], model_text=trained.booster.model_to_string())
    matrix = np.full((2, len(FEATURE_NAMES)), np.nan, np.float32)
    matrix[:, FEATURE_NAMES.index("ctr_smoothed")] = [0.5, -0.5]
    matrix[:, FEATURE_NAMES.index("fused_rank")] = [2, 1]
    shown = ShownResults.objects.create(
        search_id=uuid.uuid4(),
        occurred_at=datetime(2026, 12, 1, tzinfo=UTC),
        visitor_id=uuid.uuid4(),
        search_kind="text",
        feature_set=ranker.feature_set,
        ranker=f"ranker-{ranker.pk}+explore",
        product_ids=[901, 902],
        first_position=25,
        features=matrix.tobytes(),
    )
    html = admin_client.get(reverse("admin:ranking_shownresults_change", args=[shown.pk])).content.decode()
    expected = trained.scores(matrix)
    assert "<tr><td>25</td><td>(deleted) (901)</td><td>" + f"{expected[0]:.3f}" + "</td>" in html
    assert "<tr><td>26</td><td>(deleted) (902)</td><td>" + f"{expected[1]:.3f}" + "</td>" in html
    assert "<th scope='col'>ctr_smoothed</th>" in html and "<td>0.5</td>" in html and "<td>–</td>" in html
