from django.apps import AppConfig


class StorefrontConfig(AppConfig):
    """The shop's server-rendered pages: home, category listings, product pages, search results.

    An interface layer like the API: it reads catalog and search (imports flow catalog <-
    search <- storefront), and holds no business logic of its own.
    """

    default_auto_field = "django.db.models.BigAutoField"
    name = "storefront"
