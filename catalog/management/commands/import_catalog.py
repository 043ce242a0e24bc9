import sys
from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from catalog.importing.records import SourceError
from catalog.importing.service import ImportOptions, import_catalog


def decimal_argument(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(text) from None
    if value < 0:
        raise ValueError(text)
    return value.quantize(Decimal("0.01"))


class Command(BaseCommand):
    help = (
        "Import a catalogue from SOURCE: a folder in ImageFolder layout (<category>/<image>, one product per "
        "image), a CSV/TSV or JSON-lines feed with Google Merchant Center columns (id, title, description, "
        "price like '12.99 EUR', brand, product_type, color, image_link, additional_image_link, availability, "
        "...), or a .zip of either. Products are matched by SKU (id): a re-import updates them. Bad rows are "
        "reported as 'row N: reason' and skipped; the command exits non-zero if any row failed."
    )

    def add_arguments(self, parser):
        parser.add_argument("source", help="folder, feed file (.csv, .tsv, .jsonl) or .zip of either")
        parser.add_argument(
            "--allow-private", action="store_true",
            help="allow image URLs on private, loopback or link-local addresses (refused by default)",
        )
        parser.add_argument(
            "--default-price", type=decimal_argument, default=Decimal("0.00"),
            help="price of products from an ImageFolder, which has none (default 0.00)",
        )
        parser.add_argument("--currency", default="EUR", help="currency of --default-price (default EUR)")
        parser.add_argument(
            "--default-stock", type=int, default=10, help="stock of products from an ImageFolder (default 10)"
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, **options):
        options_ = ImportOptions(
            allow_private=options["allow_private"],
            default_price=options["default_price"],
            default_currency=options["currency"].upper()[:3],
            default_stock=max(0, options["default_stock"]),
        )
        show_progress = not options["no_progress"] and sys.stderr.isatty()
        bar = tqdm(total=0, unit="row", disable=not show_progress, file=sys.stderr, dynamic_ncols=True)

        def on_total(total: int) -> None:
            bar.total = total
            bar.refresh()

        def on_row(failure) -> None:
            if failure is not None:
                bar.write(str(failure), file=self.stderr._out)
            bar.update(1)

        try:
            report = import_catalog(options["source"], options_, on_total=on_total, on_row=on_row)
        except SourceError as exc:
            raise CommandError(str(exc)) from None
        finally:
            bar.close()
        self.stdout.write(
            f"{report.rows} rows: {report.created} created, {report.updated} updated, {report.failed} failed; "
            f"{report.images_added} images added."
        )
        if report.failed:
            raise CommandError(f"{report.failed} of {report.rows} rows failed (listed above).")
