"""Web fetches through an HTTP proxy. A real forwarding proxy runs here (CONNECT tunnels and
absolute-form GET, every request line recorded) in front of real local HTTP(S) servers: the guard
judges the target first, and the proxy is asked for the checked address, never for the name."""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import socketserver
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from indexkit import recording_server

from rag.articles.addresses import AddressGuard
from rag.articles.ingest import fetch_article
from rag.articles.proxy import Proxies
from rag.config import Settings
from rag.errors import InputError
from rag.index.update import index_paths
from rag.page import uploads

ARTICLE = (
    b"<html><head><title>Hafenfest in Kiel</title></head><body><article><p>Zum Hafenfest in Kiel kamen am "
    b"Wochenende 12.000 Besucher. Die Stadt zog eine gute Bilanz.</p></article></body></html>"
)
SECRET = b"<html><body><article><p>Interne Zugangsdaten: geheim geheim geheim.</p></article></body></html>"


# -- a forwarding proxy -------------------------------------------------------------------------


@dataclass
class Proxied:
    """A running proxy: its address, every request line it got and the headers that came with each."""

    url: str
    port: int
    seen: list[str] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)


class _ProxyHandler(socketserver.StreamRequestHandler):
    rbufsize = 0  # unbuffered: bytes after the request head belong to the tunnel, not to this reader
    proxied: Proxied
    refuse: str | None = None  # a status ("403 Forbidden") to answer every request with

    def handle(self) -> None:
        line = self.rfile.readline(65537).decode("latin-1").rstrip("\r\n")
        headers: dict[str, str] = {}
        while True:
            raw = self.rfile.readline(65537)
            if raw in (b"\r\n", b"\n", b""):
                break
            name, _, value = raw.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        self.proxied.seen.append(line)
        self.proxied.headers.append(headers)
        method, target, _ = line.split(" ", 2)
        if self.refuse:
            self._answer(self.refuse)
            return
        if method == "CONNECT":
            parts = urlsplit(f"//{target}")
            upstream = self._upstream(parts.hostname or "", parts.port or 443)
            if upstream is None:
                return
            self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        else:  # absolute form: ask the origin with the path alone, the client's headers kept
            parts = urlsplit(target)
            upstream = self._upstream(parts.hostname or "", parts.port or 80)
            if upstream is None:
                return
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            kept = "".join(f"{k}: {v}\r\n" for k, v in headers.items() if not k.startswith("proxy-"))
            upstream.sendall(f"{method} {path} HTTP/1.1\r\n{kept}\r\n".encode("latin-1"))
        with upstream:
            _relay(self.connection, upstream)

    def _upstream(self, host: str, port: int) -> socket.socket | None:
        try:
            return socket.create_connection((host, port), timeout=5)
        except OSError:
            self._answer("502 Bad Gateway")
            return None

    def _answer(self, status: str) -> None:
        self.wfile.write(f"HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode("ascii"))


def _relay(client: socket.socket, upstream: socket.socket) -> None:
    def pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)

    back = threading.Thread(target=pump, args=(upstream, client), daemon=True)
    back.start()
    pump(client, upstream)
    back.join(10)


