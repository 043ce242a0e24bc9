"""Tracking: shopper events (tracking/), how long they are kept."""

from visualshop.env import env_int

# Events older than this are deleted by the beat task tracking.tasks.purge_expired_events: 13
# months, so a year can be compared with the one before (what analytics tools keep by default).
TRACKING_RETENTION_DAYS = env_int("TRACKING_RETENTION_DAYS", 395)
# Events deleted per statement by that purge: a first purge of a large table takes no long lock.
TRACKING_PURGE_BATCH = env_int("TRACKING_PURGE_BATCH", 10000)
