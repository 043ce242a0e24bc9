"""The image pipeline: which task processes images, the model, and validation thresholds.

Defaults measured on 500 real shop photos (../shared/datasets/clothing-small) and
the demo catalogue: blur (variance of the Laplacian at short side 256) has its 1st
percentile at 79 and its minimum, a visibly blurred shoe, at 46; the demo's
flat-shaded drawings reach down to 55. Brightness (mean luma) spans 39-194 on the
photos and up to 236 on the demo's light backgrounds. Perceptual hashes of 500
unrelated photos are never within 8 bits of each other.
"""

from visualshop.env import env_float, env_int, env_str

# catalog enqueues processing by name: the pipeline lives in search/, which catalog must not import.
IMAGE_PROCESSING_TASK = "vision.tasks.process_product_images"
# Images per processing message from bulk paths (reprocess, sweep, backfill command).
IMAGE_PROCESSING_BATCH = env_int("IMAGE_PROCESSING_BATCH", 16)
# A crashed image is retried by the sweep until it has been attempted this often.
IMAGE_MAX_ATTEMPTS = env_int("IMAGE_MAX_ATTEMPTS", 3)

# Rejections
IMAGE_MIN_SIDE = env_int("IMAGE_MIN_SIDE", 200)
# Far above any product photo, far below a decompression bomb (checked before decoding).
IMAGE_MAX_PIXELS = env_int("IMAGE_MAX_PIXELS", 60_000_000)
# Memory one decode may take, in MB (catalog.image_files.decode_cost: the picture in its own
# mode and bit depth, the decoder's buffers, the reduced RGB copy), checked before decoding.
# bench/uploads.py measures the worst accepted uploads against the targets: <= 1 s and
# <= 300 MB above a web worker's idle RSS.
IMAGE_DECODE_MAX_MB = env_int("IMAGE_DECODE_MAX_MB", 128)
# Decodes at once per process; more wait their turn (each takes <= 1 s). A web worker runs
# several requests in threads (visualshop/gunicorn_conf.py), so its decode memory is at most
# IMAGE_DECODE_CONCURRENCY x IMAGE_DECODE_MAX_MB.
IMAGE_DECODE_CONCURRENCY = env_int("IMAGE_DECODE_CONCURRENCY", 2)

# Flags (the image stays searchable)
IMAGE_BLUR_THRESHOLD = env_float("IMAGE_BLUR_THRESHOLD", 50.0)
IMAGE_DARK_THRESHOLD = env_float("IMAGE_DARK_THRESHOLD", 35.0)
IMAGE_BRIGHT_THRESHOLD = env_float("IMAGE_BRIGHT_THRESHOLD", 248.0)
IMAGE_NEAR_DUPLICATE_COSINE = env_float("IMAGE_NEAR_DUPLICATE_COSINE", 0.95)
IMAGE_NEAR_DUPLICATE_HAMMING = env_int("IMAGE_NEAR_DUPLICATE_HAMMING", 4)
# A close perceptual hash counts only with this much visual similarity too: the hash sees
# greyscale structure, and studio shots of colour variants share it (on the demo
# catalogue, 97 pairs within 4 bits had cosines down to 0.52).
IMAGE_NEAR_DUPLICATE_HASH_MIN_COSINE = env_float("IMAGE_NEAR_DUPLICATE_HASH_MIN_COSINE", 0.9)
# Miscategorised: of the K nearest images of other products, at least SHARE sit in one
# other category (and the own category already has K images, so a young catalogue or
# category is not judged). On clothing-small, whose shirt/t-shirt/longsleeve classes
# are genuinely close, 0.8 flags 2.1% of correctly labelled photos and 0.9 flags 0.8%.
IMAGE_MISCATEGORISED_NEIGHBOURS = env_int("IMAGE_MISCATEGORISED_NEIGHBOURS", 10)
IMAGE_MISCATEGORISED_SHARE = env_float("IMAGE_MISCATEGORISED_SHARE", 0.9)

# The image model: "fp32" or "int8" (static QDQ, calibrated on catalogue images).
EMBEDDING_MODEL_VARIANT = env_str("EMBEDDING_MODEL_VARIANT", "fp32")
# onnxruntime threads per process. Workers run one process per core, so 1 each.
EMBEDDING_THREADS = env_int("EMBEDDING_THREADS", 1)
# onnxruntime threads for a shopper's photo, embedded while the shopper waits (web processes,
# search.photo_search.embed_photo); their idle threads sleep rather than spin. Measured
# 2026-12-07 on this 2-core host (scratch runs, README "First impression"): the network alone
# 9.3 -> 5.6 ms; two photos embedded at once 212 -> 183 per second (-14%); the photo + words
# first view -2.0 ms. Set 1 where web processes are always busy.
SEARCH_EMBEDDING_THREADS = env_int("SEARCH_EMBEDDING_THREADS", 2)
# Catalogue images used to calibrate the int8 model.
EMBEDDING_CALIBRATION_IMAGES = env_int("EMBEDDING_CALIBRATION_IMAGES", 200)

# What search derives from products (search.product_refresh): colours, predicted category,
# text documents, similar products. catalog queues the refresh by name (it does not import search).
SEARCH_REFRESH_TASK = "search.tasks.refresh_products"
# Products per refresh message from bulk paths (imports, the sweep).
SEARCH_REFRESH_BATCH = env_int("SEARCH_REFRESH_BATCH", 50)
# Dirty products the periodic sweep (every 60 s) refreshes per run: what on-commit messages
# missed (broker down, worker killed). At ~20 ms per product, 500 take ~10 s of one worker.
SEARCH_REFRESH_SWEEP_LIMIT = env_int("SEARCH_REFRESH_SWEEP_LIMIT", 500)
# Cached "visually similar" products per product.
SIMILAR_PRODUCTS_COUNT = env_int("SIMILAR_PRODUCTS_COUNT", 12)
# A product's colours: the mean share of each colour over its images, the largest
# PRODUCT_COLOURS_MAX of those with at least PRODUCT_COLOUR_MIN_SHARE.
PRODUCT_COLOURS_MAX = env_int("PRODUCT_COLOURS_MAX", 3)
PRODUCT_COLOUR_MIN_SHARE = env_float("PRODUCT_COLOUR_MIN_SHARE", 0.15)
# Predicted category: a cosine-weighted vote of the categories of the K nearest images of
# other products, per image of the product, kept when the winner has at least MIN_SHARE of
# the weight. Leave-one-out on clothing-small (3,068 photos, 10 classes): all votes are
# right 83.7%; at share >= 0.7, 69% of the products get a prediction and 95.3% of those are
# right (0.6: 79% at 92.1%; 0.8: 60% at 97.5%). K=20 was no better.
CATEGORY_PREDICTION_NEIGHBOURS = env_int("CATEGORY_PREDICTION_NEIGHBOURS", 10)
CATEGORY_PREDICTION_MIN_SHARE = env_float("CATEGORY_PREDICTION_MIN_SHARE", 0.7)
