"""Prometheus metrics of the image pipeline, exposed at /metrics (visualshop.metrics).

Workers and web processes each record into their own files under
PROMETHEUS_MULTIPROC_DIR (set by `make run` and in compose); the /metrics view
adds them up. Queue depth is read at scrape time, not recorded here.
"""

from prometheus_client import Counter, Histogram

IMAGES_PROCESSED = Counter(
    "visualshop_images_processed_total", "Product images settled by the pipeline, by outcome", ["outcome"]
)
IMAGES_REJECTED = Counter("visualshop_images_rejected_total", "Rejected product images, by reason", ["reason"])
IMAGES_FLAGGED = Counter("visualshop_images_flagged_total", "Flags raised on product images, by reason", ["reason"])
STAGE_SECONDS = Histogram(
    "visualshop_image_stage_seconds",
    "Seconds per image spent in each pipeline stage",
    ["stage"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0),
)
STAGES = ("read", "decode", "quality", "derivatives", "embed", "checks", "store")
