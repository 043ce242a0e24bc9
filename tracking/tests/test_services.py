import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from tracking import notifications, services
from tracking.models import Event, Visitor
from tracking.services import EventData, EventRejected

pytestmark = pytest.mark.django_db

VISITOR = uuid.UUID("0f8c3c62-5b0e-4b4f-9a55-2b8d2f1e6d10")


def event(kind="click", **overrides) -> EventData:
    return EventData(**{"kind": kind, "visitor_id": VISITOR, "occurred_at": timezone.now(), **overrides})


def test_events_are_stored_once_whatever_the_retries(django_assert_num_queries):
    search_id = uuid.uuid4()
    batch = [
        event(
            "search", search_id=search_id, properties={"search_kind": "text", "words": "red dress", "result_count": 14}
        ),
        event("impression", search_id=search_id, product_id=7, position=1, properties={"page": 1}),
        event("click", search_id=search_id, product_id=7, position=1, properties={"page": 1}),
    ]
    with django_assert_num_queries(1):  # one INSERT however many
        assert services.events_record(batch) == 3
    # The same batch again (a beacon resent, a task retried), and one new event among them.
    assert services.events_record([*batch, event("add_to_cart", product_id=7, properties={"quantity": 1})]) == 1
    stored = Event.objects.order_by("id")
    assert [(e.kind, e.search_id, e.product_id, e.position) for e in stored] == [
        ("search", search_id, None, None),
        ("impression", search_id, 7, 1),
        ("click", search_id, 7, 1),
        ("add_to_cart", None, 7, None),
    ]
    assert stored[0].properties == {"search_kind": "text", "words": "red dress", "result_count": 14}
    assert services.events_record([]) == 0


@pytest.mark.parametrize(
    "data, message",
    [
        (event("page_view"), "unknown event kind 'page_view'"),
        (event("click", properties={"page": 1, "email": "a@b.c"}), "click events have no property 'email'"),
        (event("purchase", properties={"address": "x", "value": "1"}), "purchase events have no property 'address'"),
        (event("impression", position=0), "position 0 is out of range (1-32767)"),
    ],
)
def test_an_event_with_an_unknown_kind_property_or_position_is_refused_and_nothing_stored(data, message):
    with pytest.raises(EventRejected) as refused:
        services.events_record([event(), data])
    assert str(refused.value) == message
    assert Event.objects.count() == 0


