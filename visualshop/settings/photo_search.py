"""Photo and hybrid search: candidates, re-ranking and fusion (search.product_search,
search.reranking). Defaults measured with `manage.py evaluate_search` on clothing-small."""

from django.core.exceptions import ImproperlyConfigured

from visualshop.env import env_bool, env_float, env_int, env_str

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
# Photo + words (search.hybrid): "score" = the photo's re-ranked score + weight x share of
# the words the product matches; "rrf" = reciprocal rank fusion, sum of 1 / (k + rank).
# Measured (a one-off sweep; `evaluate_search --hybrid` reports the served row) on clothing-small (3068 catalogue products with colours from
# their photos; query = a validation photo + a colour word; relevant = same class and that
# colour), mAP@10 / P@1, every text match fused:
#                        own colour (341 queries)   each of 8 colours (2728 queries)
#   photo only           0.370 / 0.543              0.102 / 0.158
#   text only            0.095 / 0.094              0.096 / 0.094
#   rrf k=60             0.456 / 0.719              0.327 / 0.635   (k=10, k=1: worse)
#   score w=0.2          0.743 / 0.804              0.459 / 0.592
#   score w=0.5          0.834 / 0.848              0.781 / 0.842
#   score w=1 or 3       0.835 / 0.850              0.806 / 0.852
# A weight of 3 exceeds any spread of visual scores (similarity -1..1 + category bonus 0..1):
# every product with the words comes first, ordered by likeness.
SEARCH_HYBRID_METHOD = env_str("SEARCH_HYBRID_METHOD", "score")
if SEARCH_HYBRID_METHOD not in ("score", "rrf"):
    raise ImproperlyConfigured(f"SEARCH_HYBRID_METHOD={SEARCH_HYBRID_METHOD!r}: expected score or rrf")
SEARCH_HYBRID_TEXT_WEIGHT = env_float("SEARCH_HYBRID_TEXT_WEIGHT", 3.0)
SEARCH_RRF_K = env_int("SEARCH_RRF_K", 60)
# How many of the words' matches a hybrid query ranks by the photo (x4 candidate images among
# the matches only, search.product_search.hybrid_ranking); served results are those, narrowed.
# Measured when this was the depth of the photo's own ranking before it met the words (until
# 2026-12-07), "score" w=3, each of 8 colours: 50 -> 0.653 / 0.835, 100 -> 0.756 / 0.846,
# 200 -> 0.806 / 0.852, 250 -> 0.816 / 0.850. Ranking among the matches at 200: 0.842 / 0.849
# (docs/search.md, Hybrid search).
SEARCH_HYBRID_PHOTO_CANDIDATES = env_int("SEARCH_HYBRID_PHOTO_CANDIDATES", 200)
# Text hits fused with the photo's candidates. Every match should be fused: a photo candidate
# left out of a truncated text list (a one-word query ranks its matches equally, by id) gets
# no credit for the words. Fusing only the first 200 took "score" w=3 down to 0.302 / 0.323
# (own colour) and 0.566 / 0.608 (8 colours), rrf k=60 to 0.262 / 0.302 and 0.266 / 0.474.
# Cost: "grey", 2006 matches, 10.6 ms for 200 hits, 12-16 ms for all; "red", 219, 2.3 ms.
SEARCH_HYBRID_TEXT_CANDIDATES = env_int("SEARCH_HYBRID_TEXT_CANDIDATES", 5000)
# Load the model and the projection when a web process starts, not on the first shopper's query.
SEARCH_WARM_AT_START = env_bool("SEARCH_WARM_AT_START", True)
# Shoppers' image URLs are fetched like feed images (catalog.url_fetch); private and
# loopback addresses stay refused unless a deployment needs them (tests serve on loopback).
SEARCH_IMAGE_URL_ALLOW_PRIVATE = env_bool("SEARCH_IMAGE_URL_ALLOW_PRIVATE", False)
# The periodic task refits when the catalogue's categorised image count moved by this share.
SEARCH_PROJECTION_REFIT_CHANGE = env_float("SEARCH_PROJECTION_REFIT_CHANGE", 0.2)
# Below this photo similarity (cosine) of the closest product, the results page says "no close
# match" and offers the nearest categories and word search (the results stay, below it).
# Measured with bench/demo_catalogue.py on the demo catalogue (2026-12-07): 341 real photos of
# its kinds from outside it, 28 drawn mugs and cushions it does not sell; share told "no close
# match" at 0.45 / 0.475 / 0.5 / 0.525: photos 0.9% / 1.5% / 2.1% / 4.1%, drawings 86% / 89%
# / 100% / 100%. Drawings are easier to tell apart than a real photo of a lamp would be, so
# the highest threshold that still tells 98% of the real photos nothing is wrong.
SEARCH_NO_CLOSE_MATCH_COSINE = env_float("SEARCH_NO_CLOSE_MATCH_COSINE", 0.5)
# How long a shopper's photo's vector stays in the cache (search.photo_search.embed_photo):
# every page, filter and refinement of one photo's results reuses it (0 turns the cache off).
SEARCH_QUERY_VECTOR_CACHE_SECONDS = env_int("SEARCH_QUERY_VECTOR_CACHE_SECONDS", 3600)
