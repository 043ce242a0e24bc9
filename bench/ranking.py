"""Benchmark: does the learned ranker order results better than today's order, for everyone
and for returning shoppers, judged against what the simulated shoppers really like?

In a throw-away database (`visualshop_bench_ranking`, dropped at the end):

1. Catalogue: ../shared/datasets/clothing-small `train` imported and processed through the
   real pipeline (search.evaluation.photo.catalogue_load). The ImageFolder has no prices,
   stock or brands; each product gets a price (log-normal around 40, 10-200), a stock (one in
   eight sold out) and one of 8 brands, drawn from a fixed seed, as a shop's catalogue has.
2. Training days: the shopper simulator (simulation.shoppers) runs `visitors` shoppers over
   `train_days` days through ranking.serving.ranked_search with no ranker live, so today's
   order is served and the features of every page shown are logged (ranking.models.ShownResults)
   with the events.
3. Engagement and profiles are rebuilt as of the end of the training days; rankers are trained
   on those days (ranking.training): `naive` (clicks as labels, no position correction),
   `ranker` (position-debiased, no personal features), `personal` (debiased, every feature).
4. Held-out days: `returning` of the same shoppers come back (the same people and tastes,
   fresh behaviour: simulate_shoppers(period=1)) with `newcomers` new ones, over `eval_days`
   days. For each search served, the first RANKING_CANDIDATES results are ordered by each
   policy and judged with NDCG@10 against the simulator's true relevance of each result for
   that shopper: simulation.click_model.attractiveness(simulation.tastes.affinity(...)), the
   probability they would click it if they looked at it. Today's order is what is served,
   so every policy is judged on the same searches.

Prints one JSON object:
    ndcg10_baseline, ndcg10_naive, ndcg10_ranker (debiased, no personal features),
    ndcg10_personal: over all held-out searches; ndcg10_ranker_returning,
    ndcg10_personal_returning (searches by shoppers with a profile); new_visitor_delta
    (personal vs ranker for newcomers, relative); lift_ranker, lift_personal_returning
    (relative); rank_p50_ms_100 (features + scoring of 100 candidates, in-process);
    photo_search_p50_ms_off / _on (a photo search's first page: search_products alone vs
    ranked_search with the personal ranker live); retrain_promoted (the nightly job promotes
    after a drift and refuses a sabotaged training set, retraining_judged; details under
    "drift" and "sabotage"); train_seconds (the training rows tiled to
    train_seconds_searches = 100,000 searches); targets and whether each is met.

`--quick` (CI): 12 pictures per class, 160 shoppers over 6 days, 80 returning + 30 new over
2 days, 4 drifted days, train_seconds on 5,000 searches.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
from visualshop.throwaway import (  # noqa: E402
    BENCH_RATE_LIMITS,
    django_on_throwaway,
    sigterm_as_ctrl_c,
    throwaway_database,
)

BENCH_DATABASE = "visualshop_bench_ranking"
DEFAULT_DATASET = BASE_DIR.parent / "shared" / "datasets" / "clothing-small"
PLANS = {
    "full": {
        "per_class": None,
        "visitors": 2500,
        "train_days": 21,
        "returning": 800,
        "newcomers": 300,
        "eval_days": 7,
        "train_searches": 100_000,
        "drift_days": 6,
        "drift_holdout_days": 2,
        "drift_min_searches": (200, 50),
    },
    "quick": {
        "per_class": 12,
        "visitors": 160,
        "train_days": 6,
        "returning": 80,
        "newcomers": 30,
        "eval_days": 2,
        "train_searches": 5_000,
        "drift_days": 4,
        "drift_holdout_days": 1,
        "drift_min_searches": (60, 20),
    },
}
TARGETS = {"lift_ranker": 0.10, "lift_personal_returning": 0.10, "new_visitor_delta": -0.01, "rank_p50_ms_100": 2.0}
SEED = 7
BRANDS = 8
REFRESH_DAYS = 2
VISIT_SHARE = 0.3
# The drift of retrain_promoted: the same shoppers, after the held-out days, look for 40% lower
# prices (simulation.tastes.with_budget), as in a sale season.
DRIFT_BUDGET = 0.6


def say(message: str) -> None:
    print(f"[bench/ranking] {message}", file=sys.stderr, flush=True)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small catalogue and few shoppers (for CI)")
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET, help="an ImageFolder with train/<class>/")
    return parser.parse_args()


def main() -> int:
    args = arguments()
    plan = PLANS["quick" if args.quick else "full"]
    if not (args.dataset / "train").is_dir():
        print(f"no dataset at {args.dataset} (expected train/<class>/ folders)", file=sys.stderr)
        return 2
    sigterm_as_ctrl_c()
    started = time.perf_counter()
    with throwaway_database(BENCH_DATABASE, prefix="visualshop-bench-ranking-") as (tmp, database_url):
        django_on_throwaway(tmp, database_url, **BENCH_RATE_LIMITS)
        result = ranking_measured(plan, args.dataset, tmp)
    result.update({"benchmark": "ranking", "quick": args.quick, "cpus": os.cpu_count()})
    result["wall_s"] = round(time.perf_counter() - started, 1)
    print(json.dumps(result))
    return 0


def ranking_measured(plan: dict, dataset_root: Path, tmp: Path) -> dict:
    from django.utils import timezone

    from ranking import engagement, profiles, training
    from ranking.features import FEATURE_NAMES, without_personal
    from simulation.shoppers import simulate_in_steps

    catalogue = load_catalogue(dataset_root, plan["per_class"], tmp)
    drift_end = timezone.now().replace(microsecond=0)
    now = drift_end - timedelta(days=plan["drift_days"])
    train_end = now - timedelta(days=plan["eval_days"])
    train_start = train_end - timedelta(days=plan["train_days"])

    say(
        f"training days: {plan['visitors']} shoppers over {plan['train_days']} days, today's order served, "
        f"engagement and profiles rebuilt every {REFRESH_DAYS} days"
    )
    report = simulate_in_steps(
        visitors=plan["visitors"],
        days=plan["train_days"],
        seed=SEED,
        end=train_end,
        step_days=REFRESH_DAYS,
        visit_share=VISIT_SHARE,
    )
    simulated = {
        "visits": report.visitors,
        "searches": report.searches,
        "clicks": report.clicks,
        "adds_to_cart": report.adds_to_cart,
        "purchases": report.purchases,
        "seconds": round(report.seconds, 1),
    }
    say(f"simulated {simulated}")
    products = engagement.engagement_refresh(as_of=train_end)
    visitors_with_profile = profiles.profiles_refresh(as_of=train_end)
    data = training.dataset(train_start, train_end)
    say(f"{data.searches} searches with a click, {len(data)} rows; {visitors_with_profile} profiles")
    models = {
        "naive": training.train(data, without_personal(), debias=False),
        "ranker": training.train(data, without_personal(), debias=True),
        "personal": training.train(data, FEATURE_NAMES, debias=True),
    }
    judged = held_out_judged(plan, models, train_end, now)
    timings = serving_timings(models["personal"], judged.pop("samples"))
    retrained = retraining_judged(plan, now, drift_end)
    result = {
        "catalogue": catalogue,
        "simulated_training": simulated,
        "products_with_engagement": products,
        "profiles": visitors_with_profile,
        "training_searches": data.searches,
        "training_rows": len(data),
        **judged,
        **timings,
        **retrained,
        "train_seconds": train_seconds_at(data, plan["train_searches"]),
        "train_seconds_searches": plan["train_searches"],
        "feature_importance_personal": models["personal"].importance(),
    }
    result["lift_ranker"] = relative(result["ndcg10_ranker"], result["ndcg10_baseline"])
    result["lift_personal_returning"] = relative(result["ndcg10_personal_returning"], result["ndcg10_ranker_returning"])
    result["new_visitor_delta"] = relative(result["ndcg10_personal_new"], result["ndcg10_ranker_new"])
    result["debiased_beats_naive"] = result["ndcg10_ranker"] > result["ndcg10_naive"]
    result["targets"] = TARGETS
    result["targets_met"] = {
        "lift_ranker": result["lift_ranker"] >= TARGETS["lift_ranker"],
        "lift_personal_returning": result["lift_personal_returning"] >= TARGETS["lift_personal_returning"],
        "new_visitor_delta": result["new_visitor_delta"] >= TARGETS["new_visitor_delta"],
        "debiased_beats_naive": result["debiased_beats_naive"],
        "rank_p50_ms_100": result["rank_p50_ms_100"] <= TARGETS["rank_p50_ms_100"],
        "photo_search_within_2_ms": result["photo_search_p50_ms_on"] - result["photo_search_p50_ms_off"] <= 2.0,
        "retrain_promoted": result["retrain_promoted"],
    }
    return result


def load_catalogue(dataset_root: Path, per_class: int | None, tmp: Path) -> dict:
    """clothing-small's train pictures as products, with prices, stock and brands drawn from SEED."""
    from django.utils import timezone

    from catalog.models import Brand, Product
    from search.evaluation.dataset import read_dataset
    from search.evaluation.photo import catalogue_load

    dataset = read_dataset(dataset_root, per_class=per_class, queries=1)  # the queries are not used
    loaded = catalogue_load(dataset.catalogue, tmp, workers=os.cpu_count() or 1, log=say)
    rng = random.Random(SEED)
    brands = [Brand.objects.create(name=f"Brand {n + 1}", slug=f"brand-{n + 1}") for n in range(BRANDS)]
    products = list(Product.objects.order_by("pk"))
    for product in products:
        product.price = Decimal(str(round(min(200.0, max(10.0, 40.0 * math.exp(rng.gauss(0.0, 0.6)))), 2)))
        product.stock = 0 if rng.random() < 1 / 8 else rng.randint(1, 20)
        product.brand = rng.choice(brands)
    Product.objects.bulk_update(products, ["price", "stock", "brand"])
    # Added to the shop over the past year (the import made them all within seconds).
    for product in products:
        Product.objects.filter(pk=product.pk).update(created_at=timezone.now() - timedelta(days=rng.uniform(1, 365)))
    return {"products": len(products), "searchable_images": len(loaded.labels), "classes": len(dataset.classes)}


