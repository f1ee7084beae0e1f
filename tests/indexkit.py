"""Helpers for the index tests: small articles, index snapshots, a local web server, a small or
read-only disk."""

from __future__ import annotations

import contextlib
import http.server
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest

from rag.index import store
from rag.index.manifest import MANIFEST, PENDING, Manifest, read_manifest

BRIDGE = (
    "Neue Brücke in Tübingen\n\n"
    "Die neue Neckarbrücke in Tübingen wurde am 3. Oktober 2024 eröffnet. Sie ruht auf 48 Pfeilern "
    "und ist 412 Meter lang. Bürgermeister Klaus Berger sprach von einem großen Tag für die Stadt.\n\n"
    "Der Bau kostete 31 Millionen Euro. Die Arbeiten dauerten drei Jahre, u. a. wegen eines Hochwassers "
    "im Jahr 2022. Radfahrer bekommen eine eigene Spur.\n"
)
FERRY = (
    "Fähre nach Oslo\n\n"
    "Die Reederei in Kiel stellt eine neue Fähre in Dienst. Das Schiff bietet Platz für 2.100 Passagiere "
    "und 500 Autos. Kapitänin Maren Olsen steuert es ab dem 1. Mai zweimal pro Woche nach Oslo.\n\n"
    "Die Überfahrt dauert etwa zwanzig Stunden. An Bord gibt es ein Kino und drei Restaurants.\n"
)
MINE = (
    "Silbermine im Erzgebirge\n\n"
    "In Freiberg hat ein Bergbauunternehmen eine stillgelegte Silbermine wieder geöffnet. Geologin "
    "Petra Lang schätzt die Vorräte auf 90 Tonnen Silber. Zunächst arbeiten 140 Bergleute unter Tage.\n\n"
    "Umweltverbände fürchten um das Grundwasser und haben Klage eingereicht.\n"
)

TRAIN = (
    "Nachtzug nach Wien\n\n"
    "Ab Dezember fährt wieder ein Nachtzug von Hamburg nach Wien. Die Fahrt dauert 13 Stunden, "
    "der Zug hat 11 Wagen mit Schlafabteilen. Bahnchef Jonas Weber nannte die Nachfrage überraschend hoch.\n"
)

BRIDGE_Q = "Auf wie vielen Pfeilern ruht die Neckarbrücke in Tübingen?"
FERRY_Q = "Wie viele Passagiere passen auf die neue Fähre nach Oslo?"
MINE_Q = "Wie viele Tonnen Silber liegen in der Mine in Freiberg?"
TRAIN_Q = "Wie lange dauert die Fahrt mit dem Nachtzug von Hamburg nach Wien?"


class Remembering:
    """A real encoder that remembers the vectors it made, so tests that build many small indexes
    of the same articles pay for each text once. Vectors are the model's own."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self._seen: dict[str, list[float]] = {}

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        new = [t for t in dict.fromkeys(texts) if t not in self._seen]
        self._seen.update(zip(new, self.inner.embed_documents(new), strict=True))
        return [self._seen[t] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)


def write_articles(folder: Path, **articles: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in articles.items():
        (folder / f"{name}.txt").write_text(text, encoding="utf-8")
    return folder


def collection_counts(index_dir: Path) -> dict[str, int]:
    """Rows per collection, read through a fresh client as a new reader would."""
    store.reset_client_cache()
    client = store.make_client(index_dir, None)
    return {name: client.get_collection(name).count() for name in sorted(store.collection_names(client))}


def snapshot(index_dir: Path) -> tuple[str | None, dict[str, int], list[str]]:
    """What a bad input must leave unchanged: the manifest, the rows of every collection, the texts."""
    manifest = index_dir / MANIFEST
    texts = sorted(p.name for p in (index_dir / "articles").glob("*")) if (index_dir / "articles").is_dir() else []
    counts = collection_counts(index_dir) if (index_dir / "chroma").is_dir() else {}
    return (manifest.read_text(encoding="utf-8") if manifest.exists() else None), counts, texts


def assert_consistent(index_dir: Path) -> Manifest:
    """No orphans: each collection holds exactly the chunks the manifest lists, and one text per article."""
    manifest = read_manifest(index_dir)
    assert manifest is not None
    assert not (index_dir / PENDING).exists()
    expected = sum(m["chunks"] for m in manifest.articles.values())
    counts = collection_counts(index_dir)
    assert sorted(counts) == sorted(manifest.collections.values()), "a collection no manifest names"
    assert all(n == expected for n in counts.values()), (counts, expected)
    texts = {p.stem for p in (index_dir / "articles").glob("*.txt")}
    assert texts == set(manifest.articles)
    client = store.make_client(index_dir, None)
    for name in manifest.collections.values():
        got = client.get_collection(name).get(include=["metadatas"])
        assert {m["article_id"] for m in got["metadatas"]} == set(manifest.articles)
    return manifest


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, tuple[str, bytes, float]]] = {}

    def do_GET(self) -> None:
        if self.path.startswith("/umleitung"):
            self.send_response(302)
            self.send_header(
                "Location", "file:///etc/passwd" if self.path.endswith("datei") else "ftp://127.0.0.1/a.txt"
            )
            self.end_headers()
            return
        if self.path not in self.routes:
            self.send_error(404, "Not Found")
            return
        ctype, body, delay = self.routes[self.path]
        time.sleep(delay)
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def web_server(routes: dict[str, tuple[str, bytes, float]]) -> Iterator[str]:
    """An HTTP server on 127.0.0.1 serving ``routes`` (path -> content type, body, delay); unknown
    paths answer 404, ``/umleitung-*`` redirects to file:// or ftp://."""
    handler = type("Handler", (_Handler,), {"routes": routes})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


