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


@pytest.mark.slow
def test_forwarding_runs_in_a_worker_and_retries_a_refused_request(redis_socket, transactional_db):
    from fixtures.celery_worker import start_celery_worker
    from fixtures.mixpanel_server import mixpanel_stand_in
    from fixtures.waiting import wait_for
    from tracking.tasks import forward_events_to_mixpanel
    from visualshop import embedded
    from visualshop.broker import sending

    sending.back_off_reset()
    visitor = uuid.uuid4()
    at = timezone.now() - timedelta(minutes=1)
    services.events_record([EventData(kind="click", visitor_id=visitor, occurred_at=at) for _ in range(3)])
    with mixpanel_stand_in() as mixpanel:
        mixpanel.fail_next = [503]  # Mixpanel down for the first attempt
        worker = start_celery_worker(
            env={"MIXPANEL_TOKEN": "TOKEN123", "MIXPANEL_EVENTS_URL": mixpanel.url, "MIXPANEL_SETTLE_SECONDS": "0"}
        )
        try:
            # The first run fails and is retried by the worker with back-off; the retry sends all 3.
            forward_events_to_mixpanel.delay()
            wait_for(lambda: len(mixpanel.events) == 3, timeout=60)
        finally:
            embedded.stop_process(worker)
    assert [(len(r["events"]), r["status"]) for r in mixpanel.requests] == [(3, 503), (3, 200)]
    assert sorted(e["properties"]["$insert_id"] for e in mixpanel.events) == sorted(
        e.event_id.hex for e in Event.objects.all()
    )
    assert {e["properties"]["distinct_id"] for e in mixpanel.events} == {str(visitor)}
