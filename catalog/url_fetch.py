"""Fetching an image from an http(s) URL that someone else chose (a feed's image link, a
shopper's photo URL), with guards.

Fetching image URLs is the top source of import bug reports, so every failure is one clear
sentence (ImageFetchError): bounded time, bounded size, redirects followed by hand and each
hop checked, content sniffed (never trusted from the extension or Content-Type), and
non-public addresses refused unless allowed (a URL must not make the shop's server probe its
own network). The importer (catalog.importing.fetch) and photo search by URL
(search.product_search) use it; a feed's local paths are catalog.importing.local_files'.
"""

from __future__ import annotations

import ipaddress
import socket
import time
import urllib.parse
from dataclasses import dataclass

import requests
import urllib3
from requests.adapters import HTTPAdapter

from catalog.image_files import InvalidImage, inspect_image

REDIRECT_STATUSES = {301, 302, 303, 307, 308}
USER_AGENT = "VisualShop-catalogue-import/1.0"
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class ImageFetchError(ValueError):
    """The image could not be had; str() says why in one sentence, naming the image as the caller did."""

    def __init__(self, ref: str, reason: str) -> None:
        super().__init__(f"{ref}: {reason}")
        self.ref, self.reason = ref, reason


@dataclass(frozen=True)
class FetchLimits:
    timeout_seconds: float
    max_bytes: int
    max_redirects: int
    allow_private: bool = False


def fetch_image_url(url: str, *, limits: FetchLimits, session: requests.Session | None = None) -> bytes:
    """Bytes of the image at an http(s) URL, under every guard, checked to be an image."""
    try:
        scheme = urllib.parse.urlsplit(url).scheme.lower()
    except ValueError as exc:  # "http://[::1": Python cannot split it
        raise ImageFetchError(url, f"invalid URL ({exc})") from None
    if scheme not in ("http", "https"):
        raise ImageFetchError(url, f"unsupported URL scheme {scheme!r} (use http or https)")
    return checked_image(url, _fetch_url(url, limits, session or image_http_session()))


def checked_image(ref: str, content: bytes) -> bytes:
    """The content, once sniffed to be an image the shop accepts (catalog.image_files)."""
    try:
        inspect_image(content)
    except InvalidImage as exc:
        raise ImageFetchError(ref, str(exc)) from None
    return content


def resolve_host(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to (an IP literal resolves to itself)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    # The scope of a link-local IPv6 address ("fe80::1%eth0") is no part of the address.
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos))


def non_public_kind(address: IPAddress) -> str | None:
    """Why the address is not on the public internet ('loopback', 'private', ...), or None if it is."""
    if isinstance(address, ipaddress.IPv6Address):
        # IPv6 forms that carry an IPv4 address reach that address: ::ffff:127.0.0.1
        # is 127.0.0.1, and so are its 6to4 and Teredo encodings.
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo or (None, None))[1]
        if embedded is not None:
            return non_public_kind(embedded)
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
        # e.g. 100.64.0.0/10 (carrier-grade NAT): neither private nor public
        ("not globally routable", not address.is_global),
    )
    return next((kind for kind, applies in checks if applies), None)


def checked_address(url: str, *, allow_private: bool) -> IPAddress:
    """The address to connect to for `url`, after refusing hosts with any non-public address.

    Every address is checked, not just the first: which one a connection would use
    is up to the resolver.
    """
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname
    if not host:
        raise ImageFetchError(url, "no host in URL")
    try:
        addresses = resolve_host(host, parts.port or (443 if parts.scheme == "https" else 80))
    except (socket.gaierror, UnicodeError) as exc:
        raise ImageFetchError(url, f"cannot resolve host {host!r} ({getattr(exc, 'strerror', None) or exc})") from None
    except ValueError as exc:  # a port out of range
        raise ImageFetchError(url, f"invalid URL ({exc})") from None
    if not addresses:
        raise ImageFetchError(url, f"cannot resolve host {host!r}")
    if not allow_private:
        for address in addresses:
            kind = non_public_kind(address)
            if kind:
                raise ImageFetchError(
                    url, f"refused, {host} is not a public address ({address}: {kind}); use --allow-private to allow"
                )
    return addresses[0]


class _PinnedAddressAdapter(HTTPAdapter):
    """Connects to the address the guard checked instead of resolving the name again.

    Otherwise a name that answers a public address to the check and a private one
    to the connection (DNS rebinding) would walk straight past the guard. TLS still
    verifies the certificate against the host name.
    """

    def __init__(self) -> None:
        super().__init__(max_retries=0)
        self.pins: dict[str, str] = {}  # host name in the URL -> checked address

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        host = host_params["host"]
        if host not in self.pins:
            # Only _fetch_url sends through this adapter, and it pins every host first.
            raise requests.ConnectionError(f"{host}: address not checked before connecting")
        host_params["host"] = self.pins[host]
        if host_params["scheme"] == "https":
            pool_kwargs["server_hostname"] = host
            pool_kwargs["assert_hostname"] = host
        return host_params, pool_kwargs