@contextlib.contextmanager
def forwarding_proxy(refuse: str | None = None, credentials: str = "") -> Iterator[Proxied]:
    """An HTTP proxy on 127.0.0.1; ``refuse`` answers every request with that status instead."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _ProxyHandler, bind_and_activate=False)
    server.daemon_threads = True
    server.allow_reuse_address = True
    server.server_bind()
    server.server_activate()
    port = server.server_address[1]
    proxied = Proxied(f"http://{credentials}127.0.0.1:{port}", port)
    server.RequestHandlerClass = type("Handler", (_ProxyHandler,), {"proxied": proxied, "refuse": refuse})
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxied
    finally:
        server.shutdown()
        server.server_close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _refusal(url: str, settings: Settings) -> str:
    with pytest.raises(InputError) as err:
        uploads.from_address(url, settings)
    message = str(err.value)
    assert "\n" not in message
    return message


@pytest.fixture
def tls_site(tls_files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, list[str]]]:
    """An https site for localhost on 127.0.0.1, its certificate trusted; also the TLS server names it was sent."""
    cert, key = tls_files
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    names: list[str] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda _sock, name, _ctx: names.append(name)  # type: ignore[assignment,misc,return-value]
    with recording_server("127.0.0.1", pages={"/article": ARTICLE}, tls=context) as site:
        yield site, names


def _connects(port: int) -> set[str]:
    """What the proxy may be asked for localhost: each address it resolves to, never the name."""
    found = {info[4][0] for info in socket.getaddrinfo("localhost", port, type=socket.SOCK_STREAM)}
    return {f"CONNECT {f'[{a}]' if ':' in a else a}:{port} HTTP/1.1" for a in found}


# -- fetched through the proxy, by the checked address ------------------------------------------


def test_an_https_page_is_fetched_through_a_connect_tunnel_to_the_checked_address(
    tls_site: tuple[Any, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    site, names = tls_site
    with forwarding_proxy() as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        monkeypatch.setenv("RAG_FETCH_ALLOW", "localhost")
        name, data = uploads.from_address(f"https://localhost:{site.port}/article", Settings())
    assert b"12.000 Besucher" in data and name.endswith(".txt")
    assert proxy.seen[-1] == f"CONNECT 127.0.0.1:{site.port} HTTP/1.1"
    assert set(proxy.seen) <= _connects(site.port)  # an address the guard checked, not "localhost"
    assert names == ["localhost"]  # TLS inside the tunnel names the host, and its certificate is checked
    assert site.seen == [("/article", f"localhost:{site.port}")]


def test_through_the_proxy_the_certificate_is_still_checked_for_the_name_in_the_address(
    tls_site: tuple[Any, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    site, _ = tls_site
    with forwarding_proxy() as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        monkeypatch.setenv("RAG_FETCH_ALLOW", "127.0.0.1")
        message = _refusal(f"https://127.0.0.1:{site.port}/article", Settings())  # the certificate names localhost
    assert "the secure connection failed" in message
    assert proxy.seen == [f"CONNECT 127.0.0.1:{site.port} HTTP/1.1"] and not site.seen


def test_an_http_page_is_fetched_through_the_proxy_by_its_checked_address(monkeypatch: pytest.MonkeyPatch) -> None:
    """The name news.test is made up and resolves (here, faked) to 127.0.0.1: the proxy is sent
    that address in the request line and the name only in the Host header."""
    real = socket.getaddrinfo

    def resolver(host: str, *args: Any, **kwargs: Any) -> Any:
        if host == "news.test":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", args[0]))]
        return real(host, *args, **kwargs)

    with recording_server("127.0.0.1", pages={"/article?id=7": ARTICLE}) as site, forwarding_proxy() as proxy:
        monkeypatch.setenv("http_proxy", proxy.url)  # the lower-case spelling works as well
        monkeypatch.setenv("RAG_FETCH_ALLOW", "news.test")
        monkeypatch.setattr(socket, "getaddrinfo", resolver)
        name, data = uploads.from_address(f"http://news.test:{site.port}/article?id=7", Settings())
    assert b"12.000 Besucher" in data
    assert proxy.seen == [f"GET http://127.0.0.1:{site.port}/article?id=7 HTTP/1.1"]
    assert proxy.headers[0]["host"] == f"news.test:{site.port}"
    assert site.seen == [("/article?id=7", f"news.test:{site.port}")]


def test_credentials_in_the_proxy_address_are_sent_to_the_proxy_only(
    tls_site: tuple[Any, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    site, _ = tls_site
    with forwarding_proxy(credentials="reader:pa%20ss@") as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        monkeypatch.setenv("RAG_FETCH_ALLOW", "localhost")
        uploads.from_address(f"https://localhost:{site.port}/article", Settings())
    assert proxy.headers[-1]["proxy-authorization"] == "Basic " + base64.b64encode(b"reader:pa ss").decode()


# -- the guard judges first, every hop ----------------------------------------------------------


def test_a_target_the_guard_refuses_is_refused_before_the_proxy_is_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    with recording_server("127.0.0.1", pages={"/secret": SECRET}) as secret, forwarding_proxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        for url in (
            f"http://127.0.0.1:{secret.port}/secret",
            f"http://127.1:{secret.port}/secret",
            f"https://localhost:{secret.port}/secret",
            "http://169.254.169.254/latest/meta-data/",
            "https://[::ffff:10.0.0.1]/",
        ):
            message = _refusal(url, Settings())
            assert message.startswith(f"{url} is not fetched: ") and "RAG_FETCH_ALLOW" in message
    assert proxy.seen == []  # the proxy never heard of them
    assert secret.seen == []


def test_a_redirect_through_the_proxy_is_judged_again(monkeypatch: pytest.MonkeyPatch) -> None:
    with recording_server("127.0.0.1", pages={"/secret": SECRET}) as secret:
        moves = {"/to-secret": f"http://127.0.0.1:{secret.port}/secret", "/relative": "/article"}
        with (
            recording_server("127.0.0.2", pages={"/article": ARTICLE}, moves=moves) as site,
            forwarding_proxy() as proxy,
        ):
            proxies = Proxies.configure(None, proxy.url)
            guard = AddressGuard.allowing(["127.0.0.2"])
            with pytest.raises(InputError) as err:
                fetch_article(f"{site.url}/to-secret", 1_000_000, 5, guard, proxies)
            message = str(err.value)
            assert message.startswith(f"{site.url}/to-secret (redirected to http://127.0.0.1:")
            assert "is not fetched: 127.0.0.1 is a loopback address" in message and "\n" not in message
            assert proxy.seen == [f"GET http://127.0.0.2:{site.port}/to-secret HTTP/1.1"]
            assert secret.seen == []
            proxy.seen.clear()
            text = fetch_article(f"{site.url}/relative", 1_000_000, 5, guard, proxies).article.text
    assert "12.000 Besucher" in text
    assert proxy.seen == [f"GET http://127.0.0.2:{site.port}/{p} HTTP/1.1" for p in ("relative", "article")]


# -- NO_PROXY -----------------------------------------------------------------------------------


@pytest.mark.parametrize("no_proxy", ["127.0.0.1", "localhost,127.0.0.0/8", "*", " example.org , 127.0.0.1 "])
def test_hosts_in_no_proxy_are_fetched_directly(monkeypatch: pytest.MonkeyPatch, no_proxy: str) -> None:
    with recording_server("127.0.0.1", pages={"/article": ARTICLE}) as site, forwarding_proxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", no_proxy)
        monkeypatch.setenv("RAG_FETCH_ALLOW", "127.0.0.1")
        _, data = uploads.from_address(f"http://127.0.0.1:{site.port}/article", Settings())
    assert b"12.000 Besucher" in data
    assert proxy.seen == [] and site.seen == [("/article", f"127.0.0.1:{site.port}")]


def test_no_proxy_names_cover_their_subdomains_and_nothing_else() -> None:
    proxies = Proxies.configure("http://proxy.corp:3128", None, [".corp.example", "*.intra", "news.test", "[::1]"])
    assert proxies.https is not None
    bypassed = ["corp.example", "a.b.corp.example", "NEWS.test.", "x.intra", "::1"]
    proxied = ["corp.example.org", "xcorp.example", "news.test.org", "example.org", "::2", "127.0.0.1"]
    assert all(proxies.for_url("https", h) is None for h in bypassed)
    assert all(proxies.for_url("https", h) is proxies.https for h in proxied)
    assert proxies.for_url("http", "example.org") is None  # no http proxy set
    assert Proxies.configure("proxy.corp:3128", None, ["<local>", "*"]).for_url("https", "example.org") is None


# -- a proxy that does not carry the request: one line naming it ---------------------------------


def test_a_proxy_that_refuses_connect_is_named_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    with forwarding_proxy(refuse="403 Forbidden", credentials="reader:hidden-word@") as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        monkeypatch.setenv("RAG_FETCH_ALLOW", "127.0.0.1")
        message = _refusal("https://127.0.0.1:8443/article", Settings())
    assert proxy.seen == ["CONNECT 127.0.0.1:8443 HTTP/1.1"]
    assert message.startswith(f"https://127.0.0.1:8443/article: the proxy http://127.0.0.1:{proxy.port} refused")
    assert "with 403 Forbidden; ask its operator to let the site through, or list 127.0.0.1 in NO_PROXY" in message
    assert "hidden-word" not in message and "reader" not in message


@pytest.mark.parametrize(
    ("scheme", "status", "expected"),
    [
        ("https", "407 Proxy Authentication Required", "asks for credentials (407 Proxy Authentication Required)"),
        ("http", "407 Proxy Authentication Required", "asks for credentials (407 Proxy Authentication Required)"),
        ("http", "403 Forbidden", "the answer through the proxy {proxy} was 403 Forbidden; check the address, or ask"),
        ("https", "502 Bad Gateway", "the proxy {proxy} could not reach 127.0.0.1 (502 Bad Gateway)"),
    ],
)
def test_a_proxy_error_answer_is_one_line_naming_the_proxy(
    monkeypatch: pytest.MonkeyPatch, scheme: str, status: str, expected: str
) -> None:
    with forwarding_proxy(refuse=status) as proxy:
        monkeypatch.setenv(f"{scheme.upper()}_PROXY", proxy.url)
        monkeypatch.setenv("RAG_FETCH_ALLOW", "127.0.0.1")
        message = _refusal(f"{scheme}://127.0.0.1:8080/article", Settings())
    assert expected.format(proxy=proxy.url) in message
    assert proxy.url in message


def test_a_proxy_that_cannot_reach_the_site_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    port = _closed_port()
    with forwarding_proxy() as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        monkeypatch.setenv("RAG_FETCH_ALLOW", "127.0.0.1")
        message = _refusal(f"https://127.0.0.1:{port}/article", Settings())
    assert f"the proxy {proxy.url} could not reach 127.0.0.1 (502 Bad Gateway)" in message
    assert proxy.seen == [f"CONNECT 127.0.0.1:{port} HTTP/1.1"]


def test_an_unreachable_proxy_is_named_with_its_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    proxy = f"http://127.0.0.1:{_closed_port()}"
    monkeypatch.setenv("HTTPS_PROXY", proxy)
    monkeypatch.setenv("RAG_FETCH_ALLOW", "127.0.0.1")
    message = _refusal("https://127.0.0.1:8443/article", Settings())
    assert f"cannot reach the proxy {proxy} (" in message
    assert "check HTTPS_PROXY (or RAG_HTTPS_PROXY) and the network" in message


class _NotHTTP(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        self.rfile.readline()
        self.wfile.write(b"SSH-2.0-OpenSSH_9.6\r\n")


def test_a_proxy_setting_naming_something_else_is_told(monkeypatch: pytest.MonkeyPatch) -> None:
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), _NotHTTP) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        proxy = f"http://127.0.0.1:{server.server_address[1]}"
        monkeypatch.setenv("HTTPS_PROXY", proxy)
        monkeypatch.setenv("RAG_FETCH_ALLOW", "127.0.0.1")
        try:
            message = _refusal("https://127.0.0.1:8443/article", Settings())
        finally:
            server.shutdown()
    assert f"the proxy {proxy} failed: it did not answer CONNECT with HTTP" in message
    assert "check that HTTPS_PROXY (or RAG_HTTPS_PROXY) names an HTTP proxy" in message


def test_the_command_line_fetches_through_the_proxy_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """``rag index https://...`` allows every address, but still goes through the configured proxy."""
    with forwarding_proxy(refuse="403 Forbidden") as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        with pytest.raises(InputError, match=f"the proxy {proxy.url} refused to connect to 127.0.0.1"):
            index_paths(Settings(), [], ["https://127.0.0.1:8443/article"], any_address=True)
    assert proxy.seen == ["CONNECT 127.0.0.1:8443 HTTP/1.1"]


