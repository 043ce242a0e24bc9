import io

import pytest
from django.core.management import CommandError, call_command

from catalog.models import ProductImage
from fixtures.factories import stored_images
from fixtures.images import scene_bytes
from visualshop.broker import sending

Status = ProductImage.Status


def pending_images(*contents: bytes) -> list[ProductImage]:
    return stored_images("P-1", *contents)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)  # the forked processes must see the rows
def test_process_images_runs_the_pipeline_on_two_processes_and_names_the_bad_file():
    good, broken, other = pending_images(scene_bytes(1), b"not an image", scene_bytes(3))
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match=r"^1 of 3 images were rejected or failed \(listed above\)$"):
        call_command("process_images", "--pending", "--workers", "2", "--batch", "1", stdout=out, stderr=err)
    statuses = dict(ProductImage.objects.values_list("pk", "status"))
    assert statuses == {good.pk: Status.READY, broken.pk: Status.REJECTED, other.pk: Status.READY}
    assert "Processed 3 images in" in out.getvalue() and ": 2 ready, 1 rejected." in out.getvalue()
    assert (
        err.getvalue()
        .strip()
        .endswith(
            f"image {broken.pk} ({broken.file.name}): rejected: not an image (content is not a recognised image format)"
        )
    )
    out = io.StringIO()
    call_command("process_images", stdout=out)  # nothing pending any more
    assert out.getvalue() == "No pending images to process.\n"


@pytest.mark.django_db(transaction=True)
def test_process_images_all_redoes_settled_images_and_failed_only_failed_ones():
    first, second = pending_images(scene_bytes(1), scene_bytes(2))
    call_command("process_images", "--all", "--workers", "1", stdout=io.StringIO())
    ProductImage.objects.filter(pk=second.pk).update(status=Status.FAILED, attempts=3)
    out = io.StringIO()
    call_command("process_images", "--failed", "--workers", "1", stdout=out)
    assert ": 1 ready." in out.getvalue()
    assert dict(ProductImage.objects.values_list("pk", "status")) == {first.pk: Status.READY, second.pk: Status.READY}
    assert ProductImage.objects.get(pk=second.pk).attempts == 1


@pytest.mark.django_db
def test_process_images_enqueue_sends_batches_to_the_workers(
    monkeypatch, settings, broker_back_off_reset, django_capture_on_commit_callbacks
):
    settings.IMAGE_PROCESSING_BATCH = 2
    images = pending_images(scene_bytes(1), scene_bytes(2), scene_bytes(3))
    sent = []
    monkeypatch.setattr("visualshop.celery.app.send_task", lambda name, args: sent.append((name, args)))
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("process_images", "--enqueue", stdout=out)
    ids = [image.pk for image in images]
    assert sent == [
        ("vision.tasks.process_product_images", [ids[:2]]),
        ("vision.tasks.process_product_images", [ids[2:]]),
    ]
    assert out.getvalue() == "Queued 3 pending images for the workers.\n"


def test_process_images_refuses_a_zero_batch():
    with pytest.raises(CommandError, match="^--batch and --workers must be at least 1$"):
        call_command("process_images", "--batch", "0")


@pytest.mark.django_db
def test_embedding_model_list_and_activate(monkeypatch):
    from vision import services

    out = io.StringIO()
    monkeypatch.setattr(sending, "send_task", lambda *args, **kwargs: None)
    call_command("embedding_model", "activate", "--variant", "fp32", stdout=out)
    active = services.embedding_model_ensure_active()
    assert out.getvalue() == f"No active version yet: {active.version} is active now.\n"
    with pytest.raises(
        CommandError, match="int8 needs at least 32 processed catalogue images to calibrate on; there are 0"
    ):
        call_command("embedding_model", "activate", "--variant", "int8", stdout=io.StringIO())
    out = io.StringIO()
    call_command("embedding_model", "list", stdout=out)
    assert out.getvalue() == f"active    efficientnet-lite0 {active.version} (fp32, 1280-d, 0 vectors)\n"
