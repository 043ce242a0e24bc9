"""Catalogue import: limits for fetching images from feeds."""

from visualshop.env import env_int

# Fetching image URLs: bounded time and size, one clear error per failed image.
IMPORT_IMAGE_TIMEOUT_SECONDS = env_int("IMPORT_IMAGE_TIMEOUT_SECONDS", 10)
IMPORT_IMAGE_MAX_BYTES = env_int("IMPORT_IMAGE_MAX_BYTES", 20 * 1024 * 1024)
IMPORT_IMAGE_MAX_REDIRECTS = env_int("IMPORT_IMAGE_MAX_REDIRECTS", 3)
# Images stuck in pending/processing longer than this are re-queued by the periodic sweep.
IMAGE_STALE_AFTER_SECONDS = env_int("IMAGE_STALE_AFTER_SECONDS", 600)
