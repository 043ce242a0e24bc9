"""Images processed before originals became staff-only used the upload itself as their display
image (an upright JPEG within 1200 px). Shoppers may download derivatives only (derived/,
visualshop.media): give each such image a display file of its own under derived/, a copy of
the upload's bytes (what shoppers were shown until now); one whose upload is missing falls
back to its thumbnail."""

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import migrations
from django.db.models import F


def give_display_derivatives(apps, schema_editor):
    ProductImage = apps.get_model("catalog", "ProductImage")
    own_display = ProductImage.objects.filter(display=F("file")).exclude(display="")
    for image in own_display.only("pk", "file", "display", "thumbnail", "sha256").iterator(chunk_size=500):
        name = f"derived/{image.sha256[:2]}/{image.sha256}-display.jpg" if image.sha256 else ""
        try:
            if name and not default_storage.exists(name):
                with default_storage.open(image.file.name, "rb") as handle:
                    saved = default_storage.save(name, ContentFile(handle.read()))
                if saved != name:  # written meanwhile by a worker: same bytes, keep one
                    default_storage.delete(saved)
        except FileNotFoundError:
            name = ""
        ProductImage.objects.filter(pk=image.pk).update(display=name or image.thumbnail)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0005_search_text_vocabulary")]

    operations = [migrations.RunPython(give_display_derivatives, migrations.RunPython.noop)]
