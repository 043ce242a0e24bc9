"""`manage.py import_catalog SOURCE`: argument parsing, progress and printing around
catalog.importing.service.import_catalog, which does the work."""

import argparse
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from catalog import services
from catalog.importing.records import IN_STOCK_DEFAULT_QUANTITY, SourceError
from catalog.importing.service import ImportOptions, ImportReport, RowFailure, import_catalog


def price_argument(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"{text!r} is not a price (e.g. 19.99)") from None
    if not value.is_finite() or value < 0 or value.as_tuple().exponent < -2:
        raise argparse.ArgumentTypeError(f"{text!r} is not a price (e.g. 19.99: not negative, at most 2 decimals)")
    return value.quantize(Decimal("0.01"))


def stock_argument(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of items")
    return int(text)


class Command(BaseCommand):
    help = (
        "Import a catalogue from SOURCE: a folder in ImageFolder layout (<category>/<image>, one product per "
        "image), a CSV/TSV or JSON-lines feed with Google Merchant Center columns (id, title, description, "
        "price like '12.99 EUR', brand, product_type like 'Apparel > Dresses', color, material, size, pattern, "
        "gender, age_group, image_link, additional_image_link (comma-separated), availability: 'in stock' "
        f"is a stock of {IN_STOCK_DEFAULT_QUANTITY} unless a quantity column says otherwise, 'out of stock' is 0), "
        "or a "
        ".zip of either. Image links are http(s) URLs or local paths relative to the feed's folder (or "
        "--image-root), which they may not leave. "
        "Products are matched by SKU (the id column; for a folder, category + file name): a re-import updates "
        "what the source states and never duplicates products or images. A row is imported whole or not at "
        "all: a bad row (or one whose image fails) is reported as 'row N: reason' (N is the line of the file, "
        "the header being line 1; for a folder, the file's position) and the other rows go on. The command "
        "ends with a summary and exits 1 if any row failed; 3 if every row was imported but some images "
        "could not be queued for processing (broker down: they stay pending and are queued later)."
    )

    def add_arguments(self, parser):
        parser.add_argument("source", help="folder, feed file (.csv, .tsv, .jsonl) or .zip of either")
        parser.add_argument(
            "--allow-private",
            action="store_true",
            help="allow image URLs whose host is a private, loopback, link-local or otherwise non-public "
            "address (refused by default, so a feed cannot make the server probe its own network)",
        )
        parser.add_argument(
            "--default-price",
            type=price_argument,
            default=None,
            metavar="PRICE",
            help="ImageFolder only (a folder has no prices): the price of the products the import creates. "
            "Without it they are created at 0.00 and hidden from the shop until staff price them. "
            "Existing products keep their price.",
        )
        parser.add_argument("--currency", default="EUR", help="currency of --default-price (default EUR)")
        parser.add_argument(
            "--default-stock",
            type=stock_argument,
            default=IN_STOCK_DEFAULT_QUANTITY,
            metavar="N",
            help=f"ImageFolder only: stock of the products the import creates (default {IN_STOCK_DEFAULT_QUANTITY})",
        )
        parser.add_argument(
            "--image-root",
            default=None,
            metavar="DIR",
            help="the folder local images must really be in (default: the feed's or the ImageFolder's own "
            "folder). A feed's image paths are relative to it; a path leading outside it (absolute, '../', "
            "or through a symbolic link) is refused, as are file:// URLs. For an ImageFolder, its files may "
            "be symbolic links into DIR. Not for a .zip.",
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar (none when stderr is no TTY)")

    def handle(self, *args, **options):
        currency = options["currency"].strip().upper()
        if len(currency) != 3 or not currency.isalpha():
            raise CommandError(f"--currency {options['currency']!r}: expected a 3-letter code such as EUR")
        import_options = ImportOptions(
            allow_private=options["allow_private"],
            default_price=options["default_price"],
            default_currency=currency,
            default_stock=options["default_stock"],
            image_root=Path(options["image_root"]) if options["image_root"] else None,
        )
        show_progress = not options["no_progress"] and sys.stderr.isatty()
        bars: list[tqdm] = []  # made once the number of rows is known (a zip is unpacked first)

        def on_total(total: int) -> None:
            bars.append(tqdm(total=total, unit="row", disable=not show_progress, file=sys.stderr, dynamic_ncols=True))

        def on_row(failure: RowFailure | None) -> None:
            bar = bars[0]
            if failure is not None:
                with bar.external_write_mode():  # the message above the bar, not through it
                    self.stderr.write(str(failure))
            bar.update(1)

        try:
            with services.images_unqueued_collected() as unqueued:
                report = import_catalog(options["source"], import_options, on_total=on_total, on_row=on_row)
        except SourceError as exc:
            raise CommandError(str(exc)) from None
        finally:
            for bar in bars:
                bar.close()
        self.stdout.write(summary(report))
        not_queued = unqueued_message(len(set(unqueued)))
        if report.failed:
            if not_queued:
                self.stderr.write(not_queued)
            raise CommandError(f"{report.failed} of {report.rows} rows failed (listed above).")
        if not_queued:
            # Imported, but nothing will show until the images are processed: a script must notice.
            raise CommandError(not_queued, returncode=UNQUEUED_EXIT_CODE)


# Every row imported, but some images wait for the broker (1 is for failed rows).
UNQUEUED_EXIT_CODE = 3


def unqueued_message(count: int) -> str:
    if not count:
        return ""
    return (
        f"{count} images could not be queued for processing (the task broker is unreachable): they stay "
        "pending and the periodic sweep queues them once the broker is back, or run "
        "`manage.py process_images --pending --enqueue`."
    )


def summary(report: ImportReport) -> str:
    text = (
        f"{report.rows} rows: {report.created} created, {report.updated} updated, {report.failed} failed; "
        f"{report.images_added} images added."
    )
    if report.created_hidden:
        text += (
            f"\n{report.created_hidden} new products have no price: created hidden at 0.00 "
            "(price them in the admin; --default-price prices the products an import creates)."
        )
    return text
