"""Two parts of one search at the same time: the shopper's photo is embedded in a worker
thread while this thread searches the words (a photo + words search's first view).

Embedding is decoding (Pillow) and the network's run (onnxruntime), both of which release
the GIL; the word search mostly waits on PostgreSQL. Measured 2026-12-07 on this 2-core host
(scratch runs): embedding and the words' search 17.5 ms one after the other, 13.7 ms
overlapped; on the photo + words first view (bench/pages.py's page, renders interleaved)
-1.1 ms, since there PostgreSQL and Python want the same cores. The worker thread touches no database: what runs there is given bytes and a model
and returns a vector, so it never sees another thread's transaction.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from django.db import connections

A = TypeVar("A")
B = TypeVar("B")

# One per request thread of a web worker (visualshop/gunicorn_conf.py, WEB_THREADS = 8), so a
# search never waits for another's embedding to start. Threads start on first use.
MAX_THREADS = 8

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def while_computing(compute: Callable[[], A], meanwhile: Callable[[], B], *, background: bool = True) -> tuple[A, B]:
    """(compute(), meanwhile()), with compute run in a worker thread while meanwhile runs here.
    An exception of either is raised here, compute's first (it was the first step before the
    two overlapped). background=False runs both here, one after the other (compute has nothing
    to wait for, e.g. a stored vector)."""
    if not background:
        return compute(), meanwhile()
    future = _executor().submit(_without_connections, compute)
    try:
        other = meanwhile()
    except BaseException:
        future.result()  # compute's own error, if it failed, is the one the shopper should see
        raise
    return future.result(), other


def _without_connections(compute: Callable[[], A]) -> A:
    try:
        return compute()
    finally:
        # Nothing run here should open a database connection; if something ever does, it is
        # closed rather than left open for the life of the thread.
        connections.close_all()


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=MAX_THREADS, thread_name_prefix="search-overlap")
        return _pool


def _forget_executor() -> None:
    """In a forked child: the parent's threads do not exist there; a new pool starts on use."""
    global _pool, _pool_lock
    _pool = None
    _pool_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_executor)
