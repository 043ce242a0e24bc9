"""Signals tracking sends when a visitor's identity changes, for the apps that keep something
about visitors (ranking's profiles) without tracking knowing them (tracking depends on
catalog only)."""

from django.dispatch import Signal

# A visitor signed in and its events took the account's id: visitor_id, user_id.
visitor_merged = Signal()
# A visitor was forgotten (forget_visitor): visitor_id. Receivers delete what they keep of it.
visitor_forgotten = Signal()
