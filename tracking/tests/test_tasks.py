import time
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from tracking import services
from tracking.models import Event
from tracking.services import EventData
from tracking.tasks import purge_expired_events


@pytest.mark.slow
def test_the_purge_runs_in_a_worker_process(celery_worker_process, settings):
    now, visitor = timezone.now(), uuid.uuid4()
    old = now - timedelta(days=settings.TRACKING_RETENTION_DAYS + 1)
    services.events_record([EventData(kind="click", visitor_id=visitor, occurred_at=when) for when in (old, old, now)])
    purge_expired_events.delay()
    deadline = time.monotonic() + 30
    while Event.objects.count() != 1 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert list(Event.objects.values_list("occurred_at", flat=True)) == [now]
