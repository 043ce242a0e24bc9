"""Benchmark: the tracking write path (issue 13): beacon throughput over HTTP, what tracking
adds to a search page, events lost when the worker is killed and Redis restarted, and the
shopper simulator's speed.

In a throw-away database (`visualshop_bench_events`, dropped at the end) with the demo
catalogue loaded and processed (bench.pages.load_catalogue), it measures:

    search_overhead_ms   p50 of the word-search page through gunicorn on loopback, until its
                         last byte, with tracking on (a visitor cookie) minus with it off (DNT:
                         1), the two asked in alternation so the host's phases touch both
                         alike: what a shopper waits. The search event is written once the
                         response has gone out (tracking.middleware), so the server's whole cost
                         is also given, in-process with Django's test Client (which closes the
                         response, and so writes the event, before it returns):
                         search_overhead.in_process_overhead_ms
    simulate_visitors_per_s
                         manage.py simulate_shoppers' rate on the catalogue (its searches,
                         photo embeddings and event writes included)
    events_per_s         beacon batches of 50 events POSTed to gunicorn on loopback (the
                         project's config: 2 workers x 8 threads) by CLIENTS threads for a
                         while, counted as rows in tracking_event afterwards / the seconds
    lost_events          during a second stream of beacons, a Celery worker forwarding to a
                         local Mixpanel stand-in (fixtures/mixpanel_server.py) is killed
                         (SIGKILL) and Redis is stopped and started again; afterwards: events
                         answered 202 but not in the table (lost_stored), and the stream's events
                         the stand-in had not received 180 s after the stream, forwarding having
                         resumed by itself (lost_forwarded). (The simulator's events older than
                         5 days are not forwarded by design: Mixpanel's /track drops them.)
    dashboard_p50_ms     p50 of the staff search-analytics page (in-process, a staff user,
                         its default 30 days) once the table holds at least
                         EVENTS_IN_TABLE events: filler events (searches with impressions,
                         clicks, adds to cart and purchases over 30 days) are INSERTed in SQL,
                         the days rolled up (dashboard.roll_up_s), then the page rendered

The beacon's per-visitor limit is raised for the run (reported under "limits"): one client
sends far more than a shopper does.

Prints one JSON object; `--quick` (CI) uses 48 products and short streams.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
from visualshop.throwaway import (  # noqa: E402
    BENCH_RATE_LIMITS,
    django_on_throwaway,
    sigterm_as_ctrl_c,
    throwaway_database,
    throwaway_environment,
)

BENCH_DATABASE = "visualshop_bench_events"
PLANS = {
    "full": {
        "products": None,
        "overhead_rounds": 300,
        "visitors": 500,
        "stream_s": 20.0,
        "loss_stream_s": 20.0,
        "events_in_table": 1_000_000,
        "dashboard_renders": 50,
    },
    "quick": {
        "products": 48,
        "overhead_rounds": 40,
        "visitors": 30,
        "stream_s": 4.0,
        "loss_stream_s": 6.0,
        "events_in_table": 150_000,
        "dashboard_renders": 10,
    },
}
CLIENTS = 4
BATCH = 50
LIMITS = {"TRACKING_BEACON_BATCHES_PER_MINUTE": "100000000"}
TARGETS = {"events_per_s": 5000, "search_overhead_ms": 1.0, "lost_events": 0, "dashboard_p50_ms": 200}


def say(message: str) -> None:
    print(f"[bench/events] {message}", file=sys.stderr, flush=True)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="48 products, short streams (for CI)")
    return parser.parse_args()


def main() -> int:
    args = arguments()
    plan = PLANS["quick" if args.quick else "full"]
    sigterm_as_ctrl_c()
    started = time.perf_counter()
    with throwaway_database(BENCH_DATABASE, prefix="visualshop-bench-events-") as (tmp, database_url):
        django_on_throwaway(tmp, database_url, **BENCH_RATE_LIMITS, **LIMITS)
        from bench.pages import load_catalogue

        catalogue = load_catalogue(plan["products"])
        from django.core.management import call_command

        call_command("collectstatic", interactive=False, verbosity=0)  # the pages' manifest, as production
        result = {"catalogue": {"products": catalogue["products"]}}
        in_process = search_overhead_in_process(plan["overhead_rounds"])
        result["simulation"] = simulation(plan["visitors"])
        env = throwaway_environment(tmp, database_url, WEB_ACCESS_LOG="", **BENCH_RATE_LIMITS, **LIMITS)
        result["search_overhead"] = {**search_overhead_http(env, tmp, plan["overhead_rounds"]), **in_process}
        result["beacons"] = beacon_throughput(env, tmp, plan["stream_s"])
        result["loss"] = loss_under_failures(env, tmp, plan["loss_stream_s"])
        result["dashboard"] = dashboard(plan["events_in_table"], plan["dashboard_renders"])
    summary = {
        "benchmark": "events",
        "quick": args.quick,
        "events_per_s": result["beacons"]["events_per_s"],
        "search_overhead_ms": result["search_overhead"]["overhead_ms"],
        "lost_events": result["loss"]["lost_stored"] + result["loss"]["lost_forwarded"],
        "simulate_visitors_per_s": result["simulation"]["visitors_per_s"],
        "dashboard_p50_ms": result["dashboard"]["p50_ms"],
        "events_in_table": result["dashboard"]["events_in_table"],
        **result,
        "targets": TARGETS,
        "limits": {"beacon_batches_per_minute": int(LIMITS["TRACKING_BEACON_BATCHES_PER_MINUTE"]), **BENCH_RATE_LIMITS},
        "cpus": os.cpu_count(),
        "wall_s": round(time.perf_counter() - started, 1),
    }
    summary["targets_met"] = {
        "events_per_s": summary["events_per_s"] >= TARGETS["events_per_s"],
        "search_overhead_ms": summary["search_overhead_ms"] <= TARGETS["search_overhead_ms"],
        "lost_events": summary["lost_events"] == TARGETS["lost_events"],
        "dashboard_p50_ms": summary["dashboard_p50_ms"] <= TARGETS["dashboard_p50_ms"],
    }
    print(json.dumps(summary))
    return 0


# --- in-process: the search page's overhead, the simulator ----------------------------------


def search_overhead_in_process(rounds: int) -> dict:
    from django.test import Client

    from bench.pages import page_paths
    from tracking.models import Event

    path = page_paths()["search"]
    tracked, untracked = Client(), Client(HTTP_DNT="1")
    tracked.get("/")  # the visitor cookie
    before = Event.objects.filter(kind="search").count()
    times: dict[str, list[float]] = {"on": [], "off": []}
    for round_number in range(rounds + 10):
        for name, client in (("on", tracked), ("off", untracked)):
            started = time.perf_counter()
            response = client.get(path)
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 200, response.status_code
            if round_number >= 10:
                times[name].append(elapsed)
    recorded = Event.objects.filter(kind="search").count() - before
    on, off = statistics.median(times["on"]), statistics.median(times["off"])
    say(f"in-process search page p50: tracking on {on:.2f} ms, off {off:.2f} ms; {recorded} search events written")
    return {
        "in_process_p50_on_ms": round(on, 2),
        "in_process_p50_off_ms": round(off, 2),
        "in_process_overhead_ms": round(on - off, 2),
        "in_process_search_events_written": recorded,
    }


def search_overhead_http(env: dict, tmp: Path, rounds: int) -> dict:
    from bench.pages import page_paths

    path = page_paths()["search"]
    server, port = start_gunicorn(env, tmp)
    try:
        before = event_count()
        tracked = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        tracked.request("GET", "/")
        first = tracked.getresponse()
        first.read()
        cookie = first.getheader("Set-Cookie", "").split(";", 1)[0]
        untracked = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        asks = (("on", tracked, {"Cookie": cookie}), ("off", untracked, {"DNT": "1"}))
        times: dict[str, list[float]] = {"on": [], "off": []}
        for round_number in range(rounds + 10):
            for name, connection, headers in asks:
                started = time.perf_counter()
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                response.read()
                elapsed = (time.perf_counter() - started) * 1000
                assert response.status == 200, response.status
                if round_number >= 10:
                    times[name].append(elapsed)
        time.sleep(0.5)
        recorded = event_count() - before
    finally:
        stop(server)
    on, off = statistics.median(times["on"]), statistics.median(times["off"])
    say(f"search page over HTTP p50: tracking on {on:.2f} ms, off {off:.2f} ms; {recorded} events written")
    return {
        "path": path,
        "p50_on_ms": round(on, 2),
        "p50_off_ms": round(off, 2),
        "overhead_ms": round(on - off, 2),
        "rounds": rounds,
        "search_events_written": recorded,
    }


def simulation(visitors: int) -> dict:
    from simulation.shoppers import simulate_shoppers

    report = simulate_shoppers(visitors=visitors, days=30, seed=1)
    say(f"simulated {visitors} visitors in {report.seconds:.1f} s")
    return {
        "visitors": visitors,
        "seconds": round(report.seconds, 1),
        "visitors_per_s": report.visitors_per_second,
        "searches": report.searches,
        "impressions": report.impressions,
        "clicks": report.clicks,
        "adds_to_cart": report.adds_to_cart,
        "purchases": report.purchases,
    }


# --- the analytics page over a large table ---------------------------------------------------

# Filler: per search (its words one of 200), 12 impressions, 2 clicks, and every 5th search an
# add to cart, every 25th a purchase, spread over the last 30 days.
_FILLER_SQL = """
    WITH s AS (
        SELECT n, gen_random_uuid() AS search_id, gen_random_uuid() AS visitor_id,
               now() - (n %% (30 * 24 * 60)) * interval '1 minute' AS at
        FROM generate_series(1, %(searches)s) AS n
    )
    INSERT INTO tracking_event
        (event_id, kind, occurred_at, received_at, visitor_id, search_id, product_id, position, properties)
    SELECT gen_random_uuid(), e.kind, s.at + e.offset_s * interval '1 second', now(), s.visitor_id, s.search_id,
           e.product, e.position, e.properties
    FROM s CROSS JOIN LATERAL (
        SELECT 'search' AS kind, 0 AS offset_s, NULL::int AS product, NULL::int AS position,
               jsonb_build_object('search_kind', (ARRAY['text', 'photo', 'hybrid'])[1 + s.n %% 3],
                                  'words', 'words ' || (s.n %% 200), 'zero_results', s.n %% 17 = 0,
                                  'latency_ms', 3 + s.n %% 40) AS properties
        UNION ALL
        SELECT 'impression', 2, p, p, '{"page": 1}'::jsonb FROM generate_series(1, 12) AS p
        UNION ALL
        SELECT 'click', 5 + c, c * 2, c * 2, '{"page": 1}'::jsonb FROM generate_series(1, 2) AS c
        UNION ALL
        SELECT 'add_to_cart', 30, 2, NULL, '{"quantity": 1}'::jsonb WHERE s.n %% 5 = 0
        UNION ALL
        SELECT 'purchase', 90, 2, NULL, '{"quantity": 1, "value": 10.0, "currency": "EUR"}'::jsonb WHERE s.n %% 25 = 0
    ) AS e
