"""Sending Celery tasks by name: one message now, or ids gathered into messages of a batch
size, with a back-off after the broker could not be reached.

By name, so that the sender need not import the task's module (catalog must not import
search; vision.tasks imports vision.services). Inside messages_batched() (a bulk import,
a batch of images settling) ids are held and sent a message-full at a time instead of one
message per commit.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable
from contextlib import contextmanager
from contextvars import ContextVar

from visualshop.celery import app

logger = logging.getLogger(__name__)

# An unreachable broker costs about half a second of connection retries per message,
# which would turn a bulk import into a crawl. After a failure send_ids stops trying for
# a while; its callers leave their work for a periodic sweep to send later.
BROKER_RETRY_AFTER_SECONDS = 30.0
_broker_unavailable_until = 0.0

# A batch waits at most this long for more ids before it is sent: ids held back longer
# could look lost to a sweep (catalog.services.images_requeue_lost) and be queued twice.
BATCH_MAX_WAIT_SECONDS = 5.0


def send_task(task_name: str, *args, countdown: float | None = None) -> None:
    """Send one message now. No back-off: a broker failure raises to the caller."""
    app.send_task(task_name, args=list(args), countdown=countdown)


def send_ids(task_name: str, ids: list, *, per_message: int, consequence: str, countdown: float | None = None) -> list:
    """Send the ids as the first argument of task_name, in messages of `per_message` ids (run
    `countdown` seconds later, if given); returns the ids that could not be sent. After a
    failure nothing is tried for BROKER_RETRY_AFTER_SECONDS; the warning logged says
    `consequence` for the ids."""
    global _broker_unavailable_until
    if time.monotonic() < _broker_unavailable_until:
        return list(ids)
    for start in range(0, len(ids), per_message):
        try:
            options = {} if countdown is None else {"countdown": countdown}
            app.send_task(task_name, args=[ids[start : start + per_message]], **options)
        except Exception as exc:  # kombu raises several kinds; all mean "not sent"
            _broker_unavailable_until = time.monotonic() + BROKER_RETRY_AFTER_SECONDS
            logger.warning("broker unavailable, %s ids=%s error=%s", consequence, ids[start : start + per_message], exc)
            return list(ids[start:])
    return []


def back_off_reset() -> None:
    """Forget an earlier send failure: the next send_ids tries the broker again."""
    global _broker_unavailable_until
    _broker_unavailable_until = 0.0


def back_off(seconds: float = BROKER_RETRY_AFTER_SECONDS) -> None:
    """Make send_ids send nothing for `seconds` (what a failure does), e.g. math.inf for a
    process that must not send at all."""
    global _broker_unavailable_until
    _broker_unavailable_until = time.monotonic() + seconds


class BatchedIds:
    """One kind of message whose ids messages_batched() gathers: `send` sends a list of ids
    (in as many messages as it needs), `batch_size()` is how many ids make a batch."""

    _created = itertools.count()

    def __init__(self, send: Callable[[list[int]], None], *, batch_size: Callable[[], int]) -> None:
        self.send, self.batch_size = send, batch_size
        # Left-over batches are sent in the order their kinds were created, not first-come.
        self.order = next(self._created)

    def queue(self, ids: list[int]) -> None:
        """Send the ids now, or inside messages_batched() add them to this kind's batch and
        send the batch once it holds batch_size() ids or has waited BATCH_MAX_WAIT_SECONDS."""
        batches = _open_batches.get()
        if batches is None:
            self.send(ids)
            return
        batch = batches.setdefault(self, _Batch())
        if not batch:
            batch.started = time.monotonic()
        batch.extend(ids)
        if len(batch) >= self.batch_size() or time.monotonic() - batch.started >= BATCH_MAX_WAIT_SECONDS:
            self.send(batch[:])
            batch.clear()


class _Batch(list):
    """Ids waiting to be sent together, and since when the oldest has waited."""

    started = 0.0


_open_batches: ContextVar[dict[BatchedIds, _Batch] | None] = ContextVar("broker_open_batches", default=None)


@contextmanager
def messages_batched():
    """Inside this block ids queued through a BatchedIds are sent a batch at a time instead
    of one message per call; what is left is sent when the block ends. A block opened inside
    another one joins it (the outer block sends). Ids lost with a crashed process are the
    senders' sweeps' business."""
    if _open_batches.get() is not None:
        yield
        return
    batches: dict[BatchedIds, _Batch] = {}
    token = _open_batches.set(batches)
    try:
        yield
    finally:
        _open_batches.reset(token)
        for kind in sorted(batches, key=lambda kind: kind.order):
            if batches[kind]:
                kind.send(batches[kind][:])