def held_out_judged(plan: dict, models: dict, train_end, now) -> dict:
    """NDCG@10 of each policy on every held-out search, by true relevance."""
    import numpy as np
    from django.conf import settings

    from ranking import selectors, serving
    from ranking.training import ndcg_at
    from search.product_search import search_products
    from simulation import click_model
    from simulation.shoppers import catalogue_snapshot, simulate_shoppers
    from simulation.tastes import affinity

    items = {item.product_id: item for item in catalogue_snapshot()}
    depth = settings.RANKING_CANDIDATES
    scores: dict[str, list[float]] = {}
    samples: list = []

    def judge(seen) -> None:
        everything = search_products(serving._candidates_request(seen.request, depth))
        if not everything.hits:
            return
        found = selectors.visitor_profile(seen.visitor_id)
        profile, taste, taste_model = found if found is not None else (None, None, None)
        anonymous = serving.candidate_features(seen.request.text, everything, None)
        personal = serving.candidate_features(seen.request.text, everything, profile, taste, taste_model)
        gains = np.array(
            [click_model.attractiveness(affinity(seen.tastes, items[hit.product_id])) for hit in everything.hits]
        )
        who = "returning" if profile is not None else "new"
        policies = {
            "baseline": -np.arange(len(gains), dtype=np.float64),
            "naive": models["naive"].scores(anonymous),
            "ranker": models["ranker"].scores(anonymous),
            "personal": models["personal"].scores(personal),
        }
        for name, values in policies.items():
            value = ndcg_at(np.asarray(values), gains)
            if math.isnan(value):
                return
            scores.setdefault(name, []).append(value)
            scores.setdefault(f"{name}_{who}", []).append(value)
        if seen.request.image is not None and len(samples) < 200:
            samples.append((seen, profile, taste, taste_model))

    end = now
    say(
        f"held-out days: {plan['returning']} returning + {plan['newcomers']} new shoppers over {plan['eval_days']} days"
    )
    returning = random.Random(SEED + 1).sample(range(plan["visitors"]), plan["returning"])
    simulate_shoppers(
        visitors=len(returning),
        days=plan["eval_days"],
        seed=SEED,
        end=end,
        numbers=returning,
        period=1000,
        observer=judge,
    )
    newcomers = range(plan["visitors"], plan["visitors"] + plan["newcomers"])
    simulate_shoppers(
        visitors=len(newcomers), days=plan["eval_days"], seed=SEED, end=end, numbers=newcomers, observer=judge
    )
    result = {f"ndcg10_{name}": round(statistics.fmean(values), 4) for name, values in sorted(scores.items())}
    result["held_out_searches"] = len(scores.get("baseline", []))
    result["held_out_searches_returning"] = len(scores.get("baseline_returning", []))
    result["held_out_searches_new"] = len(scores.get("baseline_new", []))
    result["samples"] = samples
    return result


