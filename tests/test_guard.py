"""The address guard: what the chat page may fetch. Real HTTP(S) servers on loopback addresses;
the page's guard must refuse every spelling of them, on the first hop and after a redirect."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from indexkit import Served, recording_server

from rag import cli
from rag.articles.addresses import AddressGuard, why_not_public
from rag.articles.fetch import MAX_REDIRECTS
from rag.articles.ingest import fetch_article
from rag.config import Settings
from rag.errors import InputError
from rag.page import uploads

ARTICLE = (
    b"<html><head><title>Hafenfest in Kiel</title></head><body><article><p>Zum Hafenfest in Kiel kamen am "
    b"Wochenende 12.000 Besucher. Die Stadt zog eine gute Bilanz.</p></article></body></html>"
)
SECRET = b"<html><body><article><p>Interne Zugangsdaten: geheim geheim geheim.</p></article></body></html>"
PAGE_GUARD = AddressGuard.allowing([])


def _fetch(url: str, guard: AddressGuard = PAGE_GUARD) -> str:
    return fetch_article(url, 1_000_000, 5, guard).article.text


def _refusal(url: str, guard: AddressGuard = PAGE_GUARD) -> str:
    with pytest.raises(InputError) as err:
        _fetch(url, guard)
    message = str(err.value)
    assert "\n" not in message
    return message


@pytest.fixture(scope="module")
def secret() -> Iterator[Served]:
    """What a forbidden fetch would reach: a page on 127.0.0.1 (and [::1] on the same port when the
    machine has IPv6 loopback)."""
    with recording_server("127.0.0.1", pages={"/secret": SECRET}) as v4, contextlib.ExitStack() as more:
        try:
            more.enter_context(recording_server("::1", v4.port, pages={"/secret": SECRET}, seen=v4.seen))
        except OSError:  # no IPv6 loopback here: [::1] then reaches nothing, which the control shows
            pass
        yield v4


# -- the decision, no network ---------------------------------------------------------------------

NOT_PUBLIC = {
    "127.0.0.1": "loopback",
    "127.255.255.254": "loopback",
    "10.1.2.3": "private",
    "172.16.0.1": "private",
    "172.31.255.255": "private",
    "192.168.1.1": "private",
    "169.254.169.254": "link-local",
    "100.64.0.1": "carrier-grade NAT",
    "100.127.255.255": "carrier-grade NAT",
    "0.0.0.0": "unspecified",
    "224.0.0.1": "multicast",
    "239.255.255.250": "multicast",
    "240.0.0.1": "reserved",
    "255.255.255.255": "broadcast",
    "192.0.2.1": "documentation",
    "198.18.0.1": "benchmarking",
    "::": "unspecified",
    "::1": "loopback",
    "fc00::1": "unique-local",
    "fd12:3456::1": "unique-local",
    "fe80::1": "link-local",
    "febf:ffff::1": "link-local",
    "fec0::1": "site-local",
    "ff02::1": "multicast",
    "2001:db8::1": "documentation",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2": "Teredo",
    "::ffff:127.0.0.1": "loopback address in IPv4-mapped form",
    "::ffff:169.254.169.254": "link-local address in IPv4-mapped form",
    "::ffff:10.0.0.1": "private address in IPv4-mapped form",
    "::ffff:0:a00:1": "private address in IPv4-translated form",
    "::127.0.0.1": "loopback address in IPv4-compatible form",
    "::a9fe:a9fe": "link-local address in IPv4-compatible form",
    "64:ff9b::7f00:1": "loopback address in NAT64 form",
    "64:ff9b::a9fe:a9fe": "link-local address in NAT64 form",
    "64:ff9b:1::a00:1": "local-use NAT64",
    "2002:7f00:1::1": "loopback address in 6to4 form",
    "2002:c0a8:101::": "private address in 6to4 form",
}
PUBLIC = [
    "93.184.216.34",
    "8.8.8.8",
    "1.1.1.1",
    "172.32.0.1",
    "100.128.0.1",
    "11.0.0.1",
    "2606:4700::1",
    "2a00:1450:4001:82b::200e",
    "2001:4860:4860::8888",
    "::ffff:93.184.216.34",
    "2002:5db8:d822::1",
    "64:ff9b::5db8:d822",
]


@pytest.mark.parametrize(("address", "kind"), NOT_PUBLIC.items())
def test_addresses_that_are_not_public_are_refused_with_their_kind(address: str, kind: str) -> None:
    why = why_not_public(ipaddress.ip_address(address))
    assert why is not None and kind in why
    assert PAGE_GUARD.refusal("example.org", ipaddress.ip_address(address)) == why


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_accepted(address: str) -> None:
    assert why_not_public(ipaddress.ip_address(address)) is None
    assert PAGE_GUARD.refusal("news.example.org", ipaddress.ip_address(address)) is None


def test_the_allow_setting_opens_named_networks_and_hosts_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_FETCH_ALLOW", "10.20.0.0/16, news.intranet., [fd00::5]")
    guard = AddressGuard.allowing(Settings().fetch_allow)
    ip = ipaddress.ip_address
    assert guard.refusal("anything", ip("10.20.7.1")) is None
    assert guard.refusal("anything", ip("::ffff:10.20.7.1")) is None  # the same address, mapped
    assert guard.refusal("anything", ip("fd00::5")) is None
    assert guard.refusal("NEWS.Intranet", ip("192.168.3.4")) is None  # the name allows its addresses
    assert guard.refusal("anything", ip("10.21.0.1")) == "a private address"
    assert guard.refusal("anything", ip("fd00::6")) == "a unique-local address"
    assert guard.refusal("intranet", ip("169.254.169.254")) == "a link-local address"


def test_a_bad_allow_entry_is_a_settings_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_FETCH_ALLOW", "10.20.0.0/16,news site!")
    with pytest.raises(ValueError, match="'news site!' is neither a network"):
        Settings()


# -- every spelling of this machine, against real servers -----------------------------------------

SPELLINGS = [
    "127.0.0.1",
    "127.1",
    "2130706433",
    "0x7f000001",
    "0177.0.0.1",
    "0",
    "0.0.0.0",
    "[::1]",
    "[::ffff:127.0.0.1]",
    "localhost",
    "localhost.",
    "LocalHost",
    socket.gethostname(),  # this machine's own name, from its hosts file
]


def _resolves_publicly(name: str) -> bool:
    try:
        found = {info[4][0] for info in socket.getaddrinfo(name, None)}
    except socket.gaierror:
        return False
    return any(why_not_public(ipaddress.ip_address(a)) is None for a in found)


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_every_spelling_of_a_local_address_is_refused(secret: Served, spelling: str) -> None:
    if spelling == socket.gethostname() and _resolves_publicly(spelling):
        pytest.skip(f"this machine's name {spelling} resolves to a public address")
    url = f"http://{spelling}:{secret.port}/secret"
    message = _refusal(url)
    assert message.startswith(f"{url} is not fetched: ")
    assert "Only public web addresses can be added here" in message and "RAG_FETCH_ALLOW" in message
    assert not secret.seen  # nothing was sent: 0 bypasses


def test_the_spellings_do_reach_the_server_when_all_addresses_are_allowed(secret: Served) -> None:
    """The control for the test above: the refusal, not a dead address, is what stopped them."""
    reached, tried = [], [s for s in SPELLINGS if not (s == socket.gethostname() and _resolves_publicly(s))]
    for spelling in tried:
        try:
            text = _fetch(f"http://{spelling}:{secret.port}/secret", AddressGuard.anything())
        except InputError as exc:
            assert spelling == "localhost." and "cannot find the host" in str(exc)  # this resolver's view
            continue
        assert "Zugangsdaten" in text
        reached.append(spelling)
    assert set(tried) - set(reached) <= {"localhost."}
    assert len(secret.seen) == len(reached)
    secret.seen.clear()


def test_a_name_that_resolves_to_a_private_address_is_refused(secret: Served) -> None:
    name = socket.gethostname()
    if _resolves_publicly(name):
        pytest.skip(f"this machine's name {name} resolves to a public address")
    assert f"{name} (" in _refusal(f"http://{name}:{secret.port}/secret")
    assert not secret.seen


def test_a_name_resolving_to_a_private_network_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """No DNS server can be configured here, so the resolver's answer for one made-up name is faked;
    the name must be refused before anything connects."""
    real = socket.getaddrinfo

    def resolver(host: str, *args: Any, **kwargs: Any) -> Any:
        if host == "intranet.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", args[0]))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    message = _refusal("http://intranet.example/news")
    assert "intranet.example (10.0.0.7) is a private address" in message


# -- redirects and the checked address ------------------------------------------------------------


@pytest.fixture
def allowed(secret: Served) -> Iterator[Served]:
    """An allowed site (127.0.0.2, named in the allow setting) that redirects to forbidden places."""
    port = secret.port
    moves = {
        "/to-secret": f"http://127.0.0.1:{port}/secret",
        "/to-short": f"http://127.1:{port}/secret",
        "/to-localhost": f"http://localhost:{port}/secret",
        "/to-mapped": f"http://[::ffff:127.0.0.1]:{port}/secret",
        "/to-ipv6": f"http://[::1]:{port}/secret",
        "/to-metadata": "http://169.254.169.254/latest/meta-data/",
        "/relative": "/article",
        "/loop": "/loop",
    }
    with recording_server("127.0.0.2", pages={"/article": ARTICLE}, moves=moves) as site:
        moves["/to-self"] = f"{site.url}/article"
        yield site


GUARD_127_0_0_2 = AddressGuard.allowing(["127.0.0.2"])


@pytest.mark.parametrize("path", ["/to-secret", "/to-short", "/to-localhost", "/to-mapped", "/to-ipv6", "/to-metadata"])
def test_a_redirect_from_an_allowed_site_to_a_forbidden_address_is_refused(
    secret: Served, allowed: Served, path: str
) -> None:
    message = _refusal(f"{allowed.url}{path}", GUARD_127_0_0_2)
    assert message.startswith(f"{allowed.url}{path} (redirected to http://")
    assert ") is not fetched: " in message
    assert allowed.seen == [(path, f"127.0.0.2:{allowed.port}")]  # the allowed hop was asked
    assert not secret.seen  # the forbidden one was not


@pytest.mark.parametrize("path", ["/to-self", "/relative"])
def test_redirects_to_allowed_addresses_are_followed(allowed: Served, path: str) -> None:
    assert "12.000 Besucher" in _fetch(f"{allowed.url}{path}", GUARD_127_0_0_2)


def test_redirects_are_bounded(allowed: Served) -> None:
    message = _refusal(f"{allowed.url}/loop", GUARD_127_0_0_2)
    assert f"more than {MAX_REDIRECTS} redirects" in message
    assert len(allowed.seen) == MAX_REDIRECTS + 1


def test_an_allowed_host_name_is_fetched_with_its_name_in_the_host_header(secret: Served) -> None:
    assert "Zugangsdaten" in _fetch(f"http://localhost:{secret.port}/secret", AddressGuard.allowing(["localhost"]))
    assert secret.seen == [("/secret", f"localhost:{secret.port}")]
    secret.seen.clear()


def test_the_fetch_connects_to_the_address_it_checked(secret: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    """DNS rebinding: the name first resolves to an allowed address, every later answer to a
    forbidden one. No DNS server can be configured here, so the resolver's answers for this one
    name are faked; the servers on both addresses are real and listen on the same port."""
    real = socket.getaddrinfo
    answers = iter(["127.0.0.2"])

    def rebinding(host: str, *args: Any, **kwargs: Any) -> Any:
        if host == "rebind.test":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers, "127.0.0.1"), args[0]))]
        return real(host, *args, **kwargs)

    with recording_server("127.0.0.2", secret.port, pages={"/secret": ARTICLE}) as good:
        monkeypatch.setattr(socket, "getaddrinfo", rebinding)
        text = _fetch(f"http://rebind.test:{secret.port}/secret", GUARD_127_0_0_2)
    assert "12.000 Besucher" in text
    assert good.seen == [("/secret", f"rebind.test:{secret.port}")]
    assert not secret.seen


# -- https: the certificate is checked for the name in the address, not the IP connected to -------


def test_https_to_an_allowed_name_verifies_its_certificate_for_that_name(
    tls_files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = tls_files
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trust the test certificate, as a system CA would be
    names: list[str | None] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda _sock, name, _ctx: names.append(name)  # type: ignore[assignment,misc,return-value]
    with recording_server("127.0.0.1", pages={"/article": ARTICLE}, tls=context) as site:
        text = _fetch(f"https://localhost:{site.port}/article", AddressGuard.allowing(["localhost"]))
        assert "12.000 Besucher" in text
        assert names == ["localhost"] and site.seen == [("/article", f"localhost:{site.port}")]
        # The same server by its IP: the certificate does not name it, so the fetch is refused.
        message = _refusal(f"https://127.0.0.1:{site.port}/article", AddressGuard.allowing(["127.0.0.1"]))
        assert "the secure connection failed" in message and "127.0.0.1" in message
        assert len(site.seen) == 1
    # Not allowed at all: refused before any TLS handshake.
    assert "is not fetched: localhost is a loopback name" in _refusal(f"https://localhost:{site.port}/article")


# -- who uses which guard ------------------------------------------------------------------------


def test_the_page_fetch_uses_the_guard_and_the_allow_setting(secret: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InputError, match="is not fetched: 127.1 \\(127.0.0.1\\) is a loopback address"):
        uploads.from_address(f"http://127.1:{secret.port}/secret", Settings())
    assert not secret.seen
    monkeypatch.setenv("RAG_FETCH_ALLOW", "127.0.0.1/32")
    name, data = uploads.from_address(f"http://127.1:{secret.port}/secret", Settings())
    assert b"Zugangsdaten" in data and name.endswith(".txt")
    secret.seen.clear()


def test_the_command_line_help_says_it_fetches_local_addresses(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["index", "--help"])
    helptext = " ".join(capsys.readouterr().out.split())
    assert "fetches from any address, local and private ones included" in helptext
    assert "the chat page fetches only public addresses and those in RAG_FETCH_ALLOW" in helptext
