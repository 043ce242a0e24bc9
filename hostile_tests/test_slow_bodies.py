"""Slow request bodies against the real gunicorn with the project's config
(visualshop/gunicorn_conf.py, as `make run` and the Docker image start it).

A slow-body client announces a 5 MB photo upload (POST /api/v1/search/image) and sends
one byte. Under the old sync workers
two of them made the home page wait 32 s. Now the home page answers while they are still
pending, and each of them gets 408 with its reason once the body deadline passes, then
the connection is closed.
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import pytest

from fixtures.gunicorn_server import GENEROUS_TIMEOUT, free_port, request, start_gunicorn, wait_until_serving
from visualshop import embedded
from visualshop.paths import BASE_DIR

pytestmark = pytest.mark.slow  # real gunicorn and nginx processes, seconds-long slow clients

ANNOUNCED_BYTES = 5_000_000
BODY_TIMEOUT_SECONDS = 10  # long enough that the home page surely answers first on a busy machine
MAX_BODY_BYTES = 30 * 1024 * 1024


@pytest.fixture
def gunicorn_address(transactional_db, tmp_path):
    """(host, port) of gunicorn with the config's worker model (2 workers as in `make run`)
    and 10 s header and body deadlines."""
    server, port = start_gunicorn(
        tmp_path,
        WEB_CONCURRENCY="2",
        WEB_BODY_TIMEOUT_SECONDS=str(BODY_TIMEOUT_SECONDS),
        WEB_HEADER_TIMEOUT_SECONDS=str(BODY_TIMEOUT_SECONDS),
        WEB_MAX_BODY_BYTES=str(MAX_BODY_BYTES),
    )
    yield "127.0.0.1", port
    embedded.stop_process(server)


def get(host: str, port: int, path: str) -> tuple[int, bytes]:
    return request(host, port, "GET", path)


def open_slow_body(host: str, port: int, *, announced: int = ANNOUNCED_BYTES) -> socket.socket:
    """A connection that announces `announced` bytes of body and sends one."""
    sock = socket.create_connection((host, port), timeout=GENEROUS_TIMEOUT)
    sock.sendall(
        (
            f"POST /api/v1/search/image HTTP/1.1\r\nHost: {host}\r\n"
            "Content-Type: multipart/form-data; boundary=slowbody\r\n"
            f"Content-Length: {announced}\r\n\r\nx"
        ).encode()
    )
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
def test_the_home_page_answers_while_slow_bodies_are_pending_and_they_end_408(gunicorn_address, slow_connections):
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

    expected_body = (
        f"Request body timeout: the body of {ANNOUNCED_BYTES} bytes did not arrive within "
        f"{BODY_TIMEOUT_SECONDS} seconds.\n"
    ).encode()
    for answer in answers:
        status_line, headers, answer_body = split_answer(answer)
        assert status_line == "HTTP/1.1 408 Request Timeout"
        assert headers["content-type"] == "text/plain; charset=utf-8"
        assert headers["content-length"] == str(len(expected_body))
        assert answer_body == expected_body  # and then the server closed the connection
    assert get(host, port, "/")[0] == 200


def test_the_home_page_answers_while_slow_headers_are_pending_and_they_are_dropped(gunicorn_address):
    """Half a request line and header, then nothing: the connection is closed without an
    answer once the header deadline (WEB_HEADER_TIMEOUT_SECONDS) passes."""
    host, port = gunicorn_address
    slow = []
    for _ in range(2):
        sock = socket.create_connection((host, port), timeout=GENEROUS_TIMEOUT)
        sock.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\nAccept: te".encode())
        slow.append(sock)
    try:
        time.sleep(0.5)

        status, body = get(host, port, "/")

        assert status == 200
        assert [has_answer(sock) for sock in slow] == [False, False]
        answers = [read_until_closed(sock) for sock in slow]
    finally:
        for sock in slow:
            sock.close()

    assert answers == [b"", b""]


def test_a_body_announced_over_the_limit_is_refused_before_any_byte_is_read(gunicorn_address):
    host, port = gunicorn_address
    sock = open_slow_body(host, port, announced=MAX_BODY_BYTES + 1)
    try:
        answer = read_until_closed(sock)
    finally:
        sock.close()

    status_line, headers, body = split_answer(answer)
    assert status_line == "HTTP/1.1 413 Content Too Large"
    assert (
        body
        == (f"The request body of {MAX_BODY_BYTES + 1} bytes is over the limit of {MAX_BODY_BYTES} bytes.\n").encode()
    )


# --------------------------------------------------------------------------- behind nginx

NGINX = Path("/usr/sbin/nginx")  # Debian's nginx-light (.ci/run installs it)
NGINX_CONF = BASE_DIR / "deploy" / "nginx" / "visualshop.conf"
NGINX_BODY_TIMEOUT_SECONDS = 10  # client_body_timeout in deploy/nginx/visualshop.conf
NGINX_MAX_BODY_BYTES = 30 * 1024 * 1024  # client_max_body_size 30m


@pytest.fixture
def nginx_in_front(transactional_db, tmp_path):
    """(host, port, access log) of Debian's nginx running deploy/nginx/visualshop.conf, only
    its listen address and its upstream (compose's `web:8000`) pointed at loopback, in front
    of gunicorn with ONE worker and ONE thread: any slow body that reached gunicorn would
    hold the only thread there is."""
    assert NGINX.exists(), "nginx is not installed (apt-get install nginx-light; .ci/run does)"
    # API_NUM_PROXIES=1 as compose sets it; a text-search budget small enough to exhaust.
    server, gunicorn_port = start_gunicorn(
        tmp_path, WEB_CONCURRENCY="1", WEB_THREADS="1", API_NUM_PROXIES="1", API_THROTTLE_TEXT_SEARCH="2/min"
    )
    nginx_port = free_port()
    site = NGINX_CONF.read_text()
    for deployed, local in (
        ("server web:8000;", f"server 127.0.0.1:{gunicorn_port};"),
        ("listen 80 default_server;", f"listen 127.0.0.1:{nginx_port} default_server;"),
    ):
        assert site.count(deployed) == 1, deployed
        site = site.replace(deployed, local)
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    prefix.chmod(0o777)  # nginx's worker (nobody when started as root) writes body files here
    (prefix / "site.conf").write_text(site)
    access_log = prefix / "access.log"
    # What the nginx image's own nginx.conf provides around conf.d/*.conf, in a private prefix.
    (prefix / "nginx.conf").write_text(f"""
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log;
events {{ worker_connections 256; }}
http {{
    log_format status '$request $status';
    access_log {access_log} status;
    client_body_temp_path {prefix}/client_temp;
    proxy_temp_path {prefix}/proxy_temp;
    fastcgi_temp_path {prefix}/fastcgi_temp;
    uwsgi_temp_path {prefix}/uwsgi_temp;
    scgi_temp_path {prefix}/scgi_temp;
    include {prefix}/site.conf;
}}
""")
    command = [str(NGINX), "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", str(prefix / "error.log")]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    nginx = subprocess.Popen(command, start_new_session=True)
    try:
        wait_until_serving(nginx, nginx_port)
        yield "127.0.0.1", nginx_port, access_log
    finally:
        embedded.stop_process(nginx)
        embedded.stop_process(server)


def test_nginx_absorbs_slow_bodies_so_a_one_thread_gunicorn_still_serves_the_home_page(nginx_in_front):
    host, port, access_log = nginx_in_front
    slow = [open_slow_body(host, port) for _ in range(10)]
    try:
        time.sleep(0.5)

        status, body = get(host, port, "/")

        assert status == 200
        assert b"<html" in body
        assert [has_answer(sock) for sock in slow] == [False] * 10
        # nginx drops a stalled body after client_body_timeout: closed without an answer.
        answers = [read_until_closed(sock) for sock in slow]
    finally:
        for sock in slow:
            sock.close()

    assert answers == [b""] * 10
    logged = access_log.read_text().splitlines()
    assert logged.count("POST /api/v1/search/image HTTP/1.1 408") == 10
    assert get(host, port, "/")[0] == 200


def test_nginx_refuses_a_body_over_its_limit_with_413(nginx_in_front):
    host, port, access_log = nginx_in_front
    sock = open_slow_body(host, port, announced=NGINX_MAX_BODY_BYTES + 1)
    try:
        answer = read_until_closed(sock)
    finally:
        sock.close()

    status_line, headers, _ = split_answer(answer)
    assert status_line == "HTTP/1.1 413 Request Entity Too Large"
    assert headers["connection"] == "close"
    assert access_log.read_text().splitlines().count("POST /api/v1/search/image HTTP/1.1 413") == 1


def test_behind_nginx_rate_limits_count_the_address_nginx_saw_not_one_the_client_sends(nginx_in_front):
    host, port, _ = nginx_in_front
    statuses = [
        request(host, port, "GET", "/api/v1/search?q=dress", headers={"X-Forwarded-For": f"203.0.113.{n}"})[0]
        for n in range(3)
    ]

    assert statuses == [200, 200, 429]
