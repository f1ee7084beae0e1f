"""Reading articles: formats, encodings, titles, web addresses and the inputs that are refused."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from indexkit import web_server

from rag.articles.addresses import AddressGuard
from rag.articles.ingest import Loaded, collect_sources, fetch_article, read_article, safe_seed_path
from rag.errors import InputError

GERMAN = (
    "Überfall in München\n\nDie Bürger wählten am 3. Oktober. Größere Straßen wurden gesperrt, "
    "für 5 € pro Stunde. Der Bürgermeister sagte: „Wir öffnen morgen wieder.“ Später äußerte er Zweifel.\n"
)

PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8">
<title>Panzer an der Grenze – Beispielzeitung</title></head><body>
<nav><a href="/">Start</a> | <a href="/politik">Politik</a> | <a href="/sport">Sport</a></nav>
<article><h1>Panzer an der Grenze</h1>
<p>Der Verteidigungsminister sagte am Dienstag, dass 40.000 Soldaten und 15.000 Fahrzeuge an der Grenze
stehen. Die Regierung in Kiew forderte daraufhin ein Treffen der Außenminister.</p>
<p>Beobachter schätzen, dass die Truppen seit drei Wochen dort stationiert sind. Ein Sprecher der NATO
sprach von der größten Konzentration seit Jahren und kündigte weitere Gespräche an.</p>
</article><footer>© Beispielzeitung · Impressum · Datenschutz</footer></body></html>"""


def _read(tmp_path: Path, name: str, data: bytes, max_bytes: int = 100_000) -> Loaded:
    path = tmp_path / name
    path.write_bytes(data)
    return read_article(path, name, max_bytes)


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1", "utf-16", "utf-8-sig"])
def test_other_encodings_are_detected_and_read_correctly(tmp_path: Path, encoding: str) -> None:
    text = GERMAN.replace("€", "EUR").replace("„", '"').replace("“", '"') if encoding == "latin-1" else GERMAN
    loaded = _read(tmp_path, "artikel.txt", text.encode(encoding))
    assert loaded.article.text.lstrip("\ufeff") == text
    assert loaded.article.title == "Überfall in München"
    if encoding != "utf-8-sig":
        assert loaded.note is not None and "citations refer to the text stored in the index" in loaded.note


def test_utf8_needs_no_note_and_keeps_the_text_as_python_reads_it(tmp_path: Path) -> None:
    loaded = _read(tmp_path, "a.txt", GERMAN.encode("utf-8"))
    assert loaded.note is None
    assert loaded.article.text == (tmp_path / "a.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "a.txt is empty"),
        (b"  \n\t\n ", "a.txt is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, "a.txt looks like a binary file"),
        (b"%PDF-1.4\n" + bytes(range(1, 32)) * 40, "a.txt looks like a binary file"),
        (b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 64, "a.txt looks like a binary file"),
    ],
    ids=["empty", "whitespace", "png", "pdf-like", "zip"],
)
def test_unusable_files_are_refused_with_a_clear_message(tmp_path: Path, data: bytes, message: str) -> None:
    with pytest.raises(InputError) as err:
        _read(tmp_path, "a.txt", data)
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


def test_a_file_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"a.txt is 2,000 bytes, over the limit of 1,000; .*RAG_MAX_FILE_BYTES"):
        _read(tmp_path, "a.txt", b"x" * 2000, max_bytes=1000)


def test_html_gives_the_article_text_and_its_title(tmp_path: Path) -> None:
    article = _read(tmp_path, "seite.html", PAGE.encode("utf-8")).article
    assert article.title == "Panzer an der Grenze"  # the page title without the site's name
    assert "40.000 Soldaten und 15.000 Fahrzeuge" in article.text
    assert "Impressum" not in article.text and "Politik" not in article.text
    assert "<p>" not in article.text


def test_html_in_windows_1252_is_decoded(tmp_path: Path) -> None:
    page = PAGE.replace('<meta charset="utf-8">', '<meta charset="windows-1252">')
    article = _read(tmp_path, "seite.htm", page.encode("cp1252")).article
    assert "Außenminister" in article.text and "größten" in article.text


def test_titles_come_from_the_document_with_the_file_name_as_fallback(tmp_path: Path) -> None:
    assert _read(tmp_path, "a.md", b"# Die Schlagzeile\n\nText hier.").article.title == "Die Schlagzeile"
    assert _read(tmp_path, "b.txt", b"Kurze erste Zeile\n\nText.").article.title == "Kurze erste Zeile"
    long_line = (
        b"Ein sehr langer erster Satz, der weit mehr als hundert Zeichen hat und daher "
        b"nicht als Titel taugt, geht weiter. Zweiter Satz."
    )
    assert _read(tmp_path, "c.txt", long_line).article.title.endswith("…")
    blank_page = (
        b"<html><head></head><body><article><p>" + b"Nur Text ohne Titel hier. " * 20 + b"</p></article></body></html>"
    )
    article = _read(tmp_path, "ohne-titel.html", blank_page).article
    assert article.title.startswith("Nur Text ohne Titel hier.")


