import os
import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from catalog import services as catalog_services
from catalog.models import ProductImage
from vision import process_pool


class Command(BaseCommand):
    help = (
        "Run the image pipeline (decode, checks, derivatives, embedding) on stored images, on every "
        "core of this machine. Default: images still pending. Names every rejected or failed image "
        "and exits non-zero if there was any."
    )

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group()
        which.add_argument(
            "--pending",
            action="store_const",
            dest="selection",
            const="pending",
            help="images waiting for processing (default)",
        )
        which.add_argument(
            "--failed", action="store_const", dest="selection", const="failed", help="images whose processing crashed"
        )
        which.add_argument(
            "--all",
            action="store_const",
            dest="selection",
            const="all",
            help="every image again (after changing thresholds or the pipeline)",
        )
        parser.add_argument("--batch", type=int, default=32, help="images per unit of work (default 32)")
        parser.add_argument(
            "--workers", type=int, default=os.cpu_count() or 1, help="processes (default: one per core)"
        )
        parser.add_argument(
            "--enqueue",
            action="store_true",
            help="send the images to the Celery workers instead of processing them here",
        )

    def handle(self, *args, selection=None, batch, workers, enqueue, **options):
        selection = selection or "pending"
        if batch < 1 or workers < 1:
            raise CommandError("--batch and --workers must be at least 1")
        ids = process_pool.image_ids_to_process(selection)
        if not ids:
            self.stdout.write(f"No {selection} images to process.")
            return
        if enqueue:
            catalog_services.product_images_reprocess(ids)
            self.stdout.write(f"Queued {len(ids)} {selection} images for the workers.")
            return
        started = time.monotonic()
        with tqdm(total=len(ids), unit="img", desc="processing", disable=None) as bar:
            outcomes = process_pool.images_process_in_pool(ids, workers=workers, batch=batch, on_progress=bar.update)
        seconds = time.monotonic() - started
        summary = ", ".join(f"{count} {status}" for status, count in sorted(outcomes.items()))
        self.stdout.write(f"Processed {len(ids)} images in {seconds:.1f} s ({len(ids) / seconds:.0f}/s): {summary}.")
        problems = ProductImage.objects.filter(
            pk__in=ids, status__in=[ProductImage.Status.REJECTED, ProductImage.Status.FAILED]
        ).order_by("pk")
        for image in problems:
            self.stderr.write(f"image {image.pk} ({image.file.name}): {image.status}: {image.reason}")
        if problems.exists():
            raise CommandError(f"{problems.count()} of {len(ids)} images were rejected or failed (listed above)")
