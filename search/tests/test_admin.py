import pytest
from django.urls import reverse

from search.models import SearchProjection
from vision.models import EmbeddingModel

pytestmark = pytest.mark.django_db
CHANGELIST = "admin:search_searchprojection_changelist"


@pytest.fixture
def projections():
    model = EmbeddingModel.objects.create(
        name="test-net", version="fp32-0", variant="fp32", dimension=4, checksum="c" * 64, file_name="x.onnx"
    )

    def projection(version: str, status: str, precision: dict | None) -> SearchProjection:
        fit = {"images": 120, "categories": 3}
        if precision:
            fit["precision_at_10"] = precision
        return SearchProjection.objects.create(
            embedding_model=model, version=version, dimension=2, arrays=b"npz", fit=fit, status=status
        )

    return (
        projection("aaaa", SearchProjection.Status.RETIRED, {"raw": 0.61, "projected": 0.7234}),
        projection("bbbb", SearchProjection.Status.ACTIVE, {"raw": 0.61, "projected": 0.8}),
        projection("cccc", SearchProjection.Status.RETIRED, None),  # fitted before the metric existed
    )


def run_action(client, action: str, *chosen) -> list[str]:
    response = client.post(
        reverse(CHANGELIST), {"action": action, "_selected_action": [p.pk for p in chosen]}, follow=True
    )
    assert response.status_code == 200
    return [str(message) for message in response.context["messages"]]


def test_the_list_shows_each_fit_with_its_offline_metric(admin_client, projections):
    html = admin_client.get(reverse(CHANGELIST)).content.decode()
    assert "0.610 → 0.723" in html and "0.610 → 0.800" in html
    assert html.count('<input type="checkbox" name="_selected_action"') == 3


def test_staff_switch_the_projection_photo_search_uses(admin_client, projections):
    older, active, _ = projections

    assert run_action(admin_client, "make_active", older) == ["Photo search now uses projection aaaa."]
    assert dict(SearchProjection.objects.values_list("version", "status")) == {
        "aaaa": "active",
        "bbbb": "retired",
        "cccc": "retired",
    }
    assert run_action(admin_client, "make_active", older, active) == ["Choose exactly one projection to use."]
    assert run_action(admin_client, "switch_off", older, active) == ["1 projection(s) switched off."]
    assert not SearchProjection.objects.filter(status="active").exists()