"""
EVENTS_PER_FILLER_SEARCH = 1 + 12 + 2 + 1 / 5 + 1 / 25


def dashboard(events_wanted: int, renders: int) -> dict:
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from tracking import rollups

    missing = events_wanted - event_count()
    started = time.perf_counter()
    if missing > 0:
        with connection.cursor() as cursor:
            cursor.execute(_FILLER_SQL, {"searches": int(missing / EVENTS_PER_FILLER_SEARCH) + 1})
            cursor.execute("ANALYZE tracking_event")
    fill_s = time.perf_counter() - started
    today = timezone.localdate()
    started = time.perf_counter()
    rollups.days_roll_up(today - timedelta(days=30), today)
    roll_up_s = time.perf_counter() - started
    client = Client()
    client.force_login(get_user_model().objects.create_user("bench-staff", is_staff=True))
    times = []
    for n in range(renders + 3):
        started = time.perf_counter()
        response = client.get("/staff/analytics/search/")
        assert response.status_code == 200, response.status_code
        if n >= 3:
            times.append((time.perf_counter() - started) * 1000)
    events = event_count()
    say(
        f"dashboard: {events} events, filled in {fill_s:.1f} s, rolled up in {roll_up_s:.1f} s, p50 {statistics.median(times):.1f} ms"
    )
    return {
        "events_in_table": events,
        "fill_s": round(fill_s, 1),
        "roll_up_s": round(roll_up_s, 1),
        "roll_up_days": 31,
        "p50_ms": round(statistics.median(times), 2),
        "renders": renders,
    }


# --- over HTTP: gunicorn, a worker, Redis ---------------------------------------------------


def start_gunicorn(env: dict, tmp: Path) -> tuple[subprocess.Popen, int]:
    from fixtures.gunicorn_server import free_port, serving_gunicorn

    port = free_port()
    return serving_gunicorn(env, tmp, port), port


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


class BeaconClient(threading.Thread):
    """A browser sending batches of BATCH impressions as fast as answers come, from its own
    visitor cookie, until `stop` is set; counts the events answered 202."""

    def __init__(self, port: int, stop_event: threading.Event):
        super().__init__(daemon=True)
        self.port, self.stop_event = port, stop_event
        self.accepted = self.refused = self.errors = 0

    def run(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        connection.request("GET", "/")
        response = connection.getresponse()
        response.read()
        cookie = response.getheader("Set-Cookie", "").split(";", 1)[0]
        search = str(uuid.uuid4())
        while not self.stop_event.is_set():
            now = int(time.time() * 1000)
            body = json.dumps(
                {
                    "events": [
                        {
                            "event_id": str(uuid.uuid4()),
                            "kind": "impression",
                            "search_id": search,
                            "product_id": 1 + n,
                            "position": 1 + n,
                            "page": 1,
                            "occurred_at": now,
                        }
                        for n in range(BATCH)
                    ]
                }
            )
            headers = {"Content-Type": "application/json", "Origin": f"http://127.0.0.1:{self.port}", "Cookie": cookie}
            try:
                connection.request("POST", "/t/events", body=body, headers=headers)
                answer = connection.getresponse()
                answer.read()
            except OSError:
                self.errors += 1
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                continue
            if answer.status == 202:
                self.accepted += BATCH
            else:
                self.refused += BATCH


def stream(port: int, seconds: float, during=None) -> tuple[list[BeaconClient], float]:
    stop_event = threading.Event()
    clients = [BeaconClient(port, stop_event) for _ in range(CLIENTS)]
    started = time.perf_counter()
    for client in clients:
        client.start()
    if during is not None:
        during()
    remaining = seconds - (time.perf_counter() - started)
    if remaining > 0:
        time.sleep(remaining)
    stop_event.set()
    for client in clients:
        client.join(60)
    return clients, time.perf_counter() - started


def event_count() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM tracking_event")
        return cursor.fetchone()[0]


def last_event_pk() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM tracking_event")
        return cursor.fetchone()[0]


def event_ids_after(pk: int) -> set[str]:
    """The UUIDs (hex, as sent to Mixpanel) of the events stored after event `pk`."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT replace(event_id::text, '-', '') FROM tracking_event WHERE id > %s", [pk])
        return {row[0] for row in cursor.fetchall()}


