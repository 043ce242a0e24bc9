from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.static import serve

from visualshop.metrics import metrics_view

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
