"""Getting a feed's image bytes from a local path or an http(s) URL, with guards.

Fetching image URLs is the top source of import bug reports, so every failure is
one clear sentence: bounded time, bounded size, content sniffed (never trusted
from the extension or Content-Type), and private addresses refused unless allowed
(a feed must not make the shop's server probe its own network).
"""

from __future__ import annotations

import ipaddress
import socket
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import requests

from catalog.image_files import InvalidImage, inspect_image

REDIRECT_STATUSES = {301, 302, 303, 307, 308}
USER_AGENT = "VisualShop-catalogue-import/1.0"


class ImageFetchError(ValueError):
    """The image could not be had; str() says why in one sentence."""


@dataclass(frozen=True)
class FetchLimits:
    timeout_seconds: float
    max_bytes: int
    max_redirects: int
    allow_private: bool = False


def fetch_image(ref: str, *, base_dir: Path, limits: FetchLimits, session: requests.Session | None = None) -> bytes:
    """Bytes of the image `ref` names (URL, file:// URL or path relative to base_dir), checked to be an image."""
    scheme = urllib.parse.urlsplit(ref).scheme.lower()
    if scheme in ("http", "https"):
        content = _fetch_url(ref, limits, session or requests.Session())
    elif scheme == "file":
        content = _read_file(Path(urllib.parse.unquote(urllib.parse.urlsplit(ref).path)), limits)
    elif scheme and len(scheme) > 1:  # 'c:' would be a Windows drive, not a scheme
        raise ImageFetchError(f"unsupported URL scheme {scheme!r} in {ref!r} (use http, https or a file path)")
    else:
        path = Path(ref)
        content = _read_file(path if path.is_absolute() else base_dir / path, limits)
    try:
        inspect_image(content)
    except InvalidImage as exc:
        raise ImageFetchError(f"{ref}: {exc}") from None
    return content


def _read_file(path: Path, limits: FetchLimits) -> bytes:
    try:
        size = path.stat().st_size
        if size > limits.max_bytes:
            raise ImageFetchError(f"{path}: file is {size} bytes, over the {limits.max_bytes}-byte limit")
        return path.read_bytes()
    except FileNotFoundError:
        raise ImageFetchError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ImageFetchError(f"{path}: is a folder, not an image file") from None
    except PermissionError:
        raise ImageFetchError(f"{path}: permission denied") from None
    except OSError as exc:
        raise ImageFetchError(f"{path}: cannot be read ({exc.strerror or exc})") from None


def check_public_host(url: str) -> None:
    """Refuse URLs whose host resolves to a loopback, private, link-local or reserved address."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname
    if not host:
        raise ImageFetchError(f"{url}: no host in URL")
    try:
        infos = socket.getaddrinfo(host, parts.port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ImageFetchError(f"{url}: cannot resolve host {host!r} ({exc.strerror})") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if not address.is_global:
            raise ImageFetchError(
                f"{url}: refused, {host} is a private or loopback address ({address}); use --allow-private to allow"
            )


def _fetch_url(url: str, limits: FetchLimits, session: requests.Session) -> bytes:
    deadline = time.monotonic() + limits.timeout_seconds
    for _ in range(limits.max_redirects + 1):
        if not limits.allow_private:
            check_public_host(url)
        try:
            response = session.get(
                url, stream=True, allow_redirects=False, timeout=limits.timeout_seconds,
                headers={"User-Agent": USER_AGENT, "Accept": "image/*"},
            )
        except requests.Timeout:
            raise ImageFetchError(f"{url}: timed out after {limits.timeout_seconds:g} s") from None
        except requests.RequestException as exc:
            raise ImageFetchError(f"{url}: connection failed ({_short(exc)})") from None
        with response:
            if response.status_code in REDIRECT_STATUSES and response.headers.get("Location"):
                next_url = urllib.parse.urljoin(url, response.headers["Location"])
                if urllib.parse.urlsplit(next_url).scheme not in ("http", "https"):
                    raise ImageFetchError(f"{url}: redirected to a non-http URL {next_url!r}")
                url = next_url
                continue
            if response.status_code != 200:
                raise ImageFetchError(f"{url}: HTTP {response.status_code} {response.reason or ''}".rstrip())
            return _read_body(url, response, limits, deadline)
    raise ImageFetchError(f"{url}: more than {limits.max_redirects} redirects")


def _read_body(url: str, response: requests.Response, limits: FetchLimits, deadline: float) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limits.max_bytes:
        raise ImageFetchError(f"{url}: {declared} bytes, over the {limits.max_bytes}-byte limit")
    chunks, total = [], 0
    try:
        for chunk in response.iter_content(64 * 1024):
            total += len(chunk)
            if total > limits.max_bytes:
                raise ImageFetchError(f"{url}: more than {limits.max_bytes} bytes, over the limit")
            if time.monotonic() > deadline:  # a server trickling bytes must not hold the import
                raise ImageFetchError(f"{url}: timed out after {limits.timeout_seconds:g} s")
            chunks.append(chunk)
    except requests.RequestException as exc:
        # requests reports a read timeout in the body as a ConnectionError.
        if isinstance(exc, requests.Timeout) or "timed out" in str(exc):
            raise ImageFetchError(f"{url}: timed out after {limits.timeout_seconds:g} s") from None
        raise ImageFetchError(f"{url}: download failed ({_short(exc)})") from None
    return b"".join(chunks)


def _short(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) < 200 else text[:200] + "..."