def serving_timings(personal, samples: list) -> dict:
    """The ranker's own cost for 100 candidates, and a photo search's first page without and
    with the ranker live (the personal model promoted)."""
    import numpy as np

    from catalog.models import Product
    from ranking import services, serving
    from ranking.features import FEATURE_SET
    from ranking.models import RankerVersion
    from search.product_search import SearchHit, SearchResults, search_products

    if not samples:
        return {"rank_p50_ms_100": None, "photo_search_p50_ms_off": None, "photo_search_p50_ms_on": None}
    from django.conf import settings

    depth = settings.RANKING_CANDIDATES
    # 100 candidates, of a text search (the photo searches' candidates are the products of 100
    # images, fewer than 100 products): the first 100 products, as a search would list them.
    product_ids = list(Product.objects.order_by("pk").values_list("pk", flat=True)[:depth])
    hundred = SearchResults(
        "text",
        [SearchHit(pid, 1.0 - i / depth, None, None, ("dress",), ()) for i, pid in enumerate(product_ids)],
        depth,
        None,
        (),
    )
    rank_ms, features_ms, predict_ms = [], [], []
    for _seen, profile, taste, model in samples:
        started = time.perf_counter()
        matrix = serving.candidate_features("dress", hundred, profile, taste, model)
        features_done = time.perf_counter()
        personal.scores(matrix)
        done = time.perf_counter()
        rank_ms.append((done - started) * 1000)
        features_ms.append((features_done - started) * 1000)
        predict_ms.append((done - features_done) * 1000)
    version = RankerVersion.objects.create(
        feature_set=FEATURE_SET,
        feature_names=list(personal.feature_names),
        params=personal.params,
        model_text=personal.booster.model_to_string(),
        trigger="bench",
    )
    off, on = [], []
    for round_number in range(3):
        for seen, *_ in samples:
            started = time.perf_counter()
            search_products(seen.request)
            off.append((time.perf_counter() - started) * 1000)
        if round_number == 0:
            services.ranker_promote(version)
        for seen, *_ in samples:
            started = time.perf_counter()
            serving.ranked_search(seen.request, visitor_id=seen.visitor_id)
            on.append((time.perf_counter() - started) * 1000)
    return {
        "rank_p50_ms_100": round(float(np.median(rank_ms)), 2) if rank_ms else None,
        "rank_samples": len(rank_ms),
        "rank_features_p50_ms": round(float(np.median(features_ms)), 2) if features_ms else None,
        "rank_predict_p50_ms": round(float(np.median(predict_ms)), 2) if predict_ms else None,
        "photo_search_p50_ms_off": round(statistics.median(off), 2),
        "photo_search_p50_ms_on": round(statistics.median(on), 2),
    }


