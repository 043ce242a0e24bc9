"""A request body arrives within a deadline or the request is answered and the connection closed.

gunicorn has no body timeout: a client that announces 5 MB and sends one byte keeps the
worker thread reading its body blocked until the client gives up. `BodyDeadline` wraps
the WSGI application (visualshop.gunicorn_conf installs it in every worker) and reads
the whole announced body before the application runs, with one deadline for all of it:

- a body not complete within `timeout` seconds: 408 "Request body timeout" and the
  connection is closed (the thread is free again after at most `timeout` + `LINGER`);
- a body announced larger than `max_bytes`: 413 at once, nothing read;
- a body that ends before its announced length (the client went away): 400.

The application then reads the buffered copy (in memory up to `SPOOL_MEMORY_BYTES`, on
disk beyond), so Django and DRF never block on the network. Requests without a
Content-Length (chunked) pass through unchanged: Django reads no body without one.
Under compose nginx buffers every body first (deploy/nginx), so this only bites clients
that talk to gunicorn directly (`make run`).
"""

from __future__ import annotations

import socket
import tempfile
import time
from collections.abc import Callable, Iterable

SPOOL_MEMORY_BYTES = 1024 * 1024
READ_CHUNK = 64 * 1024
# After an error answer: how long the thread waits for the client to stop sending before it
# closes, so the kernel does not reset the connection before the client read the answer.
LINGER_SECONDS = 1.0


class BodyTimeout(Exception):
    pass


class BodyIncomplete(Exception):
    pass


class BodyDeadline:
    """WSGI middleware: the announced body, completely, within `timeout` seconds (see module doc)."""

    def __init__(self, application: Callable, *, timeout: float, max_bytes: int) -> None:
        self.application = application
        self.timeout = timeout
        self.max_bytes = max_bytes

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0  # gunicorn refuses a malformed Content-Length before the application runs
        if length <= 0:
            return self.application(environ, start_response)
        sock = environ.get("gunicorn.socket")
        if length > self.max_bytes:
            return refuse(
                start_response,
                sock,
                "413 Content Too Large",
                f"The request body of {length} bytes is over the limit of {self.max_bytes} bytes.\n",
            )
        try:
            environ["wsgi.input"] = read_body(environ["wsgi.input"], sock, length, self.timeout)
        except BodyTimeout:
            return refuse(
                start_response,
                sock,
                "408 Request Timeout",
                f"Request body timeout: the body of {length} bytes did not arrive within {self.timeout:g} seconds.\n",
            )
        except BodyIncomplete as exc:
            return refuse(start_response, sock, "400 Bad Request", f"{exc}\n")
        return self.application(environ, start_response)


def read_body(stream, sock: socket.socket | None, length: int, timeout: float):
    """The `length` bytes of `stream` in a file positioned at 0; each socket read is bounded
    by the time left until the deadline, so a trickling client cannot extend it."""
    deadline = time.monotonic() + timeout
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES)
    received = 0
    try:
        while received < length:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BodyTimeout
            if sock is not None:
                sock.settimeout(remaining)
            try:
                chunk = stream.read(min(READ_CHUNK, length - received))
            except TimeoutError:
                raise BodyTimeout from None
            if not chunk:
                raise BodyIncomplete(f"The request body ended after {received} of the {length} bytes announced.")
            spool.write(chunk)
            received += len(chunk)
    except BaseException:
        spool.close()
        raise
    finally:
        if sock is not None:
            try:
                sock.settimeout(None)  # gunicorn's worker threads use blocking sockets
            except OSError:
                pass
    spool.seek(0)
    return spool


def refuse(start_response: Callable, sock: socket.socket | None, status: str, message: str) -> Iterable[bytes]:
    body = message.encode()
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))])
    return ClosingAnswer(body, sock)


class ClosingAnswer:
    """The answer's body; once gunicorn has sent it (it then calls close(), in the worker
    thread), the connection is ended here: what is left of the request is unread, so the
    connection cannot carry another request. FIN first, then a short bounded drain, so the
    client reads the answer instead of a reset; gunicorn's own close then finds both
    directions shut and returns at once instead of lingering on its event loop."""

    def __init__(self, body: bytes, sock: socket.socket | None) -> None:
        self.body = body
        self.sock = sock

    def __iter__(self):
        yield self.body

    def close(self) -> None:
        if self.sock is None:
            return
        try:
            self.sock.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + LINGER_SECONDS
            while (remaining := deadline - time.monotonic()) > 0:
                self.sock.settimeout(remaining)
                if not self.sock.recv(READ_CHUNK):
                    break
        except OSError:  # includes the timeout: the client is still sending, stop listening
            pass
        try:
            self.sock.shutdown(socket.SHUT_RD)
        except OSError:
            pass
        try:
            self.sock.settimeout(None)
        except OSError:
            pass
