"""visualshop.gunicorn_worker.HeaderDeadlineSocket on a real socket pair (the server end is
what the worker accepted; the client end plays the shopper)."""

from __future__ import annotations

import socket
import time
from types import SimpleNamespace

import pytest

from visualshop.gunicorn_worker import HeaderDeadlineSocket, headers_received


@pytest.fixture
def connection():
    client, accepted = socket.socketpair()
    server = HeaderDeadlineSocket(accepted.family, accepted.type, accepted.proto, fileno=accepted.detach())
    server.setblocking(True)
    yield client, server
    client.close()
    server.close()


def test_reads_before_the_header_deadline_return_what_the_client_sent(connection):
    client, server = connection
    server.header_deadline = time.monotonic() + 5
    client.sendall(b"GET / HTTP/1.1\r\n")

    assert server.recv(100) == b"GET / HTTP/1.1\r\n"
    assert server.gettimeout() is None  # gunicorn's blocking socket is given back as it was


def test_a_read_that_would_pass_the_header_deadline_ends_the_connection(connection):
    client, server = connection
    server.header_deadline = time.monotonic() + 0.3
    client.sendall(b"GET / HTTP/1.1\r\nHost: sh")

    assert server.recv(100) == b"GET / HTTP/1.1\r\nHost: sh"
    assert server.recv(100) == b""  # the client sent nothing more before the deadline
    client.settimeout(5)
    assert client.recv(10) == b""  # and the server shut the connection down
    assert server.recv(100) == b""  # every later read too: the deadline has passed


def test_once_the_headers_are_in_reads_wait_as_long_as_they_need(connection):
    client, server = connection
    server.header_deadline = time.monotonic() - 1  # would already have passed
    request = SimpleNamespace(unreader=SimpleNamespace(sock=server))

    headers_received(request)
    client.sendall(b"body")

    assert server.header_deadline is None
    assert server.recv(100) == b"body"
