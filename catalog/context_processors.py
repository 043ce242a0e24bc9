from catalog.selectors import category_roots


def navigation(request):
    """Top-level categories for the site navigation (lazy: no query unless a template uses it)."""
    return {"nav_categories": category_roots}
