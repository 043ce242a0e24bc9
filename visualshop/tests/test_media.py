"""visualshop.media: derivatives are public, originals and shoppers' query photos staff-only."""

import pytest
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from catalog.models import ProductImage
from fixtures.factories import make_product, stored_image
from vision import pipeline

pytestmark = pytest.mark.django_db


@pytest.fixture
def media_files():
    names = {}
    for key, name, content in (
        ("derived", "derived/zz/zz-thumbnail.jpg", b"thumbnail bytes"),
        ("original", "products/2026/12/zz-original.jpg", b"original bytes"),
        ("query_photo", "query-photos/" + "a" * 32 + ".jpg", b"query photo bytes"),
    ):
        names[key] = default_storage.save(name, ContentFile(content))
    yield names
    for name in names.values():
        default_storage.delete(name)


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_a_derivative_is_public(client, media_files):
    response = client.get(f"/media/{media_files['derived']}")
    assert (response.status_code, body(response)) == (200, b"thumbnail bytes")


@pytest.mark.parametrize("kind", ["original", "query_photo"])
def test_uploads_as_they_arrived_are_not_found_for_shoppers_and_customers(client, media_files, kind):
    assert client.get(f"/media/{media_files[kind]}").status_code == 404
    client.force_login(User.objects.create_user("shopper", password="x"))
    assert client.get(f"/media/{media_files[kind]}").status_code == 404


@pytest.mark.parametrize(("kind", "content"), [("original", b"original bytes"), ("query_photo", b"query photo bytes")])
def test_staff_download_uploads_privately(client, media_files, kind, content):
    client.force_login(User.objects.create_user("clerk", password="x", is_staff=True))
    response = client.get(f"/media/{media_files[kind]}")
    assert (response.status_code, body(response)) == (200, content)
    assert response["Cache-Control"] == "private, no-store"
    assert response["Vary"] == "Cookie"


def test_a_path_through_derived_to_an_original_is_not_public(client, media_files):
    response = client.get(f"/media/derived/../{media_files['original']}")
    assert response.status_code == 404


def test_derived_is_left_to_the_front_server_when_django_does_not_serve_media(client, media_files, settings):
    settings.SERVE_MEDIA = False
    assert client.get(f"/media/{media_files['derived']}").status_code == 404
    client.force_login(User.objects.create_user("clerk", password="x", is_staff=True))
    assert client.get(f"/media/{media_files['original']}").status_code == 200  # only Django knows staff


def test_a_rejected_original_is_downloadable_by_staff_only(client):
    image = stored_image(make_product("MEDIA-1"), b"this is not a picture", "notes.jpg")
    assert pipeline.product_images_process([image.pk]) == {image.pk: ProductImage.Status.REJECTED}
    assert client.get(image.file.url).status_code == 404
    client.force_login(User.objects.create_user("clerk", password="x", is_staff=True))
    response = client.get(image.file.url)
    assert (response.status_code, body(response)) == (200, b"this is not a picture")
