from django.urls import path, register_converter

from orders import views
from orders.selectors import CartLineKey

app_name = "orders"


class CartLineConverter:
    """A cart line in a URL: "12" (a product sold whole) or "12-34" (its size 34)."""

    regex = r"[0-9]+(?:-[0-9]+)?"

    def to_python(self, value: str) -> CartLineKey:
        key = CartLineKey.parse(value)
        if key is None:  # "0" or "0-3": no such line, as for any unknown id
            raise ValueError(value)
        return key

    def to_url(self, value) -> str:
        return str(value)


register_converter(CartLineConverter, "cartline")

urlpatterns = [
    path("cart/", views.cart_detail, name="cart"),
    path("cart/add/", views.cart_add, name="cart_add"),
    path("cart/items/<cartline:line>/", views.cart_update, name="cart_update"),
    path("cart/items/<cartline:line>/remove/", views.cart_remove, name="cart_remove"),
    path("checkout/", views.checkout, name="checkout"),
    path("orders/<str:reference>/", views.order_detail, name="order"),
]
