"""The shared search limiter: its window, its Retry-After, whose budget a request spends."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory

from fixtures.shop import redis_cache
from visualshop import rate_limits
from visualshop.rate_limits import client_address, parse_rate, search_rate_limit_hit


class Clock:
    def __init__(self, now: float = 1_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(rate_limits.time, "time", clock)
    return clock


def request(address: str = "203.0.113.5", forwarded: str | None = None, user=None):
    extra = {"REMOTE_ADDR": address}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    made = RequestFactory().get("/search/", **extra)
    made.user = user or AnonymousUser()
    return made


@pytest.mark.parametrize(
    ("rate", "parsed"),
    [
        ("30/min", (30, 60)),
        ("120/minute", (120, 60)),
        ("5/s", (5, 1)),
        ("100/hour", (100, 3600)),
        ("1/day", (1, 86400)),
    ],
)
def test_rates_are_drf_spelled(rate, parsed):
    assert parse_rate(rate) == parsed


def test_the_window_slides_and_retry_after_counts_to_the_oldest_request(settings, clock):
    settings.API_THROTTLE_RATES = {"search_text": "2/min"}
    assert search_rate_limit_hit(request(), "search_text") is None
    clock.now += 30
    assert search_rate_limit_hit(request(), "search_text") is None
    clock.now += 10
    assert search_rate_limit_hit(request(), "search_text") == 20  # the first request leaves the window in 20 s
    clock.now += 20.5
    assert search_rate_limit_hit(request(), "search_text") is None  # the first one has left: room for one
    assert search_rate_limit_hit(request(), "search_text") == 30  # now the one at 30 s is the oldest
    clock.now += 29
    assert search_rate_limit_hit(request(), "search_text") == 1  # refused requests were not counted


def test_kinds_and_addresses_have_their_own_budgets(settings, clock):
    settings.API_THROTTLE_RATES = {"search_text": "1/min", "search_image": "1/min"}
    assert [
        search_rate_limit_hit(request(), "search_text"),
        search_rate_limit_hit(request(), "search_image"),
        search_rate_limit_hit(request("203.0.113.6"), "search_text"),
    ] == [None, None, None]
    assert [search_rate_limit_hit(request(), "search_text"), search_rate_limit_hit(request(), "search_image")] == [
        60,
        60,
    ]


def test_a_zero_rate_refuses_every_search_a_whole_window_ahead(settings, clock):
    settings.API_THROTTLE_RATES = {"search_text": "0/hour"}
    assert [search_rate_limit_hit(request(), "search_text") for _ in range(2)] == [3600, 3600]


def test_no_rate_means_no_limit(settings, clock):
    settings.API_THROTTLE_RATES = {"search_text": None}
    assert [search_rate_limit_hit(request(), "search_text") for _ in range(50)] == [None] * 50


@pytest.mark.parametrize(
    ("proxies", "forwarded", "address"),
    [
        (0, "198.51.100.1", "10.0.0.2"),  # no proxy: the header is the client's own invention
        (1, "198.51.100.1", "198.51.100.1"),
        (1, "6.6.6.6, 198.51.100.1", "198.51.100.1"),  # the proxy appended the real one last
        (2, "6.6.6.6, 198.51.100.1, 10.0.0.9", "198.51.100.1"),
        (1, None, "10.0.0.2"),
    ],
)
def test_the_budget_belongs_to_the_address_the_trusted_proxies_saw(settings, proxies, forwarded, address):
    settings.API_NUM_PROXIES = proxies
    assert client_address(request("10.0.0.2", forwarded)) == address


@pytest.mark.django_db
def test_staff_are_exempt_and_other_signed_in_users_are_not(settings, clock, django_user_model):
    settings.API_THROTTLE_RATES = {"search_text": "1/min"}
    staff = django_user_model.objects.create_user("staff", password="x", is_staff=True)
    customer = django_user_model.objects.create_user("customer", password="x")
    assert [search_rate_limit_hit(request(user=staff), "search_text") for _ in range(3)] == [None] * 3
    assert [search_rate_limit_hit(request(user=customer), "search_text") for _ in range(2)] == [None, 60]


def test_concurrent_searches_from_one_address_are_each_counted(settings, redis_socket):
    """Ten web workers' worth of threads, one address, one shared Redis: exactly the budget
    gets through (without the lock, threads overwrote each other's history and more did)."""
    import threading

    import redis

    settings.CACHES = redis_cache(f"unix://{redis_socket}?db=2")
    settings.API_THROTTLE_RATES = {"search_image": "20/min"}
    server = redis.Redis(unix_socket_path=str(redis_socket), db=2)
    server.flushdb()
    start = threading.Barrier(10)
    answers: list[int | None] = []

    def shopper():
        start.wait()
        for _ in range(6):
            answers.append(search_rate_limit_hit(request(), "search_image"))

    threads = [threading.Thread(target=shopper) for _ in range(10)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(answers) == 60
        assert answers.count(None) == 20
    finally:
        server.flushdb()
