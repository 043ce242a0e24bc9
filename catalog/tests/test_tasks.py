import pytest

from catalog.tasks import ping


@pytest.mark.worker
def test_task_round_trips_through_redis_and_a_worker_process(celery_worker_process):
    result = ping.delay("hello")
    assert result.get(timeout=30) == "pong:hello"
