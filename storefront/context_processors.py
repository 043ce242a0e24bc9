from django.conf import settings

from catalog import selectors


def category_tree_for(request) -> selectors.CategoryTree:
    """The category tree for this request, loaded once: the header, home tiles, breadcrumbs
    and subcategory links all share it."""
    tree = getattr(request, "_catalog_category_tree", None)
    if tree is None:
        tree = request._catalog_category_tree = selectors.category_tree()
    return tree


def navigation(request):
    """Top-level categories (each with `subcategories`) for the site navigation.

    Lazy: no query unless a template uses it, and one query however often it is used.
    """
    return {"nav_categories": lambda: category_tree_for(request).roots}


def photo_search(request) -> dict:
    """The upload limit, on every page's header photo form: the photo widget checks a file's
    size before sending it (the server checks again)."""
    return {"photo_upload_max_bytes": settings.API_MAX_UPLOAD_BYTES}
