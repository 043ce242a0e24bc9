"""catalog/migrations/0006: images whose upload was their own display image get one under derived/."""

import importlib

import pytest
from django.apps import apps
from django.core.files.storage import default_storage

from catalog.models import ProductImage
from fixtures.factories import make_product, stored_image
from fixtures.images import scene_bytes

pytestmark = pytest.mark.django_db

migration = importlib.import_module("catalog.migrations.0006_display_derivatives")


def test_an_upload_shown_as_its_own_display_image_gets_a_derived_copy(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    content = scene_bytes(2)
    kept = stored_image(make_product("MIG-1"), content)
    gone = stored_image(make_product("MIG-2"), scene_bytes(3))
    default_storage.delete(gone.file.name)
    for image, sha in ((kept, "ab" * 32), (gone, "cd" * 32)):
        ProductImage.objects.filter(pk=image.pk).update(
            status=ProductImage.Status.READY,
            sha256=sha,
            display=image.file.name,
            thumbnail=f"derived/{sha[:2]}/{sha}-thumbnail.jpg",
        )
    untouched = stored_image(make_product("MIG-3"), scene_bytes(4))
    ProductImage.objects.filter(pk=untouched.pk).update(display="derived/ef/ef-display.jpg")

    migration.give_display_derivatives(apps, None)

    kept.refresh_from_db(), gone.refresh_from_db(), untouched.refresh_from_db()
    assert kept.display.name == f"derived/ab/{'ab' * 32}-display.jpg"
    with default_storage.open(kept.display.name, "rb") as handle:
        assert handle.read() == content
    assert gone.display.name == f"derived/cd/{'cd' * 32}-thumbnail.jpg"  # no upload left to copy
    assert untouched.display.name == "derived/ef/ef-display.jpg"
