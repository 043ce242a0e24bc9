from orders import selectors


def cart(request):
    """The header's cart count. Read from the session only (no product query); lazy, so
    pages that do not show it never load the session."""
    session = getattr(request, "session", None)
    return {"cart_item_count": (lambda: selectors.cart_item_count(session)) if session is not None else 0}
