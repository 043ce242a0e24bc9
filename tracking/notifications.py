"""Signals tracking sends when a visitor's identity changes or they engage with products, for
the apps that keep something about visitors (ranking's profiles) without tracking knowing them
(tracking depends on catalog only)."""

from django.dispatch import Signal

# A visitor signed in and its events took the account's id: visitor_id, user_id.
visitor_merged = Signal()
# A visitor was forgotten (forget_visitor): visitor_id. Receivers delete what they keep of it.
visitor_forgotten = Signal()
# Clicks, adds to cart or purchases of these visitors were just stored (a shopper's request or
# beacon; not the simulator's batches): visitor_ids, a set. Receivers must be quick and never
# raise (they run after the events are written, send_robust logs what they raise).
engagement_recorded = Signal()
