from django.urls import path

from orders import views

app_name = "orders"

urlpatterns = [
    path("cart/", views.cart_detail, name="cart"),
    path("cart/add/", views.cart_add, name="cart_add"),
    path("cart/items/<int:product_id>/", views.cart_update, name="cart_update"),
    path("cart/items/<int:product_id>/remove/", views.cart_remove, name="cart_remove"),
    path("checkout/", views.checkout, name="checkout"),
    path("orders/<str:reference>/", views.order_detail, name="order"),
]
