"""Fetch one web page within size and time limits, connecting only to addresses a guard allowed.

Every hop is resolved and judged by ``AddressGuard`` and the connection goes to the very address
that was judged: the TCP connection is opened to the IP, the URL's host name is sent as the
``Host`` header and, for https, as the TLS server name the certificate is checked against.
Redirects are followed here, at most ``MAX_REDIRECTS``, each hop judged again. No HTTP proxy is
used: a proxy would resolve the name itself, after the check.
"""

from __future__ import annotations

import http.client
import logging
import ssl
import time
from dataclasses import dataclass
from urllib.parse import quote, urljoin, urlsplit

from rag.articles.addresses import AddressGuard, IPAddress
from rag.errors import InputError

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5
REDIRECTS = {301, 302, 303, 307, 308}
WEB_TYPES = {"text/html", "application/xhtml+xml", "text/plain", "text/markdown"}
HEADERS = {"User-Agent": "rag-news-indexer/1", "Accept": "text/html, text/plain", "Connection": "close"}
_PATH_SAFE = "/?&=%:@!$'()*+,;~[]"  # what stays as it is in a request target; the rest is %-escaped


@dataclass(frozen=True)
class Page:
    """What a fetch got: the body, its media type and declared charset, and the last address."""

    body: bytes
    media_type: str
    charset: str | None
    url: str


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to a checked IP address; the certificate is verified for the URL's host name."""

    def __init__(self, ip: str, port: int, server_name: str, timeout: float, context: ssl.SSLContext) -> None:
        super().__init__(ip, port, timeout=timeout, context=context)
        self._server_name = server_name

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)  # TCP to self.host, the IP
        self.sock = self._context.wrap_socket(self.sock, server_hostname=self._server_name)  # type: ignore[attr-defined]


def fetch(url: str, max_bytes: int, timeout: float, guard: AddressGuard) -> Page:
    """The page at ``url``: at most ``max_bytes`` within ``timeout`` seconds, every hop allowed by ``guard``."""
    deadline = time.monotonic() + timeout
    slow = InputError(f"{url}: no complete answer within {timeout:g} s; try again later or save the page as a file.")
    current, subject = url, url
    try:
        for _ in range(MAX_REDIRECTS + 1):
            conn, resp = _open(current, subject, guard, deadline, slow)
            try:
                if resp.status in REDIRECTS:
                    location = resp.getheader("Location")
                    if not location:
                        raise InputError(f"{url}: the server answered {resp.status} without saying where to go.")
                    current = urljoin(current, location.strip())
                    if urlsplit(current).scheme.lower() not in ("http", "https"):
                        raise InputError(f"{url} redirects to {current}; only http(s) addresses are fetched.")
                    subject = f"{url} (redirected to {current})"
                    continue
                if not 200 <= resp.status < 300:
                    raise InputError(f"{url}: the server answered {resp.status} {resp.reason}; check the address.")
                return _read(url, current, resp, max_bytes, deadline, slow)
            finally:
                conn.close()
    except TimeoutError:
        raise slow from None
    except ssl.SSLError as exc:
        why = getattr(exc, "verify_message", None) or exc.reason or exc
        raise InputError(f"{url}: the secure connection failed ({why}); check the address.") from None
    except (http.client.HTTPException, OSError) as exc:
        raise InputError(f"{url}: the connection failed ({exc}); try again later.") from None
    raise InputError(f"{url}: more than {MAX_REDIRECTS} redirects; give the article's own address.")


def _open(
    url: str, subject: str, guard: AddressGuard, deadline: float, slow: InputError
) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
    """Connect to an allowed address of ``url``'s host and send the request."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in ("http", "https") or not host:
        raise InputError(f"{subject}: not an http(s) address with a host name; check it.")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise InputError(f"{subject}: the port is not a number from 1 to 65535; check the address.") from None
    addresses = guard.resolve(subject, host, port)
    target = quote(parts.path or "/", safe=_PATH_SAFE) + (
        f"?{quote(parts.query, safe=_PATH_SAFE)}" if parts.query else ""
    )
    headers = {"Host": _host_header(host, port, scheme), **HEADERS}
    failure: OSError | None = None
    for ip in addresses:
        conn = _connection(scheme, ip, port, host, _left(deadline, slow))
        try:
            conn.connect()
        except (ssl.SSLError, TimeoutError):
            conn.close()
            raise
        except OSError as exc:  # refused or unreachable: try the host's next address
            conn.close()
            failure = exc
            continue
        try:
            conn.request("GET", target, headers=headers)
            return conn, conn.getresponse()
        except BaseException:
            conn.close()
            raise
    raise InputError(f"{subject}: cannot fetch it ({failure}); check the address and the network.")


def _connection(scheme: str, ip: IPAddress, port: int, host: str, timeout: float) -> http.client.HTTPConnection:
    if scheme == "https":
        return _PinnedHTTPS(str(ip), port, host, timeout, ssl.create_default_context())
    return http.client.HTTPConnection(str(ip), port, timeout=timeout)


def _host_header(host: str, port: int, scheme: str) -> str:
    if ":" in host:
        name = f"[{host}]"
    else:
        name = host if host.isascii() else host.encode("idna").decode("ascii")
    return name if port == (443 if scheme == "https" else 80) else f"{name}:{port}"


def _left(deadline: float, slow: InputError) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise slow
    return left


def _read(
    url: str, final: str, resp: http.client.HTTPResponse, max_bytes: int, deadline: float, slow: InputError
) -> Page:
    ctype = resp.headers.get_content_type()
    if ctype not in WEB_TYPES:
        raise InputError(f"{url} is {ctype}, not a web page or text; give the address of an article.")
    length = resp.headers.get("Content-Length")
    if length and length.isdigit() and int(length) > max_bytes:
        raise _too_big(url, int(length), max_bytes)
    body = bytearray()
    while True:
        _left(deadline, slow)
        block = resp.read1(65536)
        if not block:
            break
        body.extend(block)
        if len(body) > max_bytes:
            raise _too_big(url, len(body), max_bytes)
    return Page(bytes(body), ctype, resp.headers.get_content_charset(), final)


def _too_big(url: str, size: int, limit: int) -> InputError:
    return InputError(f"{url} is over the limit of {limit:,} bytes ({size:,} or more); raise RAG_MAX_FILE_BYTES.")
