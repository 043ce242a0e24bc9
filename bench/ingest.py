"""Benchmark: ingest the clothing-small `train` ImageFolder end to end, through the real pipeline.

From an empty catalogue, `import_catalog` runs in this process (it queues each
image's processing as its row commits) while ONE real Celery worker (prefork,
concurrency 2, as `make run` starts it) decodes, checks, renders derivatives,
embeds and stores every image. The clock runs from the start of the import until
no image is pending or processing any more. Prints one JSON object on stdout
(progress and the worker's own logs go to stderr):

    images, seconds, images_per_s   images imported; end-to-end wall time and rate
    import_s, drain_s               the import call alone; the time after it until settled
    statuses, flag_reasons          images per final status; reason codes of flagged/rejected
    model_images_per_s              the raw model in this process, one image per call,
                                    `embedder.embed([img])` (its preprocessing included,
                                    decoding excluded); model_onnx_images_per_s: the ONNX
                                    session alone on preprocessed tensors; model_threads
    peak_rss_mb                     max over time of the summed RSS of this process, the
                                    worker main process and its pool children, sampled
                                    every 0.2 s (shared copy-on-write pages count once
                                    per process, so this over-states real memory a bit)
    cpu_seconds                     CPU used during the timed window by this process (the
                                    import), the worker main process, the pool children,
                                    the database backends of the bench database, the whole
                                    PostgreSQL server and Redis; `unaccounted` is the rest of
                                    the machine's busy time (other processes, the kernel);
                                    machine_cpu_busy_share: share of all cores busy;
                                    cpu_ms_per_image: the same divided by `images`
    stage_seconds_per_image         mean wall seconds per image per pipeline stage, read
                                    from the workers' Prometheus histograms (the worker
                                    gets its own PROMETHEUS_MULTIPROC_DIR)
    database                        pg_stat_database of the bench database over the window:
                                    sessions opened, commits, time spent running SQL

Everything is throw-away: database `visualshop_bench_ingest` on the embedded
server (dropped at the end), a temporary media folder and a temporary Redis.
`--quick` (for CI) ingests 6 images per class. `--worker-settings` starts the worker
with another DJANGO_SETTINGS_MODULE, to measure a settings change before making it.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
from bench.lib.broker import broker_environment, redis_broker  # noqa: E402
from bench.lib.datasets import slice_of  # noqa: E402
from visualshop.throwaway import (  # noqa: E402
    django_on_throwaway,
    embedded_admin_url,
    sigterm_as_ctrl_c,
    throwaway_database,
)

DEFAULT_DATASET = BASE_DIR.parent / "shared" / "datasets" / "clothing-small" / "train"
BENCH_DATABASE = "visualshop_bench_ingest"
QUICK_PER_CLASS = 6
TARGET_IMAGES_PER_S = 100
SAMPLE_INTERVAL = 0.2
MB = 1024 * 1024


def say(message: str) -> None:
    print(f"[bench/ingest] {message}", file=sys.stderr, flush=True)


def image_files(root: Path) -> list[Path]:
    return [
        f
        for category in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
        for f in sorted(category.iterdir())
        if f.is_file() and not f.name.startswith(".")
    ]


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"ingest {QUICK_PER_CLASS} images per class only")
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--concurrency", type=int, default=2, help="worker pool processes (default 2)")
    parser.add_argument(
        "--model-images",
        type=int,
        default=None,
        help="images for the raw model measurement (default 200, 50 with --quick)",
    )
    parser.add_argument(
        "--worker-settings",
        default="visualshop.settings",
        help="DJANGO_SETTINGS_MODULE of the worker (to measure a settings change)",
    )
    parser.add_argument(
        "--stall-timeout", type=float, default=120.0, help="give up when no image settles for this many seconds"
    )
    args = parser.parse_args()
    if not args.dataset.is_dir():
        parser.error(f"{args.dataset}: no such folder")
    args.model_images = args.model_images or (50 if args.quick else 200)
    return args


def main() -> int:
    args = arguments()
    sigterm_as_ctrl_c()
    wall_started = time.perf_counter()
    with (
        throwaway_database(BENCH_DATABASE, prefix="visualshop-bench-ingest-") as (tmp, database_url),
        redis_broker(tmp) as broker,
    ):
        django_on_throwaway(tmp, database_url, **broker_environment(broker))
        dataset = slice_of(args.dataset, QUICK_PER_CLASS, tmp / "slice") if args.quick else args.dataset
        result = ingest_measured(args, dataset, tmp, redis=broker.process)
    print(json.dumps(summary(args, result, wall_s=time.perf_counter() - wall_started)))
    unsettled = sum(result["statuses"].get(s, 0) for s in ("pending", "processing", "failed"))
    return 0 if result["failed_rows"] == 0 and unsettled == 0 else 1


def ingest_measured(args: argparse.Namespace, dataset: Path, tmp: Path, *, redis: subprocess.Popen) -> dict:
    """One worker started and ingesting `dataset` (imported here), then the raw model: the numbers."""
    # Imported once Django is set up on the throw-away database (models need settings).
    from vision.services import embedding_model_ensure_active

    # The model row and its ONNX file exist before the clock starts: workers only load it.
    model = embedding_model_ensure_active()
    say(f"active model: {model.name} {model.version} ({model.variant})")

    metrics_dir = tmp / "prometheus"
    metrics_dir.mkdir()
    worker_children: list = []
    worker_started = time.perf_counter()
    worker = _start_worker(args.concurrency, metrics_dir, args.worker_settings)
    try:
        _wait_for_worker(worker)
        worker_startup_s = time.perf_counter() - worker_started
        say(f"worker ready in {worker_startup_s:.1f} s")
        result = _run(
            dataset=dataset,
            worker=worker,
            redis=redis,
            admin_url=embedded_admin_url(),
            stall_timeout=args.stall_timeout,
            worker_children=worker_children,
        )
        result["stage_seconds_per_image"] = _stage_seconds(metrics_dir)
        result.update(_measure_model(dataset, args.model_images))
        result["worker_startup_s"] = round(worker_startup_s, 2)
    finally:
        _stop_worker(worker, worker_children)
    return result


def summary(args: argparse.Namespace, result: dict, *, wall_s: float) -> dict:
    """The JSON object the benchmark prints."""
    images = result["images"]
    seconds = result["seconds"]
    return {
        "benchmark": "ingest",
        "quick": args.quick,
        "dataset": str(args.dataset),
        "worker_concurrency": args.concurrency,
        **({"worker_settings": args.worker_settings} if args.worker_settings != "visualshop.settings" else {}),
        "images": images,
        "products": result["products"],
        "failed_rows": result["failed_rows"],
        "seconds": round(seconds, 3),
        "images_per_s": round(images / seconds, 1) if seconds else None,
        "import_s": round(result["import_s"], 3),
        "import_images_per_s": round(images / result["import_s"], 1) if result["import_s"] else None,
        "drain_s": round(seconds - result["import_s"], 3),
        "target_images_per_s": TARGET_IMAGES_PER_S,
        "target_met": bool(seconds) and images / seconds >= TARGET_IMAGES_PER_S,
        "statuses": result["statuses"],
        "flag_reasons": result["flag_reasons"],
        **({"failed_reasons_sample": result["failed_reasons_sample"]} if result["failed_reasons_sample"] else {}),
        "model_images_per_s": result["model_images_per_s"],
        "model_onnx_images_per_s": result["model_onnx_images_per_s"],
        "model_ms_per_image_p50": result["model_ms_per_image_p50"],
        "model_images": result["model_images"],
        "model_threads": result["model_threads"],
        "model_variant": result["model_variant"],
        "peak_rss_mb": result["peak_rss_mb"],
        "peak_rss_mb_per_process": result["peak_rss_mb_per_process"],
        "bench_max_rss_mb_whole_run": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "cpu_seconds": result["cpu_seconds"],
        "cpu_ms_per_image": {k: round(v * 1000 / images, 2) for k, v in result["cpu_seconds"].items()}
        if images
        else None,
        "machine_cpu_busy_share": result["machine_cpu_busy_share"],
        "cpus": os.cpu_count(),
        "database": result["database"],
        "stage_seconds_per_image": result["stage_seconds_per_image"],
        "worker_startup_s": result["worker_startup_s"],
        "wall_s": round(wall_s, 1),
    }


# --- the worker ------------------------------------------------------------------------------


def _start_worker(concurrency: int, metrics_dir: Path, settings_module: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": settings_module,
        "DATABASE_URL": os.environ["DATABASE_URL"],
        "CELERY_BROKER_URL": os.environ["CELERY_BROKER_URL"],
        "DJANGO_MEDIA_ROOT": os.environ["DJANGO_MEDIA_ROOT"],
        "EMBEDDING_THREADS": "1",
        "LOG_LEVEL": "WARNING",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("WORKER_METRICS_PORT", None)  # no HTTP metrics server: the bench reads the files itself
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "visualshop",
            "worker",
            "--pool",
            "prefork",
            "--concurrency",
            str(concurrency),
            "--loglevel",
            "WARNING",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=sys.stderr,
        start_new_session=True,
    )


def _wait_for_worker(worker: subprocess.Popen, timeout: float = 90.0) -> None:
    """A round trip through the broker and a pool process (the ping task stores its result)."""
    from celery.exceptions import TimeoutError as CeleryTimeout

    from catalog.tasks import ping

    pending = ping.delay("bench")
    deadline = time.monotonic() + timeout
    while True:
        try:
            if pending.get(timeout=1) == "pong:bench":
                return
        except CeleryTimeout:
            pass
        if worker.poll() is not None:
            raise RuntimeError(f"celery worker exited with code {worker.returncode} during start-up")
        if time.monotonic() > deadline:
            raise RuntimeError(f"celery worker not ready within {timeout:.0f} s")


def _stop_worker(worker: subprocess.Popen, children: list) -> None:
    """SIGTERM (warm shutdown), then kill; pool processes that outlive it are killed by pid."""
    import psutil

    try:
        known = psutil.Process(worker.pid).children(recursive=True) if worker.poll() is None else []
    except psutil.Error:
        known = []
    if worker.poll() is None:
        worker.terminate()
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            say(f"worker {worker.pid} did not stop in 30 s; killing it")
            worker.kill()
            worker.wait()
    for child in {c.pid: c for c in [*children, *known]}.values():
        try:
            if child.is_running():  # compares the start time too: never a recycled pid
                child.wait(5)
        except psutil.TimeoutExpired:
            say(f"killing left-over pool process {child.pid}")
            child.kill()
        except psutil.Error:
            pass


# --- the timed run ---------------------------------------------------------------------------


def _run(
    *,
    dataset: Path,
    worker: subprocess.Popen,
    redis: subprocess.Popen,
    admin_url: str,
    stall_timeout: float,
    worker_children: list,
) -> dict:
    from django.db.models import Count

    from catalog.importing.service import import_catalog
    from catalog.models import ProductImage

    Status = ProductImage.Status
    expected = len(image_files(dataset))
    monitor = Monitor(worker.pid, redis.pid, admin_url)
    monitor.start()
    try:
        monitor.wait_first_sample()
        worker_children.extend(monitor.worker_children())
        before = monitor.cpu_snapshot()
        say(f"importing {expected} images")
        started = time.perf_counter()
        done_rows = 0

        def on_row(failure) -> None:
            nonlocal done_rows
            done_rows += 1
            if failure is not None:
                say(f"import failure: {failure}")
            if done_rows % 500 == 0:
                say(f"imported {done_rows}/{expected} rows ({time.perf_counter() - started:.1f} s)")

        report = import_catalog(dataset, on_row=on_row)
        import_s = time.perf_counter() - started
        say(f"import done in {import_s:.1f} s ({report.images_added} images); waiting for the pipeline")

        last_settled, last_progress, last_report = -1, time.monotonic(), 0.0
        while True:
            counts = dict(ProductImage.objects.values_list("status").annotate(n=Count("id")).order_by())
            unsettled = counts.get(Status.PENDING, 0) + counts.get(Status.PROCESSING, 0)
            if unsettled == 0:
                break
            settled = sum(counts.values()) - unsettled
            now = time.monotonic()
            if settled != last_settled:
                last_settled, last_progress = settled, now
            elif now - last_progress > stall_timeout:
                raise RuntimeError(f"no image settled for {stall_timeout:.0f} s; statuses {counts}")
            if worker.poll() is not None:
                raise RuntimeError(f"celery worker exited with code {worker.returncode}; statuses {counts}")
            if now - last_report > 5:
                say(f"settled {settled}/{sum(counts.values())} ({time.perf_counter() - started:.1f} s)")
                last_report = now
            time.sleep(0.1)
        seconds = time.perf_counter() - started
        after = monitor.cpu_snapshot()
    finally:
        monitor.stop()
    say(f"pipeline done: {report.images_added} images in {seconds:.1f} s")

    statuses = dict(ProductImage.objects.values_list("status").annotate(n=Count("id")).order_by())
    reasons: Counter = Counter()
    for codes in ProductImage.objects.filter(status__in=[Status.FLAGGED, Status.REJECTED]).values_list(
        "reason_codes", flat=True
    ):
        reasons.update(codes)
    failed_sample = list(
        ProductImage.objects.filter(status=Status.FAILED).values_list("reason", flat=True).distinct()[:5]
    )
    cpu = monitor.cpu_delta(before, after)
    database = monitor.database_delta(before, after)
    window_capacity = seconds * (os.cpu_count() or 1)
    return {
        "images": report.images_added,
        "products": report.created + report.updated,
        "failed_rows": report.failed,
        "seconds": seconds,
        "import_s": import_s,
        "statuses": dict(sorted(statuses.items())),
        "flag_reasons": dict(reasons.most_common()),
        "failed_reasons_sample": failed_sample,
        "peak_rss_mb": round(monitor.peak_total / MB, 1),
        "peak_rss_mb_per_process": {k: round(v / MB, 1) for k, v in monitor.peak_by_role().items()},
        "cpu_seconds": {k: round(v, 2) for k, v in cpu.items() if k != "machine_busy"},
        "machine_cpu_busy_share": round(cpu["machine_busy"] / window_capacity, 3) if window_capacity else None,
        "database": database,
    }


class Monitor(threading.Thread):
    """Samples RSS of the bench and worker processes and CPU time of everything involved,
    every SAMPLE_INTERVAL s. CPU of a process is remembered as last seen, so a process that
    exits (a database backend) still counts with what it used until then."""

    def __init__(self, worker_pid: int, redis_pid: int, admin_url: str) -> None:
        super().__init__(name="bench-monitor", daemon=True)
        import psutil

        self.psutil = psutil
        self.bench = psutil.Process(os.getpid())
        self.worker = psutil.Process(worker_pid)
        self.redis = psutil.Process(redis_pid)
        self.admin_url = admin_url.replace("postgres://", "postgresql://", 1)
        self.postmaster = self._postmaster()
        self._stop_event = threading.Event()
        self._first = threading.Event()
        self._lock = threading.Lock()
        self._children: dict[int, object] = {}
        self._backends: dict[int, object] = {}
        self.peak_total = 0
        self._peaks: dict[str, int] = {}
        self._cpu_seen: dict[tuple[str, int], float] = {}  # (role, pid) -> cumulative user+system

    def _postmaster(self):
        from visualshop.paths import VAR_DIR

        try:
            pid = int((VAR_DIR / "pgdata" / "postmaster.pid").read_text().split()[0])
            return self.psutil.Process(pid)
        except (OSError, ValueError, IndexError, self.psutil.Error):
            return None

    def run(self) -> None:
        import psycopg

        conn = None
        try:
            conn = psycopg.connect(self.admin_url, autocommit=True)
        except Exception as exc:
            say(f"monitor: no database connection, backend CPU not measured ({exc})")
        tick = 0
        while not self._stop_event.is_set():
            try:
                if conn is not None and tick % 5 == 0:
                    self._refresh_backends(conn)
                self._sample()
            except Exception as exc:  # a sample lost is no reason to stop the benchmark
                say(f"monitor: sample failed ({exc})")
            self._first.set()
            tick += 1
            self._stop_event.wait(SAMPLE_INTERVAL)
        if conn is not None:
            conn.close()

    def _refresh_backends(self, conn) -> None:
        pids = [
            row[0]
            for row in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [BENCH_DATABASE]).fetchall()
        ]
        with self._lock:
            for pid in pids:
                if pid not in self._backends:
                    try:
                        self._backends[pid] = self.psutil.Process(pid)
                    except self.psutil.Error:
                        pass

    def worker_children(self) -> list:
        with self._lock:
            return list(self._children.values())

    def _sample(self) -> None:
        psutil = self.psutil
        try:
            for child in self.worker.children(recursive=True):
                with self._lock:
                    self._children.setdefault(child.pid, child)
        except psutil.Error:
            pass
        total = 0
        with self._lock:
            children = sorted(self._children.items())
            backends = list(self._backends.items())
        roles = [("bench", self.bench), ("worker_main", self.worker)]
        roles += [(f"worker_child_{n}", proc) for n, (_, proc) in enumerate(children, start=1)]
        for role, proc in roles:
            try:
                with proc.oneshot():
                    rss = proc.memory_info().rss
                    times = proc.cpu_times()
            except psutil.Error:
                continue
            total += rss
            self._peaks[role] = max(self._peaks.get(role, 0), rss)
            if role != "bench":  # the bench process is measured with getrusage
                self._cpu_seen[("worker_children" if role.startswith("worker_child") else role, proc.pid)] = (
                    times.user + times.system
                )
        self.peak_total = max(self.peak_total, total)
        for pid, proc in backends:
            try:
                times = proc.cpu_times()
            except psutil.Error:
                continue
            self._cpu_seen[("postgres_backends", pid)] = times.user + times.system

    def wait_first_sample(self) -> None:
        self._first.wait(10)

    def peak_by_role(self) -> dict[str, int]:
        return dict(self._peaks)

    def cpu_snapshot(self) -> dict:
        """Cumulative CPU seconds now, per (role, pid), plus whole-server and machine totals."""
        self._sample()
        psutil = self.psutil
        usage = resource.getrusage(resource.RUSAGE_SELF)
        snapshot = {"per_pid": dict(self._cpu_seen), "bench": usage.ru_utime + usage.ru_stime}
        try:
            times = self.redis.cpu_times()
            snapshot["redis"] = times.user + times.system
        except psutil.Error:
            pass
        if self.postmaster is not None:
            try:
                with self.postmaster.oneshot():
                    times = self.postmaster.cpu_times()
                    server = times.user + times.system + times.children_user + times.children_system
                    children = self.postmaster.children()
                for child in children:
                    try:
                        t = child.cpu_times()
                        server += t.user + t.system
                    except psutil.Error:
                        pass
                snapshot["postgres_server_all_databases"] = server
            except psutil.Error:
                pass
        machine = psutil.cpu_times()  # guest time is already inside user; steal is not ours
        snapshot["machine_busy"] = sum(
            getattr(machine, name, 0.0) for name in ("user", "nice", "system", "irq", "softirq")
        )
        snapshot["database"] = self._database_stats()
        return snapshot

    def _database_stats(self) -> dict:
        """Cumulative pg_stat_database counters of the bench database (PostgreSQL >= 14)."""
        import psycopg

        try:
            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                conn.execute("SELECT pg_stat_force_next_flush()")
                row = conn.execute(
                    "SELECT sessions, xact_commit, xact_rollback, active_time, session_time, blk_write_time"
                    " FROM pg_stat_database WHERE datname = %s",
                    [BENCH_DATABASE],
                ).fetchone()
        except Exception as exc:
            say(f"monitor: pg_stat_database not read ({exc})")
            return {}
        if row is None:
            return {}
        return dict(
            zip(
                ("sessions", "xact_commit", "xact_rollback", "active_time_ms", "session_time_ms", "blk_write_time_ms"),
                row,
            )
        )

    def cpu_delta(self, before: dict, after: dict) -> dict[str, float]:
        delta: Counter = Counter()
        seen = dict(self._cpu_seen)
        seen.update(after["per_pid"])
        for (role, pid), value in seen.items():
            delta[role] += value - before["per_pid"].get((role, pid), 0.0)
        for key in ("bench", "redis", "postgres_server_all_databases", "machine_busy"):
            if key in before and key in after:
                delta[key] = after[key] - before[key]
        delta["unaccounted"] = delta["machine_busy"] - sum(
            delta[key] for key in ("bench", "worker_main", "worker_children", "postgres_server_all_databases", "redis")
        )
        order = [
            "bench",
            "worker_main",
            "worker_children",
            "postgres_backends",
            "postgres_server_all_databases",
            "redis",
            "unaccounted",
            "machine_busy",
        ]
        return {key: delta.get(key, 0.0) for key in order}

    @staticmethod
    def database_delta(before: dict, after: dict) -> dict:
        """Counters of the bench database over the window. Backends flush their numbers
        with a delay of up to a second, so the times are approximate."""
        first, last = before.get("database") or {}, after.get("database") or {}
        out = {key: round(float(last[key]) - float(first.get(key) or 0), 1) for key in last if last[key] is not None}
        if "active_time_ms" in out:
            out["active_time_s"] = round(out.pop("active_time_ms") / 1000, 2)
        if "session_time_ms" in out:
            out["session_time_s"] = round(out.pop("session_time_ms") / 1000, 2)
        return out

    def stop(self) -> None:
        self._stop_event.set()
        self.join(10)


# --- per-stage times and the raw model ---------------------------------------------------------


def _stage_seconds(metrics_dir: Path) -> dict[str, float] | None:
    """Mean seconds per image of each pipeline stage, from the workers' histogram files."""
    try:
        from prometheus_client import CollectorRegistry, multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=str(metrics_dir))
        sums, counts = {}, {}
        for family in registry.collect():
            if family.name != "visualshop_image_stage_seconds":
                continue
            for sample in family.samples:
                stage = sample.labels.get("stage")
                if sample.name.endswith("_sum"):
                    sums[stage] = sample.value
                elif sample.name.endswith("_count"):
                    counts[stage] = sample.value
    except Exception as exc:
        say(f"stage times not available ({exc})")
        return None
    from vision.metrics import STAGES

    return {
        stage: round(sums[stage] / counts[stage], 5)
        for stage in [*STAGES, *sorted(set(sums) - set(STAGES))]
        if counts.get(stage)
    } or None


