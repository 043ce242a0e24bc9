"""The search pages count against the API's rate limits: one budget per address and kind."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from fixtures.images import scene_bytes
from fixtures.shop import redis_cache
from search.query_photos import query_photo_store

pytestmark = pytest.mark.django_db

API_TEXT = "/api/v1/search"
API_IMAGE = "/api/v1/search/image"
TEXT_FULL = "You have made a lot of searches in a short time. Please try again in 60 seconds."
PHOTO_FULL = "You have made a lot of photo searches in a short time. Please try again in 60 seconds."


@pytest.fixture
def low_rates(settings, tmp_path):
    settings.API_THROTTLE_RATES = {"search_image": "2/min", "search_text": "3/min"}
    settings.MEDIA_ROOT = str(tmp_path)


def upload(client, **extra):
    photo = SimpleUploadedFile("photo.jpg", scene_bytes(1), content_type="image/jpeg")
    return client.post("/search/photo/", {"photo": photo}, **extra)


def api_photo_search(client, **extra):
    photo = SimpleUploadedFile("photo.jpg", scene_bytes(1), content_type="image/jpeg")
    return client.post(API_IMAGE, {"image": photo}, **extra)


def assert_429_page(response, message: str):
    assert response.status_code == 429
    assert response["Retry-After"] == "60"
    assert [t.name for t in response.templates][:2] == ["429.html", "base.html"]
    html = response.content.decode()
    assert "<h1>Please slow down a little</h1>" in html
    assert f"<p>{message}</p>" in html


def test_word_searches_over_the_rate_get_the_friendly_429_page(client, shop, low_rates):  # noqa: F811
    assert [client.get("/search/", {"q": "mug"}).status_code for _ in range(3)] == [200, 200, 200]
    assert_429_page(client.get("/search/", {"q": "dress"}), TEXT_FULL)


def test_the_pages_and_the_api_spend_one_budget_per_address(client, shop, low_rates):  # noqa: F811
    assert client.get(API_TEXT, {"q": "mug"}).status_code == 200
    assert [client.get("/search/", {"q": "mug"}).status_code for _ in range(2)] == [200, 200]
    assert client.get(API_TEXT, {"q": "mug"}).status_code == 429
    assert_429_page(client.get("/search/", {"q": "mug"}), TEXT_FULL)
    # Another address still has its whole budget.
    assert client.get("/search/", {"q": "mug"}, REMOTE_ADDR="203.0.113.9").status_code == 200


def test_photo_uploads_share_the_api_photo_budget_and_the_widget_gets_a_json_429(client, shop, low_rates):  # noqa: F811
    assert api_photo_search(client).status_code == 503  # no model yet, but counted
    assert upload(client).status_code == 303
    response = upload(client, HTTP_ACCEPT="application/json")
    assert (response.status_code, response["Retry-After"], response.json()) == (429, "60", {"errors": [PHOTO_FULL]})
    assert api_photo_search(client).json() == {
        "error": {"code": "throttled", "message": "Request was throttled. Expected available in 60 seconds."}
    }
    assert_429_page(upload(client), PHOTO_FULL)
    # Word searches have their own budget.
    assert client.get("/search/", {"q": "mug"}).status_code == 200


def test_photo_and_hybrid_results_count_as_photo_searches(client, shop, low_rates):  # noqa: F811
    token = query_photo_store(scene_bytes(2)).token
    assert client.get("/search/", {"photo": token}).status_code == 503  # no model yet, but counted
    assert client.get("/search/", {"photo": token, "q": "mug"}).status_code == 503
    assert_429_page(client.get("/search/", {"photo": token, "q": "mug"}), PHOTO_FULL)
    assert [client.get("/search/", {"q": "mug"}).status_code for _ in range(3)] == [200, 200, 200]


def test_the_bare_search_page_and_browsing_are_not_counted(client, shop, low_rates):  # noqa: F811
    assert [client.get("/search/").status_code for _ in range(5)] == [200] * 5
    assert [client.get("/search/photo/").status_code for _ in range(5)] == [302] * 5
    assert [client.get("/").status_code for _ in range(5)] == [200] * 5
    assert [client.get("/search/", {"q": "mug"}).status_code for _ in range(3)] == [200, 200, 200]


def test_a_forged_forwarded_for_does_not_buy_a_new_budget(client, shop, low_rates):  # noqa: F811
    for n in range(3):
        client.get("/search/", {"q": "mug"}, HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
    assert_429_page(client.get("/search/", {"q": "mug"}, HTTP_X_FORWARDED_FOR="198.51.100.99"), TEXT_FULL)


def test_signed_in_staff_are_not_limited(admin_client, shop, low_rates):  # noqa: F811
    assert [admin_client.get("/search/", {"q": "mug"}).status_code for _ in range(5)] == [200] * 5
    assert [upload(admin_client).status_code for _ in range(3)] == [303] * 3


def test_signed_in_customers_who_are_not_staff_are_limited(client, shop, low_rates, django_user_model):  # noqa: F811
    client.force_login(django_user_model.objects.create_user("shopper", password="x"))
    assert [client.get("/search/", {"q": "mug"}).status_code for _ in range(4)] == [200, 200, 200, 429]


def test_the_counts_are_in_the_shared_redis(client, shop, low_rates, settings, redis_socket):  # noqa: F811
    import redis

    settings.CACHES = redis_cache(f"unix://{redis_socket}?db=2")
    server = redis.Redis(unix_socket_path=str(redis_socket), db=2)
    server.flushdb()
    try:
        assert [client.get("/search/", {"q": "mug"}).status_code for _ in range(3)] == [200, 200, 200]
        [key] = [key for key in server.keys() if b"throttle_search_text_127.0.0.1" in key]  # noqa: SIM118 (Redis KEYS)
        assert server.ttl(key) > 0
        assert client.get(API_TEXT, {"q": "mug"}).status_code == 429
    finally:
        server.flushdb()


def test_a_cache_that_does_not_answer_lets_page_searches_through_and_logs(
    client,
    shop,
    low_rates,
    settings,  # noqa: F811
    tmp_path,
    caplog,
):
    settings.CACHES = redis_cache(f"unix://{tmp_path / 'no-redis.sock'}?db=2")
    assert [client.get("/search/", {"q": "mug"}).status_code for _ in range(5)] == [200] * 5
    assert caplog.text.count("rate limit not applied: cache unavailable scope=search_text") == 5
