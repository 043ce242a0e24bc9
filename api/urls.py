"""/api/v1/: search, products, the OpenAPI schema and its interactive docs."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from api.views.fallback import NoEndpointView
from api.views.products import ProductDetailView, ProductListView, SimilarProductsView
from api.views.search import ImageSearchView, TextSearchView

app_name = "api"

urlpatterns = [
    path("search", TextSearchView.as_view(), name="search-text"),
    path("search/image", ImageSearchView.as_view(), name="search-image"),
    path("products/", ProductListView.as_view(), name="product-list"),
    path("products/<int:product_id>/", ProductDetailView.as_view(), name="product-detail"),
    path("products/<int:product_id>/similar/", SimilarProductsView.as_view(), name="product-similar"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    # Last: anything else under /api/v1/ is a JSON 404.
    re_path(r"^[\s\S]*\Z", NoEndpointView.as_view(), name="no-endpoint"),  # newlines too
]
