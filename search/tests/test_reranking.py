import numpy as np
import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from fixtures.database_url import database_url_of_this_run
from fixtures.factories import make_product, stored_image
from fixtures.images import scene_bytes
from search import reranking
from search.models import SearchProjection
from search.reranking import Candidate, Projection
from search.tasks import refresh_products
from vision import selectors as vision_selectors
from vision.pipeline import product_images_process


def unit(vector):
    vector = np.asarray(vector, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def test_the_projection_suppresses_directions_pictures_of_one_category_vary_in():
    rng = np.random.default_rng(0)

    def category(sign):
        # Apart on axis 0; within a category a spread on axis 1 (say, background) as large as
        # the gap; all vectors share a large common component (CNN features are all positive).
        return np.column_stack([np.full(50, sign), rng.normal(0, 1, 50), rng.normal(0, 0.1, (50, 5)), np.full(50, 5.0)])

    vectors = np.vstack([category(1.0), category(-1.0)])
    categories = np.array([1] * 50 + [2] * 50)
    mean, matrix = reranking.fit_arrays(vectors, categories, dimension=2, regularisation=0.01)
    assert mean.shape == (8,) and matrix.shape == (8, 2)
    projection = Projection(1, mean, matrix)
    query = np.array([[1.0, -2.0, 0, 0, 0, 0, 0, 5.0]])  # category 1, far along the nuisance axis
    raw = vectors @ query[0] / np.linalg.norm(vectors, axis=1) / np.linalg.norm(query)
    projected = projection.apply(vectors) @ projection.apply(query)[0]
    assert categories[np.argsort(-raw)[:50]].tolist().count(1) == 35  # raw cosine mixes the categories
    assert categories[np.argsort(-projected)[:50]].tolist() == [1] * 50
    assert np.allclose(np.linalg.norm(projection.apply(vectors), axis=1), 1.0, atol=1e-5)


def candidate(image_id, category_id, cosine):
    return Candidate(image_id, image_id * 10, category_id, cosine, unit([1, 0]))


def test_the_category_vote_lifts_products_of_the_kind_the_photo_shows(settings):
    settings.SEARCH_VOTE_NEIGHBOURS, settings.SEARCH_VOTE_TEMPERATURE, settings.SEARCH_CATEGORY_WEIGHT = 3, 1.0, 1.0
    candidates = [candidate(1, 7, 0.90), candidate(2, 5, 0.89), candidate(3, 5, 0.88), candidate(4, 9, 0.50)]
    rescored = reranking.rescore(unit([1, 0]), candidates, projection=None)
    # The best three vote: category 5 has two of the three near-equal votes.
    weights = np.exp(np.array([0.0, -0.01, -0.02]))
    share5, share7 = (weights[1] + weights[2]) / weights.sum(), weights[0] / weights.sum()
    assert [r.candidate.image_id for r in rescored] == [2, 3, 1, 4]
    assert rescored[0].score == pytest.approx(0.89 + share5)
    assert rescored[2].score == pytest.approx(0.90 + share7)
    assert (rescored[3].score, rescored[3].category_share) == (pytest.approx(0.5), 0.0)


def test_uncategorised_products_get_no_bonus_from_each_other(settings):
    settings.SEARCH_VOTE_NEIGHBOURS = 20
    rescored = reranking.rescore(unit([1, 0]), [candidate(1, None, 0.9), candidate(2, None, 0.8)], projection=None)
    assert [(r.candidate.image_id, r.score) for r in rescored] == [(1, pytest.approx(0.9)), (2, pytest.approx(0.8))]


def test_a_weight_of_zero_turns_the_vote_off(settings):
    settings.SEARCH_CATEGORY_WEIGHT = 0.0
    rescored = reranking.rescore(unit([1, 0]), [candidate(1, 7, 0.9), candidate(2, 5, 0.8), candidate(3, 5, 0.7)], None)
    assert [r.candidate.image_id for r in rescored] == [1, 2, 3]


def test_halfvec_send_format_is_read_back_exactly():
    data = b"\x00\x03\x00\x00" + np.array([0.5, -2.0, 1.0], dtype=">f2").tobytes()
    assert reranking.halfvec_from_send(data).tolist() == [0.5, -2.0, 1.0]


@pytest.fixture
def categorised_catalogue(db, settings):
    settings.IMAGE_NEAR_DUPLICATE_COSINE = 1.01
    settings.IMAGE_BLUR_THRESHOLD = 0
    settings.IMAGE_MISCATEGORISED_MIN_CATEGORY_IMAGES = 1000  # never flag: these scenes are random
    images = [
        stored_image(
            make_product(f"P-{seed}", category="Dresses" if seed % 2 else "Shoes"), scene_bytes(seed), f"p{seed}.jpg"
        )
        for seed in range(1, 9)
    ]
    product_images_process([image.pk for image in images])
    return images


@pytest.mark.slow
@pytest.mark.django_db
def test_fitting_stores_a_new_active_version_and_search_reads_it(categorised_catalogue, settings):
    settings.SEARCH_PROJECTION_MIN_IMAGES = 8
    model = vision_selectors.embedding_model_active()
    first = reranking.projection_fit(model, dimension=4)
    assert (first.status, first.dimension, first.fit["images"], first.fit["categories"]) == ("active", 4, 8, 2)
    loaded = reranking.active_projection(model)
    assert loaded.id == first.pk and loaded.matrix.shape == (1280, 4) and loaded.mean.shape == (1280,)
    second = reranking.projection_fit(model, dimension=6)
    assert list(SearchProjection.objects.order_by("pk").values_list("status", flat=True)) == ["retired", "active"]
    assert reranking.active_projection(model).id == second.pk
    assert reranking.projection_deactivate(model) == 1
    assert reranking.active_projection(model) is None


@pytest.mark.django_db
def test_too_small_a_catalogue_is_not_fitted(categorised_catalogue, settings):
    settings.SEARCH_PROJECTION_MIN_IMAGES = 20
    with pytest.raises(
        reranking.CannotFitProjection, match="^the catalogue has 8 categorised searchable images in 2 categories"
    ):
        reranking.projection_fit(vision_selectors.embedding_model_active())


@pytest.mark.slow
@pytest.mark.django_db
def test_the_command_fits_lists_and_turns_off(categorised_catalogue, settings, capsys):
    settings.SEARCH_PROJECTION_MIN_IMAGES = 8
    call_command("fit_search_projection", "--dimension", "5")
    projection = SearchProjection.objects.get()
    assert capsys.readouterr().out.startswith(
        f"Projection {projection.version} is active for efficientnet-lite0 {projection.embedding_model.version}: "
        "fitted on 8 images in 2 categories, 5 dimensions, in "
    )
    call_command("fit_search_projection", "list")
    assert capsys.readouterr().out.startswith(f"active   {projection.version} 8 images, 2 categories, 5-d, created ")
    call_command("fit_search_projection", "off")
    assert capsys.readouterr().out == "1 projection(s) retired; photo search uses raw cosine and the category vote.\n"
    # Off stays off: the periodic refit leaves a model whose versions were all retired alone.
    assert (
        reranking.projection_refit_if_stale()
        == "projection switched off (fit_search_projection fit or activate turns it on)"
    )
    assert not SearchProjection.objects.filter(status="active").exists()
    call_command("fit_search_projection", "activate", projection.version)
    assert capsys.readouterr().out == (
        f"Projection {projection.version} is active again for efficientnet-lite0 {projection.embedding_model.version}.\n"
    )
    assert SearchProjection.objects.get().status == "active"
    with pytest.raises(CommandError, match="^no projection version 'nope' for efficientnet-lite0 "):
        call_command("fit_search_projection", "activate", "nope")


@pytest.mark.django_db
def test_the_command_explains_why_it_cannot_fit():
    with pytest.raises(CommandError, match="^no active image model yet: process catalogue images first"):
        call_command("fit_search_projection")


@pytest.mark.slow
@pytest.mark.django_db
def test_the_periodic_refit_fits_once_then_waits_for_the_catalogue_to_change(categorised_catalogue, settings):
    settings.SEARCH_PROJECTION_MIN_IMAGES = 8
    settings.SEARCH_PROJECTION_DIMENSION = 4
    first = reranking.projection_refit_if_stale()
    projection = SearchProjection.objects.get()
    assert first == f"fitted projection {projection.version} on 8 images"
    assert reranking.projection_refit_if_stale() == f"projection {projection.version} is current (8 images then, 8 now)"
    for seed in (20, 21):  # 10 images now: 25% more than at the fit
        image = stored_image(make_product(f"N-{seed}", category="Shoes"), scene_bytes(seed), f"n{seed}.jpg")
        product_images_process([image.pk])
    outcome = reranking.projection_refit_if_stale()
    newest = SearchProjection.objects.get(status="active")
    assert outcome == f"fitted projection {newest.version} on 10 images" and newest.pk != projection.pk


@pytest.mark.django_db
def test_a_refit_while_another_process_fits_leaves_it_to_that_one(categorised_catalogue, settings):
    settings.SEARCH_PROJECTION_MIN_IMAGES = 8
    model = vision_selectors.embedding_model_active()
    with psycopg.connect(database_url_of_this_run(), autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s, %s)", [reranking.REFIT_LOCK_NAMESPACE, model.pk])
        assert reranking.projection_refit_if_stale() == "another process is fitting the projection"
        assert not SearchProjection.objects.exists()
    # Its session over, the lock is free: the next check fits.
    assert reranking.projection_refit_if_stale().startswith("fitted projection ")


@pytest.mark.django_db
def test_the_periodic_refit_reports_a_catalogue_too_small(categorised_catalogue, settings):
    settings.SEARCH_PROJECTION_MIN_IMAGES = 100
    assert reranking.projection_refit_if_stale().startswith(
        "not fitted: the catalogue has 8 categorised searchable images"
    )


@pytest.mark.slow
@pytest.mark.django_db
def test_categories_can_be_left_out_of_a_fit(categorised_catalogue, settings):
    settings.SEARCH_PROJECTION_MIN_IMAGES = 4
    shoes = categorised_catalogue[1].product.category_id
    # Without Shoes only Dresses is left: nothing to tell apart.
    with pytest.raises(
        reranking.CannotFitProjection, match="^the catalogue has 4 categorised searchable images in 1 categories"
    ):
        reranking.projection_fit(vision_selectors.embedding_model_active(), dimension=3, exclude_category_ids=[shoes])
    dresses = categorised_catalogue[0].product.category_id
    projection = reranking.projection_fit(
        vision_selectors.embedding_model_active(), dimension=3, exclude_category_ids=[dresses + shoes + 1]
    )
    assert (projection.fit["images"], projection.fit["excluded_categories"]) == (8, [dresses + shoes + 1])


@pytest.mark.slow
@pytest.mark.django_db
def test_a_new_catalogue_gets_its_projection_when_its_last_picture_is_refreshed(categorised_catalogue, settings):
    settings.SEARCH_PROJECTION_MIN_IMAGES = 8
    settings.SEARCH_PROJECTION_DIMENSION = 4
    waiting = stored_image(make_product("N-20", category="Shoes"), scene_bytes(20), "n20.jpg")
    # A picture still waits for the pipeline: no fit yet, whatever the periodic check would say.
    assert refresh_products([waiting.product_id]) == 1  # a new product is dirty
    assert reranking.projection_refit_once_settled() is None
    assert not SearchProjection.objects.exists()
    product_images_process([waiting.pk])
    # The refresh after the last picture (processing made the product dirty again) fits at once.
    assert refresh_products([waiting.product_id]) == 1
    projection = SearchProjection.objects.get()
    assert (projection.status, projection.fit["images"]) == ("active", 9)
    # Settled and current: the next refresh (nothing dirty) leaves it alone.
    assert refresh_products([waiting.product_id]) == 0
    assert SearchProjection.objects.get().pk == projection.pk


def test_a_fit_is_a_version_with_its_offline_metric_and_an_mlflow_run(
    categorised_catalogue, settings, django_capture_on_commit_callbacks
):
    from mlflow.tracking import MlflowClient

    settings.SEARCH_PROJECTION_MIN_IMAGES = 8
    model = vision_selectors.embedding_model_active()
    with django_capture_on_commit_callbacks(execute=True):
        fitted = reranking.projection_fit(model, dimension=4)
    fitted.refresh_from_db()

    precision = fitted.fit["precision_at_10"]
    assert set(precision) == {"raw", "projected"} and all(0.0 <= value <= 1.0 for value in precision.values())
    run = MlflowClient(tracking_uri=settings.MLFLOW_TRACKING_URI).get_run(fitted.mlflow_run_id)
    assert run.data.params["dimension"] == "4"
    assert run.data.tags["projection_version"] == fitted.version
    assert run.data.metrics["images"] == 8.0
    assert run.data.metrics["precision10_projected"] == pytest.approx(precision["projected"])

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = reranking.projection_fit(model, dimension=4)  # the same arrays: the same version
    assert again.pk == fitted.pk and callbacks == []


def test_neighbour_precision_counts_the_nearest_of_the_same_category():
    identity = (np.zeros(2, np.float32), np.eye(2, dtype=np.float32))
    # A1 and A2 are one category, B1 another between them: every image's nearest other is of
    # the other category.
    between = np.array([[1.0, 0.0], [0.6, 0.8], [0.8, 0.6]], dtype=np.float32)
    assert reranking.neighbour_precision(between, np.array([0, 0, 1]), *identity, k=1) == {
        "raw": 0.0,
        "projected": 0.0,
    }
    # Two tight clusters: every nearest other is of the same category; a projection that
    # swaps the axes keeps that.
    clusters = np.array([[1.0, 0.0], [0.95, 0.05], [0.0, 1.0], [0.05, 0.95]], dtype=np.float32)
    swap = (np.zeros(2, np.float32), np.array([[0.0, 1.0], [1.0, 0.0]], dtype=np.float32))
    assert reranking.neighbour_precision(clusters, np.array([0, 0, 1, 1]), *swap, k=1) == {
        "raw": 1.0,
        "projected": 1.0,
    }
