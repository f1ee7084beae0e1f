"""Fetch one web page within size and time limits, connecting only to addresses a guard allowed.

Every hop is resolved and judged by ``AddressGuard`` and the connection goes to the very address
that was judged: the TCP connection is opened to the IP, the URL's host name is sent as the
``Host`` header and, for https, as the TLS server name the certificate is checked against.
Redirects are followed here, at most ``MAX_REDIRECTS``, each hop judged again.

With a proxy configured for the URL's scheme (``Proxies``, from the settings; ``NO_PROXY`` hosts
bypass it) the target is judged the same way and the proxy is asked for the checked address, not
the name: https opens a tunnel with ``CONNECT <ip>:<port>`` and speaks TLS through it to the host
name; http sends the request as ``GET http://<ip>:<port>/path`` with the name in ``Host``. The
proxy's own address is an operator setting and is not judged.
"""

from __future__ import annotations

import http.client
import logging
import ssl
import time
from dataclasses import dataclass
from urllib.parse import quote, urljoin, urlsplit

from rag.articles.addresses import AddressGuard, IPAddress
from rag.articles.proxy import (
    GATEWAY_ERRORS,
    Proxies,
    Proxy,
    ProxyAnswer,
    ProxyFailure,
    ProxyUnreachable,
    authority,
    clean_reason,
    open_tunnel,
)
from rag.errors import InputError

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5
REDIRECTS = {301, 302, 303, 307, 308}
WEB_TYPES = {"text/html", "application/xhtml+xml", "text/plain", "text/markdown"}
HEADERS = {"User-Agent": "rag-news-indexer/1", "Accept": "text/html, text/plain", "Connection": "close"}
_PATH_SAFE = "/?&=%:@!$'()*+,;~[]"  # what stays as it is in a request target; the rest is %-escaped
DIRECT = Proxies()


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


class _ToProxy(http.client.HTTPConnection):
    """Plain HTTP to a proxy; the request names the checked IP in absolute form."""

    def __init__(self, proxy: Proxy, timeout: float) -> None:
        super().__init__(proxy.host, proxy.port, timeout=timeout)

    def connect(self) -> None:
        _reach_proxy(self)


class _TunnelledHTTPS(http.client.HTTPSConnection):
    """HTTPS through a proxy's CONNECT tunnel to a checked IP address; TLS inside the tunnel is
    spoken to the URL's host name, whose certificate is verified. ``set_tunnel`` is not used: it
    would send the server name the certificate is checked against as the CONNECT target too."""

    def __init__(
        self, proxy: Proxy, ip: IPAddress, port: int, server_name: str, timeout: float, context: ssl.SSLContext
    ) -> None:
        super().__init__(proxy.host, proxy.port, timeout=timeout, context=context)
        self._proxy, self._ip, self._port, self._server_name = proxy, ip, port, server_name

    def connect(self) -> None:
        _reach_proxy(self)
        open_tunnel(self.sock, self._proxy, self._ip, self._port, HEADERS["User-Agent"])
        self.sock = self._context.wrap_socket(self.sock, server_hostname=self._server_name)  # type: ignore[attr-defined]


def _reach_proxy(conn: http.client.HTTPConnection) -> None:
    try:
        http.client.HTTPConnection.connect(conn)  # TCP to the proxy, resolved by the system: not judged
    except OSError as exc:  # a timeout too: with the proxy silent, its name is the useful part
        raise ProxyUnreachable(str(exc) or type(exc).__name__) from None


