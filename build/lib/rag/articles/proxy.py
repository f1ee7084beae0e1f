"""Which HTTP proxy a web fetch goes through, and the CONNECT exchange that opens a tunnel.

The proxies are operator settings (``HTTPS_PROXY``, ``HTTP_PROXY`` and ``NO_PROXY``, or their
``RAG_`` forms; see ``rag.config``). A proxy is asked for the IP address the guard checked, never
for a host name: a proxy that resolved the name itself could reach an address nobody judged. The
proxy's own address is the operator's choice and is not judged.
"""

from __future__ import annotations

import base64
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from rag.articles.addresses import IPAddress, Network, host_name, parse_allowed

_MAX_LINE = 8192  # longest status or header line read from a proxy
_MAX_HEADERS = 100
GATEWAY_ERRORS = {502, 503, 504}  # the proxy could not reach that address: another may answer


@dataclass(frozen=True)
class Proxy:
    """An HTTP proxy: where it listens, the credentials from its address, the setting it came from."""

    host: str
    port: int
    setting: str  # the variable to name in messages, e.g. "HTTPS_PROXY"
    authorization: str | None = field(default=None, repr=False)  # a Proxy-Authorization value

    @property
    def shown(self) -> str:
        """The proxy's address without its credentials, for messages and logs."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


def parse_proxy(text: str, setting: str) -> Proxy:
    """A proxy address as the standard variables hold it: ``http://[user:password@]host[:port]``,
    the scheme may be left out (as curl and urllib allow). Other schemes raise a ``ValueError``."""
    value = text.strip()
    if "://" not in value:
        value = f"http://{value}"
    parts = urlsplit(value)
    host = parts.hostname
    if parts.scheme.lower() != "http":
        raise ValueError(
            f"{setting} (or RAG_{setting}) is a {parts.scheme}:// proxy ({host}); only http:// proxies are "
            f"supported (https sites are reached with CONNECT through them); set RAG_{setting} to an http:// "
            "proxy, or to nothing to fetch without one"
        )
    if not host:
        raise ValueError(f"{setting} (or RAG_{setting}) has no host name; give it as http://host:port")
    try:
        port = parts.port or 80
    except ValueError:
        raise ValueError(f"{setting} (or RAG_{setting}): the port is not a number from 1 to 65535") from None
    authorization = None
    if parts.username is not None:
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        authorization = "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")
    return Proxy(host, port, setting, authorization)


@dataclass(frozen=True)
class Proxies:
    """The proxy for each scheme and the hosts that bypass both (NO_PROXY); empty: fetch directly."""

    https: Proxy | None = None
    http: Proxy | None = None
    bypass_all: bool = False
    networks: tuple[Network, ...] = ()
    names: tuple[str, ...] = ()

    @classmethod
    def configure(cls, https: str | None, http: str | None, no_proxy: Iterable[str] = ()) -> Proxies:
        """From the settings' values. A NO_PROXY entry that is neither a name, an address nor a
        network matches no host, as other programs reading the variable treat it."""
        networks: list[Network] = []
        names: list[str] = []
        bypass_all = False
        for entry in no_proxy:
            if entry.strip() == "*":
                bypass_all = True
                continue
            try:
                parsed = parse_allowed(_without_port(entry.strip()).lstrip("*").lstrip("."))
            except ValueError:
                continue
            if isinstance(parsed, str):
                names.append(parsed)
            else:
                networks.append(parsed)
        return cls(
            https=parse_proxy(https, "HTTPS_PROXY") if https else None,
            http=parse_proxy(http, "HTTP_PROXY") if http else None,
            bypass_all=bypass_all,
            networks=tuple(networks),
            names=tuple(names),
        )

    def for_url(self, scheme: str, host: str) -> Proxy | None:
        """The proxy for a URL with this scheme and host, or None to connect directly."""
        proxy = self.https if scheme == "https" else self.http
        if proxy is None or self.bypasses(host):
            return None
        return proxy

    def bypasses(self, host: str) -> bool:
        """Whether NO_PROXY names ``host``: the name or a domain above it, or a network holding the
        address when the URL gives an address. Names are not resolved for this, as curl does."""
        if self.bypass_all:
            return True
        name = host_name(host)
        try:
            ip = ipaddress.ip_address(name.strip("[]"))
        except ValueError:
            return any(name == n or name.endswith(f".{n}") for n in self.names)
        return any(ip in net for net in self.networks)


def _without_port(entry: str) -> str:
    """``host:port`` and ``[v6]:port`` without the port; an IPv6 address or network stays whole."""
    if entry.startswith("[") and "]" in entry:
        return entry[1 : entry.index("]")]
    head, sep, tail = entry.rpartition(":")
    return head if sep and tail.isdigit() and ":" not in head else entry


class ProxyFailure(Exception):
    """The proxy did not carry the request; ``str()`` says how, in a few words."""


class ProxyUnreachable(ProxyFailure):
    """No connection to the proxy itself."""


class ProxyAnswer(ProxyFailure):
    """The proxy answered with an error (status None: with no usable HTTP answer)."""

    def __init__(self, status: int | None, reason: str) -> None:
        super().__init__(f"{status} {reason}" if status is not None else reason)
        self.status = status
        self.reason = reason


def authority(ip: IPAddress, port: int) -> str:
    """``ip:port`` as a request target or URL holds it (IPv6 in brackets)."""
    return f"[{ip}]:{port}" if ip.version == 6 else f"{ip}:{port}"


def open_tunnel(sock: socket.socket, proxy: Proxy, ip: IPAddress, port: int, user_agent: str) -> None:
    """Ask the proxy connected on ``sock`` for a tunnel to ``ip``:``port``; ``ProxyAnswer`` unless
    it answers 2xx. Read byte by byte, so nothing after the proxy's answer is taken from the socket."""
    target = authority(ip, port)
    lines = [f"CONNECT {target} HTTP/1.1", f"Host: {target}", f"User-Agent: {user_agent}"]
    if proxy.authorization:
        lines.append(f"Proxy-Authorization: {proxy.authorization}")
    try:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("ascii"))
        with sock.makefile("rb", buffering=0) as answer:
            status, reason = _status(answer.readline(_MAX_LINE + 1))
            for _ in range(_MAX_HEADERS + 1):
                line = answer.readline(_MAX_LINE + 1)
                if line in (b"\r\n", b"\n"):
                    break
                if not line or len(line) > _MAX_LINE:
                    raise ProxyAnswer(None, "its answer to CONNECT broke off")
            else:
                raise ProxyAnswer(None, "its answer to CONNECT has too many header lines")
    except TimeoutError:
        raise  # the fetch's own time limit says it
    except OSError as exc:
        raise ProxyAnswer(None, f"the connection broke off during CONNECT ({exc})") from None
    if not 200 <= status < 300:
        raise ProxyAnswer(status, reason)


def _status(line: bytes) -> tuple[int, str]:
    if not line:
        raise ProxyAnswer(None, "it closed the connection without answering CONNECT")
    version, _, rest = line.decode("latin-1").partition(" ")
    code, _, reason = rest.partition(" ")
    if not version.startswith("HTTP/") or not (len(code) == 3 and code.isdigit()):
        raise ProxyAnswer(None, "it did not answer CONNECT with HTTP")
    return int(code), clean_reason(reason)


def clean_reason(reason: str) -> str:
    """A reason phrase from a proxy as one short line of printable text."""
    text = "".join(c if c.isprintable() else " " for c in reason)
    return " ".join(text.split())[:80]
