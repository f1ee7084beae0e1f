"""Which addresses a web fetch may connect to.

A fetch the chat page makes on a user's behalf must not reach the server's own network: its
loopback, the private ranges, a cloud metadata service at 169.254.169.254, a database in the same
compose network. So a host is resolved once, every address it resolves to is judged, and the fetch
then connects to exactly those addresses (``rag.fetch``): a second DNS answer cannot send it
elsewhere. The address judged is the one the system resolver returns, so odd spellings of a
number (``127.1``, ``2130706433``, ``0x7f000001``, ``0177.0.0.1``) are judged as what they mean.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass

from rag.errors import InputError

log = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# First match wins, so a narrower range comes before the one that holds it.
_V4_RANGES = (
    ("0.0.0.0/8", "an unspecified ('this network') address"),
    ("10.0.0.0/8", "a private address"),
    ("100.64.0.0/10", "a carrier-grade NAT address"),
    ("127.0.0.0/8", "a loopback address"),
    ("169.254.0.0/16", "a link-local address"),
    ("172.16.0.0/12", "a private address"),
    ("192.0.0.0/24", "a reserved (IETF protocol) address"),
    ("192.0.2.0/24", "a documentation address"),
    ("192.88.99.0/24", "a reserved (6to4 relay) address"),
    ("192.168.0.0/16", "a private address"),
    ("198.18.0.0/15", "a benchmarking address"),
    ("198.51.100.0/24", "a documentation address"),
    ("203.0.113.0/24", "a documentation address"),
    ("224.0.0.0/4", "a multicast address"),
    ("255.255.255.255/32", "the broadcast address"),
    ("240.0.0.0/4", "a reserved address"),
)
_V6_RANGES = (
    ("::/128", "the unspecified address"),
    ("::1/128", "a loopback address"),
    ("64:ff9b:1::/48", "a local-use NAT64 address"),
    ("100::/64", "a discard-only address"),
    ("2001:db8::/32", "a documentation address"),
    ("2001::/23", "a reserved (IETF protocol or Teredo) address"),
    ("3fff::/20", "a documentation address"),
    ("5f00::/16", "a reserved (SRv6) address"),
    ("fc00::/7", "a unique-local address"),
    ("fe80::/10", "a link-local address"),
    ("fec0::/10", "a site-local address"),
    ("ff00::/8", "a multicast address"),
)
_TABLES: dict[int, tuple[tuple[Network, str], ...]] = {
    4: tuple((ipaddress.ip_network(n), why) for n, why in _V4_RANGES),
    6: tuple((ipaddress.ip_network(n), why) for n, why in _V6_RANGES),
}
# IPv6 forms that carry an IPv4 address in their last 32 bits: judged as that IPv4 address.
_EMBEDDING = (
    (ipaddress.ip_network("::ffff:0:0/96"), "IPv4-mapped"),
    (ipaddress.ip_network("::ffff:0:0:0/96"), "IPv4-translated"),
    (ipaddress.ip_network("64:ff9b::/96"), "NAT64"),
    (ipaddress.ip_network("::/96"), "IPv4-compatible"),
)
_HOST_NAME = re.compile(
    r"^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$"
)


def embedded_ipv4(ip: IPAddress) -> tuple[ipaddress.IPv4Address, str] | None:
    """The IPv4 address inside an IPv6 address that carries one, with the form's name."""
    if ip.version != 6 or int(ip) <= 1:  # :: and ::1 are themselves, not IPv4-compatible forms
        return None
    for net, form in _EMBEDDING:
        if ip in net:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF), form
    if isinstance(ip, ipaddress.IPv6Address) and ip.sixtofour is not None:
        return ip.sixtofour, "6to4"
    return None


def why_not_public(ip: IPAddress) -> str | None:
    """Why ``ip`` is not a publicly routable address (e.g. "a loopback address"), or None when it is."""
    inner = embedded_ipv4(ip)
    if inner is not None:
        why = why_not_public(inner[0])
        return None if why is None else f"{why} in {inner[1]} form"
    for net, why in _TABLES[ip.version]:
        if ip in net:
            return why
    if not ip.is_global:  # the standard library's registry, should it know a range the tables miss
        return "a reserved address"
    return None


