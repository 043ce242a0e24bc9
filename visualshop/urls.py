from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from visualshop.media import media_serve
from visualshop.metrics import metrics_view

# Malformed requests (too many parameters, a broken multipart body, a query string that is not
# UTF-8): the API's JSON error under /api/, the shop's 400 page elsewhere.
handler400 = "visualshop.error_pages.bad_request"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("metrics", metrics_view, name="metrics"),
    path("api/v1/", include("api.urls")),
    path("", include("tracking.urls")),
    path("", include("orders.urls")),
    path("", include("storefront.urls")),
]

# Uploaded media (visualshop.media): derivatives for everyone, originals and query photos for
# staff only. With SERVE_MEDIA off a front web server serves derived/ and passes the rest here.
urlpatterns.append(path(f"{settings.MEDIA_URL.strip('/')}/<path:path>", media_serve, name="media"))