def retraining_judged(plan: dict, start, end) -> dict:
    """retrain_promoted: the nightly job (ranking.retraining.ranker_retrain, the promotion gate
    as it runs in the shop) after a drift, and on a sabotaged training set.

    The personal model is live (serving_timings promoted it). Over `drift_days` after the
    held-out days the same shoppers come back with DRIFT_BUDGET (they look for lower prices),
    served by the live model through ranked_search with exploration, as the shop would serve
    them. Then the job runs at the end of those days, trained on the drifted days before the last
    `drift_holdout_days` and judged on those (with the shop's 28-day window the run of
    2026-12-08 02:10 trained mostly on the days before the drift: 0.5560 against the live
    0.5550, refused): it must promote. Then it runs again
    on the same days with a sabotaged training set (each training search's labels inverted:
    what shoppers skipped counted as clicked, what they clicked as skipped): it must refuse, and
    the live ranker must stay. `drift_min_searches` sets RANKING_MIN_TRAINING_SEARCHES and
    RANKING_MIN_HELD_OUT_SEARCHES (the quick plan's few shoppers give fewer clicked searches
    than the shop's defaults ask for)."""
    from django.test.utils import override_settings

    from ranking import retraining, training
    from ranking.models import RankerVersion
    from simulation.shoppers import simulate_in_steps

    live_before = RankerVersion.objects.get(status=RankerVersion.Status.LIVE)
    say(f"drift: {plan['drift_days']} days of the same shoppers with budget {DRIFT_BUDGET}, served by the live ranker")
    report = simulate_in_steps(
        visitors=plan["visitors"],
        days=plan["drift_days"],
        seed=SEED,
        end=end,
        step_days=REFRESH_DAYS,
        visit_share=VISIT_SHARE,
        budget=DRIFT_BUDGET,
        first_period=1000,
    )
    min_training, min_held_out = plan["drift_min_searches"]
    window = {  # trained on the drifted days only: a 28-day window would be mostly the days before
        "RANKING_TRAINING_DAYS": plan["drift_days"] - plan["drift_holdout_days"],
        "RANKING_HOLDOUT_DAYS": plan["drift_holdout_days"],
        "RANKING_MIN_TRAINING_SEARCHES": min_training,
        "RANKING_MIN_HELD_OUT_SEARCHES": min_held_out,
    }
    with override_settings(**window):
        drifted = retraining.ranker_retrain(now=end, trigger="bench-drift")
        live_after_drift = RankerVersion.objects.get(status=RankerVersion.Status.LIVE)
        real_dataset = training.dataset
        calls = []

        def sabotaged_dataset(since, until):
            data = real_dataset(since, until)
            calls.append((since, until))
            if len(calls) == 1:  # the training window (the held-out searches stay as shoppers left them)
                data = training.Dataset(
                    features=data.features,
                    labels=(data.labels == 0).astype(data.labels.dtype),
                    positions=data.positions,
                    groups=data.groups,
                    search_ids=data.search_ids,
                    explored=data.explored,
                )
            return data

        retraining.training.dataset = sabotaged_dataset
        try:
            sabotage = retraining.ranker_retrain(now=end, trigger="bench-sabotage")
        finally:
            retraining.training.dataset = real_dataset
        live_after_sabotage = RankerVersion.objects.get(status=RankerVersion.Status.LIVE)
    stays = live_after_sabotage.pk == live_after_drift.pk
    say(f"drift: {drifted.reason}; sabotage: {sabotage.reason}")
    return {
        "drift": {
            "budget": DRIFT_BUDGET,
            "days": plan["drift_days"],
            "searches": report.searches,
            "window": window,
            "live_before": live_before.pk,
            "promoted": drifted.promoted,
            "status": drifted.version.status,
            "reason": drifted.reason,
            "metrics": drifted.version.metrics,
        },
        "sabotage": {
            "promoted": sabotage.promoted,
            "status": sabotage.version.status,
            "reason": sabotage.reason,
            "metrics": sabotage.version.metrics,
            "live_ranker_stays": stays,
        },
        "retrain_promoted": bool(drifted.promoted and not sabotage.promoted and stays),
    }


def train_seconds_at(data, searches: int) -> float:
    """Seconds to train the personal model on the training searches repeated up to `searches`."""
    import numpy as np

    from ranking import training
    from ranking.features import FEATURE_NAMES

    if data.searches == 0:
        return math.nan
    times = math.ceil(searches / data.searches)
    groups = (data.groups * times)[:searches]
    rows = sum(groups)
    tiled = training.Dataset(
        features=np.tile(data.features, (times, 1))[:rows],
        labels=np.tile(data.labels, times)[:rows],
        positions=np.tile(data.positions, times)[:rows],
        groups=groups,
        search_ids=[],
    )
    return round(training.train(tiled, FEATURE_NAMES, debias=True).seconds, 1)


def relative(value: float, base: float) -> float:
    return round((value - base) / base, 4) if base else math.nan


if __name__ == "__main__":
    raise SystemExit(main())
