"""Forwarding to Mixpanel: the real SDK's requests, received by a local stand-in
(fixtures/mixpanel_server.py), checked field by field."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from fixtures.mixpanel_server import mixpanel_stand_in
from tracking import mixpanel_forwarding
from tracking.models import Event, ForwardingCursor
from tracking.services import EventData, events_record

pytestmark = pytest.mark.django_db

VISITOR = uuid.UUID("0f8c3c62-5b0e-4b4f-9a55-2b8d2f1e6d10")
SEARCH = uuid.UUID("5b1e2f0c-8d44-4d6e-9a51-3c2f1b0d7e21")


@pytest.fixture
def mixpanel(settings):
    with mixpanel_stand_in() as stand_in:
        settings.MIXPANEL_TOKEN = "TOKEN123"
        settings.MIXPANEL_EVENTS_URL = stand_in.url
        settings.MIXPANEL_SETTLE_SECONDS = 0
        yield stand_in


def recorded(count: int, **fields) -> list[Event]:
    at = timezone.now() - timedelta(minutes=5)
    events_record(
        EventData(
            kind="impression",
            visitor_id=VISITOR,
            occurred_at=at,
            search_id=SEARCH,
            product_id=n + 1,
            position=n + 1,
            properties={"page": 1},
            **fields,
        )
        for n in range(count)
    )
    return list(Event.objects.order_by("pk"))


def test_each_event_arrives_once_with_its_uuid_as_insert_id_and_the_visitor_as_distinct_id(mixpanel):
    events_record(
        [
            EventData(
                kind="search",
                visitor_id=VISITOR,
                user_id=42,
                occurred_at=timezone.now() - timedelta(minutes=1),
                search_id=SEARCH,
                properties={"search_kind": "text", "words": "red dress", "result_count": 14, "zero_results": False},
            )
        ]
    )
    search = Event.objects.get()
    forwarded = mixpanel_forwarding.events_forward_round()
    assert (forwarded.sent, forwarded.skipped_too_old, forwarded.more) == (1, 0, False)
    [request] = mixpanel.requests
    assert (request["path"], request["content_type"]) == ("/track", "application/x-www-form-urlencoded")
    assert (request["form"]["verbose"], request["form"]["ip"]) == ("1", "0")  # Mixpanel keeps no address
    [sent] = request["events"]
    assert sent["event"] == "search"
    properties = sent["properties"]
    assert properties.pop("mp_lib") == "python" and properties.pop("$lib_version") == "5.4.1"
    assert properties == {
        "token": "TOKEN123",
        "distinct_id": str(VISITOR),
        "$insert_id": search.event_id.hex,
        "time": search.occurred_at.timestamp(),
        "search_kind": "text",
        "words": "red dress",
        "result_count": 14,
        "zero_results": False,
        "search_id": str(SEARCH),
    }  # and no account id
    # Nothing new: nothing sent.
    assert mixpanel_forwarding.events_forward_round().sent == 0 and len(mixpanel.requests) == 1


def test_a_failed_request_keeps_the_cursor_before_it_and_the_retry_sends_the_rest(mixpanel):
    events = recorded(120)
    mixpanel.fail_next = [200, 503]  # the first request of 50 is taken, the second refused
    with pytest.raises(mixpanel_forwarding.MixpanelUnavailable, match=r"^Mixpanel did not take events after id \d+: "):
        mixpanel_forwarding.events_forward_round()
    cursor = ForwardingCursor.objects.get()
    assert (cursor.last_event_id, cursor.forwarded) == (events[49].pk, 50)
    # The next round (the task's retry, or the next beat run) sends the rest in requests of 50.
    forwarded = mixpanel_forwarding.events_forward_round()
    assert (forwarded.sent, forwarded.last_event_id) == (70, events[-1].pk)
    assert [(len(r["events"]), r["status"]) for r in mixpanel.requests] == [(50, 200), (50, 503), (50, 200), (20, 200)]
    # Each event taken exactly once, in order, under its own $insert_id.
    assert [event["properties"]["$insert_id"] for event in mixpanel.events] == [e.event_id.hex for e in events]
    assert ForwardingCursor.objects.get().forwarded == 120


def test_events_mixpanel_would_drop_are_skipped_and_counted(mixpanel):
    old = recorded(2)
    Event.objects.filter(pk=old[0].pk).update(occurred_at=timezone.now() - timedelta(days=6))
    forwarded = mixpanel_forwarding.events_forward_round()
    assert (forwarded.sent, forwarded.skipped_too_old) == (1, 1)
    assert [e["properties"]["$insert_id"] for e in mixpanel.events] == [old[1].event_id.hex]


def test_events_too_new_to_be_settled_wait_for_the_next_round(mixpanel, settings):
    settings.MIXPANEL_SETTLE_SECONDS = 3600
    recorded(1)
    assert mixpanel_forwarding.events_forward_round().sent == 0 and mixpanel.requests == []


def test_forwarding_is_off_without_a_token(settings):
    settings.MIXPANEL_TOKEN = ""
    recorded(1)
    assert mixpanel_forwarding.events_forward_round() is None
    assert ForwardingCursor.objects.count() == 0
