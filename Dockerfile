# syntax=docker/dockerfile:1
# VisualShop image: gunicorn serves the shop; the same image runs the Celery worker,
# Celery beat and one-off manage.py commands (see docker-compose.yml, docs/deployment.md).

# ---------------------------------------------------------------------------
# Stage 1: the virtualenv. Compilers live only here, for any requirement that has
# no wheel for the target platform (on x86_64 every pin ships one).
# ---------------------------------------------------------------------------
FROM python:3.11-slim-bookworm AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

# Not version-pinned: bookworm's point releases replace the exact versions.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*

# Same path in both stages: the venv's scripts (gunicorn, celery) hard-code it.
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

COPY requirements.txt /tmp/requirements.txt
RUN pip install -r /tmp/requirements.txt

# ---------------------------------------------------------------------------
# Stage 2: runtime. psycopg[binary] bundles libpq and Pillow's wheel its image
# libraries; LightGBM's wheel links the system OpenMP (libgomp1), which slim lacks.
# ---------------------------------------------------------------------------
FROM python:3.11-slim-bookworm AS runtime

RUN apt-get update \
 && apt-get install -y --no-install-recommends libgomp1 \
 && rm -rf /var/lib/apt/lists/*

# VISUALSHOP_VAR_DIR: all state (media in var/media, the image model in var/models).
# DJANGO_STATIC_ROOT: outside var/ so a volume on var/ never hides the collected files,
# and fixed here because WhiteNoise reads the manifest collectstatic wrote there.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DJANGO_SETTINGS_MODULE=visualshop.settings \
    VISUALSHOP_VAR_DIR=/app/var \
    DJANGO_STATIC_ROOT=/app/staticfiles

RUN groupadd --gid 10001 visualshop \
 && useradd --uid 10001 --gid 10001 --create-home --home-dir /home/visualshop \
        --shell /usr/sbin/nologin visualshop

COPY --from=builder /opt/venv /opt/venv

WORKDIR /app
# The code stays owned by root (read-only for the app); only var/ is writable.
COPY . /app

# chmod: files keep their mode from the build context, which may not be world-readable.
# collectstatic only reads files and settings: the dummy DATABASE_URL keeps the settings
# from starting the embedded PostgreSQL, and nothing connects to it.
# The image model is built here from the pinned checkpoint (no download at run time);
# workers and web find it in var/models by its checksum.
RUN chmod -R u=rwX,go=rX /app \
 && DATABASE_URL=postgres://build@localhost/build python manage.py collectstatic --noinput -v 0 \
 && python -c "from search.model.build import build_model; print(build_model())" \
 && mkdir -p /app/var/media /app/var/prometheus \
 && chown -R 10001:10001 /app/var

USER 10001:10001

EXPOSE 8000

# Django refuses Host headers outside DJANGO_ALLOWED_HOSTS, so the check sends the
# first allowed host (127.0.0.1 when the list is unset or a wildcard).
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as r; h = next((x.strip().lstrip('.') for x in os.environ.get('DJANGO_ALLOWED_HOSTS', '').split(',') if x.strip() and '*' not in x), '127.0.0.1'); r.urlopen(r.Request('http://127.0.0.1:8000/', headers={'Host': h}), timeout=8)"]

# Workers ($WEB_CONCURRENCY), threads, body deadline and the rest: visualshop/gunicorn_conf.py,
# the same config `make run` uses. Exec form: gunicorn is PID 1 and receives the stop signal.
CMD ["gunicorn", "--config", "python:visualshop.gunicorn_conf", "visualshop.wsgi:application", "--bind", "0.0.0.0:8000"]
