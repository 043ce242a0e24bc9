"""Benchmark: the home page's latency while clients hold connections open with slow request bodies.

A slow-body client announces a 5 MB photo upload to the API (POST /api/v1/search/image,
which reads its body), sends one byte and then nothing. Under the old sync workers two of
them made the home page take 32 s (`--baseline-sync` shows it: the home page request gives
up after 30 s). This starts the real gunicorn with the project's config
(visualshop/gunicorn_conf.py: threaded workers, body deadline) on loopback against a
throw-away database (`visualshop_bench_slow_clients` on the embedded server, dropped at
the end) holding the demo catalogue (photos processed, static files collected as in
production), and measures the home page, one request at a time on
a new connection each (as a shopper's browser), with 0, 2 and 10 slow-body connections
open. A slow connection that the server answers (408 after the body deadline) is opened
again at once, so the count stays constant. Finally it records how the server ended the
slow connections (status line, seconds after opening).

Prints one JSON object on stdout (progress goes to stderr):

    {"benchmark": "slow_clients", "phases": {"0": {"p50_ms": .., "p95_ms": .., "max_ms": ..,
     "requests": .., "errors": ..}, "2": {..}, "10": {..}}, "slow_outcomes": {"408": n},
     "target_p50_ms": 100, "target_met": true, ...}

`--quick` (for CI) loads 24 demo products and measures each phase for 3 s.
`--baseline-sync` measures the command line `make run` used before (2 sync workers, no
config module) instead, for comparison.
"""

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
from django.core.management import call_command  # noqa: E402
from django.db import connections  # noqa: E402

from bench.lib.load import free_port  # noqa: E402
from bench.lib.load import wait_until_serving as wait_until_answering  # noqa: E402
from bench.pages import load_catalogue  # noqa: E402
from visualshop import embedded  # noqa: E402
from visualshop.throwaway import django_on_throwaway, sigterm_as_ctrl_c, throwaway_database  # noqa: E402

BENCH_DATABASE = "visualshop_bench_slow_clients"
TARGET_P50_MS = 100
ANNOUNCED_BYTES = 5_000_000
SLOW_COUNTS = (0, 2, 10)
PLANS = {
    "full": {"products": 96, "seconds": 15.0},
    "quick": {"products": 24, "seconds": 3.0},
}


def say(message: str) -> None:
    print(f"[bench/slow_clients] {message}", file=sys.stderr, flush=True)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="24 products, 3 s per phase (for CI)")
    parser.add_argument("--seconds", type=float, help="measuring time per phase (default 15; quick 3)")
    parser.add_argument(
        "--baseline-sync",
        action="store_true",
        help="measure the old command line (2 sync workers, no config module) instead",
    )
    return parser.parse_args()


def main() -> int:
    args = arguments()
    plan = dict(PLANS["quick" if args.quick else "full"])
    plan["seconds"] = args.seconds or plan["seconds"]
    sigterm_as_ctrl_c()
    wall_started = time.perf_counter()
    with throwaway_database(BENCH_DATABASE, prefix="visualshop-bench-slow-clients-") as (tmp, database_url):
        django_on_throwaway(tmp, database_url)
        catalogue = shop_prepared(plan["products"])
        config, phases, outcomes = served_measured(tmp, plan["seconds"], baseline_sync=args.baseline_sync)

    met = all(
        phase["p50_ms"] is not None and phase["p50_ms"] < TARGET_P50_MS and not phase["errors"]
        for phase in phases.values()
    )
    print(
        json.dumps(
            {
                "benchmark": "slow_clients",
                "quick": args.quick,
                "baseline_sync": args.baseline_sync,
                "catalogue": {key: catalogue[key] for key in ("products", "images")},
                "gunicorn": config,
                "announced_body_bytes": ANNOUNCED_BYTES,
                "phase_seconds": plan["seconds"],
                "phases": phases,
                "slow_outcomes": outcomes,
                "target_p50_ms": TARGET_P50_MS,
                "target_met": met,
                "cpus": os.cpu_count(),
                "wall_s": round(time.perf_counter() - wall_started, 1),
            }
        )
    )
    return 0


def shop_prepared(products: int) -> dict:
    """The demo catalogue loaded and the static files collected, as production serves them;
    this process's connections closed (the server's workers open their own)."""
    catalogue = load_catalogue(products)
    call_command("collectstatic", interactive=False, verbosity=0)
    connections.close_all()
    return catalogue


def served_measured(tmp: Path, seconds: float, *, baseline_sync: bool) -> tuple[dict, dict, dict]:
    """The real gunicorn started on this process's environment and measured: (its config,
    the phases, the slow connections' outcomes)."""
    env = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=str(tmp / "prometheus"), WEB_ACCESS_LOG="")
    (tmp / "prometheus").mkdir()
    server, base = start_gunicorn(env, tmp, baseline_sync=baseline_sync)
    try:
        wait_until_serving(server, base)
        host, port = base.removeprefix("http://").split(":")
        config = {"worker_class": "sync", "workers": 2} if baseline_sync else gunicorn_config(env)
        phases, outcomes = measure(host, int(port), seconds)
    finally:
        embedded.stop_process(server)
    return config, phases, outcomes


