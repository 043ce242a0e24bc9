"""storefront.views.query_photo: a shopper's query photo is shown to its uploader and staff only."""

import re

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from fixtures.images import scene_bytes
from search.query_photos import query_photo_content

pytestmark = pytest.mark.django_db


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    return tmp_path


def uploaded_token(client) -> str:
    photo = SimpleUploadedFile("photo.jpg", scene_bytes(3), content_type="image/jpeg")
    response = client.post("/search/photo/", {"photo": photo})
    assert response.status_code == 303
    return re.fullmatch(r"/search/\?photo=([0-9a-f]{32})", response["Location"]).group(1)


def test_the_uploader_sees_their_photo_privately(client, media):
    token = uploaded_token(client)
    response = client.get(f"/search/photo/{token}.jpg")
    assert (response.status_code, response["Content-Type"], response.content) == (
        200,
        "image/jpeg",
        query_photo_content(token),
    )
    assert (response["Cache-Control"], response["Vary"]) == ("private, max-age=3600", "Cookie")
    page = client.get("/search/", {"photo": token}).content.decode()
    assert f'<img class="query-photo__image" src="/search/photo/{token}.jpg"' in page


def test_another_shopper_with_the_link_does_not_get_the_photo(client, media):
    token = uploaded_token(client)
    assert Client().get(f"/search/photo/{token}.jpg").status_code == 404
    # Nor from media storage, the uploader included (visualshop.media: staff only).
    assert Client().get(f"/media/query-photos/{token}.jpg").status_code == 404
    assert client.get(f"/media/query-photos/{token}.jpg").status_code == 404


def test_staff_see_any_query_photo(client, media):
    token = uploaded_token(client)
    staff = Client()
    staff.force_login(User.objects.create_user("clerk", password="x", is_staff=True))
    response = staff.get(f"/search/photo/{token}.jpg")
    assert (response.status_code, response.content) == (200, query_photo_content(token))


def test_an_unknown_or_malformed_token_is_not_found(client, media):
    uploaded_token(client)
    assert client.get(f"/search/photo/{'0' * 32}.jpg").status_code == 404
    assert client.get("/search/photo/..%2F..%2Fsecret.jpg").status_code == 404
