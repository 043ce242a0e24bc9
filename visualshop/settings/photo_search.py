"""Photo and hybrid search: candidates, re-ranking and fusion (search.product_search,
search.reranking). Defaults measured with `manage.py evaluate_search` on clothing-small."""

from visualshop.env import env_bool, env_float, env_int

# Images read from the HNSW index per photo query, re-scored and collapsed to products.
SEARCH_CANDIDATES = env_int("SEARCH_CANDIDATES", 100)
# Category vote: the best N candidates vote, weighted exp(score / temperature); each candidate
# gains weight x its category's share (0 turns the vote off).
SEARCH_VOTE_NEIGHBOURS = env_int("SEARCH_VOTE_NEIGHBOURS", 20)
SEARCH_VOTE_TEMPERATURE = env_float("SEARCH_VOTE_TEMPERATURE", 0.05)
SEARCH_CATEGORY_WEIGHT = env_float("SEARCH_CATEGORY_WEIGHT", 1.0)
# The learned projection (manage.py fit_search_projection).
SEARCH_PROJECTION_DIMENSION = env_int("SEARCH_PROJECTION_DIMENSION", 256)
SEARCH_PROJECTION_REGULARISATION = env_float("SEARCH_PROJECTION_REGULARISATION", 1.0)
SEARCH_PROJECTION_MIN_IMAGES = env_int("SEARCH_PROJECTION_MIN_IMAGES", 20)
# Reciprocal rank fusion of the photo and text rankings: score = sum 1 / (k + rank).
SEARCH_RRF_K = env_int("SEARCH_RRF_K", 60)
# Text hits fused with the photo's candidates in a hybrid query.
SEARCH_HYBRID_TEXT_CANDIDATES = env_int("SEARCH_HYBRID_TEXT_CANDIDATES", 200)
# Load the model and the projection when a web process starts, not on the first shopper's query.
SEARCH_WARM_AT_START = env_bool("SEARCH_WARM_AT_START", True)
# Shoppers' image URLs are fetched like feed images (catalog.importing.fetch); private and
# loopback addresses stay refused unless a deployment needs them (tests serve on loopback).
SEARCH_IMAGE_URL_ALLOW_PRIVATE = env_bool("SEARCH_IMAGE_URL_ALLOW_PRIVATE", False)
# The periodic task refits when the catalogue's categorised image count moved by this share.
SEARCH_PROJECTION_REFIT_CHANGE = env_float("SEARCH_PROJECTION_REFIT_CHANGE", 0.2)
