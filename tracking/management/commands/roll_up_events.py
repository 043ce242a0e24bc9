"""manage.py roll_up_events [--days N]: recompute the analytics page's daily rollups of the
last N days (default: the days beat keeps fresh), e.g. after importing or simulating history."""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from tracking import rollups


class Command(BaseCommand):
    help = "Recompute the daily search-analytics rollups of the last N days."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, help="days back from today (default: today and the attribution window)")

    def handle(self, *args, days: int | None, **options):
        if days is None:
            done = rollups.recent_days_roll_up()
        elif not 1 <= days <= 400:
            raise CommandError(f"--days must be from 1 to 400, not {days}")
        else:
            today = timezone.localdate()
            done = rollups.days_roll_up(today - timedelta(days=days - 1), today)
        self.stdout.write(f"{done} days rolled up")
