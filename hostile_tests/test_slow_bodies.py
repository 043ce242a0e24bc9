"""Slow request bodies against the real gunicorn with the project's config
(visualshop/gunicorn_conf.py, as `make run` and the Docker image start it).

A slow-body client announces a 5 MB body and sends one byte. Under the old sync workers
two of them made the home page wait 32 s. Now the home page answers while they are still
pending, and each of them gets 408 with its reason once the body deadline passes, then
the connection is closed.
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time

import pytest
from django.conf import settings

from visualshop import embedded
from visualshop.paths import BASE_DIR

ANNOUNCED_BYTES = 5_000_000
BODY_TIMEOUT_SECONDS = 10  # long enough that the home page surely answers first on a busy machine
MAX_BODY_BYTES = 30 * 1024 * 1024
GENEROUS_TIMEOUT = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def gunicorn_address(transactional_db, tmp_path):
    """(host, port) of `gunicorn -c python:visualshop.gunicorn_conf` serving the test database
    with the config's worker model (2 workers as in `make run`) and a 10 s body deadline."""
    from django.db import connection

    db = connection.settings_dict
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "visualshop.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'].replace('/', '%2F')}:{db['PORT']}/{db['NAME']}",
        "DJANGO_MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "SEARCH_WARM_AT_START": "false",
        "WEB_CONCURRENCY": "2",
        "WEB_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT_SECONDS),
        "WEB_MAX_BODY_BYTES": str(MAX_BODY_BYTES),
        "WEB_ACCESS_LOG": "",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"),
    }
    for name in ("WEB_THREADS", "WEB_KEEPALIVE_SECONDS"):  # the config's own defaults
        env.pop(name, None)
    (tmp_path / "prometheus").mkdir()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", "python:visualshop.gunicorn_conf",
         "visualshop.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--control-socket", str(tmp_path / "gunicorn.ctl")],
        cwd=BASE_DIR, env=env, stdout=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        wait_until_serving(server, port)
        yield "127.0.0.1", port
    finally:
        embedded.stop_process(server)


def wait_until_serving(server: subprocess.Popen, port: int) -> None:
    deadline = time.monotonic() + GENEROUS_TIMEOUT
    while True:
        try:
            status, _ = get("127.0.0.1", port, "/")
        except OSError:
            assert server.poll() is None, f"gunicorn exited with code {server.returncode}"
            assert time.monotonic() < deadline, "gunicorn did not serve within 60 s"
            time.sleep(0.2)
            continue
        assert status == 200
        break
    for _ in range(10):  # both workers have rendered the page once (templates loaded)
        assert get("127.0.0.1", port, "/")[0] == 200


def get(host: str, port: int, path: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection(host, port, timeout=GENEROUS_TIMEOUT)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def open_slow_body(host: str, port: int, *, announced: int = ANNOUNCED_BYTES) -> socket.socket:
    """A connection that announces `announced` bytes of body and sends one."""
    sock = socket.create_connection((host, port), timeout=GENEROUS_TIMEOUT)
    sock.sendall((f"POST /search/photo/ HTTP/1.1\r\nHost: {host}\r\n"
                  "Content-Type: application/octet-stream\r\n"
                  f"Content-Length: {announced}\r\n\r\nx").encode())
    return sock


def has_answer(sock: socket.socket) -> bool:
    """Whether the server has sent anything (or closed) yet, without waiting."""
    sock.setblocking(False)
    try:
        return sock.recv(1, socket.MSG_PEEK) is not None
    except BlockingIOError:
        return False
    finally:
        sock.settimeout(GENEROUS_TIMEOUT)


def read_until_closed(sock: socket.socket) -> bytes:
    received = b""
    while data := sock.recv(65536):
        received += data
    return received


def split_answer(raw: bytes) -> tuple[str, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode().split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in header_lines)}
    return status_line, headers, body


@pytest.mark.parametrize("slow_connections", [2, 10])
def test_the_home_page_answers_while_slow_bodies_are_pending_and_they_end_408(gunicorn_address,
                                                                              slow_connections):
    host, port = gunicorn_address
    slow = [open_slow_body(host, port) for _ in range(slow_connections)]
    try:
        time.sleep(0.5)  # the server has read every slow request's headers and started on its body

        status, body = get(host, port, "/")

        assert status == 200
        assert b"<html" in body
        # Served while every slow body is still pending: it did not wait for one to be dropped.
        assert [has_answer(sock) for sock in slow] == [False] * slow_connections
        answers = [read_until_closed(sock) for sock in slow]
    finally:
        for sock in slow:
            sock.close()

    expected_body = (f"Request body timeout: the body of {ANNOUNCED_BYTES} bytes did not arrive within "
                     f"{BODY_TIMEOUT_SECONDS} seconds.\n").encode()
    for answer in answers:
        status_line, headers, answer_body = split_answer(answer)
        assert status_line == "HTTP/1.1 408 Request Timeout"
        assert headers["content-type"] == "text/plain; charset=utf-8"
        assert headers["content-length"] == str(len(expected_body))
        assert answer_body == expected_body  # and then the server closed the connection
    assert get(host, port, "/")[0] == 200


def test_a_body_announced_over_the_limit_is_refused_before_any_byte_is_read(gunicorn_address):
    host, port = gunicorn_address
    sock = open_slow_body(host, port, announced=MAX_BODY_BYTES + 1)
    try:
        answer = read_until_closed(sock)
    finally:
        sock.close()

    status_line, headers, body = split_answer(answer)
    assert status_line == "HTTP/1.1 413 Content Too Large"
    assert body == (f"The request body of {MAX_BODY_BYTES + 1} bytes is over the limit of {MAX_BODY_BYTES} "
                    "bytes.\n").encode()
