"""The chat page in a real browser: `streamlit run` on a free local port, driven by Playwright on the
system Chromium. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.loadkit import CHROMIUM_ARGS
from bench.scalekit import stop_process

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = shutil.which("chromium")
SHOIGU = "How many troops did Shoigu claim?"
HOSTILE = (
    "# Laternen <em>für</em> Quellbach ![t](http://evil.invalid/t.png)\n\n"
    "Der Stadtrat von Quellbach beschloss am Montag 17 neue Laternen <script>alert(1)</script> für den Marktplatz.\n\n"
    "Ein Foto <img src=x onerror=alert(1)> zeigte den Platz. ![x](http://evil.invalid/x.png) Die Kosten: 5000 Euro.\n"
)

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="needs the system Chromium: run `make browser` (Debian package chromium)"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(seed_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`streamlit run app.py` on a copy of the seed index; its URL."""
    base = tmp_path_factory.mktemp("browser")
    shutil.copytree(seed_index, base / "index")
    (base / "seeds").mkdir()
    ARTIFACTS.mkdir(exist_ok=True)
    port = free_port()
    env = {
        **os.environ,
        "RAG_INDEX_DIR": str(base / "index"),
        "RAG_SEEDS_DIR": str(base / "seeds"),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "ANONYMIZED_TELEMETRY": "False",
    }
    log = open(ARTIFACTS / "server.log", "w")  # noqa: SIM115 (closed after the server stops)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.headless=true",
            "--server.address=127.0.0.1",
            f"--server.port={port}",
            "--browser.gatherUsageStats=false",
            "--server.fileWatcherType=none",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (ARTIFACTS / "server.log").read_text()[-2000:]
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.read() == b"ok":
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the server did not become healthy in 60 s"
            time.sleep(0.3)
        yield url
    finally:
        stop_process(proc)
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


def open_page(browser, url: str):  # type: ignore[no-untyped-def]
    """A fresh page that records every request it makes and every dialog a script opens."""
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.requests, page.dialogs = [], []
    page.on("request", lambda r: page.requests.append(r.url))
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    page.goto(url)
    page.get_by_text("Try one of these").wait_for(timeout=120_000)  # models load on first start
    return page


def ask(page, question: str) -> None:  # type: ignore[no-untyped-def]
    box = page.get_by_placeholder("Ask about the articles…")
    box.fill(question)
    box.press("Enter")


def assert_stays_local(page, url: str) -> None:  # type: ignore[no-untyped-def]
    outside = [u for u in page.requests if not u.startswith((url, "data:", "blob:"))]
    assert outside == []


def test_ask_see_highlighted_citation_open_article(server: str, browser) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page = open_page(browser, server)
    page.screenshot(path=ARTIFACTS / "welcome.png")
    started = time.monotonic()
    ask(page, SHOIGU)
    quote = page.locator("mark", has_text="40.000 Soldaten und 15.000 Kriegsfahrzeuge").first
    expect(quote).to_be_visible(timeout=60_000)
    answered = time.monotonic() - started
    reply = page.locator("[data-testid='stChatMessage']").nth(1)
    expect(reply).to_contain_text("40.000")
    expect(reply).to_contain_text("[1]")
    page.get_by_text(SHOIGU).last.scroll_into_view_if_needed()
    page.screenshot(path=ARTIFACTS / "answer.png")

    cite = page.locator(".rag-cite", has=quote)
    # title, then the article's date, then the passage with both of its quotes highlighted once
    expect(cite).to_contain_text("Moskau muss")
    expect(cite).to_contain_text("(file time)")
    expect(cite.locator("mark")).to_have_count(2)
    expect(page.locator(".rag-cite")).to_have_count(1)
    expect(quote.locator("strong")).to_contain_text("40.000 Soldaten")  # the short answer, bold in its quote
    n = cite.inner_text().split("]", 1)[0].lstrip("[")
    page.get_by_text(f"Open the article at quote [{n}]").click()
    view = page.locator("[data-testid='stExpander']", has_text=f"quote [{n}]")
    expect(view).to_contain_text("Treffen wir uns in einem Drittland")  # the whole article
    view.get_by_text("Jump to the quote").click()
    expect(view.locator(f"mark#quote-0-{n}")).to_be_in_viewport()
    page.screenshot(path=ARTIFACTS / "article.png")
    assert_stays_local(page, server)
    assert answered < 30, f"the answer took {answered:.1f} s"
    page.close()


def test_uploaded_article_markup_stays_text(server: str, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    article = tmp_path / "laternen.md"
    article.write_text(HOSTILE, encoding="utf-8")
    page = open_page(browser, server)
    page.locator("[data-testid='stSidebar'] input[type=file]").set_input_files(article)
    page.get_by_role("button", name="Add the file").click()
    expect(page.get_by_text("Added “Laternen")).to_be_visible(timeout=60_000)
    ask(page, "Wie viele neue Laternen beschloss der Stadtrat von Quellbach?")
    expect(page.locator("mark", has_text="<script>alert(1)</script>").first).to_be_visible(timeout=60_000)
    page.get_by_text("Open the article at quote [1]").click()
    expect(page.get_by_text("<img src=x onerror=alert(1)>")).to_be_visible()
    expect(page.locator("[data-testid='stSidebar']")).to_contain_text("Laternen <em>für</em> Quellbach ![t]")
    page.screenshot(path=ARTIFACTS / "hostile.png", full_page=True)
    assert page.locator("img[src='x'], img[src*='evil'], em:text('für')").count() == 0
    assert page.dialogs == []
    assert_stays_local(page, server)
    page.close()
