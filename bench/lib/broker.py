"""A Celery broker for a benchmark that queues real messages: a temporary Redis."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from visualshop import embedded


@dataclass(frozen=True)
class Broker:
    url: str
    process: subprocess.Popen | None  # None: nothing listens at url


@contextmanager
def redis_broker(tmp: Path, *, reachable: bool = True) -> Iterator[Broker]:
    """A Redis of its own under tmp/redis, stopped on leaving; reachable=False: the URL of a
    socket nobody listens on (every message fails to send)."""
    if not reachable:
        yield Broker(embedded.redis_socket_url(tmp / "no-redis" / "redis.sock"), None)
        return
    process, socket_path = embedded.start_redis(tmp / "redis", persist=False)
    try:
        yield Broker(embedded.redis_socket_url(socket_path), process)
    finally:
        embedded.stop_process(process)


def broker_environment(broker: Broker) -> dict[str, str]:
    """The settings' environment for this broker (results go through it too, as the shop's do)."""
    return {"CELERY_BROKER_URL": broker.url, "CELERY_RESULT_BACKEND": broker.url}
