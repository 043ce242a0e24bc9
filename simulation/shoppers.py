"""The shopper simulator: simulated shoppers with hidden tastes (simulation.tastes) arrive
over simulated days, search by words, by photo (the catalogue's own pictures, some cropped)
and by both, look at the results as simulation.click_model says, click, add to cart and buy.

They go through the shop's own functions, so the events written are the real ones with the
real search ids and attribution: search.product_search.search_products for the results,
tracking.services for the search, impressions, clicks, checkout and purchase events,
orders.services.cart_add / cart_remove (a session of their own, real stock checks) for the
cart. A purchase is recorded as tracking's purchase events, not placed as an order: a
simulation must not take real stock or fill the order book. Events are written in batches
(tracking.services.recording_in_batches) at simulated times (simulated_clock).

Deterministic for a seed on a given catalogue: every draw comes from one random.Random per
shopper seeded with (seed, shopper number); only the events' own UUIDs and measured latencies
differ between runs.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Prefetch
from django.utils import timezone

from catalog.models import ProductImage, ProductVariant
from catalog.selectors import shop_products
from orders import services as order_services
from orders.selectors import CartLineKey, cart_get
from ranking import engagement, profiles, retraining
from ranking import services as ranking_services
from ranking.serving import RankedSearch, ranked_search
from search.photo_search import CropBox, PhotoSearchUnavailable
from search.product_search import SearchRequest
from simulation import click_model
from simulation.tastes import CatalogueItem, Tastes, affinity, draw_tastes, with_budget
from tracking import services as tracking
from tracking.models import Event
from tracking.rollups import days_roll_up
from tracking.visitors import Identity
from vision.decoding import ImageRejected
from vision.selectors import embedding_model_active

PAGE_SIZE = 24
# Query kinds, in shares of searches: words, photo, photo + a colour word.
MODES = (("text", 0.55), ("photo", 0.30), ("hybrid", 0.15))
CROPPED_PHOTOS = 0.3  # photos cropped to the part the shopper means


class EmptyCatalogue(RuntimeError):
    """No product a shopper could see."""


@dataclass
class SimulationReport:
    visitors: int = 0
    sessions: int = 0
    searches: int = 0
    searches_by_kind: dict[str, int] = field(default_factory=dict)
    impressions: int = 0
    clicks: int = 0
    adds_to_cart: int = 0
    purchases: int = 0
    photo_searches_failed: int = 0
    seconds: float = 0.0

    @property
    def visitors_per_second(self) -> float:
        return round(self.visitors / self.seconds, 1) if self.seconds else 0.0


def catalogue_snapshot() -> list[CatalogueItem]:
    """The products shoppers may see, as the simulator reads them (three queries)."""
    images = ProductImage.objects.filter(status__in=ProductImage.SEARCHABLE_STATUSES).order_by("position", "id")
    sizes = ProductVariant.objects.filter(stock__gt=0).order_by("position", "id")
    products = (
        shop_products()
        .select_related("category")
        .prefetch_related(
            Prefetch("images", queryset=images, to_attr="searchable"),
            Prefetch("variants", queryset=sizes, to_attr="sizes_in_stock"),
        )
        .order_by("pk")
    )
    return [
        CatalogueItem(
            product_id=product.pk,
            category_id=product.category_id,
            category_name=product.category.name if product.category else "",
            colours=tuple(product.colours or ()),
            brand_id=product.brand_id,
            price=float(product.price),
            currency=product.currency,
            in_stock=product.stock > 0,
            image_name=product.searchable[0].file.name if product.searchable else "",
            image_size=(product.searchable[0].width or 0, product.searchable[0].height or 0)
            if product.searchable
            else (0, 0),
            sizes_in_stock=tuple(size.pk for size in product.sizes_in_stock),
        )
        for product in products
    ]


@dataclass(frozen=True)
class SearchSeen:
    """One simulated search as it was served, for an observer (bench/ranking.py judges each
    served order against the shopper's hidden tastes)."""

    tastes: Tastes
    visitor_id: uuid.UUID
    request: SearchRequest
    ranked: RankedSearch
    at: datetime


def simulate_shoppers(
    *,
    visitors: int,
    days: int,
    seed: int,
    end: datetime | None = None,
    numbers: Sequence[int] | None = None,
    period: int = 0,
    observer: Callable[[SearchSeen], None] | None = None,
    budget: float = 1.0,
) -> SimulationReport:
    """Simulate `visitors` shoppers over the `days` days before `end` (default now).

    Shopper number n is the same person (visitor id, tastes) in every run with the same seed;
    `numbers` picks which shoppers come (default: numbers 0 to visitors - 1). period > 0 draws
    their behaviour afresh (other days, other searches) while they stay who they are: shoppers
    returning in a later period. observer, if given, is told of every search served. budget
    scales every shopper's price band (simulation.tastes.with_budget): 0.6 is a season in which
    shoppers look for 40% lower prices, a drift a ranker trained before it must relearn."""
    catalogue = catalogue_snapshot()
    if not catalogue:
        raise EmptyCatalogue("the shop has no product a shopper could see (active, with a processed picture)")
    end = end or timezone.now()
    report = SimulationReport()
    started = time.perf_counter()
    world = _World(
        catalogue, {item.product_id: item for item in catalogue}, end - timedelta(days=days), days, observer, budget
    )
    with tracking.recording_in_batches():
        for number in range(visitors) if numbers is None else numbers:
            behaviour = random.Random(f"{seed}:{number}:{period}") if period else None
            _Shopper(world, random.Random(f"{seed}:{number}"), report, behaviour).visit()
            report.visitors += 1
    report.seconds = time.perf_counter() - started
    return report


@dataclass
class _World:
    catalogue: list[CatalogueItem]
    by_id: dict[int, CatalogueItem]
    start: datetime
    days: int
    observer: Callable[[SearchSeen], None] | None = None
    budget: float = 1.0
    pictures: dict[str, bytes] = field(default_factory=dict)

    def picture(self, name: str) -> bytes | None:
        if name not in self.pictures:
            try:
                with ProductImage.file.field.storage.open(name, "rb") as handle:
                    self.pictures[name] = handle.read()
            except OSError:
                self.pictures[name] = b""
        return self.pictures[name] or None


class _Shopper:
    def __init__(
        self, world: _World, rng: random.Random, report: SimulationReport, behaviour: random.Random | None = None
    ):
        self.world, self.rng, self.report = world, rng, report
        self.identity = Identity(uuid.UUID(int=rng.getrandbits(128), version=4))
        self.tastes: Tastes = with_budget(draw_tastes(rng, world.catalogue), world.budget)
        if behaviour is not None:  # the same person, behaving afresh (a later period)
            self.rng = behaviour
        # The products of the shopper's favourite categories: what they search for.
        self.liked = [item for item in world.catalogue if item.category_id in self.tastes.categories]
        self.now = world.start
        self.cart: dict = {}  # the shopper's own session: orders.services keeps the cart in it

    def clock(self) -> datetime:
        return self.now

    def wait(self, mean_seconds: float) -> None:
        self.now += timedelta(seconds=self.rng.expovariate(1.0 / mean_seconds))

    def visit(self) -> None:
        sessions = 1
        while sessions < 4 and self.rng.random() < 0.35:
            sessions += 1
        days = sorted(self.rng.randrange(self.world.days) for _ in range(sessions))
        with tracking.simulated_clock(self.clock):
            for day in days:
                # Shoppers come in the daytime: a session starts between 07:00 and 23:00.
                start = self.world.start + timedelta(days=day, hours=7 + self.rng.random() * 16)
                self.now = max(self.now, start)
                self.session()

    def session(self) -> None:
        self.report.sessions += 1
        for _ in range(self.rng.choice((1, 1, 2, 2, 3))):
            self.search_and_look()
            self.wait(40)
        if self.cart:
            self.checkout()

    # -- searching ------------------------------------------------------------------------

    def query(self) -> SearchRequest | None:
        mode = self.rng.choices([m for m, _ in MODES], [w for _, w in MODES])[0]
        colour = self.rng.choice(self.tastes.colours) if self.tastes.colours else ""
        liked = self.liked
        if mode == "text" or not liked:
            # The words of a liked category's name ("Dresses"), half the time with a liked colour.
            category = self.rng.choice(liked or self.world.catalogue).category_name.lower()
            words = " ".join(word for word in (colour if self.rng.random() < 0.5 else "", category) if word)
            if not words:
                return None
            return SearchRequest(text=words, limit=PAGE_SIZE)
        item = self.rng.choice(liked)
        photo = self.world.picture(item.image_name) if item.image_name else None
        if photo is None:
            return None
        crop = None
        width, height = item.image_size
        if self.rng.random() < CROPPED_PHOTOS and width and height:
            # The part the shopper means: a box of 60-90% of the picture's sides around its centre.
            share = 0.6 + 0.3 * self.rng.random()
            left, top = round(width * (1 - share) / 2), round(height * (1 - share) / 2)
            crop = CropBox(left, top, width - left, height - top)
        text = colour if mode == "hybrid" else ""
        return SearchRequest(text=text, image=photo, crop=crop, limit=PAGE_SIZE)

    def search_and_look(self) -> None:
        request = self.query()
        if request is None:
            return
        if request.image is not None:
            tracking.photo_upload_recorded(self.identity)  # as the shop's upload form records it
            self.wait(2)
        started = time.perf_counter()
        try:
            ranked = ranked_search(request, visitor_id=self.identity.visitor_id, rng=self.rng)
        except (ImageRejected, PhotoSearchUnavailable):
            self.report.photo_searches_failed += 1
            return
        found = ranked.results
        latency_ms = (time.perf_counter() - started) * 1000
        search_id = tracking.search_recorded(
            self.identity,
            search_kind=found.mode,
            words=request.text,
            filters={},
            page=1,
            result_count=found.total,
            latency_ms=latency_ms,
            ranker=ranked.ranker,
        )
        ranking_services.shown_results_log(search_id, self.identity.visitor_id, ranked, occurred_at=self.now)
        if self.world.observer is not None:
            self.world.observer(SearchSeen(self.tastes, self.identity.visitor_id, request, ranked, self.now))
        self.report.searches += 1
        self.report.searches_by_kind[found.mode] = self.report.searches_by_kind.get(found.mode, 0) + 1
        self.wait(4)
        hits = [hit for hit in found.hits if hit.product_id in self.world.by_id]
        seen = click_model.results_seen(self.rng, len(hits))
        impressions = [
            tracking.EventData(
                kind="impression",
                visitor_id=self.identity.visitor_id,
                occurred_at=self.now,
                search_id=search_id,
                product_id=hit.product_id,
                position=position,
                properties={"page": 1},
            )
            for position, hit in enumerate(hits[:seen], start=1)
        ]
        tracking.events_record_on_commit(impressions)
        self.report.impressions += len(impressions)
        for position, hit in enumerate(hits[:seen], start=1):
            item = self.world.by_id[hit.product_id]
            liking = affinity(self.tastes, item)
            if self.rng.random() >= click_model.examination(position) * click_model.attractiveness(liking):
                continue
            self.wait(6)
            tracking.click_recorded(
                self.identity, product_id=item.product_id, search_id=search_id, position=position, page=1
            )
            self.report.clicks += 1
            self.wait(30)
            if item.in_stock and self.rng.random() < click_model.cart(liking):
                self.add_to_cart(item)

    # -- the cart -------------------------------------------------------------------------

    def add_to_cart(self, item: CatalogueItem) -> None:
        size = self.rng.choice(item.sizes_in_stock) if item.sizes_in_stock else None
        try:
            order_services.cart_add(
                self.cart, product_id=item.product_id, variant_id=size, quantity=1, identity=self.identity
            )
        except order_services.CartError:
            return
        self.report.adds_to_cart += 1

    def checkout(self) -> None:
        for key in list(cart_get(self.cart)):
            if self.rng.random() < click_model.REMOVE:
                order_services.cart_remove(self.cart, key=key, identity=self.identity)
        lines = cart_get(self.cart)
        if not lines or self.rng.random() >= click_model.CHECKOUT:
            return
        bought = [self._line(key, quantity) for key, quantity in lines.items()]
        currency = self.world.by_id[bought[0].product_id].currency
        self.wait(60)
        tracking.checkout_started_recorded(self.identity, lines=bought, currency=currency)
        if self.rng.random() < click_model.PURCHASE:
            self.wait(90)
            reference = f"SIM-{self.identity.visitor_id.hex[:8]}-{self.report.purchases}"
            tracking.purchase_recorded(self.identity, order=reference, lines=lambda: bought, currency=currency)
            self.report.purchases += 1
            order_services.cart_clear(self.cart)

    def _line(self, key: CartLineKey, quantity: int) -> tracking.LineData:
        return tracking.LineData(key.product_id, quantity, quantity * self.world.by_id[key.product_id].price)


def simulate_in_steps(
    *,
    visitors: int,
    days: float,
    seed: int,
    end: datetime,
    step_days: float,
    visit_share: float,
    budget: float = 1.0,
    first_period: int = 1,
) -> SimulationReport:
    """The `days` before `end` in steps of `step_days`, as a running shop lives them: before
    each step, products' engagement and visitors' profiles are rebuilt as of its start (as
    ranking's periodic task keeps them), so every page's logged features are what serving knew
    then. In each step a share of the `visitors` shoppers comes (visit_share, drawn from the
    seed), behaving afresh (period = first_period + the step): the same people return over the
    days. budget: as simulate_shoppers'; a later run over later days passes a first_period past
    the earlier run's steps, so its shoppers do not repeat what they did then."""
    rng = random.Random(f"{seed}:steps" if first_period == 1 else f"{seed}:steps:{first_period}")
    total = SimulationReport()
    step_start, step = end - timedelta(days=days), 0
    while step_start < end:
        step_end = min(end, step_start + timedelta(days=step_days))
        engagement.engagement_refresh(as_of=step_start)
        profiles.profiles_refresh(as_of=step_start)
        numbers = [n for n in range(visitors) if rng.random() < visit_share]
        report = simulate_shoppers(
            visitors=len(numbers),
            days=max(1, round((step_end - step_start).total_seconds() / 86400)),
            seed=seed,
            end=step_end,
            numbers=numbers,
            period=first_period + step,
            budget=budget,
        )
        for name in ("visitors", "sessions", "searches", "impressions", "clicks", "adds_to_cart", "purchases"):
            setattr(total, name, getattr(total, name) + getattr(report, name))
        total.photo_searches_failed += report.photo_searches_failed
        total.seconds += report.seconds
        for kind, count in report.searches_by_kind.items():
            total.searches_by_kind[kind] = total.searches_by_kind.get(kind, 0) + count
        step_start, step = step_end, step + 1
    engagement.engagement_refresh(as_of=end)
    profiles.profiles_refresh(as_of=end)
    return total


# -- the demo's traffic (make run) ----------------------------------------------------------------

DEMO_VISITORS = 300
DEMO_DAYS = 30
# Engagement and profiles rebuilt every 3 days; a visitor comes in a step with this chance
# (about 300 visits in all, as many as when each came once).
DEMO_STEP_DAYS = 3
DEMO_VISIT_SHARE = 0.1
# The first ranker is judged on the last quarter of the demo's days (the nightly job's 2 days of
# a quiet demo hold too few searches to judge a model by: about 34 with a click).
DEMO_HOLDOUT_SHARE = 0.25


class CatalogueNotReady(RuntimeError):
    """Pictures are still being processed (or no model is active yet): simulate later."""


def demo_traffic_simulate(
    *, visitors: int = DEMO_VISITORS, days: int = DEMO_DAYS, seed: int = 1
) -> SimulationReport | None:
    """Simulated traffic for a shop with no events yet (the demo on a first `make run`), once
    every picture is processed, then a first ranker trained on it (ranking.retraining: live
    only if it beats today's order): None when the shop already has events (nothing done);
    CatalogueNotReady while pictures wait for the pipeline."""
    if Event.objects.exists():
        return None
    if (
        ProductImage.objects.filter(status__in=(ProductImage.Status.PENDING, ProductImage.Status.PROCESSING)).exists()
        or embedding_model_active() is None
        or not shop_products().exists()
    ):
        raise CatalogueNotReady("the catalogue's pictures are not all processed yet")
    report = simulate_in_steps(
        visitors=visitors,
        days=days,
        seed=seed,
        end=timezone.now(),
        step_days=DEMO_STEP_DAYS,
        visit_share=DEMO_VISIT_SHARE,
    )
    today = timezone.localdate()
    days_roll_up(today - timedelta(days=days), today)
    # A first ranker from the demo's searches, live only if it beats today's order on the last days.
    holdout_days = days * DEMO_HOLDOUT_SHARE
    retraining.ranker_retrain(trigger="demo", training_days=days - holdout_days, holdout_days=holdout_days)
    return report
