"""visualshop.body_deadline on real sockets: the client end of a socket pair plays the
shopper, the server end is what gunicorn hands the application (environ["gunicorn.socket"],
read through a recv-based stream as gunicorn's own reader does)."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from visualshop.body_deadline import BodyDeadline


class SocketInput:
    """wsgi.input over the server socket: each read is one recv, like gunicorn's reader."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def read(self, size: int) -> bytes:
        return self.sock.recv(size)


class EchoApp:
    """Answers 200 with the body it read; remembers whether it ran."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, environ, start_response):
        self.calls += 1
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0) or 1_000_000)
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return [body]


@pytest.fixture
def connection():
    client, server = socket.socketpair()
    yield client, server
    client.close()
    server.close()


def serve(app, server: socket.socket, length: int | None, *, timeout: float = 5.0, max_bytes: int = 1000):
    environ = {"gunicorn.socket": server, "wsgi.input": SocketInput(server)}
    if length is not None:
        environ["CONTENT_LENGTH"] = str(length)
    answer = {}

    def start_response(status, headers):
        answer["status"], answer["headers"] = status, dict(headers)

    iterable = BodyDeadline(app, timeout=timeout, max_bytes=max_bytes)(environ, start_response)
    answer["body"] = b"".join(iterable)
    if hasattr(iterable, "close"):
        iterable.close()
    return answer


def send_later(client: socket.socket, pieces: list[bytes], pause: float) -> threading.Thread:
    def send():
        for piece in pieces:
            time.sleep(pause)
            client.sendall(piece)

    thread = threading.Thread(target=send)
    thread.start()
    return thread


def test_a_body_sent_in_pieces_within_the_deadline_reaches_the_application_whole(connection):
    client, server = connection
    app = EchoApp()
    sender = send_later(client, [b"abc", b"defg", b"hij"], pause=0.05)

    answer = serve(app, server, 10)
    sender.join()

    assert answer["status"] == "200 OK"
    assert answer["body"] == b"abcdefghij"
    assert app.calls == 1
    assert server.gettimeout() is None  # gunicorn's blocking socket is given back as it was


def test_a_body_not_complete_by_the_deadline_is_answered_408_and_the_connection_ended(connection):
    client, server = connection
    app = EchoApp()
    client.sendall(b"x")

    answer = serve(app, server, 5_000_000, timeout=0.3, max_bytes=10_000_000)

    message = b"Request body timeout: the body of 5000000 bytes did not arrive within 0.3 seconds.\n"
    assert answer["status"] == "408 Request Timeout"
    assert answer["body"] == message
    assert answer["headers"] == {"Content-Type": "text/plain; charset=utf-8", "Content-Length": str(len(message))}
    assert app.calls == 0
    client.settimeout(5)
    assert client.recv(10) == b""  # the server shut the connection after the answer


def test_a_body_announced_over_the_limit_is_answered_413_without_reading_it(connection):
    client, server = connection
    app = EchoApp()
    client.sendall(b"first bytes")

    answer = serve(app, server, 1001, max_bytes=1000)

    assert answer["status"] == "413 Content Too Large"
    assert answer["body"] == b"The request body of 1001 bytes is over the limit of 1000 bytes.\n"
    assert app.calls == 0


def test_a_body_that_ends_before_its_announced_length_is_answered_400(connection):
    client, server = connection
    app = EchoApp()
    client.sendall(b"x")
    client.shutdown(socket.SHUT_WR)

    answer = serve(app, server, 10)

    assert answer["status"] == "400 Bad Request"
    assert answer["body"] == b"The request body ended after 1 of the 10 bytes announced.\n"
    assert app.calls == 0


def test_a_request_without_a_content_length_goes_to_the_application_untouched(connection):
    client, server = connection
    app = EchoApp()
    client.sendall(b"chunk")

    answer = serve(app, server, None)

    assert answer["status"] == "200 OK"
    assert answer["body"] == b"chunk"
    assert app.calls == 1
