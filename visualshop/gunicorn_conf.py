"""gunicorn settings for every way the shop is served: `make run` (visualshop.run), the
Docker image, the benchmarks and the hostile tests (`gunicorn -c python:visualshop.gunicorn_conf`).

Threaded workers (gthread): a client that sends its request slowly holds one thread, not
the process; its headers have to arrive within WEB_HEADER_TIMEOUT_SECONDS
(visualshop.gunicorn_worker) and its body within WEB_BODY_TIMEOUT_SECONDS
(visualshop.body_deadline, 408), or the connection is dropped. Measured by bench/slow_clients.py:
with 10 slow-body connections open against 2 workers x 8 threads the home page stays at
its unloaded latency (p50 well under 100 ms). Each setting comes from the environment;
command-line flags (--bind, --workers) still override these.
"""

from __future__ import annotations

import os

from visualshop.env import env_float, env_int

bind = os.environ.get("VISUALSHOP_BIND", "127.0.0.1:8000")
# gthread with a deadline on the request line and headers (visualshop/gunicorn_worker.py).
worker_class = "visualshop.gunicorn_worker.HeaderDeadlineThreadWorker"
workers = env_int("WEB_CONCURRENCY", 2)
# A thread waiting for a slow body costs no CPU, only a slot: enough slots that slow
# clients (each held at most WEB_BODY_TIMEOUT_SECONDS) leave free ones for shoppers.
# Threads share the process's ONNX session, model caches and metric files (all guarded
# by locks); each thread that touches the database keeps its own connection.
threads = env_int("WEB_THREADS", 8)
# The request line and headers must arrive within this many seconds of the connection
# being accepted, or the connection is closed (no answer: as if the client had gone).
header_timeout_seconds = env_float("WEB_HEADER_TIMEOUT_SECONDS", 10.0)
# The whole request body must arrive within this many seconds (408 otherwise). Behind the
# compose nginx, which buffers bodies, gunicorn receives them at loopback speed.
body_timeout_seconds = env_float("WEB_BODY_TIMEOUT_SECONDS", 10.0)
# Bodies announced larger than this are refused (413) before any byte is read; above
# every upload limit of the app (DATA_UPLOAD_MAX_MEMORY_SIZE 25 MiB, photos 10 MiB) and
# equal to nginx's client_max_body_size (deploy/nginx/visualshop.conf).
body_max_bytes = env_int("WEB_MAX_BODY_BYTES", 30 * 1024 * 1024)
# A worker takes a connection only when a thread is free for it: with every thread held
# (by slow clients, say) it stops accepting and the kernel hands the next shopper to
# another worker, instead of queueing them behind the held threads until one is released.
# Measured (bench/slow_clients.py, 10 slow-body connections, 2 workers x 8 threads): the
# home page's slowest request 82 ms this way, 9.5 s with gunicorn's default of 1000
# connections per worker. The price is no keep-alive (each answer closes its connection;
# gunicorn keeps idle connections only in slots beyond the threads), which costs a
# loopback or LAN handshake per request.
worker_connections = threads
keepalive = 0
# gthread: the event loop, not the request threads, reports liveness, so this only
# catches a wedged process.
timeout = env_int("WEB_WORKER_TIMEOUT_SECONDS", 30)
graceful_timeout = env_int("WEB_GRACEFUL_TIMEOUT_SECONDS", 30)
# "-": stdout; empty: no access log.
accesslog = os.environ.get("WEB_ACCESS_LOG", "-") or None


def post_worker_init(worker) -> None:
    """Every worker: the header deadline on its connections, the application behind the
    body deadline."""
    from visualshop.body_deadline import BodyDeadline  # gunicorn config: the master reads it before any app code

    worker.header_timeout_seconds = header_timeout_seconds
    worker.wsgi = BodyDeadline(worker.wsgi, timeout=body_timeout_seconds, max_bytes=body_max_bytes)


def pre_request(worker, req) -> None:
    from visualshop.gunicorn_worker import headers_received  # gunicorn config, as above

    headers_received(req)
