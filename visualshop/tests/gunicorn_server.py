"""The real gunicorn with the project's config (visualshop/gunicorn_conf.py), serving the
test database on a free loopback port, for tests that need the server itself (threads,
slow clients, the nginx front proxy)."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings

from conftest import database_url_of_this_run
from visualshop import embedded
from visualshop.paths import BASE_DIR

GENEROUS_TIMEOUT = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gunicorn(workdir: Path, **settings_env: str) -> tuple[subprocess.Popen, int]:
    """(process, port) of `gunicorn -c python:visualshop.gunicorn_conf` on the test database
    (the caller needs transactional_db so the server sees committed rows); `settings_env`
    overrides the config's environment (WEB_*), which otherwise has its own defaults."""
    port = free_port()
    env = {name: value for name, value in os.environ.items() if not name.startswith("WEB_")}
    env.update({
        "DJANGO_SETTINGS_MODULE": "visualshop.settings.test",
        "DATABASE_URL": database_url_of_this_run(),
        "DJANGO_MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "SEARCH_WARM_AT_START": "false",
        "WEB_ACCESS_LOG": "",
        "PROMETHEUS_MULTIPROC_DIR": str(workdir / "prometheus"),
        **settings_env,
    })
    (workdir / "prometheus").mkdir(exist_ok=True)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", "python:visualshop.gunicorn_conf",
         "visualshop.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--control-socket", str(workdir / "gunicorn.ctl")],
        cwd=BASE_DIR, env=env, stdout=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        wait_until_serving(server, port)
    except BaseException:
        embedded.stop_process(server)
        raise
    return server, port


def wait_until_serving(server: subprocess.Popen, port: int) -> None:
    """Until the home page answers 200, then ten more times (every worker has rendered it)."""
    deadline = time.monotonic() + GENEROUS_TIMEOUT
    while True:
        try:
            status, _ = request("127.0.0.1", port, "GET", "/")
        except OSError:
            assert server.poll() is None, f"the server exited with code {server.returncode}"
            assert time.monotonic() < deadline, f"nothing served on port {port} within {GENEROUS_TIMEOUT} s"
            time.sleep(0.2)
            continue
        assert status == 200
        break
    for _ in range(10):
        assert request("127.0.0.1", port, "GET", "/")[0] == 200


def request(host: str, port: int, method: str, path: str, body: bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """(status, body) of one request on a new connection."""
    connection = http.client.HTTPConnection(host, port, timeout=GENEROUS_TIMEOUT)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()
