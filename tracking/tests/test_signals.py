import uuid

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from tracking.models import Event, Visitor
from tracking.services import EventData, events_record

pytestmark = pytest.mark.django_db


def test_signing_in_gives_the_visitors_earlier_events_the_account(client):
    client.get("/")
    visitor = uuid.UUID(client.cookies["vs_visitor"].value.split(":")[0])
    other = uuid.uuid4()
    events_record(EventData(kind="click", visitor_id=v, occurred_at=timezone.now()) for v in (visitor, visitor, other))
    user = get_user_model().objects.create_user("ana", password="a long enough secret 42", is_staff=True)
    response = client.post(
        "/admin/login/", {"username": "ana", "password": "a long enough secret 42", "next": "/admin/"}
    )
    assert response.status_code == 302
    assert sorted((e.visitor_id == visitor, e.user_id) for e in Event.objects.all()) == [
        (False, None),
        (True, user.pk),
        (True, user.pk),
    ]
    assert Visitor.objects.get(pk=visitor).user_id == user.pk


def test_signing_in_under_do_not_track_merges_nothing(client):
    get_user_model().objects.create_user("ana", password="a long enough secret 42", is_staff=True)
    client.post("/admin/login/", {"username": "ana", "password": "a long enough secret 42"}, HTTP_DNT="1")
    assert Visitor.objects.count() == 0
