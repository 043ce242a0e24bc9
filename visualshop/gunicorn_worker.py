"""gunicorn's threaded worker with a deadline on the request line and headers.

gthread reads a request's headers in a worker thread with no timeout: a client that sends
half a header and then nothing holds that thread for as long as it keeps the connection
open (16 such connections stopped the whole shop; a sync worker was at least killed after
its 30 s timeout). Here each accepted connection gets `header_timeout_seconds` (from
visualshop/gunicorn_conf.py) from its accept to the end of its headers; a read that would
pass the deadline ends the connection as if the client had gone (gunicorn then closes
it quietly). The deadline ends when gunicorn hands the request over (the config's
pre_request hook calls `headers_received`); the body has its own deadline
(visualshop.body_deadline).
"""

from __future__ import annotations

import errno
import socket
import time

from gunicorn.workers.gthread import TConn, ThreadWorker


class HeaderDeadlineSocket(socket.socket):
    """A client connection whose reads end (b"", both directions shut) once the header
    deadline has passed, until `headers_received` lifts it."""

    header_deadline: float | None = None

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        deadline = self.header_deadline
        if deadline is None:
            return super().recv(bufsize, flags)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return self._end()
        prior = self.gettimeout()
        super().settimeout(remaining)
        try:
            return super().recv(bufsize, flags)
        except TimeoutError:
            return self._end()
        finally:
            super().settimeout(prior)

    def _end(self) -> bytes:
        # Shut down here, in the request thread: gunicorn's own close then returns at once
        # instead of lingering on the worker's event loop for a client that sends nothing.
        try:
            self.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        return b""


def headers_received(req) -> None:
    """The request's headers are in: lift the header deadline of its connection."""
    sock = getattr(getattr(req, "unreader", None), "sock", None)
    if isinstance(sock, HeaderDeadlineSocket):
        sock.header_deadline = None


class HeaderDeadlineThreadWorker(ThreadWorker):
    """gthread, each client socket a HeaderDeadlineSocket (accept() as gthread's own)."""

    header_timeout_seconds = 10.0  # set by visualshop/gunicorn_conf.py

    def accept(self, listener):
        try:
            client_sock, client_addr = listener.accept()
            self.nr_conns += 1
            sock = HeaderDeadlineSocket(
                client_sock.family, client_sock.type, client_sock.proto, fileno=client_sock.detach()
            )
            sock.header_deadline = time.monotonic() + self.header_timeout_seconds
            sock.setblocking(True)
            conn = TConn(self.cfg, sock, client_addr, listener.getsockname())
            self.enqueue_req(conn)
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
