"""Catalogue import: limits for fetching images from feeds, and imports run from the admin."""

from visualshop.env import env_int

# Fetching image URLs: bounded time and size, one clear error per failed image.
IMPORT_IMAGE_TIMEOUT_SECONDS = env_int("IMPORT_IMAGE_TIMEOUT_SECONDS", 10)
IMPORT_IMAGE_MAX_BYTES = env_int("IMPORT_IMAGE_MAX_BYTES", 20 * 1024 * 1024)
IMPORT_IMAGE_MAX_REDIRECTS = env_int("IMPORT_IMAGE_MAX_REDIRECTS", 3)
# Images stuck in pending/processing longer than this are re-queued by the periodic sweep.
IMAGE_STALE_AFTER_SECONDS = env_int("IMAGE_STALE_AFTER_SECONDS", 600)

# Imports started from the admin (catalog.importing.runs): a run that made no progress for
# this long lost its worker and is restarted by the sweep (one image fetch takes at most
# IMPORT_IMAGE_TIMEOUT_SECONDS per redirect); per-row errors kept for staff to read.
IMPORT_RUN_STALE_SECONDS = env_int("IMPORT_RUN_STALE_SECONDS", 300)
IMPORT_RUN_MAX_ERRORS = env_int("IMPORT_RUN_MAX_ERRORS", 1000)
