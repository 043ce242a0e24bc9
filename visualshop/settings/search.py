"""Text search: PostgreSQL full-text search in the shop's database by default;
ELASTICSEARCH_URL (e.g. http://localhost:9200) switches it to Elasticsearch through
django-elasticsearch-dsl, with the products in the index ELASTICSEARCH_INDEX."""

from visualshop.env import env_str

from .base import INSTALLED_APPS

ELASTICSEARCH_URL = env_str("ELASTICSEARCH_URL")
ELASTICSEARCH_INDEX = env_str("ELASTICSEARCH_INDEX", "visualshop-products")

if ELASTICSEARCH_URL:
    # Extended in place: every settings module shares base's one list.
    INSTALLED_APPS += ["django_elasticsearch_dsl"]
    ELASTICSEARCH_DSL = {"default": {"hosts": ELASTICSEARCH_URL}}
    # Documents are written only by search.text.index_products (after commit, in batches,
    # inactive products removed), never by the library's per-save signal handlers.
    ELASTICSEARCH_DSL_AUTOSYNC = False
    ELASTICSEARCH_DSL_SIGNAL_PROCESSOR = "django_elasticsearch_dsl.signals.BaseSignalProcessor"