def host_name(host: str) -> str:
    """A host name as names are compared: lower case, no trailing dot, international names in IDNA."""
    name = host.strip().lower().rstrip(".")
    if not name.isascii():
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError:
            pass  # left as it is: it matches no allowed name, and resolving it fails
    return name


def parse_allowed(entry: str) -> Network | str:
    """One entry of RAG_FETCH_ALLOW: a network or address (``10.20.0.0/16``, ``fd00::5``), or a
    host name (``news.intranet``, compared without case and trailing dot)."""
    text = entry.strip()
    try:
        return ipaddress.ip_network(text.strip("[]"), strict=False)
    except ValueError:
        pass
    name = host_name(text)
    if not _HOST_NAME.match(name):
        raise ValueError(f"{entry!r} is neither a network (10.20.0.0/16), an address nor a host name")
    return name


@dataclass(frozen=True)
class AddressGuard:
    """The addresses a fetch may connect to: public ones, plus the networks and host names an
    operator allows; ``any_address`` (the command line) allows every address."""

    networks: tuple[Network, ...] = ()
    hosts: frozenset[str] = frozenset()
    any_address: bool = False

    @classmethod
    def allowing(cls, entries: Iterable[str]) -> AddressGuard:
        """Public addresses plus the RAG_FETCH_ALLOW entries."""
        parsed = [parse_allowed(e) for e in entries]
        return cls(
            networks=tuple(p for p in parsed if not isinstance(p, str)),
            hosts=frozenset(p for p in parsed if isinstance(p, str)),
        )

    @classmethod
    def anything(cls) -> AddressGuard:
        return cls(any_address=True)

    def refusal(self, host: str, ip: IPAddress) -> str | None:
        """Why a connection to ``ip``, found for ``host``, is not allowed; None when it is."""
        if self.any_address or host_name(host) in self.hosts:
            return None
        inner = embedded_ipv4(ip)
        if any(ip in net or (inner is not None and inner[0] in net) for net in self.networks):
            return None
        return why_not_public(ip)

    def resolve(self, subject: str, host: str, port: int) -> list[IPAddress]:
        """The addresses of ``host`` to connect to, all allowed, or an ``InputError`` naming the
        first that is not (``subject`` names the address in the message, e.g. the one the user gave)."""
        name = host_name(host)
        if (name == "localhost" or name.endswith(".localhost")) and self.refusal(host, _LOOPBACK) is not None:
            # such names mean this machine (RFC 6761) however a resolver treats them
            raise _refused(subject, host, "a loopback name")
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
        except (socket.gaierror, UnicodeError) as exc:
            raise InputError(f"{subject}: cannot find the host {host} ({exc}); check the address.") from None
        found: list[IPAddress] = []
        for family, *_, sockaddr in infos:
            if family not in (socket.AF_INET, socket.AF_INET6):
                continue
            try:
                ip = ipaddress.ip_address(str(sockaddr[0]))
            except ValueError:
                raise InputError(f"{subject}: {host} resolves to {sockaddr[0]!r}, not an IP address.") from None
            why = self.refusal(host, ip)
            if why is not None:
                raise _refused(subject, host, why, ip)
            if ip not in found:
                found.append(ip)
        if not found:
            raise InputError(f"{subject}: the host {host} has no IPv4 or IPv6 address; check the address.")
        return found


_LOOPBACK = ipaddress.IPv4Address("127.0.0.1")


def _refused(subject: str, host: str, why: str, ip: IPAddress | None = None) -> InputError:
    log.warning("refused to fetch %s: %s is %s%s", subject, host, why, f" ({ip})" if ip is not None else "")
    try:
        literal = ipaddress.ip_address(host) == ip
    except ValueError:
        literal = False
    shown = host if ip is None or literal else f"{host} ({ip})"
    return InputError(
        f"{subject} is not fetched: {shown} is {why}. Only public web addresses can be added here; "
        "an operator can allow intranet hosts with RAG_FETCH_ALLOW."
    )