def _measure_model(dataset: Path, count: int) -> dict:
    """The raw model in this process, one image per call, on images decoded as the pipeline does."""
    import statistics

    import numpy as np
    from django.conf import settings

    from catalog.image_files import DERIVATIVE_SIZES
    from vision.decoding import decode_image
    from vision.embedders import embedder_for
    from vision.onnx_model.graph import EMBEDDING_NAME
    from vision.onnx_model.preprocess import preprocess_batch
    from vision.selectors import embedding_model_active

    files = image_files(dataset)
    step = max(1, len(files) // count)
    pictures = []
    for path in files[::step][:count]:
        decoded = decode_image(
            path.read_bytes(), max_pixels=settings.IMAGE_MAX_PIXELS, min_side=max(DERIVATIVE_SIZES.values())
        )
        pictures.append(decoded.image)
    model = embedding_model_active()
    embedder = embedder_for(model)  # creates the session and warms it up
    for picture in pictures[:5]:
        embedder.embed([picture])
    say(f"timing the model on {len(pictures)} images, one per call")
    per_image = []
    for picture in pictures:
        started = time.perf_counter()
        embedder.embed([picture])
        per_image.append(time.perf_counter() - started)
    tensors = [np.ascontiguousarray(preprocess_batch([picture])) for picture in pictures]
    onnx = []
    for tensor in tensors:
        started = time.perf_counter()
        embedder.run_tensor(tensor, (EMBEDDING_NAME,))
        onnx.append(time.perf_counter() - started)
    return {
        "model_images_per_s": round(len(per_image) / sum(per_image), 1),
        "model_onnx_images_per_s": round(len(onnx) / sum(onnx), 1),
        "model_ms_per_image_p50": round(statistics.median(per_image) * 1000, 2),
        "model_images": len(per_image),
        "model_threads": settings.EMBEDDING_THREADS,
        "model_variant": model.variant,
    }


if __name__ == "__main__":
    sys.exit(main())