def fetch(url: str, max_bytes: int, timeout: float, guard: AddressGuard, proxies: Proxies = DIRECT) -> Page:
    """The page at ``url``: at most ``max_bytes`` within ``timeout`` seconds, every hop allowed by
    ``guard``, through the proxy ``proxies`` names for it, if any."""
    deadline = time.monotonic() + timeout
    slow = InputError(f"{url}: no complete answer within {timeout:g} s; try again later or save the page as a file.")
    current, subject = url, url
    try:
        for _ in range(MAX_REDIRECTS + 1):
            conn, resp, proxy = _open(current, subject, guard, proxies, deadline, slow)
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
                    if proxy is not None:  # the answer may be the proxy's own, e.g. its policy
                        raise InputError(
                            f"{url}: the answer through the proxy {proxy.shown} was {resp.status} "
                            f"{clean_reason(resp.reason)}; check the address, or ask the proxy's operator "
                            "whether it lets this site through."
                        )
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
    url: str, subject: str, guard: AddressGuard, proxies: Proxies, deadline: float, slow: InputError
) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse, Proxy | None]:
    """Connect to an allowed address of ``url``'s host, directly or through its proxy, and send the request."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in ("http", "https") or not host:
        raise InputError(f"{subject}: not an http(s) address with a host name; check it.")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise InputError(f"{subject}: the port is not a number from 1 to 65535; check the address.") from None
    addresses = guard.resolve(subject, host, port)  # judged before anything is sent, to a proxy or the site
    proxy = proxies.for_url(scheme, host)
    path = quote(parts.path or "/", safe=_PATH_SAFE) + (
        f"?{quote(parts.query, safe=_PATH_SAFE)}" if parts.query else ""
    )
    headers = {"Host": _host_header(host, port, scheme), **HEADERS}
    if proxy is not None and scheme == "http" and proxy.authorization:
        headers["Proxy-Authorization"] = proxy.authorization
    failure: OSError | ProxyAnswer | None = None
    for ip in addresses:
        conn = _connection(scheme, ip, port, host, _left(deadline, slow), proxy)
        try:
            conn.connect()
        except (ssl.SSLError, TimeoutError):
            conn.close()
            raise
        except ProxyFailure as exc:
            conn.close()
            assert proxy is not None  # only proxied connections raise it
            if isinstance(exc, ProxyAnswer) and exc.status in GATEWAY_ERRORS:
                failure = exc  # the proxy could not reach this address: try the host's next one
                continue
            raise _proxy_error(subject, proxy, host, ip, port, exc) from None
        except OSError as exc:  # refused or unreachable: try the host's next address
            conn.close()
            failure = exc
            continue
        # Through a plain-http proxy the request names the checked address, so the proxy resolves nothing.
        target = f"http://{authority(ip, port)}{path}" if proxy is not None and scheme == "http" else path
        try:
            conn.request("GET", target, headers=headers)
            resp = conn.getresponse()
        except BaseException:
            conn.close()
            raise
        if proxy is not None and scheme == "http":
            if resp.status == 407:
                conn.close()
                raise _proxy_error(subject, proxy, host, ip, port, ProxyAnswer(407, clean_reason(resp.reason)))
            if resp.status in GATEWAY_ERRORS and ip != addresses[-1]:
                conn.close()
                failure = ProxyAnswer(resp.status, clean_reason(resp.reason))
                continue
        if proxy is not None:
            log.debug("fetching %s through the proxy %s at %s", url, proxy.shown, authority(ip, port))
        return conn, resp, proxy
    if isinstance(failure, ProxyAnswer) and proxy is not None:
        raise InputError(
            f"{subject}: the proxy {proxy.shown} could not reach {host} ({failure}); check the address, "
            "or try again later."
        )
    raise InputError(f"{subject}: cannot fetch it ({failure}); check the address and the network.")


def _proxy_error(subject: str, proxy: Proxy, host: str, ip: IPAddress, port: int, exc: ProxyFailure) -> InputError:
    """One line naming the proxy and what to do about it."""
    setting = f"{proxy.setting} (or RAG_{proxy.setting})"
    if isinstance(exc, ProxyUnreachable):
        return InputError(f"{subject}: cannot reach the proxy {proxy.shown} ({exc}); check {setting} and the network.")
    assert isinstance(exc, ProxyAnswer)
    if exc.status == 407:
        return InputError(
            f"{subject}: the proxy {proxy.shown} asks for credentials ({exc}); give valid ones in "
            f"{setting} as http://user:password@host:port."
        )
    if exc.status is None:
        return InputError(
            f"{subject}: the proxy {proxy.shown} failed: {exc}; check that {setting} names an HTTP proxy."
        )
    return InputError(
        f"{subject}: the proxy {proxy.shown} refused to connect to {host} ({authority(ip, port)}) with {exc}; "
        f"ask its operator to let the site through, or list {host} in NO_PROXY if it is reachable without the proxy."
    )


def _connection(
    scheme: str, ip: IPAddress, port: int, host: str, timeout: float, proxy: Proxy | None = None
) -> http.client.HTTPConnection:
    if proxy is not None:
        if scheme == "https":
            return _TunnelledHTTPS(proxy, ip, port, host, timeout, ssl.create_default_context())
        return _ToProxy(proxy, timeout)
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
