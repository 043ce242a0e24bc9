from django.core.management.base import BaseCommand, CommandError

from ranking import retraining, services
from ranking.models import RankerVersion
from ranking.selectors import ranker_versions


class Command(BaseCommand):
    help = (
        "Learned ranker versions: `train` (train on the last RANKING_TRAINING_DAYS, judge on the held-out "
        "days, promote when better), `list`, `promote VERSION`, `rollback` (back to the version live before)."
    )

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        train = actions.add_parser("train", help="train, judge and promote when better than the live one")
        train.add_argument("--no-promote", action="store_true", help="judge it, but leave the live ranker alone")
        actions.add_parser("list", help="every version, newest first")
        promote = actions.add_parser("promote", help="make a version live")
        promote.add_argument("version", type=int)
        actions.add_parser("rollback", help="take the live version down and put back the one before it")

    def handle(self, *args, **options):
        getattr(self, f"_{options['action'].replace('-', '_')}")(options)

    def _train(self, options):
        outcome = retraining.ranker_retrain(trigger="command", promote=not options["no_promote"])
        version = outcome.version
        line = f"ranker {version.pk}: {version.get_status_display()}. {outcome.reason}"
        if version.status == RankerVersion.Status.FAILED:
            raise CommandError(line)
        self.stdout.write(self.style.SUCCESS(line) if outcome.promoted else line)

    def _list(self, options):
        versions = list(ranker_versions()[:50])
        if not versions:
            self.stdout.write("No ranker trained yet: today's order serves. Train one with `manage.py ranker train`.")
            return
        for version in versions:
            metrics = version.metrics
            ndcg = (
                f"NDCG@10 {metrics['ndcg10']:.4f} vs {metrics['ndcg10_live']:.4f}" if "ndcg10" in metrics else "no NDCG"
            )
            self.stdout.write(
                f"{version.pk:>5}  {version.status:<11}  {version.created_at:%Y-%m-%d %H:%M}  "
                f"{metrics.get('training_searches', 0)} searches  {ndcg}  {version.message}"
            )

    def _promote(self, options):
        version = RankerVersion.objects.filter(pk=options["version"]).first()
        if version is None:
            raise CommandError(f"No ranker version {options['version']}; `manage.py ranker list` shows them.")
        try:
            previous = services.ranker_promote(version)
        except services.PromotionRefused as exc:
            raise CommandError(str(exc)) from None
        before = f" (ranker {previous.pk} retired)" if previous else ""
        self.stdout.write(self.style.SUCCESS(f"Ranker {version.pk} is live{before}."))

    def _rollback(self, options):
        taken_down, put_back = services.ranker_rollback()
        if taken_down is None:
            raise CommandError("No ranker is live: nothing to roll back (today's order serves).")
        now = f"ranker {put_back.pk} is live again" if put_back else "today's order serves"
        self.stdout.write(self.style.SUCCESS(f"Ranker {taken_down.pk} rolled back: {now}."))
