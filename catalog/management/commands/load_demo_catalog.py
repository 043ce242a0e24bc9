import time

from django.core.management.base import BaseCommand

from catalog import selectors
from catalog.demo.loader import load_demo_catalog


class Command(BaseCommand):
    help = (
        "Load the demo catalogue: products with real photographs (catalog/demo/photographs) in a small category tree, built "
        "offline and identical on every run (SKUs DEMO-0001...). Safe to run again: existing demo "
        "products are refreshed and nothing is duplicated."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing when the catalogue already has products (for first start-up scripts)",
        )
        parser.add_argument("--limit", type=int, default=None, help="load only the first N demo products")

    def handle(self, *args, **options):
        if options["if_empty"] and not selectors.catalog_is_empty():
            self.stdout.write("Catalogue not empty: demo catalogue not loaded.")
            return
        started = time.monotonic()
        result = load_demo_catalog(limit=options["limit"])
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo catalogue loaded: {result.products} products, {result.categories} categories, "
                f"{result.brands} brands and {result.images} images created "
                f"in {time.monotonic() - started:.1f} s."
            )
        )
