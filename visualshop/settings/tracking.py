"""Tracking: shopper events (tracking/), how long they are kept."""

from visualshop.env import env_bool, env_int

# Events older than this are deleted by the beat task tracking.tasks.purge_expired_events: 13
# months, so a year can be compared with the one before (what analytics tools keep by default).
TRACKING_RETENTION_DAYS = env_int("TRACKING_RETENTION_DAYS", 395)
# Events deleted per statement by that purge: a first purge of a large table takes no long lock.
TRACKING_PURGE_BATCH = env_int("TRACKING_PURGE_BATCH", 10000)
# Whether shoppers must opt in before they are tracked (cookie tracking.visitors.CONSENT_COOKIE
# = "yes"). Off by default: the visitor id is pseudonymous, first-party and never shared with
# a name; shops whose law or policy asks for opt-in turn it on. Do-Not-Track and Global Privacy
# Control are always respected.
TRACKING_CONSENT_REQUIRED = env_bool("TRACKING_CONSENT_REQUIRED", False)
# How long the visitor cookie lives without a visit (days); as long as events are kept.
TRACKING_VISITOR_COOKIE_DAYS = env_int("TRACKING_VISITOR_COOKIE_DAYS", 395)
# A purchase or an add to cart is credited to the search the product was last clicked from by
# the same visitor within this many hours (tracking.services.attributed_searches): a week, long
# enough for "look today, buy at the weekend", short enough that an old search is not credited
# for a purchase the shopper came back for on their own.
TRACKING_ATTRIBUTION_HOURS = env_int("TRACKING_ATTRIBUTION_HOURS", 168)
