"""`make run` end to end: a fresh var/ folder -> a working shop -> Ctrl-C stops everything."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import psutil
import pytest

from fixtures.waiting import wait_for
from visualshop.paths import BASE_DIR


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_shop(var_dir, port, *args):
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "DJANGO_MEDIA_ROOT"}
    }
    env.update(
        {
            "VISUALSHOP_VAR_DIR": str(var_dir),
            "DJANGO_SETTINGS_MODULE": "visualshop.settings",
            "WEB_CONCURRENCY": "1",
            "CELERY_CONCURRENCY": "1",
        }
    )
    return subprocess.Popen(
        [sys.executable, "-m", "visualshop.run", "--bind", f"127.0.0.1:{port}", *args],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )


def get(url: str, timeout: float = 120.0, status_retry: bool = False) -> str:
    """The page's text once the server answers; status_retry: an error status (a request that
    met a database connection broken by a restart) is tried again too."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.read().decode()
        except urllib.error.HTTPError:
            if not status_retry or time.monotonic() > deadline:
                raise
            time.sleep(0.3)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def stop_with_ctrl_c(shop: subprocess.Popen) -> tuple[int, str, list[psutil.Process]]:
    children = psutil.Process(shop.pid).children(recursive=True)
    assert len(children) >= 4  # redis, celery worker, celery beat, gunicorn (+ their own children)
    # Ctrl-C in a terminal: SIGINT to every process of the foreground group, not only to ours.
    os.killpg(shop.pid, signal.SIGINT)
    output, _ = shop.communicate(timeout=60)
    gone, alive = psutil.wait_procs(children, timeout=10)
    return shop.returncode, output, alive


@pytest.mark.slow
def test_fresh_var_to_working_shop_and_ctrl_c_stops_everything(tmp_path):
    var_dir = tmp_path / "var"
    port = free_port()
    shop = start_shop(var_dir, port)
    try:
        # Products are listed once a picture of theirs is processed: the worker is on it.
        home = wait_for_value(
            lambda: (page := get(f"http://127.0.0.1:{port}/")).count('class="product-card') >= 8 and page, timeout=180
        )
        assert "VisualShop" in home
        assert "DEMO-0001" not in home  # SKUs stay internal; the demo products are listed by title
        admin = get(f"http://127.0.0.1:{port}/admin/login/")
        assert "Django administration" in admin or "VisualShop" in admin
    finally:
        code, output, alive = stop_with_ctrl_c(shop)
    assert code == 0, output
    assert alive == [], output
    assert "Traceback" not in output, output
    assert f"shop:  http://127.0.0.1:{port}/" in output
    assert "demo traffic queued" in output  # simulated shoppers, once the pictures are processed
    assert "[visualshop] stopped" in output
    assert not (var_dir / "pgdata" / "postmaster.pid").exists(), output

    # A second run reuses the data: no new demo load.
    shop = start_shop(var_dir, port)
    try:
        # (How many cards depends on how many pictures the worker has processed by now.)
        assert get(f"http://127.0.0.1:{port}/").count('class="product-card') >= 8
    finally:
        code, output, alive = stop_with_ctrl_c(shop)
    assert code == 0 and alive == [], output
    assert "not empty" in output, output


class OutputReader:
    """Collects a running shop's output lines in the background, so a test can wait for one."""

    def __init__(self, shop: subprocess.Popen) -> None:
        import threading

        self.lines: list[str] = []
        self.thread = threading.Thread(target=self._read, args=(shop.stdout,), daemon=True)
        self.thread.start()

    def _read(self, stream) -> None:
        for line in stream:
            self.lines.append(line)

    def text(self) -> str:
        return "".join(self.lines)

    def wait_for_line(self, line: str, timeout: float = 60.0) -> None:
        wait_for(lambda: any(candidate.rstrip("\n") == line for candidate in self.lines), timeout=timeout, interval=0.1)


def shop_child(shop: subprocess.Popen, name: str) -> psutil.Process | None:
    return next((p for p in psutil.Process(shop.pid).children(recursive=True) if p.name() == name), None)


@pytest.mark.slow
def test_make_run_restarts_a_killed_redis_and_postgres_and_keeps_serving(tmp_path):
    """kill -9 of the embedded Redis, then of the embedded PostgreSQL (this test's own, in its
    own var/ folder): each is started again with a log line, the rest of the shop keeps running
    (same worker, beat and gunicorn processes), the queue survives, the shop answers."""
    import redis

    var_dir = tmp_path / "var"
    port = free_port()
    shop = start_shop(var_dir, port, "--no-demo")
    reader = OutputReader(shop)
    try:
        home = get(f"http://127.0.0.1:{port}/")
        assert "VisualShop" in home and home.count('class="product-card') == 0  # --no-demo: an empty shop
        others = {p.pid for p in psutil.Process(shop.pid).children() if p.name() != "redis-server"}
        socket_path = var_dir / "redis" / "redis.sock"
        redis.Redis(unix_socket_path=str(socket_path), db=5).set("survives", "yes")
        old_redis = shop_child(shop, "redis-server")
        old_redis.kill()
        reader.wait_for_line("[visualshop] redis exited with code -9; restarting it (restart 1 of 5 allowed in 600 s)")
        new_redis = wait_for_value(lambda: shop_child(shop, "redis-server"))
        assert new_redis.pid != old_redis.pid
        assert redis.Redis(unix_socket_path=str(socket_path), db=5).get("survives") == b"yes"  # append-only file

        postmaster = int((var_dir / "pgdata" / "postmaster.pid").read_text().split()[0])
        os.kill(postmaster, signal.SIGKILL)
        reader.wait_for_line("[visualshop] PostgreSQL is not running; restarting it (restart 1 of 5 allowed in 600 s)")
        reader.wait_for_line("[visualshop] PostgreSQL is back")
        assert "VisualShop" in get(f"http://127.0.0.1:{port}/", status_retry=True)
        assert others <= {p.pid for p in psutil.Process(shop.pid).children()}  # nothing else restarted
        assert shop.poll() is None, reader.text()
    finally:
        shop.send_signal(signal.SIGINT)
        shop.wait(timeout=60)
        reader.thread.join(timeout=10)
    assert shop.returncode == 0, reader.text()
    assert "[visualshop] stopped" in reader.text()


def wait_for_value(predicate, timeout: float = 30.0):
    return wait_for(predicate, timeout=timeout, interval=0.1)


def test_a_process_that_keeps_dying_stops_the_shop_after_the_restart_limit():
    from visualshop.run import RESTART_LIMIT, RESTART_WINDOW_SECONDS, RestartBudget

    budget = RestartBudget()
    assert [budget.spend("redis", now=float(n)) for n in range(RESTART_LIMIT)] == list(range(1, RESTART_LIMIT + 1))
    assert budget.spend("redis", now=float(RESTART_LIMIT)) is None  # one more within the window: give up
    assert budget.spend("celery worker", now=float(RESTART_LIMIT)) == 1  # each process has its own budget
    # Restarts older than the window no longer count.
    assert budget.spend("redis", now=RESTART_WINDOW_SECONDS + RESTART_LIMIT + 0.5) == 1


def test_make_run_hands_its_args_to_the_runner():
    # Run from `make test`, the outer make's variables would make this one print its directory.
    env = {key: value for key, value in os.environ.items() if key not in {"MAKEFLAGS", "MAKELEVEL", "MFLAGS"}}
    dry_run = subprocess.run(
        ["make", "--no-print-directory", "-n", "run", "ARGS=--no-demo"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
    )
    assert dry_run.stdout.splitlines()[-1] == ".venv/bin/python -m visualshop.run --no-demo"
