"""What the ranker reads of each candidate product, kept in this process for a short while.

Why: a search's 100 candidates are mostly the same popular products, and what the ranker
reads of them (price, stock, brand, category, colours, age, decayed engagement, image vectors)
changes slowly: engagement is rebuilt every RANKING_REFRESH_SECONDS (15 minutes), prices and
stock by staff. Read from PostgreSQL per search it cost 6.3 ms for 100 candidates
(bench/ranking.py, 2026-12-08), three times the ranker's whole budget; held here a product is
read at most once per RANKING_FACTS_CACHE_SECONDS (default 60) per process.

A visitor's profile (rebuilt every RANKING_REFRESH_SECONDS) is held likewise, so a shopper's
second search on the same page costs no query for it; rebuilding, merging or deleting a profile
forgets it here at once, in other processes within RANKING_FACTS_CACHE_SECONDS (a deleted
visitor's profile can order results there that long, never longer).

What that costs: a price, stock or engagement change reaches the ranker's features up to
RANKING_FACTS_CACHE_SECONDS late in each process (the page itself always shows the database's
price and stock). engagement_refresh empties this process's cache at once. At most
RANKING_FACTS_CACHE_PRODUCTS products are held (least recently used go first): about 1.5 KB
each with one image's vector, so 50,000 products take about 75 MB at most.

RANKING_FACTS_CACHE_SECONDS = 0 turns the cache off (every read goes to the database; the
test settings do this so a test sees its own writes).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from ranking.features import ProductFacts, Rates

# No vector known for a product (no searchable image under the model): cached like any other.
NO_VECTORS = np.zeros((0, 0), dtype=np.float32)


class _Expiring:
    """A bounded least-recently-used map whose entries expire after `seconds`."""

    def __init__(self) -> None:
        self._entries: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get_many(
        self,
        keys: Iterable,
        load: Callable[[list], dict],
        *,
        seconds: float,
        size: int,
        missing=None,
        missing_seconds: float | None = None,
    ) -> dict:
        """{key: value} for `keys`: the fresh ones from the cache, the others from one call of
        load(missing keys) -> {key: value}; a key load leaves out is cached as `missing`, for
        missing_seconds if given (else `seconds`)."""
        keys = list(keys)
        if seconds <= 0:
            loaded = load(keys)
            return {key: loaded.get(key, missing) for key in keys}
        now = time.monotonic()
        found, wanted = {}, []
        with self._lock:
            for key in keys:
                entry = self._entries.get(key)
                limit = (
                    seconds if missing_seconds is None or entry is None or entry[1] is not missing else missing_seconds
                )
                if entry is not None and now - entry[0] < limit:
                    found[key] = entry[1]
                    self._entries.move_to_end(key)
                else:
                    wanted.append(key)
        if wanted:
            loaded = load(wanted)  # outside the lock: a slow read never holds up other threads
            with self._lock:
                for key in wanted:
                    value = found[key] = loaded.get(key, missing)
                    self._entries[key] = (now, value)
                    self._entries.move_to_end(key)
                while len(self._entries) > size:
                    self._entries.popitem(last=False)
        return found

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def forget(self, keys: Iterable) -> None:
        with self._lock:
            for key in keys:
                self._entries.pop(key, None)


_facts = _Expiring()
_vectors = _Expiring()
_rates = _Expiring()
_profiles = _Expiring()


def facts_of(
    product_ids: Sequence[int], load: Callable[[list[int]], dict[int, ProductFacts]], *, seconds: float, size: int
) -> dict[int, ProductFacts]:
    """The products' facts; a product the database no longer has is left out."""
    found = _facts.get_many(product_ids, load, seconds=seconds, size=size)
    return {pid: facts for pid, facts in found.items() if facts is not None}


def vectors_of(
    model_id: int,
    product_ids: Sequence[int],
    load: Callable[[list[int]], dict[int, np.ndarray]],
    *,
    seconds: float,
    size: int,
) -> dict[int, np.ndarray]:
    """Each product's searchable images' unit vectors under the model, [images, dimension];
    products without any are left out."""
    found = _vectors.get_many(
        [(model_id, pid) for pid in product_ids],
        lambda keys: {(model_id, pid): v for pid, v in load([pid for _, pid in keys]).items()},
        seconds=seconds,
        size=size,
        missing=NO_VECTORS,
    )
    return {pid: found[(model_id, pid)] for pid in product_ids if found[(model_id, pid)].size}


def rates_of(load: Callable[[], Rates], *, seconds: float) -> Rates:
    return _rates.get_many(["catalogue"], lambda keys: {"catalogue": load()}, seconds=seconds, size=1)["catalogue"]


def profile_of(visitor_id, load: Callable[[], object], *, seconds: float, size: int, none_seconds: float):
    """A visitor's profile as selectors.visitor_profile reads it. None, for a visitor without
    one, is held too (a newcomer's next search costs no query either), but only for
    `none_seconds`: a newcomer's first clicks build their profile in another process
    (ranking.profiles.profiles_refresh_soon), which this one must not hide for a minute."""
    return _profiles.get_many(
        [visitor_id],
        lambda keys: {visitor_id: load()},
        seconds=seconds,
        size=size,
        missing_seconds=min(seconds, none_seconds),
    )[visitor_id]


def profiles_forget(visitor_ids: Iterable | None = None) -> None:
    """These visitors' profiles were rebuilt, merged or deleted (None: every visitor's)."""
    if visitor_ids is None:
        _profiles.clear()
    else:
        _profiles.forget(visitor_ids)


def clear() -> None:
    """Forget the products' facts and the rates (engagement was rebuilt: the next search reads
    them)."""
    _facts.clear()
    _vectors.clear()
    _rates.clear()
