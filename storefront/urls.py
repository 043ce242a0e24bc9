from django.urls import path

from storefront.views import browse, query_photo, search_results

app_name = "storefront"

urlpatterns = [
    path("", browse.home, name="home"),
    path("search/", search_results.results, name="search"),
    path("search/photo/", search_results.photo_upload, name="search-photo"),
    path("search/photo/<str:token>.jpg", query_photo.query_photo, name="query-photo"),
    path("c/<slug:slug>/", browse.category_detail, name="category"),
    path("p/<int:pk>/<slug:slug>/", browse.product_detail, name="product"),
]
