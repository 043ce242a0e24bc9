"""Getting a feed's image bytes from an http(s) URL (catalog.url_fetch, with its guards) or
from a local path read only inside the feed's own folder (catalog.importing.local_files)."""

from __future__ import annotations

import urllib.parse
from pathlib import Path

import requests

from catalog.importing.local_files import LocalImageError, read_confined
from catalog.url_fetch import FetchLimits, ImageFetchError, checked_image, fetch_image_url


def fetch_image(
    ref: str,
    *,
    base_dir: Path,
    limits: FetchLimits,
    session: requests.Session | None = None,
    image_root: Path | None = None,
    root_name: str = "the feed folder",
) -> bytes:
    """Bytes of the image `ref` names (an http(s) URL or a path relative to base_dir), checked to be an image.

    A local path must lead to a file inside image_root (base_dir when not given), which
    messages call root_name: a feed may use its own pictures, never any file on the
    server. file:// URLs are refused, not read: they are only a way of spelling a
    server path that no shop feed needs.
    """
    try:
        scheme = urllib.parse.urlsplit(ref).scheme.lower()
    except ValueError as exc:  # "http://[::1": Python cannot split it
        raise ImageFetchError(ref, f"invalid URL ({exc})") from None
    if scheme in ("http", "https"):
        return fetch_image_url(ref, limits=limits, session=session)
    if scheme == "file":
        raise ImageFetchError(ref, f"refused, file:// URLs are not accepted (use a path relative to {root_name})")
    if scheme and len(scheme) > 1:  # 'c:' would be a Windows drive, not a scheme
        raise ImageFetchError(ref, f"unsupported URL scheme {scheme!r} (use http, https or a file path)")
    try:
        content = read_confined(
            ref, base_dir=base_dir, root=image_root or base_dir, root_name=root_name, max_bytes=limits.max_bytes
        )
    except LocalImageError as exc:
        raise ImageFetchError(ref, str(exc)) from None
    return checked_image(ref, content)
