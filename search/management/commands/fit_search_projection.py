from django.core.management.base import BaseCommand, CommandError

from search import reranking
from search.models import SearchProjection
from vision import selectors as vision_selectors


class Command(BaseCommand):
    help = (
        "Refit the learned re-ranking projection on the catalogue's current vectors and "
        "categories (a new version, activated), list the versions, activate an earlier version, "
        "or go back to raw cosine (off; the periodic refit then leaves it off)."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", nargs="?", choices=["fit", "list", "activate", "off"], default="fit")
        parser.add_argument("version", nargs="?", help="with activate: the version to use again (see list)")
        parser.add_argument("--dimension", type=int, default=None, help="PCA dimensions kept (default 256)")
        parser.add_argument(
            "--regularisation",
            type=float,
            default=None,
            help="shrinkage of the within-category scatter towards the identity (default 1.0)",
        )

    def handle(self, *args, action, version, dimension, regularisation, **options):
        model = vision_selectors.embedding_model_active()
        if model is None:
            raise CommandError("no active image model yet: process catalogue images first (manage.py process_images)")
        if action == "off":
            count = reranking.projection_deactivate(model)
            self.stdout.write(f"{count} projection(s) retired; photo search uses raw cosine and the category vote.")
            return
        if action == "activate":
            projection = SearchProjection.objects.filter(embedding_model=model, version=version or "").first()
            if projection is None:
                raise CommandError(
                    f"no projection version {version!r} for {model.name} {model.version} "
                    "(fit_search_projection list shows them)"
                )
            reranking.projection_activate(projection)
            self.stdout.write(f"Projection {projection.version} is active again for {model.name} {model.version}.")
            return
        if action == "fit":
            try:
                projection = reranking.projection_fit(model, dimension=dimension, regularisation=regularisation)
            except reranking.CannotFitProjection as exc:
                raise CommandError(str(exc)) from None
            fit = projection.fit
            self.stdout.write(
                f"Projection {projection.version} is active for {model.name} {model.version}: fitted on "
                f"{fit['images']} images in {fit['categories']} categories, {fit['dimension']} dimensions, "
                f"in {fit['seconds']} s."
            )
            return
        for projection in SearchProjection.objects.filter(embedding_model=model).defer("arrays"):
            fit = projection.fit
            self.stdout.write(
                f"{projection.status:8} {projection.version} {fit.get('images')} images, "
                f"{fit.get('categories')} categories, {projection.dimension}-d, created {projection.created_at:%Y-%m-%d %H:%M}"
            )