class _Recording(http.server.BaseHTTPRequestHandler):
    pages: ClassVar[dict[str, bytes]] = {}
    moves: ClassVar[dict[str, str]] = {}
    seen: ClassVar[list[tuple[str, str]]] = []

    def do_GET(self) -> None:
        self.seen.append((self.path, self.headers.get("Host", "")))
        if self.path in self.moves:
            self.send_response(302)
            self.send_header("Location", self.moves[self.path])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path not in self.pages:
            self.send_error(404, "Not Found")
            return
        body = self.pages[self.path]
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@dataclass
class Served:
    """A running local server: its base address, port, and every request it got as (path, Host header)."""

    url: str
    port: int
    seen: list[tuple[str, str]]


@contextlib.contextmanager
def recording_server(
    host: str = "127.0.0.1",
    port: int = 0,
    pages: dict[str, bytes] | None = None,
    moves: dict[str, str] | None = None,
    tls: ssl.SSLContext | None = None,
    seen: list[tuple[str, str]] | None = None,
) -> Iterator[Served]:
    """An HTTP(S) server on ``host`` (an IPv4 or IPv6 address) serving HTML ``pages``, redirecting
    ``moves`` (path -> Location) and recording every request it receives (into ``seen`` if given)."""
    seen = [] if seen is None else seen
    handler = type("Handler", (_Recording,), {"pages": pages or {}, "moves": moves or {}, "seen": seen})
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    server_class = type("Server", (http.server.ThreadingHTTPServer,), {"address_family": family})
    httpd = server_class((host, port), handler)
    httpd.daemon_threads = True
    if tls is not None:
        httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    bound = httpd.server_address[1]
    shown = f"[{host}]" if ":" in host else host
    try:
        yield Served(f"{'https' if tls else 'http'}://{shown}:{bound}", bound, seen)
    finally:
        httpd.shutdown()
        httpd.server_close()


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, check=False)


@contextlib.contextmanager
def small_disk(folder: Path, headroom: int, contents: Path, size: str = "16m") -> Iterator[tuple[Path, Path]]:
    """A small tmpfs at ``folder`` holding a copy of the index ``contents`` and a filler file that
    leaves ``headroom`` bytes free; yields (the index, the filler). Skips the test only when the
    mount itself fails (it needs root)."""
    folder.mkdir(parents=True, exist_ok=True)
    mounted = _run("mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder))
    if mounted.returncode != 0:
        pytest.skip(f"a full disk needs a small tmpfs, and `mount -t tmpfs` failed: {mounted.stderr.strip()}")
    try:
        shutil.copytree(contents, folder / "index")
        filler = folder / "filler"
        with open(filler, "wb") as fh:
            fh.write(b"\0" * max(shutil.disk_usage(folder).free - headroom, 0))
        yield folder / "index", filler
    finally:
        if _run("umount", str(folder)).returncode != 0:
            _run("umount", "-l", str(folder))


@contextlib.contextmanager
def read_only(source: Path, mountpoint: Path) -> Iterator[Path]:
    """``source`` where nobody can write it, not even root: a read-only bind mount at
    ``mountpoint``; where mounting fails, the files made immutable in place (``chattr -R +i``).
    Yields the read-only path. Skips the test only when both fail."""
    mountpoint.mkdir(parents=True, exist_ok=True)
    bound = _run("mount", "--bind", str(source), str(mountpoint))
    if bound.returncode == 0:
        if _run("mount", "-o", "remount,bind,ro", str(mountpoint)).returncode == 0:
            try:
                yield mountpoint
            finally:
                if _run("umount", str(mountpoint)).returncode != 0:
                    _run("umount", "-l", str(mountpoint))
            return
        _run("umount", str(mountpoint))
    frozen = _run("chattr", "-R", "+i", str(source))
    if frozen.returncode != 0:
        _run("chattr", "-R", "-i", str(source))
        pytest.skip(
            f"no read-only folder can be made here: a bind mount failed ({bound.stderr.strip()}) "
            f"and so did chattr +i ({frozen.stderr.strip()})"
        )
    try:
        yield source
    finally:
        _run("chattr", "-R", "-i", str(source))
