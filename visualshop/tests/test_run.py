"""`make run` end to end: a fresh var/ folder -> a working shop -> Ctrl-C stops everything."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import psutil
import pytest

from visualshop.paths import BASE_DIR


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_shop(var_dir, port):
    env = {key: value for key, value in os.environ.items()
           if key not in {"DATABASE_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "DJANGO_MEDIA_ROOT"}}
    env.update({"VISUALSHOP_VAR_DIR": str(var_dir), "DJANGO_SETTINGS_MODULE": "visualshop.settings",
                "WEB_CONCURRENCY": "1", "CELERY_CONCURRENCY": "1"})
    return subprocess.Popen(
        [sys.executable, "-m", "visualshop.run", "--bind", f"127.0.0.1:{port}"],
        cwd=BASE_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def get(url: str, timeout: float = 120.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def stop_with_ctrl_c(shop: subprocess.Popen) -> tuple[int, str, list[psutil.Process]]:
    children = psutil.Process(shop.pid).children(recursive=True)
    assert len(children) >= 4  # redis, celery worker, celery beat, gunicorn (+ their own children)
    shop.send_signal(signal.SIGINT)
    output, _ = shop.communicate(timeout=60)
    gone, alive = psutil.wait_procs(children, timeout=10)
    return shop.returncode, output, alive


def test_fresh_var_to_working_shop_and_ctrl_c_stops_everything(tmp_path):
    var_dir = tmp_path / "var"
    port = free_port()
    shop = start_shop(var_dir, port)
    try:
        home = get(f"http://127.0.0.1:{port}/")
        assert "VisualShop" in home
        assert "DEMO-0001" not in home  # SKUs stay internal; the demo products are listed by title
        assert home.count('class="product-card') >= 8
        admin = get(f"http://127.0.0.1:{port}/admin/login/")
        assert "Django administration" in admin or "VisualShop" in admin
    finally:
        code, output, alive = stop_with_ctrl_c(shop)
    assert code == 0, output
    assert alive == [], output
    assert f"shop:  http://127.0.0.1:{port}/" in output
    assert "[visualshop] stopped" in output
    assert not (var_dir / "pgdata" / "postmaster.pid").exists(), output

    # A second run reuses the data: no new demo load.
    shop = start_shop(var_dir, port)
    try:
        assert home.count('class="product-card') == get(f"http://127.0.0.1:{port}/").count('class="product-card')
    finally:
        code, output, alive = stop_with_ctrl_c(shop)
    assert code == 0 and alive == [], output
    assert "not empty" in output, output
