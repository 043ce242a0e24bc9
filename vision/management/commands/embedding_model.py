from django.core.management.base import BaseCommand, CommandError

from vision import services
from vision.models import EmbeddingModel


class Command(BaseCommand):
    help = (
        "Image model versions. `list` shows them; `activate --variant int8|fp32` builds that "
        "variant (int8 is calibrated on catalogue images), embeds the catalogue with it in the "
        "background while the active version keeps serving, then switches search to it."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["list", "activate"])
        parser.add_argument("--variant", choices=["fp32", "int8"], default=None)

    def handle(self, *args, action, variant, **options):
        if action == "activate":
            if variant is None:
                raise CommandError("activate needs --variant fp32 or --variant int8")
            if not EmbeddingModel.objects.filter(status=EmbeddingModel.Status.ACTIVE).exists():
                model = services.embedding_model_ensure_active()
                self.stdout.write(f"No active version yet: {model.version} is active now.")
                if model.variant == variant:
                    return
            try:
                model = services.embedding_model_register(variant)
                model = services.embedding_model_start_rebuild(model)
            except services.CannotBuildModel as exc:
                raise CommandError(str(exc)) from None
            if model.status == EmbeddingModel.Status.ACTIVE:
                self.stdout.write(f"{model.version} is already the active version.")
            else:
                self.stdout.write(f"Rebuilding the catalogue with {model.version}; search switches when it is done.")
            return
        for model in EmbeddingModel.objects.order_by("-created_at"):
            self.stdout.write(
                f"{model.status:9} {model.name} {model.version} ({model.variant}, {model.dimension}-d, "
                f"{model.embeddings.count()} vectors)"
            )
