"""Tracking: shopper events (tracking/), how long they are kept."""

from visualshop.env import env_bool, env_int, env_list

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

# The browser's beacon (POST /t/events, tracking.beacon): impressions and clicks in batches.
# A batch is at most this many bytes and events: 50 events of a results page (24 cards, their
# clicks) are about 10 KB.
TRACKING_BEACON_MAX_BYTES = env_int("TRACKING_BEACON_MAX_BYTES", 64 * 1024)
TRACKING_BEACON_MAX_EVENTS = env_int("TRACKING_BEACON_MAX_EVENTS", 50)
# Batches a visitor may send per minute: a shopper scrolling fast through results sends a few;
# more is a script. Over it the endpoint answers 429 with Retry-After.
TRACKING_BEACON_BATCHES_PER_MINUTE = env_int("TRACKING_BEACON_BATCHES_PER_MINUTE", 120)
# Origins besides the shop's own that may send beacons (e.g. "https://www.example.com").
TRACKING_BEACON_ORIGINS = env_list("TRACKING_BEACON_ORIGINS", [])
# How far an event's own time may lie from its arrival: older is refused, later is the arrival.
TRACKING_BEACON_MAX_AGE_SECONDS = env_int("TRACKING_BEACON_MAX_AGE_SECONDS", 3600)