def test_missing_path_and_unsupported_scheme_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="nope.txt: no such file or folder"):
        collect_sources([str(tmp_path / "nope.txt")])
    for url in ("file:///etc/passwd", "ftp://example.org/a.txt"):
        with pytest.raises(InputError, match="only http:// and https:// addresses"):
            collect_sources([url])


def test_a_folder_yields_its_articles_named_by_the_folder_as_given(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.txt").write_text("A.")
    (tmp_path / "sub" / "b.md").write_text("B.")
    (tmp_path / "c.pdf").write_bytes(b"%PDF")
    (tmp_path / ".hidden.txt").write_text("H.")
    got = collect_sources([tmp_path])
    assert [s.name for s in got] == [str(tmp_path / "a.txt"), str(tmp_path / "sub" / "b.md")]
    assert not any(s.named for s in got)


@pytest.mark.parametrize(
    "name",
    [
        "../evil.txt",
        "../../etc/passwd.txt",
        "/etc/cron.d/x.txt",
        "sub/a.txt",
        "..\\evil.txt",
        "C:evil.txt",
        "..",
        ".",
        "",
        "   ",
        ".hidden.txt",
        "a\x00.txt",
    ],
)
def test_upload_names_that_would_leave_seeds_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(InputError) as err:
        safe_seed_path(tmp_path / "seeds", name)
    assert "rename the file" in str(err.value) or "is not" in str(err.value)
    assert not any(tmp_path.parent.glob("evil*"))


def test_upload_names_that_are_plain_stay_in_seeds(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    assert safe_seed_path(seeds, "Nachricht vom 3. Mai.txt") == seeds / "Nachricht vom 3. Mai.txt"
    with pytest.raises(InputError, match="not a .txt, .md or .html file"):
        safe_seed_path(seeds, "bild.png")
    (seeds / "link.txt").symlink_to(tmp_path / "outside.txt")
    with pytest.raises(InputError, match="not a plain file"):
        safe_seed_path(seeds, "link.txt")


# -- web addresses, against a local server this test starts -----------------------------------

ANY = AddressGuard.anything()  # the local test server is allowed, as on the command line (test_guard.py: the page)
ROUTES = {
    "/artikel": ("text/html; charset=utf-8", PAGE.encode("utf-8"), 0.0),
    "/notiz.txt": ("text/plain; charset=windows-1252", GERMAN.encode("cp1252"), 0.0),
    "/bild.png": ("image/png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, 0.0),
    "/langsam": ("text/html", PAGE.encode("utf-8"), 3.0),
    "/riesig": ("text/html", b"<p>" + b"x" * 300_000 + b"</p>", 0.0),
}


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with web_server(ROUTES) as url:
        yield url


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


def test_a_web_article_is_fetched_and_reduced_to_its_text(server: str) -> None:
    loaded = fetch_article(f"{server}/artikel", 1_000_000, 5, ANY)
    assert loaded.article.source == f"{server}/artikel"
    assert loaded.article.title == "Panzer an der Grenze"
    assert "40.000 Soldaten" in loaded.article.text and "Impressum" not in loaded.article.text


def test_a_plain_text_address_uses_its_declared_charset(server: str) -> None:
    article = fetch_article(f"{server}/notiz.txt", 1_000_000, 5, ANY).article
    assert article.text == GERMAN


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/fehlt", "the server answered 404 Not Found"),
        ("/bild.png", "is image/png, not a web page or text"),
        ("/riesig", "over the limit of 100,000 bytes"),
        ("/umleitung-datei", "redirects to file:///etc/passwd; only http(s) addresses are fetched"),
        ("/umleitung-ftp", "redirects to ftp://127.0.0.1/a.txt; only http(s) addresses are fetched"),
    ],
)
def test_bad_web_addresses_are_refused_with_a_clear_message(server: str, path: str, message: str) -> None:
    with pytest.raises(InputError) as err:
        fetch_article(f"{server}{path}", 100_000, 5, ANY)
    assert message in str(err.value)
    assert str(err.value).startswith(f"{server}{path}")


def test_a_slow_web_address_times_out(server: str) -> None:
    t0 = time.monotonic()
    with pytest.raises(InputError, match=r"no complete answer within 0.5 s"):
        fetch_article(f"{server}/langsam", 1_000_000, 0.5, ANY)
    assert time.monotonic() - t0 < 2.5


def test_an_unreachable_address_is_refused() -> None:
    with pytest.raises(InputError, match="cannot fetch it|connection failed"):
        fetch_article("http://127.0.0.1:9/nichts", 1_000_000, 2, ANY)
