"""Static and media files. WhiteNoise serves fingerprinted, compressed static files."""

from visualshop.env import env_int, env_str
from visualshop.paths import VAR_DIR

STATIC_URL = "/static/"
STATIC_ROOT = env_str("DJANGO_STATIC_ROOT") or str(VAR_DIR / "staticfiles")
MEDIA_URL = "/media/"
MEDIA_ROOT = env_str("DJANGO_MEDIA_ROOT") or str(VAR_DIR / "media")

from visualshop.paths import BASE_DIR  # noqa: E402

STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Uploads bigger than this go to a temporary file instead of memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = env_int("FILE_UPLOAD_MAX_MEMORY_SIZE", 5 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 25 * 1024 * 1024)

from visualshop.env import env_bool  # noqa: E402

# The embedded shop serves uploaded media itself; production puts a web server or
# object storage in front and turns this off.
SERVE_MEDIA = env_bool("SERVE_MEDIA", True)
