"""What the broker holds for a task: the ids in its messages still queued, in messages
delivered to a worker and not yet acknowledged, and in the tasks live workers report.

The lost-work sweep (catalog.services.images_requeue_lost) compares this with the images
the database says are unfinished. Only the Redis transport (embedded or compose) can be
read; for any other broker read_holdings() returns None and the sweep falls back to its
time-based rule.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from dataclasses import dataclass, field

from visualshop.celery import app

logger = logging.getLogger(__name__)

# How long live workers get to answer "which tasks do you hold" (celery inspect).
INSPECT_TIMEOUT_SECONDS = 1.0


@dataclass
class Delivery:
    """A message handed to a worker and not acknowledged yet (kombu's 'unacked' hash)."""

    tag: str
    task_id: str
    delivered_at: float
    ids: list[int]


@dataclass
class Holdings:
    queued: set[int] = field(default_factory=set)
    deliveries: list[Delivery] = field(default_factory=list)

    def delivered_ids(self) -> set[int]:
        return {pk for delivery in self.deliveries for pk in delivery.ids}


@dataclass
class WorkerHoldings:
    """What the workers that answered hold: running, prefetched and waiting for a countdown."""

    task_ids: set[str] = field(default_factory=set)
    ids: set[int] = field(default_factory=set)


def _task_ids_of_payload(payload: dict, task_name: str) -> tuple[str, list[int]] | None:
    """(task id, first argument) of a Celery protocol-2 message for task_name, else None."""
    headers = payload.get("headers") or {}
    if headers.get("task") != task_name:
        return None
    body = payload.get("body", "")
    if (payload.get("properties") or {}).get("body_encoding") == "base64":
        body = base64.b64decode(body)
    try:
        args = json.loads(body)[0]
        ids = [int(pk) for pk in args[0]]
    except (ValueError, TypeError, IndexError, KeyError):
        logger.warning("unreadable %s message %s", task_name, headers.get("id"))
        return None
    return str(headers.get("id", "")), ids


def read_holdings(task_name: str) -> Holdings | None:
    """Read every queued and every unacknowledged message of task_name; None if the broker
    is not Redis or cannot be reached (the caller must then assume it holds everything)."""
    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1)
            channel = connection.default_channel
            if not hasattr(channel, "unacked_key"):  # not kombu's Redis transport
                return None
            client = channel.client
            queue = app.conf.task_default_queue
            holdings = Holdings()
            for key in dict.fromkeys(channel._q_for_pri(queue, step) for step in channel.priority_steps):
                for raw in client.lrange(key, 0, -1):
                    found = _task_ids_of_payload(json.loads(raw), task_name)
                    if found:
                        holdings.queued.update(found[1])
            delivered_at = dict(client.zrange(channel.unacked_index_key, 0, -1, withscores=True))
            for tag, raw in client.hgetall(channel.unacked_key).items():
                payload = json.loads(raw)[0]
                found = _task_ids_of_payload(payload, task_name)
                if found:
                    tag = tag.decode() if isinstance(tag, bytes) else tag
                    when = delivered_at.get(tag.encode(), delivered_at.get(tag, time.time()))
                    holdings.deliveries.append(Delivery(tag, found[0], float(when), found[1]))
            return holdings
    except Exception as exc:  # kombu and redis raise several kinds; all mean "cannot tell"
        logger.warning("could not read the broker's queue: %s", exc)
        return None


def read_worker_holdings(task_name: str) -> WorkerHoldings | None:
    """Ask the live workers (celery inspect) which task_name tasks they run, hold prefetched
    or keep for a countdown. None if the question could not be sent. A worker that does
    not answer in time counts as holding nothing: prefork workers (make run, compose)
    answer from their main process even while every child is busy."""
    try:
        inspect = app.control.inspect(timeout=INSPECT_TIMEOUT_SECONDS)
        replies = [inspect.active() or {}, inspect.reserved() or {}]
        scheduled = inspect.scheduled() or {}
    except Exception as exc:
        logger.warning("could not ask the workers what they hold: %s", exc)
        return None
    requests = [request for reply in replies for tasks in reply.values() for request in tasks]
    requests += [entry.get("request", {}) for tasks in scheduled.values() for entry in tasks]
    held = WorkerHoldings()
    for request in requests:
        if request.get("name") != task_name:
            continue
        held.task_ids.add(str(request.get("id")))
        args = request.get("args") or []
        if args and isinstance(args[0], list):
            held.ids.update(int(pk) for pk in args[0])
    return held


def restore_deliveries(tags: list[str]) -> int:
    """Put unacknowledged messages whose worker is gone back at the head of their queue (what
    kombu does itself after the visibility timeout, an hour). Returns how many were restored."""
    restored = 0
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        for tag in tags:
            channel.qos.restore_by_tag(tag, leftmost=True)
            restored += 1
    return restored
