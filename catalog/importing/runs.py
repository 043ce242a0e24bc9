"""Catalogue imports staff start from the admin: the uploaded file is kept, a worker imports it
with the same importer as `manage.py import_catalog` (catalog.importing.service), and the run's
row records its progress, counts and per-row errors for the admin to show.

Safe to run twice: a run is claimed before it starts, the importer upserts by SKU, and the
periodic sweep restarts a run whose message was lost or whose worker died (no progress for
IMPORT_RUN_STALE_SECONDS).
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from catalog.importing.records import SourceError
from catalog.importing.service import RowFailure, import_catalog
from catalog.models import CatalogueImport
from visualshop.broker import sending

logger = logging.getLogger(__name__)

RUN_TASK = "catalog.tasks.run_catalogue_import"
# Progress is written at most this often (one UPDATE), so a large feed is not slowed by it.
PROGRESS_EVERY_SECONDS = 1.0

Status = CatalogueImport.Status


def catalogue_import_start(upload: UploadedFile, *, by) -> CatalogueImport:
    """Keep the upload and queue its import once this transaction commits."""
    run = CatalogueImport(started_by=by)
    run.file.save(upload.name, upload, save=False)
    run.save()
    transaction.on_commit(lambda: _send([run.pk]))
    return run


def _send(run_ids: list[int]) -> None:
    # A broker that is away: the runs stay queued and the sweep sends them later.
    sending.send_ids(RUN_TASK, run_ids, per_message=1, consequence="catalogue import not queued (the sweep will)")


def catalogue_import_run(run_id: int) -> str | None:
    """Import the run's file, recording progress as it goes; returns the final status, or None
    when the run is not this call's to do (already done, or another worker is on it)."""
    stale = timezone.now() - timedelta(seconds=settings.IMPORT_RUN_STALE_SECONDS)
    claimed = CatalogueImport.objects.filter(
        Q(status=Status.QUEUED) | Q(status=Status.RUNNING, updated_at__lt=stale), pk=run_id
    ).update(status=Status.RUNNING, started_at=timezone.now(), rows_done=0, updated_at=timezone.now())
    if not claimed:
        return None
    run = CatalogueImport.objects.get(pk=run_id)
    progress = _Progress(run)
    try:
        report = import_catalog(run.file.path, on_total=progress.total, on_row=progress.row)
    except SourceError as exc:
        return _finish(run, Status.FAILED, message=str(exc).replace(run.file.path, run.file_name))
    except Exception as exc:  # logged with its traceback; staff see a short reason, the run does not hang
        logger.exception("catalogue import %s failed", run_id)
        return _finish(run, Status.FAILED, message=f"the import stopped: {type(exc).__name__}: {exc}"[:500])
    return _finish(
        run,
        Status.DONE,
        created=report.created,
        updated=report.updated,
        images_added=report.images_added,
        rows_failed=report.failed,
        rows_done=report.rows,
        errors=progress.errors,
    )


def _finish(run: CatalogueImport, status: str, **fields) -> str:
    CatalogueImport.objects.filter(pk=run.pk).update(
        status=status, finished_at=timezone.now(), updated_at=timezone.now(), **fields
    )
    return status


class _Progress:
    """The importer's hooks: row counts and failures, written to the run about once a second."""

    def __init__(self, run: CatalogueImport) -> None:
        self.run_id = run.pk
        self.done = 0
        self.failed = 0
        self.errors: list[str] = []
        self.written_at = 0.0

    def total(self, rows: int) -> None:
        CatalogueImport.objects.filter(pk=self.run_id).update(rows_total=rows, updated_at=timezone.now())

    def row(self, failure: RowFailure | None) -> None:
        self.done += 1
        if failure is not None:
            self.failed += 1
            if len(self.errors) < settings.IMPORT_RUN_MAX_ERRORS:
                self.errors.append(str(failure))
        if time.monotonic() - self.written_at >= PROGRESS_EVERY_SECONDS:
            self.written_at = time.monotonic()
            CatalogueImport.objects.filter(pk=self.run_id).update(
                rows_done=self.done, rows_failed=self.failed, errors=self.errors, updated_at=timezone.now()
            )


def catalogue_imports_sweep(*, now=None) -> int:
    """Periodic: send again the runs whose message was lost (queued for over a minute) or whose
    worker died (running without progress for IMPORT_RUN_STALE_SECONDS). Returns how many."""
    now = now or timezone.now()
    lost = CatalogueImport.objects.filter(
        Q(status=Status.QUEUED, created_at__lt=now - timedelta(seconds=60))
        | Q(status=Status.RUNNING, updated_at__lt=now - timedelta(seconds=settings.IMPORT_RUN_STALE_SECONDS))
    ).values_list("pk", flat=True)
    ids = list(lost)
    _send(ids)
    return len(ids)