def gunicorn_config(env: dict) -> dict:
    """The settings the server runs with, read from the config module under `env`."""
    code = (
        "import json; from visualshop import gunicorn_conf as c; print(json.dumps({'worker_class': "
        "c.worker_class, 'header_timeout_s': c.header_timeout_seconds, 'workers': c.workers, 'threads': c.threads, "
        "'body_timeout_s': c.body_timeout_seconds, 'body_max_bytes': c.body_max_bytes}))"
    )
    return json.loads(
        subprocess.run(
            [sys.executable, "-c", code], cwd=BASE_DIR, env=env, capture_output=True, text=True, check=True
        ).stdout
    )


def start_gunicorn(env: dict, workdir: Path, *, baseline_sync: bool = False) -> tuple[subprocess.Popen, str]:
    port = free_port()
    config = ["--workers", "2"] if baseline_sync else ["--config", "python:visualshop.gunicorn_conf"]
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            *config,
            "visualshop.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--control-socket",
            str(workdir / "gunicorn.ctl"),
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=sys.stderr,
        start_new_session=True,
    )
    return process, f"http://127.0.0.1:{port}"


def wait_until_serving(process: subprocess.Popen, base: str) -> None:
    wait_until_answering(process, base + "/")
    host, port = base.removeprefix("http://").split(":")
    for _ in range(20):  # both workers past their first (slowest) request
        get_home(host, int(port))


def get_home(host: str, port: int) -> int:
    connection = http.client.HTTPConnection(host, port, timeout=30)
    try:
        connection.request("GET", "/")
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


class SlowClients:
    """`count` connections that each announce a large body and send one byte, reopened as
    soon as the server ends one; records how each ended (status line or error, seconds)."""

    def __init__(self, host: str, port: int, count: int) -> None:
        self.host, self.port, self.count = host, port, count
        self.stopping = threading.Event()
        self.outcomes: list[tuple[str, float]] = []
        self.threads = [threading.Thread(target=self._hold, daemon=True) for _ in range(count)]

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        time.sleep(0.5)  # every connection has sent its headers and its byte
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=15)

    def _hold(self) -> None:
        while not self.stopping.is_set():
            opened = time.monotonic()
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5) as sock:
                    sock.sendall(
                        (
                            f"POST /api/v1/search/image HTTP/1.1\r\nHost: {self.host}\r\n"
                            "Content-Type: multipart/form-data; boundary=slowbody\r\n"
                            f"Content-Length: {ANNOUNCED_BYTES}\r\n\r\nx"
                        ).encode()
                    )
                    answer = b""
                    while not self.stopping.is_set():
                        try:
                            data = sock.recv(4096)
                        except TimeoutError:
                            continue
                        if not data:
                            break
                        answer += data
                    if self.stopping.is_set() and not answer:
                        return  # still held when the phase ended
                    status = answer.split(b"\r\n", 1)[0].decode(errors="replace").split(" ")[1:2]
                    self.outcomes.append((status[0] if status else "closed", time.monotonic() - opened))
            except OSError as exc:
                self.outcomes.append((type(exc).__name__, time.monotonic() - opened))
                time.sleep(0.1)


def measure(host: str, port: int, seconds: float) -> tuple[dict, dict]:
    phases = {}
    outcomes: list[tuple[str, float]] = []
    for count in SLOW_COUNTS:
        say(f"home page with {count} slow-body connections open, {seconds:g} s")
        with SlowClients(host, port, count) as slow:
            times, errors = [], 0
            ends = time.monotonic() + seconds
            while time.monotonic() < ends:
                started = time.perf_counter()
                try:
                    status = get_home(host, port)
                except OSError:
                    status = None
                times.append((time.perf_counter() - started) * 1000)
                errors += status != 200
        outcomes += slow.outcomes
        times.sort()
        phases[str(count)] = {
            "p50_ms": round(statistics.median(times), 1) if times else None,
            "p95_ms": round(times[min(len(times) - 1, round(0.95 * (len(times) - 1)))], 1) if times else None,
            "max_ms": round(times[-1], 1) if times else None,
            "requests": len(times),
            "errors": errors,
        }
        say(f"  {phases[str(count)]}")
    if not outcomes:  # the phases were shorter than the body deadline: wait for one answer
        say("waiting for the server to end one slow-body connection")
        with SlowClients(host, port, 1) as slow:
            while not slow.outcomes:
                time.sleep(0.2)
        outcomes = slow.outcomes
    summary: dict = {}
    for status, after in outcomes:
        entry = summary.setdefault(status, {"count": 0, "after_s_min": after, "after_s_max": after})
        entry["count"] += 1
        entry["after_s_min"] = round(min(entry["after_s_min"], after), 2)
        entry["after_s_max"] = round(max(entry["after_s_max"], after), 2)
    return phases, summary


if __name__ == "__main__":
    sys.exit(main())
