"""Mixpanel: shoppers' events forwarded from our table (tracking.mixpanel_forwarding). Off
unless MIXPANEL_TOKEN is set."""

from visualshop.env import env_float, env_int, env_str

MIXPANEL_TOKEN = env_str("MIXPANEL_TOKEN", "")
# The API's host: "api-eu.mixpanel.com" for EU data residency. The SDK speaks https to it.
MIXPANEL_API_HOST = env_str("MIXPANEL_API_HOST", "api.mixpanel.com")
# A whole URL for the events endpoint instead (a proxy, or a local server in tests: plain http
# is only possible this way).
MIXPANEL_EVENTS_URL = env_str("MIXPANEL_EVENTS_URL", "")
MIXPANEL_REQUEST_TIMEOUT_SECONDS = env_float("MIXPANEL_REQUEST_TIMEOUT_SECONDS", 10.0)
# Events read and sent per round (the SDK sends 50 per request, Mixpanel's /track takes 2000).
MIXPANEL_FORWARD_BATCH = env_int("MIXPANEL_FORWARD_BATCH", 1000)
# How often beat forwards what is new (seconds), and how old an event must be to be sent: the
# ids of rows committed together may become visible slightly out of order, and an event
# committed after the forwarder passed its id would never be sent; 10 s is far longer than any
# of our event INSERTs takes to commit.
MIXPANEL_FORWARD_SECONDS = env_float("MIXPANEL_FORWARD_SECONDS", 60.0)
MIXPANEL_SETTLE_SECONDS = env_float("MIXPANEL_SETTLE_SECONDS", 10.0)