# -- the settings --------------------------------------------------------------------------------


def test_the_rag_proxy_settings_win_over_the_standard_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.corp:3128")
    monkeypatch.setenv("NO_PROXY", "[::1],localhost, .intranet")
    settings = Settings()
    proxies = settings.proxies()
    assert proxies.https is not None and proxies.https.shown == "http://proxy.corp:3128"
    assert settings.no_proxy == ["[::1]", "localhost", ".intranet"]
    assert Settings(**json.loads(settings.model_dump_json())).proxies() == proxies  # as the chat page reloads them
    monkeypatch.setenv("RAG_HTTPS_PROXY", "http://other.corp:8080")
    assert Settings().proxies().https.shown == "http://other.corp:8080"  # type: ignore[union-attr]
    monkeypatch.setenv("RAG_HTTPS_PROXY", "")  # set and empty: no proxy for this program
    assert Settings().proxies().https is None


def test_a_proxy_that_is_not_http_is_a_settings_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("https_proxy", "socks5://reader:hidden-word@proxy.corp:1080")
    with pytest.raises(ValueError, match=r"HTTPS_PROXY \(or RAG_HTTPS_PROXY\) is a socks5:// proxy") as err:
        Settings()
    assert "hidden-word" not in str(err.value.errors()[0]["msg"])  # type: ignore[attr-defined]
