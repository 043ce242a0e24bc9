"""manage.py simulate_shoppers --visitors N --days D --seed S: simulated shoppers' traffic
through the shop's own code (simulation.shoppers), so the analytics have events to show and
ranking has clicks to learn from."""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from simulation.shoppers import EmptyCatalogue, simulate_shoppers
from tracking import rollups
from visualshop.broker.sending import send_task


class Command(BaseCommand):
    help = "Simulate shoppers searching, clicking, adding to cart and buying (events only; no orders)."

    def add_arguments(self, parser):
        parser.add_argument("--visitors", type=int, default=1000, help="simulated shoppers (default 1000)")
        parser.add_argument("--days", type=int, default=30, help="the days before now they arrive over (default 30)")
        parser.add_argument("--seed", type=int, default=1, help="the same seed gives the same shoppers (default 1)")
        parser.add_argument(
            "--demo-later",
            action="store_true",
            help="queue the demo's traffic for the worker instead (make run): 300 visitors over 30 days once the "
            "pictures are processed, only if the shop has no events yet",
        )

    def handle(self, *args, visitors: int, days: int, seed: int, demo_later: bool, **options):
        if demo_later:
            send_task("simulation.tasks.simulate_demo_traffic", countdown=5)
            self.stdout.write("demo traffic queued: the worker simulates shoppers once the pictures are processed")
            return
        if visitors < 1:
            raise CommandError(f"--visitors must be at least 1, not {visitors}")
        if not 1 <= days <= 395:
            raise CommandError(f"--days must be from 1 to 395 (how long events are kept), not {days}")
        try:
            report = simulate_shoppers(visitors=visitors, days=days, seed=seed)
        except EmptyCatalogue as error:
            raise CommandError(f"nothing to simulate: {error}") from None
        kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(report.searches_by_kind.items()))
        self.stdout.write(
            f"{report.visitors} visitors over {days} days (seed {seed}): {report.sessions} sessions, "
            f"{report.searches} searches ({kinds}), {report.impressions} impressions, {report.clicks} clicks, "
            f"{report.adds_to_cart} adds to cart, {report.purchases} purchases in {report.seconds:.1f} s "
            f"({report.visitors_per_second} visitors/s)"
        )
        # The analytics page reads daily rollups: bring the simulated days' up to date now.
        today = timezone.localdate()
        rollups.days_roll_up(today - timedelta(days=days), today)
        if report.photo_searches_failed:
            self.stderr.write(
                f"{report.photo_searches_failed} photo searches failed (no active model, or a picture unreadable)"
            )