def image_http_session() -> requests.Session:
    """A session for image URLs: pinned addresses, no proxies or .netrc from the environment.

    A proxy would connect on our behalf to whatever the name resolves to then, and
    .netrc credentials have no business going to a feed's image hosts.
    """
    session = requests.Session()
    session.trust_env = False
    adapter = _PinnedAddressAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers.update({"User-Agent": USER_AGENT, "Accept": "image/*"})
    return session


def _fetch_url(url: str, limits: FetchLimits, session: requests.Session) -> bytes:
    """Follow redirects by hand so that every hop's host is checked and pinned."""
    first_url = url
    deadline = time.monotonic() + limits.timeout_seconds  # one budget for all hops and the body
    for hop in range(limits.max_redirects + 1):
        try:
            # Spelled as requests will send it (IDNA host, quoted path), so the host
            # checked and pinned is exactly the host the adapter is asked for.
            url = requests.Request("GET", url).prepare().url
        except requests.RequestException as exc:
            raise ImageFetchError(first_url, f"invalid URL ({_root_cause(exc)})") from None
        try:
            address = checked_address(url, allow_private=limits.allow_private)
        except ImageFetchError as exc:
            if hop == 0:
                raise ImageFetchError(first_url, exc.reason) from None
            raise ImageFetchError(first_url, f"redirected to {url}: {exc.reason}") from None
        parts = urllib.parse.urlsplit(url)
        adapter = session.get_adapter(url)
        if not isinstance(adapter, _PinnedAddressAdapter):
            raise TypeError("image URLs need a session from image_http_session()")
        adapter.pins[parts.hostname] = str(address)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ImageFetchError(first_url, f"timed out after {limits.timeout_seconds:g} s")
        try:
            response = session.get(
                url,
                stream=True,
                allow_redirects=False,
                timeout=remaining,
                # The connection goes to an address, so the name travels in the Host header.
                headers={"Host": parts.netloc.rpartition("@")[2]},
            )
        except requests.Timeout:
            raise ImageFetchError(first_url, f"timed out after {limits.timeout_seconds:g} s") from None
        except requests.exceptions.SSLError as exc:
            raise ImageFetchError(first_url, f"TLS check failed for {parts.hostname} ({_root_cause(exc)})") from None
        except requests.RequestException as exc:
            raise ImageFetchError(first_url, f"connection to {parts.hostname} failed ({_root_cause(exc)})") from None
        except ValueError as exc:  # requests splits a redirect's Location even when not following it
            raise ImageFetchError(first_url, f"redirected to an unusable URL ({exc})") from None
        with response:
            location = response.headers.get("Location")
            if response.status_code in REDIRECT_STATUSES and location:
                next_url = urllib.parse.urljoin(url, location)
                if urllib.parse.urlsplit(next_url).scheme not in ("http", "https"):
                    raise ImageFetchError(first_url, f"redirected to a non-http URL {next_url!r}")
                url = next_url
                continue
            if response.status_code != 200:
                status = f"HTTP {response.status_code} {response.reason or ''}".rstrip()
                raise ImageFetchError(first_url, status if hop == 0 else f"{status} (at {url})")
            return _read_body(first_url, response, limits, deadline)
    raise ImageFetchError(first_url, f"more than {limits.max_redirects} redirects")


def _read_body(url: str, response: requests.Response, limits: FetchLimits, deadline: float) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limits.max_bytes:
        raise ImageFetchError(url, f"{declared} bytes, over the {limits.max_bytes}-byte limit")
    chunks, total = [], 0
    try:
        while True:
            # read1 returns whatever has arrived: read() would wait for a full chunk, so a
            # server trickling bytes could hold the import far past the deadline. One wait
            # is still bounded by the socket timeout, so the worst case is twice the limit.
            chunk = response.raw.read1(64 * 1024, decode_content=True)
            if not chunk:
                break
            total += len(chunk)
            if total > limits.max_bytes:  # the server may send more than it declared, or declare nothing
                raise ImageFetchError(url, f"more than {limits.max_bytes} bytes, over the limit")
            if time.monotonic() > deadline:
                raise ImageFetchError(url, f"timed out after {limits.timeout_seconds:g} s")
            chunks.append(chunk)
    except (urllib3.exceptions.TimeoutError, TimeoutError):
        raise ImageFetchError(url, f"timed out after {limits.timeout_seconds:g} s") from None
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise ImageFetchError(url, f"download failed ({_short(exc)})") from None
    return b"".join(chunks)


def _root_cause(exc: Exception) -> str:
    """The innermost reason of a requests error ("hostname 'a' doesn't match 'b'"), not urllib3's wrapping."""
    cause: BaseException = exc
    while True:
        inner = getattr(cause, "reason", None) or (cause.args[0] if cause.args else None)
        if not isinstance(inner, BaseException):
            break
        cause = inner
    return _short(cause)


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) < 200 else text[:200] + "..."
