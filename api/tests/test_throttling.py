import importlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from fixtures.images import scene_bytes
from fixtures.shop import redis_cache

pytestmark = pytest.mark.django_db

IMAGE_URL = "/api/v1/search/image"
TEXT_URL = "/api/v1/search"


@pytest.fixture
def low_rates(settings):
    settings.API_THROTTLE_RATES = {"search_image": "2/min", "search_text": "3/min"}


def photo_search(client, **extra):
    photo = SimpleUploadedFile("photo.jpg", scene_bytes(1), content_type="image/jpeg")
    return client.post(IMAGE_URL, {"image": photo}, **extra)


def assert_throttled(response):
    assert response.status_code == 429
    assert response["Retry-After"] == "60"
    assert response.json() == {
        "error": {"code": "throttled", "message": "Request was throttled. Expected available in 60 seconds."}
    }


def test_anonymous_photo_searches_over_the_rate_are_429_with_retry_after(client, shop, low_rates):
    assert [photo_search(client).status_code for _ in range(2)] == [503, 503]  # no model yet, but counted
    assert_throttled(photo_search(client))


def test_anonymous_text_searches_have_their_own_rate(client, shop, low_rates):
    assert [photo_search(client).status_code for _ in range(2)] == [503, 503]
    assert [client.get(TEXT_URL).status_code for _ in range(3)] == [400, 400, 400]  # invalid ones count too
    assert_throttled(client.get(TEXT_URL))


def test_each_address_has_its_own_bucket_and_a_forged_forwarded_for_does_not_help(client, shop, low_rates):
    for n in range(2):
        photo_search(client, REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
    assert_throttled(photo_search(client, REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR="198.51.100.99"))
    assert photo_search(client, REMOTE_ADDR="203.0.113.8").status_code == 503


def test_signed_in_users_are_not_rate_limited(admin_client, shop, low_rates):
    assert [photo_search(admin_client).status_code for _ in range(4)] == [503] * 4


def test_an_empty_rate_switches_the_limit_off(client, shop, settings):
    settings.API_THROTTLE_RATES = {"search_image": None, "search_text": "3/min"}
    assert [photo_search(client).status_code for _ in range(5)] == [503] * 5


def test_browsing_products_is_not_rate_limited(client, shop, low_rates):
    assert [client.get("/api/v1/products/").status_code for _ in range(5)] == [200] * 5


def test_rates_come_from_the_environment_with_safe_defaults(monkeypatch):
    from visualshop.settings import api as api_settings

    for name in (
        "API_THROTTLE_IMAGE_SEARCH",
        "API_THROTTLE_TEXT_SEARCH",
        "API_MAX_UPLOAD_BYTES",
        "API_NUM_PROXIES",
        "DJANGO_BEHIND_TLS_PROXY",
    ):
        monkeypatch.delenv(name, raising=False)
    try:
        defaults = importlib.reload(api_settings)
        assert (defaults.API_THROTTLE_RATES, defaults.API_MAX_UPLOAD_BYTES, defaults.API_NUM_PROXIES) == (
            {"search_image": "30/min", "search_text": "120/min"},
            10 * 1024 * 1024,
            0,
        )
        monkeypatch.setenv("API_THROTTLE_IMAGE_SEARCH", "5/second")
        monkeypatch.setenv("API_THROTTLE_TEXT_SEARCH", "")
        monkeypatch.setenv("API_MAX_UPLOAD_BYTES", "2048")
        monkeypatch.setenv("DJANGO_BEHIND_TLS_PROXY", "1")
        configured = importlib.reload(api_settings)
        assert (configured.API_THROTTLE_RATES, configured.API_MAX_UPLOAD_BYTES, configured.API_NUM_PROXIES) == (
            {"search_image": "5/second", "search_text": None},
            2048,
            1,
        )
        assert configured.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] is configured.API_THROTTLE_RATES
    finally:
        monkeypatch.undo()
        importlib.reload(api_settings)


def test_counts_live_in_the_shared_redis_so_every_web_process_sees_them(
    client, shop, low_rates, settings, redis_socket
):
    import redis

    settings.CACHES = redis_cache(f"unix://{redis_socket}?db=2")
    server = redis.Redis(unix_socket_path=str(redis_socket), db=2)
    server.flushdb()
    assert [photo_search(client).status_code for _ in range(2)] == [503, 503]
    # What another gunicorn worker would read: this address's two requests, in Redis.
    [key] = [key for key in server.keys() if b"throttle_search_image_127.0.0.1" in key]  # noqa: SIM118 (Redis KEYS)
    assert server.ttl(key) > 0
    assert_throttled(photo_search(client))
    server.flushdb()


def test_a_cache_that_does_not_answer_lets_searches_through_unlimited(
    client, shop, low_rates, settings, tmp_path, caplog
):
    settings.CACHES = redis_cache(f"unix://{tmp_path / 'no-redis.sock'}?db=2")
    assert [photo_search(client).status_code for _ in range(4)] == [503] * 4  # over 2/min, never 429 or 500
    assert caplog.text.count("rate limit not applied: cache unavailable scope=search_image") == 4
