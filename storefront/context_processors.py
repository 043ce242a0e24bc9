from django.conf import settings


def photo_search(request) -> dict:
    """The upload limit, on every page's header photo form: the photo widget checks a file's
    size before sending it (the server checks again)."""
    return {"photo_upload_max_bytes": settings.API_MAX_UPLOAD_BYTES}
