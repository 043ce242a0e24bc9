import logging

import pytest
from kombu.exceptions import OperationalError

from visualshop.broker import sending


@pytest.fixture
def sent(monkeypatch, broker_back_off_reset):
    """Messages sent to the broker, as (task name, first argument)."""
    messages = []
    monkeypatch.setattr("visualshop.celery.app.send_task", lambda name, args: messages.append((name, args[0])))
    return messages


@pytest.fixture
def clock(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(sending.time, "monotonic", lambda: now[0])
    return now


def test_ids_go_in_messages_of_the_size_asked(sent):
    assert sending.send_ids("shop.tasks.work", [1, 2, 3, 4, 5], per_message=2, consequence="not done") == []
    assert sent == [("shop.tasks.work", [1, 2]), ("shop.tasks.work", [3, 4]), ("shop.tasks.work", [5])]


def test_after_a_failure_nothing_is_tried_until_the_back_off_ends_or_is_reset(
    monkeypatch, broker_back_off_reset, clock, caplog
):
    attempts = []

    def broker_down(name, args):
        attempts.append(args[0])
        raise OperationalError("Error 2 connecting to /nowhere.sock")

    monkeypatch.setattr("visualshop.celery.app.send_task", broker_down)
    with caplog.at_level(logging.WARNING, logger="visualshop.broker.sending"):
        assert sending.send_ids("shop.tasks.work", [1, 2, 3], per_message=2, consequence="work not queued") == [1, 2, 3]
    assert caplog.messages == [
        "broker unavailable, work not queued ids=[1, 2] error=Error 2 connecting to /nowhere.sock"
    ]
    assert sending.send_ids("shop.tasks.work", [4], per_message=2, consequence="work not queued") == [4]
    assert attempts == [[1, 2]]  # the second call did not try
    clock[0] += sending.BROKER_RETRY_AFTER_SECONDS
    assert sending.send_ids("shop.tasks.work", [5], per_message=2, consequence="work not queued") == [5]
    assert attempts == [[1, 2], [5]]
    sending.back_off_reset()
    assert sending.send_ids("shop.tasks.work", [6], per_message=2, consequence="work not queued") == [6]
    assert attempts == [[1, 2], [5], [6]]


def test_a_back_off_asked_for_holds_every_send(sent):
    sending.back_off(float("inf"))
    assert sending.send_ids("shop.tasks.work", [1], per_message=2, consequence="not done") == [1]
    assert sent == []


def test_one_message_is_sent_by_name_with_its_arguments(monkeypatch):
    calls = []
    monkeypatch.setattr("visualshop.celery.app.send_task", lambda name, **options: calls.append((name, options)))
    sending.send_task("shop.tasks.rebuild", 7, countdown=2)
    assert calls == [("shop.tasks.rebuild", {"args": [7], "countdown": 2})]


def batched_kind(sent_batches: list, name: str, size: int) -> sending.BatchedIds:
    return sending.BatchedIds(lambda ids: sent_batches.append((name, ids)), batch_size=lambda: size)


def test_outside_a_block_ids_are_sent_at_once():
    batches = []
    kind = batched_kind(batches, "work", 3)
    kind.queue([1])
    kind.queue([2])
    assert batches == [("work", [1]), ("work", [2])]


def test_inside_a_block_ids_are_sent_a_batch_at_a_time_and_the_rest_at_its_end_in_creation_order():
    batches = []
    first, second = batched_kind(batches, "first", 2), batched_kind(batches, "second", 10)
    with sending.messages_batched():
        second.queue([7])
        first.queue([1])
        assert batches == []
        first.queue([2, 3])
        assert batches == [("first", [1, 2, 3])]  # full: sent at once
        first.queue([4])
        with sending.messages_batched():  # an inner block joins the outer one
            second.queue([8])
        assert batches == [("first", [1, 2, 3])]
    assert batches == [("first", [1, 2, 3]), ("first", [4]), ("second", [7, 8])]


def test_a_batch_is_sent_once_it_has_waited_long_enough(clock):
    """Ids do not sit in an import's batch for long: a sweep could take them for lost."""
    batches = []
    kind = batched_kind(batches, "work", 100)
    with sending.messages_batched():
        for pk, seconds in enumerate([0.0, 1.0, sending.BATCH_MAX_WAIT_SECONDS, 0.5]):
            clock[0] += seconds
            kind.queue([pk])
        assert batches == [("work", [0, 1, 2])]  # the third came 6 s after the first: the batch went
    assert batches == [("work", [0, 1, 2]), ("work", [3])]


def test_ids_may_be_sent_to_run_later(monkeypatch, broker_back_off_reset):
    messages = []
    monkeypatch.setattr(
        "visualshop.celery.app.send_task", lambda name, args, **options: messages.append((name, args[0], options))
    )
    assert sending.send_ids("shop.tasks.later", ["a", "b"], per_message=5, consequence="x", countdown=10.0) == []
    assert sending.send_ids("shop.tasks.now", [7], per_message=5, consequence="x") == []
    assert messages == [("shop.tasks.later", ["a", "b"], {"countdown": 10.0}), ("shop.tasks.now", [7], {})]
