import io
import uuid
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from tracking import services
from tracking.models import DailySearchRollup, Event, Visitor
from tracking.services import EventData

pytestmark = pytest.mark.django_db


def forget(*args) -> str:
    out = io.StringIO()
    call_command("forget_visitor", *args, stdout=out)
    return out.getvalue()


def test_forget_visitor_deletes_the_events_and_says_how_many():
    visitor = uuid.uuid4()
    Visitor.objects.create(id=visitor)
    services.events_record([EventData(kind="click", visitor_id=visitor, occurred_at=timezone.now()) for _ in range(3)])
    assert forget(str(visitor)) == f"Visitor {visitor} forgotten: 3 event(s) and its profile deleted.\n"
    assert Event.objects.count() == 0
    assert forget(str(visitor)) == f"Nothing recorded for visitor {visitor}: nothing to delete.\n"


def test_forget_visitor_refuses_what_is_not_a_visitor_id():
    with pytest.raises(CommandError, match=r"^'alice@example.com' is not a visitor id \(a UUID\)\.$"):
        forget("alice@example.com")


def test_roll_up_events_recomputes_the_days_asked_and_refuses_a_bad_count():
    services.events_record(
        [
            EventData(
                kind="search",
                visitor_id=uuid.uuid4(),
                occurred_at=timezone.now() - timedelta(days=2),
                search_id=uuid.uuid4(),
                properties={"search_kind": "photo", "zero_results": False, "latency_ms": 12.0},
            )
        ]
    )
    out = io.StringIO()
    call_command("roll_up_events", days=3, stdout=out)
    assert out.getvalue() == "3 days rolled up\n"
    assert list(DailySearchRollup.objects.values_list("search_kind", "searches")) == [("photo", 1)]
    with pytest.raises(CommandError, match="^--days must be from 1 to 400, not 0$"):
        call_command("roll_up_events", days=0)
