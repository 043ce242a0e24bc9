from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.static import serve

from visualshop.metrics import metrics_view

# Malformed requests (too many parameters, a broken multipart body, a query string that is not
# UTF-8): the API's JSON error under /api/, the shop's 400 page elsewhere.
handler400 = "visualshop.bad_requests.bad_request"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("metrics", metrics_view, name="metrics"),
    path("api/v1/", include("api.urls")),
    path("", include("orders.urls")),
    path("", include("storefront.urls")),
]

# Uploaded media: served by Django itself here; behind a real web server in production
# when SERVE_MEDIA is off.
if settings.SERVE_MEDIA:
    urlpatterns.append(
        path(f"{settings.MEDIA_URL.strip('/')}/<path:path>", serve, {"document_root": settings.MEDIA_ROOT})
    )