def test_events_recorded_on_commit_are_written_after_it_and_a_failure_never_reaches_the_request(
    django_capture_on_commit_callbacks, monkeypatch, caplog
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.events_record_on_commit([event()])
    assert Event.objects.count() == 0  # nothing before the commit
    callbacks[0]()
    assert Event.objects.count() == 1

    def database_down(events):
        raise RuntimeError("connection refused")

    monkeypatch.setattr(services, "events_record", database_down)
    with django_capture_on_commit_callbacks(execute=True):
        services.events_record_on_commit([event(), event()])  # does not raise
    assert "tracking: 2 event(s) not recorded" in caplog.text


def test_forgetting_a_visitor_deletes_its_events_and_profile_only():
    other = uuid.uuid4()
    Visitor.objects.create(id=VISITOR)
    services.events_record([event(), event(), event(visitor_id=other)])
    assert services.visitor_forget(VISITOR) == (2, True)
    assert list(Event.objects.values_list("visitor_id", flat=True)) == [other]
    assert not Visitor.objects.exists()
    assert services.visitor_forget(VISITOR) == (0, False)


def test_the_purge_deletes_events_past_the_retention_in_batches(settings):
    settings.TRACKING_RETENTION_DAYS = 30
    settings.TRACKING_PURGE_BATCH = 2
    now = timezone.now()
    ages = [31, 45, 400, 29, 0]
    services.events_record([event(occurred_at=now - timedelta(days=age)) for age in ages])
    assert services.events_purge_expired(now=now) == 3
    left = sorted((now - e).days for e in Event.objects.values_list("occurred_at", flat=True))
    assert left == [0, 29]


# -- what the pages record ------------------------------------------------------------------


def test_a_purchase_is_credited_to_the_search_each_product_was_last_clicked_from(
    django_capture_on_commit_callbacks, settings
):
    from tracking.visitors import Identity

    settings.TRACKING_ATTRIBUTION_HOURS = 168
    now = timezone.now()
    first, second, old = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    services.events_record(
        [
            event("click", search_id=old, product_id=5, occurred_at=now - timedelta(hours=169)),  # out of the window
            event("click", search_id=first, product_id=7, occurred_at=now - timedelta(hours=3)),
            event("click", search_id=second, product_id=7, occurred_at=now - timedelta(hours=1)),  # the last: credited
            event("click", search_id=first, product_id=9, occurred_at=now - timedelta(hours=2)),
            event(
                "click",
                search_id=uuid.uuid4(),
                product_id=9,
                occurred_at=now - timedelta(hours=1),
                visitor_id=uuid.uuid4(),
            ),
        ]
    )
    lines = [services.LineData(7, 2, 40.0), services.LineData(9, 1, 15.5), services.LineData(5, 1, 9.99)]
    with django_capture_on_commit_callbacks(execute=True):
        services.purchase_recorded(Identity(VISITOR, 42), order="ORDER123", lines=lambda: lines, currency="EUR")
    purchases = Event.objects.filter(kind="purchase").order_by("product_id")
    assert [(e.product_id, e.search_id, e.user_id) for e in purchases] == [
        (5, None, 42),
        (7, second, 42),
        (9, first, 42),
    ]
    assert purchases.get(product_id=7).properties == {
        "order": "ORDER123",
        "value": 40.0,
        "currency": "EUR",
        "quantity": 2,
        "order_value": 65.49,
    }


def test_an_add_to_cart_carries_the_search_its_product_was_clicked_from(django_capture_on_commit_callbacks):
    from tracking.visitors import Identity

    search_id = uuid.uuid4()
    services.events_record([event("click", search_id=search_id, product_id=7)])
    with django_capture_on_commit_callbacks(execute=True):
        services.cart_change_recorded(Identity(VISITOR), added=True, product_id=7, quantity=2, size="M")
        services.cart_change_recorded(Identity(VISITOR), added=False, product_id=7, quantity=1, size="M")
        services.cart_change_recorded(Identity(VISITOR), added=True, product_id=8, quantity=1)
    changes = Event.objects.exclude(kind="click").order_by("id")
    assert [(e.kind, e.product_id, e.search_id, e.properties) for e in changes] == [
        ("add_to_cart", 7, search_id, {"quantity": 2, "size": "M"}),
        ("remove_from_cart", 7, None, {"quantity": 1, "size": "M"}),
        ("add_to_cart", 8, None, {"quantity": 1}),
    ]


def test_nothing_is_recorded_for_a_visitor_who_may_not_be_tracked(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert (
            services.search_recorded(
                None, search_kind="text", words="x", filters={}, page=1, result_count=0, latency_ms=1.0
            )
            is None
        )
        services.photo_upload_recorded(None)
        services.click_recorded(None, product_id=1, search_id=uuid.uuid4(), position=1)
        services.cart_change_recorded(None, added=True, product_id=1, quantity=1)
        services.checkout_started_recorded(None, lines=[services.LineData(1, 1, 2.0)], currency="EUR")
        services.purchase_recorded(None, order="X", lines=lambda: [services.LineData(1, 1, 2.0)], currency="EUR")
    assert callbacks == [] and Event.objects.count() == 0


def test_an_experiment_exposure_is_recorded_with_its_experiment_and_variant(django_capture_on_commit_callbacks):
    from tracking.visitors import Identity

    with django_capture_on_commit_callbacks(execute=True):
        services.experiment_exposure_recorded(Identity(VISITOR, 7), experiment="grid-density", variant="dense")
        services.experiment_exposure_recorded(None, experiment="grid-density", variant="dense")
    exposure = Event.objects.get()
    assert (exposure.kind, exposure.visitor_id, exposure.user_id, exposure.properties) == (
        "experiment_exposure",
        VISITOR,
        7,
        {"experiment": "grid-density", "variant": "dense"},
    )


def test_engagement_is_announced_for_the_visitors_who_engaged_not_for_the_simulators_batches():
    told = []

    def receiver(sender, visitor_ids, **kwargs):
        told.append(visitor_ids)

    def broken(sender, visitor_ids, **kwargs):
        raise RuntimeError("a receiver failing never fails the write")

    other = uuid.uuid4()
    notifications.engagement_recorded.connect(receiver)
    notifications.engagement_recorded.connect(broken)
    try:
        stored = services.events_record(
            [
                event("impression", product_id=7, position=1, search_id=uuid.uuid4()),
                event("click", product_id=7),
                event("add_to_cart", visitor_id=other, product_id=7, properties={"quantity": 1}),
                event("photo_upload", visitor_id=uuid.uuid4(), properties={"accepted": True, "rejection_code": ""}),
            ]
        )
        with services.recording_in_batches():
            services.events_record_on_commit([event("purchase", product_id=7)])
        services.events_record([event("impression", product_id=8, position=2, search_id=uuid.uuid4())])
    finally:
        notifications.engagement_recorded.disconnect(receiver)
        notifications.engagement_recorded.disconnect(broken)

    assert stored == 4
    assert told == [{VISITOR, other}]  # once, for the click and the add to cart; none for the batch or a view
