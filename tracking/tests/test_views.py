"""POST /t/events: what a beacon batch stores, and each way one is refused, with its reason."""

import json
import time
import uuid

import pytest

from fixtures.factories import mark_processed, stored_images
from fixtures.images import scene
from fixtures.shop import jpeg
from tracking.models import Event

pytestmark = pytest.mark.django_db

URL = "/t/events"
ORIGIN = "http://testserver"
SEARCH = "5b1e2f0c-8d44-4d6e-9a51-3c2f1b0d7e21"


def item(**overrides) -> dict:
    return {
        "event_id": str(uuid.uuid4()),
        "kind": "impression",
        "search_id": SEARCH,
        "product_id": 12,
        "position": 1,
        "page": 1,
        "occurred_at": int(time.time() * 1000),
        **overrides,
    }


def send(client, body, *, content_type="application/json", origin=ORIGIN, **headers):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    extra = {"HTTP_ORIGIN": origin} if origin else {}
    return client.post(URL, data=data, content_type=content_type, **extra, **headers)


def test_a_batch_is_stored_for_the_cookies_visitor_once_whatever_the_resends(client):
    client.get("/")  # the visitor's cookie, as a shopper on the results page has
    batch = {"events": [item(position=1), item(position=2), item(kind="click", position=2)]}
    response = send(client, batch)
    assert (response.status_code, response.json()) == (202, {"received": 3, "stored": 3})
    assert send(client, batch).json() == {"received": 3, "stored": 0}  # the same beacon again
    visitor = uuid.UUID(client.cookies["vs_visitor"].value.split(":")[0])
    stored = Event.objects.order_by("id")
    assert [(e.kind, e.visitor_id, str(e.search_id), e.product_id, e.position, e.properties) for e in stored] == [
        ("impression", visitor, SEARCH, 12, 1, {"page": 1}),
        ("impression", visitor, SEARCH, 12, 2, {"page": 1}),
        ("click", visitor, SEARCH, 12, 2, {"page": 1}),
    ]


def test_a_click_sent_by_the_beacon_and_by_the_link_is_stored_once(client, django_capture_on_commit_callbacks):
    [picture] = stored_images("SHIRT-1", jpeg(scene(1)))
    mark_processed(picture)
    shirt = picture.product
    client.get("/")
    click = item(kind="click", product_id=shirt.pk, position=4)
    assert send(client, {"events": [click]}).json() == {"received": 1, "stored": 1}
    with django_capture_on_commit_callbacks(execute=True):
        client.get(f"{shirt.get_absolute_url()}?sid={SEARCH}&pos=4&cid={click['event_id']}")
    assert Event.objects.filter(kind="click").count() == 1


@pytest.mark.parametrize(
    "body, reason",
    [
        (
            "{not json",
            "the body is not JSON (Expecting property name enclosed in double quotes: line 1 column 2 (char 1))",
        ),
        ([], 'the body must be an object with one key, "events"'),
        ({"events": [], "extra": 1}, 'the body must be an object with one key, "events"'),
        ({"events": []}, '"events" must be a non-empty list'),
        ({"events": [item()] * 51}, "51 events in one batch, over the limit of 50"),
        ({"events": ["x"]}, "events[0] is not an object"),
        ({"events": [item(), item(email="a@example.com")]}, "events[1] has an unknown field 'email'"),
        ({"events": [{k: v for k, v in item().items() if k != "search_id"}]}, "events[0] lacks the field 'search_id'"),
        (
            {"events": [item(kind="purchase")]},
            "events[0].kind 'purchase' is not one a browser sends (impression, click)",
        ),
        ({"events": [item(event_id="7")]}, "events[0].event_id is not a UUID"),
        ({"events": [item(search_id=None)]}, "events[0].search_id is not a UUID"),
        ({"events": [item(product_id="12")]}, "events[0].product_id must be a whole number from 1 to 2147483647"),
        ({"events": [item(position=0)]}, "events[0].position must be a whole number from 1 to 32767"),
        ({"events": [item(position=True)]}, "events[0].position must be a whole number from 1 to 32767"),
        ({"events": [item(page=0)]}, "events[0].page must be a whole number from 1 to 10000"),
        (
            {"events": [item(occurred_at="now")]},
            "events[0].occurred_at must be milliseconds since 1970 (a whole number)",
        ),
        (
            {"events": [item(occurred_at=int(time.time() * 1000) - 3_601_000)]},
            "events[0].occurred_at is more than 3600 seconds old",
        ),
    ],
)
def test_a_bad_batch_is_refused_whole_with_its_reason(client, body, reason):
    client.get("/")
    response = send(client, body)
    assert (response.status_code, response.json()) == (400, {"error": reason})
    assert Event.objects.count() == 0


def test_a_batch_over_the_size_limit_is_refused_before_it_is_read(client, settings):
    settings.TRACKING_BEACON_MAX_BYTES = 1000
    response = send(client, {"events": [item() for _ in range(10)]})
    assert response.status_code == 413
    assert response.json()["error"].endswith("bytes, over the limit of 1000")


