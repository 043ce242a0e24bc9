"""A request's events wait for its response to be sent, then go in one statement."""

import uuid

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from tracking import services
from tracking.middleware import EventsAfterResponseMiddleware
from tracking.models import Event
from tracking.visitors import Identity

pytestmark = pytest.mark.django_db(transaction=True)  # on-commit runs for real, as in production

VISITOR = Identity(uuid.UUID("0f8c3c62-5b0e-4b4f-9a55-2b8d2f1e6d10"))


def view(request):
    services.photo_upload_recorded(VISITOR)
    services.photo_upload_recorded(VISITOR, rejection_code="too_small")
    assert Event.objects.count() == 0  # committed, but kept until the response has gone out
    return HttpResponse("the page")


def test_the_events_are_written_together_once_the_response_is_closed(django_assert_num_queries):
    response = EventsAfterResponseMiddleware(view)(RequestFactory().get("/"))
    assert (response.content, Event.objects.count()) == (b"the page", 0)
    with django_assert_num_queries(1):
        response.close()  # what the WSGI server does after the last byte
    assert sorted(e.properties["rejection_code"] for e in Event.objects.all()) == ["", "too_small"]
    # Outside a request, events are written on commit again.
    services.photo_upload_recorded(VISITOR)
    assert Event.objects.count() == 3


def test_a_database_that_refuses_the_events_does_not_break_the_response(monkeypatch):
    def refused(events):
        raise RuntimeError("tracking database down")

    monkeypatch.setattr(services, "events_record", refused)
    response = EventsAfterResponseMiddleware(view)(RequestFactory().get("/"))
    response.close()
    assert response.content == b"the page"


def test_other_writes_kept_for_after_the_response_run_before_the_events_and_never_break_them(caplog):
    done = []

    def failing():
        raise RuntimeError("disk full")

    def page(request):
        services.after_response(lambda: done.append("shown results"), what="shown results")
        services.after_response(failing, what="the failing write")
        services.photo_upload_recorded(VISITOR)
        assert done == []  # kept until the response has gone out
        return HttpResponse("the page")

    response = EventsAfterResponseMiddleware(page)(RequestFactory().get("/"))
    assert done == []
    response.close()

    assert done == ["shown results"]
    assert Event.objects.count() == 1  # the events are written all the same
    assert "the failing write not written" in caplog.text
    services.after_response(lambda: done.append("outside a request"), what="x")
    assert done == ["shown results", "outside a request"]  # at once
