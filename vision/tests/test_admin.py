from decimal import Decimal

import numpy as np
import pytest
from django.contrib import admin
from django.urls import reverse

from catalog import services as catalog_services
from catalog.models import ProductImage
from catalog.services import ProductData
from vision import services
from vision.models import EmbeddingModel, ImageEmbedding
from visualshop.broker import sending

pytestmark = pytest.mark.django_db

Status = EmbeddingModel.Status
CHANGELIST = "admin:vision_embeddingmodel_changelist"


def make_model(n: int, status: str) -> EmbeddingModel:
    return EmbeddingModel.objects.create(
        name="efficientnet-lite0",
        version=f"fp32-{n:016x}",
        variant="fp32",
        dimension=1280,
        checksum=f"{n:064x}",
        file_name=f"efficientnet-lite0-fp32-{n:016x}.onnx",
        status=status,
    )


def make_images(count: int) -> list[ProductImage]:
    product, _ = catalog_services.product_upsert(ProductData(sku="VEC", title="Vectors", price=Decimal("1.00")))
    start = product.images.count()
    return [
        ProductImage.objects.create(
            product=product, file=f"products/vec-{k}.png", sha256=f"{k:064x}", status=ProductImage.Status.READY
        )
        for k in range(start, start + count)
    ]


def embed(model: EmbeddingModel, images: list[ProductImage]) -> None:
    vector = np.full(model.dimension, 1 / np.sqrt(model.dimension), dtype=np.float32)
    ImageEmbedding.objects.bulk_create(ImageEmbedding(image=i, model=model, embedding=vector) for i in images)


@pytest.fixture
def versions():
    """An active version with 3 vectors, a retired one with none, and nothing building."""
    active, retired = make_model(1, Status.ACTIVE), make_model(2, Status.RETIRED)
    embed(active, make_images(3))
    return active, retired


@pytest.fixture
def sent(monkeypatch):
    """Tasks the services send, recorded instead of going to Celery."""
    calls = []
    monkeypatch.setattr(sending, "send_task", lambda name, *args, **options: calls.append((name, args)))
    return calls


def run_action(client, *models, capture):
    with capture(execute=True):
        response = client.post(
            reverse(CHANGELIST),
            {"action": "rebuild_and_switch", "_selected_action": [m.pk for m in models]},
            follow=True,
        )
    assert response.status_code == 200
    return [(m.level_tag, str(m)) for m in response.context["messages"]]


def test_changelist_shows_vector_counts_without_a_query_per_row(admin_client, versions, django_assert_num_queries):
    active, retired = versions
    # session, user, filtered count, total count, versions with their vector counts, variant filter choices
    with django_assert_num_queries(6):
        response = admin_client.get(reverse(CHANGELIST))
    counts = {m.pk: m._vector_count for m in response.context["cl"].result_list}
    assert counts == {active.pk: 3, retired.pk: 0}
    html = response.content.decode()
    assert '<td class="field-vector_count">3</td>' in html
    assert '<td class="field-vector_count">0</td>' in html

    building = make_model(3, Status.BUILDING)
    embed(building, make_images(2))
    for n in range(4, 7):
        make_model(n, Status.RETIRED)
    with django_assert_num_queries(6):
        response = admin_client.get(reverse(CHANGELIST))
    counts = {m.pk: m._vector_count for m in response.context["cl"].result_list}
    assert len(counts) == 6 and counts[active.pk] == 3 and counts[building.pk] == 2


def test_change_page_is_read_only_and_shows_the_vector_count(admin_client, versions):
    active, _ = versions
    response = admin_client.get(reverse("admin:vision_embeddingmodel_change", args=[active.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert '<div class="readonly">3</div>' in html
    assert f'<div class="readonly">{active.checksum}</div>' in html
    assert response.context["adminform"].form.fields == {}
    assert 'name="_save"' not in html


def test_versions_cannot_be_added_and_vectors_are_not_in_the_admin(admin_client, versions):
    assert admin_client.get(reverse("admin:vision_embeddingmodel_add")).status_code == 403
    assert not admin.site.is_registered(ImageEmbedding)


def test_rebuild_action_on_a_retired_version_starts_building_it(
    admin_client, versions, sent, django_capture_on_commit_callbacks
):
    active, retired = versions
    messages = run_action(admin_client, retired, capture=django_capture_on_commit_callbacks)
    assert messages == [
        (
            "success",
            f"Rebuilding the catalogue with {retired.name} {retired.version} in the background. The active version "
            "keeps serving searches until every image has a vector from this one; then search switches to it.",
        )
    ]
    retired.refresh_from_db()
    active.refresh_from_db()
    assert (retired.status, active.status) == (Status.BUILDING, Status.ACTIVE)
    assert sent == [("vision.tasks.rebuild_embeddings", (retired.pk,))] * services.REBUILD_CHAINS


def test_rebuild_action_refuses_the_active_version(admin_client, versions, sent, django_capture_on_commit_callbacks):
    active, _ = versions
    messages = run_action(admin_client, active, capture=django_capture_on_commit_callbacks)
    assert messages == [("error", f"{active.name} {active.version} is already the active version; nothing to rebuild.")]
    active.refresh_from_db()
    assert active.status == Status.ACTIVE
    assert sent == []


def test_rebuild_action_refuses_more_than_one_version(admin_client, versions, sent, django_capture_on_commit_callbacks):
    retired, other = versions[1], make_model(3, Status.RETIRED)
    messages = run_action(admin_client, retired, other, capture=django_capture_on_commit_callbacks)
    assert messages == [("error", "Select exactly one version to rebuild the catalogue with.")]
    assert set(EmbeddingModel.objects.filter(pk__in=[retired.pk, other.pk]).values_list("status", flat=True)) == {
        Status.RETIRED
    }
    assert sent == []


def test_rebuild_action_shows_why_services_refused(admin_client, versions, sent, django_capture_on_commit_callbacks):
    retired = versions[1]
    building = make_model(3, Status.BUILDING)
    messages = run_action(admin_client, retired, capture=django_capture_on_commit_callbacks)
    assert messages == [
        (
            "error",
            f"Cannot rebuild with {retired.name} {retired.version}: "
            f"{building.name} {building.version} is already being built",
        )
    ]
    retired.refresh_from_db()
    assert retired.status == Status.RETIRED
    assert sent == []