def beacon_throughput(env: dict, tmp: Path, seconds: float) -> dict:
    server, port = start_gunicorn(env, tmp)
    try:
        before = event_count()
        clients, elapsed = stream(port, seconds)
        stored = event_count() - before
    finally:
        stop(server)
    accepted = sum(c.accepted for c in clients)
    say(f"beacons: {stored} events stored in {elapsed:.1f} s ({stored / elapsed:.0f}/s), {accepted} answered 202")
    return {
        "seconds": round(elapsed, 1),
        "clients": CLIENTS,
        "events_per_batch": BATCH,
        "events_answered_202": accepted,
        "events_stored": stored,
        "events_per_s": round(stored / elapsed),
        "refused": sum(c.refused for c in clients),
        "errors": sum(c.errors for c in clients),
    }


def loss_under_failures(env: dict, tmp: Path, seconds: float) -> dict:
    """The second stream, with a forwarding worker killed and Redis restarted in the middle."""
    from fixtures.mixpanel_server import mixpanel_stand_in
    from visualshop import embedded

    redis_dir = tmp / "redis"
    redis, socket_path = embedded.start_redis(redis_dir, persist=True)
    broker = embedded.redis_socket_url(socket_path)
    with mixpanel_stand_in() as mixpanel:
        worker_env = {
            **env,
            "CELERY_BROKER_URL": broker,
            "CELERY_RESULT_BACKEND": broker,
            "MIXPANEL_TOKEN": "BENCH",
            "MIXPANEL_EVENTS_URL": mixpanel.url,
            "MIXPANEL_SETTLE_SECONDS": "1",
            "MIXPANEL_FORWARD_SECONDS": "1",
        }
        server, port = start_gunicorn(worker_env, tmp)
        worker = start_worker(worker_env)
        events: dict[str, object] = {}
        try:
            before, first_pk = event_count(), last_event_pk()

            def failures() -> None:
                nonlocal redis, worker
                time.sleep(seconds / 3)
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
                events["worker_killed_at_s"] = round(seconds / 3, 1)
                embedded.stop_process(redis)
                time.sleep(1.0)
                redis, _ = embedded.start_redis(redis_dir, persist=True)
                events["redis_restarted"] = True
                worker = start_worker(worker_env)

            clients, elapsed = stream(port, seconds, during=failures)
            stored = event_count() - before
            accepted = sum(c.accepted for c in clients)
            # The stream's events, as forwarding resumes on its own (beat in the new worker).
            streamed = event_ids_after(first_pk)
            deadline = time.monotonic() + 180
            received: set[str] = set()
            while time.monotonic() < deadline:
                received = {e["properties"]["$insert_id"] for e in mixpanel.events}
                if streamed <= received:
                    break
                time.sleep(1)
            lost_forwarded = len(streamed - received)
            drained_s = round(180 - (deadline - time.monotonic()), 1)
        finally:
            stop(server)
            stop(worker)
            embedded.stop_process(redis)
    say(
        f"failures: {accepted} events answered 202, {stored} stored, {len(streamed & received)} of them "
        f"reached the Mixpanel stand-in {drained_s} s after the stream"
    )
    return {
        "seconds": round(elapsed, 1),
        **events,
        "events_answered_202": accepted,
        "events_stored": stored,
        "lost_stored": max(0, accepted - stored),
        "stream_events_forwarded": len(streamed & received),
        "forwarding_caught_up_s": drained_s,
        "mixpanel_requests": len(mixpanel.requests),
        "lost_forwarded": max(0, lost_forwarded),
        "errors_during_stream": sum(c.errors for c in clients),
    }


def start_worker(env: dict) -> subprocess.Popen:
    """A Celery worker with beat in it (-B), as forwarding runs in the shop."""
    from fixtures.celery_worker import celery_worker

    schedule = Path(env["DJANGO_MEDIA_ROOT"]).parent / "beat-schedule"
    return celery_worker(env, "-B", "--pool", "solo", "--schedule", str(schedule), quiet=True)


if __name__ == "__main__":
    sys.exit(main())