def test_other_sites_and_other_types_are_refused(client, settings):
    settings.TRACKING_BEACON_ORIGINS = ["https://www.example.com"]
    batch = {"events": [item()]}
    assert (
        send(client, batch, origin="https://evil.example").status_code,
        send(client, batch, origin="https://evil.example").json(),
    ) == (
        403,
        {"error": "origin https://evil.example may not send events to this shop"},
    )
    assert send(client, batch, origin=None).json() == {"error": "a beacon must say its Origin"}
    assert send(client, batch, origin="https://www.example.com").status_code == 202
    refused = send(client, json.dumps(batch), content_type="application/x-www-form-urlencoded")
    assert (refused.status_code, refused.json()) == (
        415,
        {"error": "send the batch as application/json, not application/x-www-form-urlencoded"},
    )
    assert send(client, json.dumps(batch), content_type="text/plain").status_code == 202  # sendBeacon of a string
    assert client.get(URL).status_code == 405


def test_a_visitor_sending_too_many_batches_is_told_when_to_come_back(client, settings):
    settings.TRACKING_BEACON_BATCHES_PER_MINUTE = 3
    client.get("/")
    answers = [send(client, {"events": [item()]}) for _ in range(4)]
    assert [a.status_code for a in answers] == [202, 202, 202, 429]
    assert answers[3].json() == {"error": "too many batches from this visitor; send them later"}
    assert 1 <= int(answers[3]["Retry-After"]) <= 60
    assert Event.objects.count() == 3


def test_a_browser_that_may_not_be_tracked_has_its_batch_dropped(client):
    response = send(client, {"events": [item()]}, HTTP_DNT="1")
    assert response.status_code == 204 and Event.objects.count() == 0


# -- the search analytics page ------------------------------------------------------------------


@pytest.fixture
def staff_client(client):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user("ana", password="x", is_staff=True)
    client.force_login(user)
    return client


def test_the_analytics_page_shows_the_rollups_as_charts_and_tables(staff_client, django_assert_max_num_queries):
    from datetime import timedelta

    from django.utils import timezone

    from tracking import rollups
    from tracking.services import EventData, events_record

    today = timezone.localdate()
    events_record(
        EventData(
            kind="search",
            visitor_id=uuid.uuid4(),
            occurred_at=timezone.now() - timedelta(days=days),
            search_id=uuid.uuid4(),
            properties={"search_kind": "text", "words": words, "zero_results": zero, "latency_ms": 4.0},
        )
        for days, words, zero in ((0, "lamp", True), (1, "red dress", False), (1, "red dress", False))
    )
    rollups.days_roll_up(today - timedelta(days=2), today)
    with django_assert_max_num_queries(9):  # session, user, then the five rollup reads
        response = staff_client.get("/staff/analytics/search/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "3 searches, zero-result rate 33.3%" in html
    assert html.count('<svg class="chart"') == 3
    assert "<title>Searches per day by kind</title>" in html and "<title>Photo search funnel</title>" in html
    assert '<td>red dress</td><td class="number">2</td>' in html
    assert (
        '<table id="analytics-zero-queries"><thead><tr><th>Words</th><th class="number">Searches</th></tr></thead><tbody><tr><td>lamp</td><td class="number">1</td></tr>'
        in html
    )
    # A range of yesterday only.
    yesterday = (today - timedelta(days=1)).isoformat()
    narrowed = staff_client.get("/staff/analytics/search/", {"since": yesterday, "until": yesterday}).content.decode()
    assert "2 searches, zero-result rate 0.0%" in narrowed


@pytest.mark.parametrize(
    "query, message",
    [
        ({"since": "2026-12-05", "until": "2026-12-01"}, "The first day comes after the last."),
        ({"since": "2024-01-01", "until": "2026-12-01"}, "Choose at most 400 days."),
        ({"since": "yesterday"}, "Enter a valid date."),
    ],
)
def test_a_bad_date_range_is_a_400_saying_why(staff_client, query, message):
    response = staff_client.get("/staff/analytics/search/", query)
    assert response.status_code == 400 and message in response.content.decode()


def test_the_analytics_page_is_for_staff_only(client):
    response = client.get("/staff/analytics/search/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


# -- consent ------------------------------------------------------------------------------------


def test_when_consent_is_required_the_banner_asks_and_the_answer_decides(client, settings):
    settings.TRACKING_CONSENT_REQUIRED = True
    home = client.get("/")
    assert 'id="tracking-consent"' in home.content.decode() and "vs_visitor" not in home.cookies
    answered = client.post("/t/consent", {"consent": "yes", "next": "/search/?q=shirt"})
    assert (answered.status_code, answered["Location"]) == (303, "/search/?q=shirt")
    assert answered.cookies["vs_tracking_consent"].value == "yes"
    home = client.get("/")
    assert 'id="tracking-consent"' not in home.content.decode() and "vs_visitor" in home.cookies
    # Changing one's mind: "no" removes the visitor cookie on the next page.
    client.post("/t/consent", {"consent": "no", "next": "https://evil.example/"})
    assert client.get("/").cookies["vs_visitor"].value == ""


def test_without_the_setting_no_banner_and_a_bad_answer_is_a_400(client):
    assert 'id="tracking-consent"' not in client.get("/").content.decode()
    response = client.post("/t/consent", {"consent": "maybe"})
    assert (response.status_code, response.content) == (400, b'consent must be "yes" or "no"')
    assert client.post("/t/consent", {"consent": "no", "next": "https://evil.example/"})["Location"] == "/"
