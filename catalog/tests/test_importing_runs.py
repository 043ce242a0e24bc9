"""Catalogue imports started from the admin (catalog.importing.runs): upload, background run,
progress, per-row errors, the sweep; and one on a real worker."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from catalog.importing import runs
from catalog.models import CatalogueImport, Product
from fixtures.waiting import wait_for

FEED = (
    b"id,title,price,availability\n"
    b"R-1,Linen shirt,19.90 EUR,in stock\n"
    b"R-2,,5 EUR,in stock\n"  # row 3: no title
    b"R-3,Wool scarf,12 EUR,out of stock\n"
)


def upload(name: str = "spring.csv", content: bytes = FEED) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="text/csv")


@pytest.mark.django_db
def test_a_run_imports_the_file_and_records_counts_progress_and_each_failed_row(
    admin_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as queued:
        run = runs.catalogue_import_start(upload(), by=admin_user)
    assert len(queued) == 1  # the task is sent once the upload is committed
    assert run.file.name.startswith("imports/") and run.file.name.endswith("/spring.csv")
    assert runs.catalogue_import_run(run.pk) == "done"
    run.refresh_from_db()
    assert (run.status, run.rows_total, run.rows_done, run.created, run.updated, run.rows_failed) == (
        "done",
        3,
        3,
        2,
        0,
        1,
    )
    assert run.errors == ["row 3: missing title"]
    assert run.started_by == admin_user and run.started_at <= run.finished_at
    assert sorted(Product.objects.values_list("sku", "stock")) == [("R-1", 10), ("R-3", 0)]
    # A second delivery of the message finds the run done.
    assert runs.catalogue_import_run(run.pk) is None


@pytest.mark.django_db
def test_a_file_the_importer_cannot_read_fails_the_run_with_the_reason_and_imports_nothing(admin_user):
    run = runs.catalogue_import_start(upload("broken.zip", b"not a zip at all"), by=admin_user)
    assert runs.catalogue_import_run(run.pk) == "failed"
    run.refresh_from_db()
    assert (run.status, run.message, run.rows_done) == ("failed", "broken.zip: not a valid zip file", 0)
    assert not Product.objects.exists()


@pytest.mark.django_db
def test_the_sweep_sends_again_runs_whose_message_was_lost_or_whose_worker_died(admin_user, monkeypatch, settings):
    sent = []
    monkeypatch.setattr(runs.sending, "send_ids", lambda name, ids, **options: sent.extend((name, i) for i in ids))
    now = timezone.now()
    fresh = runs.catalogue_import_start(upload("fresh.csv"), by=admin_user)
    lost = runs.catalogue_import_start(upload("lost.csv"), by=admin_user)
    stuck = runs.catalogue_import_start(upload("stuck.csv"), by=admin_user)
    moving = runs.catalogue_import_start(upload("moving.csv"), by=admin_user)
    CatalogueImport.objects.filter(pk=lost.pk).update(created_at=now - timedelta(seconds=61))
    CatalogueImport.objects.filter(pk__in=[stuck.pk, moving.pk]).update(
        status="running", created_at=now - timedelta(hours=1)
    )
    CatalogueImport.objects.filter(pk=stuck.pk).update(updated_at=now - timedelta(seconds=301))
    assert runs.catalogue_imports_sweep(now=now) == 2
    assert sorted(sent) == sorted([(runs.RUN_TASK, lost.pk), (runs.RUN_TASK, stuck.pk)])
    # The stuck run is claimed again by the next delivery; the one still moving is not.
    assert runs.catalogue_import_run(stuck.pk) == "done"
    assert runs.catalogue_import_run(moving.pk) is None
    assert fresh.pk not in [args[1] for args in sent]


@pytest.mark.django_db
def test_staff_upload_a_feed_in_the_admin_and_watch_it_run(admin_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        response = admin_client.post(reverse("admin:catalog_catalogueimport_add"), {"file": upload()}, follow=True)
    assert [str(m) for m in response.context["messages"]] == [
        "Importing spring.csv in the background; this list shows its progress."
    ]
    run = CatalogueImport.objects.get()
    changelist = reverse("admin:catalog_catalogueimport_changelist")
    assert "waiting for a worker" in admin_client.get(changelist).content.decode()
    runs.catalogue_import_run(run.pk)
    assert "3 of 3 rows" in admin_client.get(changelist).content.decode()
    page = admin_client.get(reverse("admin:catalog_catalogueimport_change", args=[run.pk])).content.decode()
    assert '<ul style="margin:0"><li>row 3: missing title</li></ul>' in page


@pytest.mark.django_db
def test_the_admin_refuses_a_file_that_is_not_a_feed(admin_client):
    response = admin_client.post(reverse("admin:catalog_catalogueimport_add"), {"file": upload("photo.jpg", b"x")})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"file": ["Upload a .csv, .tsv, .jsonl or .zip file."]}
    assert not CatalogueImport.objects.exists()


@pytest.mark.worker
def test_a_worker_runs_an_import_started_in_the_admin(celery_worker_process, admin_user):
    run = runs.catalogue_import_start(upload(), by=admin_user)
    done = wait_for(lambda: CatalogueImport.objects.filter(pk=run.pk, status="done").first(), timeout=60)
    assert (done.created, done.rows_failed) == (2, 1)
