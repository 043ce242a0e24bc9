"""Test settings: the same embedded PostgreSQL (pytest-django makes its own test
database), a separate Redis socket so a running `make run` never sees test tasks,
and media in a throw-away folder."""

import atexit
import os
import shutil
import tempfile

from visualshop.paths import VAR_DIR
from visualshop.settings import *  # noqa: F401,F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Parallel test runs (TEST_DATABASE_NAME, below) each get their own Redis too.
TEST_REDIS_DIR = VAR_DIR / f"redis-{os.environ.get('TEST_DATABASE_NAME', 'test_visualshop')}"
CELERY_BROKER_URL = f"redis+socket://{TEST_REDIS_DIR / 'redis.sock'}"
CELERY_RESULT_BACKEND = CELERY_BROKER_URL
# Per process: tests clear it between tests (rate-limit counters) and start no Redis for it.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# A worker subprocess started by a test gets the parent's folder through DJANGO_MEDIA_ROOT.
MEDIA_ROOT = os.environ.get("DJANGO_MEDIA_ROOT") or tempfile.mkdtemp(prefix="visualshop-test-media-")
if "DJANGO_MEDIA_ROOT" not in os.environ:
    atexit.register(shutil.rmtree, MEDIA_ROOT, True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Parallel test runs (several checkouts or developers on one machine) each name their own.
DATABASES["default"]["TEST"] = {"NAME": os.environ.get("TEST_DATABASE_NAME", "test_visualshop")}  # noqa: F405

# WhiteNoise warns about a missing STATIC_ROOT on every request until collectstatic ran.
os.makedirs(STATIC_ROOT, exist_ok=True)  # noqa: F405

# MLflow's store per test process, thrown away (ranking.registry creates its schema on first use).
MLFLOW_DIR = tempfile.mkdtemp(prefix="visualshop-test-mlflow-")
atexit.register(shutil.rmtree, MLFLOW_DIR, True)
MLFLOW_TRACKING_URI = f"sqlite:///{MLFLOW_DIR}/mlflow.db"
MLFLOW_ARTIFACT_ROOT = f"file://{MLFLOW_DIR}/artifacts"

# Results in today's order unless a test asks for exploration (ranking.serving.explored shuffles
# the first results of 1 search in 10 by default, which would make every order a coin toss).
RANKING_EXPLORATION = 0.0
# No per-process caches of the ranker's reads: a test sees its own writes at once
# (ranking/tests/test_fact_cache.py turns them on).
RANKING_FACTS_CACHE_SECONDS = 0.0
RANKING_LIVE_CHECK_SECONDS = 0.0
# No profile rebuild queued per click (it would send a Celery message from every test that
# records a click); ranking/tests/test_profiles.py turns it on with the broker replaced.
RANKING_PROFILE_REFRESH_DELAY_SECONDS = -1.0
