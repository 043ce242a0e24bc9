import time
import uuid

import pytest
from django.utils import timezone

from ranking.models import ProductEngagement, RankerVersion, VisitorProfile
from ranking.tasks import refresh_engagement_and_profiles, refresh_visitor_profiles, retrain_ranker
from tracking.models import Event


@pytest.mark.worker
def test_the_refreshes_and_the_retraining_run_in_a_worker_process(celery_worker_process):
    shopper = uuid.uuid4()
    Event.objects.create(
        event_id=uuid.uuid4(), kind="click", occurred_at=timezone.now(), visitor_id=shopper, product_id=41
    )
    refresh_engagement_and_profiles.delay()
    retrain_ranker.delay()
    deadline = time.monotonic() + 60
    while not (ProductEngagement.objects.exists() and RankerVersion.objects.exists()) and time.monotonic() < deadline:
        time.sleep(0.2)
    VisitorProfile.objects.all().delete()
    refresh_visitor_profiles.delay([str(shopper)])  # what a click sends (ranking.profiles.profiles_refresh_soon)
    while not VisitorProfile.objects.filter(pk=shopper).exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert VisitorProfile.objects.get(pk=shopper).weight == pytest.approx(1.0, abs=1e-3)
    assert list(ProductEngagement.objects.values_list("product_id", "clicks")) == [(41, pytest.approx(1.0, abs=1e-3))]
    # Nothing to learn from: the nightly run is recorded as failed, never served.
    [version] = RankerVersion.objects.all()
    assert (version.trigger, version.status) == ("nightly", RankerVersion.Status.FAILED)
