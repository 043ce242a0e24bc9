"""Database: DATABASE_URL when set, otherwise the embedded PostgreSQL 18 + pgvector under var/."""

import dj_database_url

from visualshop import embedded
from visualshop.env import env_int, env_str
from visualshop.paths import VAR_DIR

DATABASE_URL = env_str("DATABASE_URL") or embedded.postgres_database_url(VAR_DIR)
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
