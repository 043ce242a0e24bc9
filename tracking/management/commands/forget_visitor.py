import uuid

from django.core.management.base import BaseCommand, CommandError

from tracking import services


class Command(BaseCommand):
    help = (
        "Forget a visitor: delete every event recorded for the visitor id (the random id in the "
        "shop's visitor cookie) and the visitor's profile."
    )

    def add_arguments(self, parser):
        parser.add_argument("visitor_id", help="the visitor id, a UUID such as 0f8c3c62-5b0e-4b4f-9a55-2b8d2f1e6d10")

    def handle(self, *args, **options):
        try:
            visitor_id = uuid.UUID(options["visitor_id"])
        except ValueError:
            raise CommandError(f"{options['visitor_id']!r} is not a visitor id (a UUID).") from None
        events, had_profile = services.visitor_forget(visitor_id)
        if not events and not had_profile:
            self.stdout.write(f"Nothing recorded for visitor {visitor_id}: nothing to delete.")
            return
        profile = "and its profile " if had_profile else ""
        self.stdout.write(self.style.SUCCESS(f"Visitor {visitor_id} forgotten: {events} event(s) {profile}deleted."))
