"""Pieces of the load benchmark (bench/load.py): the chat page served by Streamlit, one browser page
per user, the questions each user asks, and the large article added while they ask."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.scalekit import ROOT, SEED_GOLD, XQUAD, child_env, edition, free_port, stop_process

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
QUESTION_BOX = "Ask about the articles…"
ANSWER_TIMEOUT_S = 120.0
INDEX_TIMEOUT_S = 3600.0

# What the page shows of the newest answer once its script run is over: the answer text (the first
# Markdown block), the quotes highlighted in the citations, the "Searched:" caption, an error line,
# and the whole message as the browser renders it. ``null`` until the page itself has handled the
# end of the run (its script state is back to "notRunning", which it sets after applying every
# element the run sent: the websocket frame arriving is not enough when the page is busy), with as
# many assistant messages as expected and nothing left over from the previous run.
_READ_ANSWER = """
(n) => {
  const app = document.querySelector('[data-test-script-state]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return null;
  const messages = [...document.querySelectorAll('[data-testid="stChatMessage"]')]
    .filter(m => m.querySelector('[data-testid="stChatMessageAvatarAssistant"]'));
  if (messages.length < n || document.querySelector('[data-stale="true"]')) return null;
  const m = messages[n - 1];
  const first = m.querySelector('[data-testid="stMarkdownContainer"]');
  const error = m.querySelector('[data-testid="stAlertContentError"]');
  const caption = [...m.querySelectorAll('[data-testid="stCaptionContainer"]')]
    .map(c => c.innerText).find(t => t.startsWith("Searched: "));
  return {
    answer: first ? first.innerText : "",
    quotes: [...m.querySelectorAll(".rag-cite mark")].map(q => q.textContent),
    searched: caption ? caption.slice("Searched: ".length) : null,
    error: error ? error.innerText : null,
    text: m.innerText,
  };
}
"""


# -- CPU time ----------------------------------------------------------------------------------
def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User plus system CPU seconds each of the live processes ``pids`` has used so far."""
    out = {}
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            out[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return out


def cpu_used(before: dict[int, float], pids: list[int]) -> float:
    """CPU seconds the processes of ``before`` still running have used since."""
    now = cpu_seconds(pids)
    return sum(now[pid] - t for pid, t in before.items() if pid in now)


def descendants(root: int, leave_out: int | None = None) -> list[int]:
    """``root`` and every process started under it, without ``leave_out`` and what it started."""
    parent: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                parent[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        if pid == leave_out:
            continue
        found.append(pid)
        todo += [child for child, up in parent.items() if up == pid]
    return found


def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        raise SystemExit("needs the system Chromium: run `make browser` (Debian package chromium)")
    return path


# -- the server --------------------------------------------------------------------------------
@contextlib.contextmanager
def streamlit_server(index_dir: Path, seeds_dir: Path, log_path: Path, **env: str) -> Iterator[tuple[str, int]]:
    """``streamlit run app.py`` headless on a free local port over ``index_dir``; yields (url, pid) once
    healthy and stops it by its pid on exit. ``env``: further variables for the app (e.g. RAG_*)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [
        sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless=true",
        "--server.address=127.0.0.1", f"--server.port={port}", "--browser.gatherUsageStats=false",
        "--server.fileWatcherType=none",
    ]  # fmt: skip
    variables = child_env(RAG_INDEX_DIR=str(index_dir), RAG_SEEDS_DIR=str(seeds_dir), **env)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=variables, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 90
            while True:
                with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.read() == b"ok":
                        break
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the chat page did not start: {log_path.read_text()[-2000:]}")
                time.sleep(0.3)
            yield url, proc.pid
        finally:
            stop_process(proc)


# -- what is asked -----------------------------------------------------------------------------
def question_pool() -> list[str]:
    """The seed article's gold questions (English and German, answerable or not), in file order."""
    from rag.training.evaluate import load_gold

    return [g.question for g in load_gold(SEED_GOLD)]


def plans(sessions: int, per_session: int, pool: list[str] | None = None) -> list[list[str]]:
    """The questions each session asks in turn: consecutive stretches of the pool, so that sessions
    ask different questions and every stretch mixes the languages."""
    pool = pool or question_pool()
    return [[pool[(s * per_session + j) % len(pool)] for j in range(per_session)] for s in range(sessions)]


def large_article(folder: Path, kb: int, copy: int) -> Path:
    """A German article of about ``kb`` KB, made of the XQuAD-dev articles with edition ``copy`` and up
    marked in every sentence (a new ``copy`` gives a text the index has not seen)."""
    bases = sorted((XQUAD / "articles").glob("*.txt"))
    parts = [f"Sammelausgabe {copy}: Artikel aus Wissenschaft, Sport und Geschichte"]
    size, n = 0, copy
    while size < kb * 1000:
        for path in bases:
            text = edition(path.read_text(encoding="utf-8"), n)
            parts.append(text)
            size += len(text.encode("utf-8"))
            if size >= kb * 1000:
                break
        n += 1000
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"sammelausgabe-{copy}.txt"
    path.write_text("\n\n".join(parts) + "\n", encoding="utf-8")
    return path


# -- one browser page ----------------------------------------------------------------------------
@dataclass
class Asked:
    """One question asked on the page and what the page showed when the answer was complete."""

    session: int
    question: str
    history: list[str]
    seconds: float | None = None  # from pressing Enter to the complete answer on the page
    done_at: float = 0.0  # time.monotonic() when it was complete
    # From the question leaving the browser to the page's last message for it arriving: the server's
    # share of ``seconds`` (the rest is the browser taking the key press and drawing the answer).
    server_seconds: float | None = None
    answer: str = ""
    quotes: list[str] = field(default_factory=list)
    searched: str | None = None
    text: str = ""
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class ChatPage:
    """A browser page on the chat, watching the page's websocket for the end of each script run."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.runs = 0  # script runs finished successfully (whole page, not fragments)
        self.sent_at = self.finished_at = 0.0  # time.perf_counter() of the question and of the run's end
        self.problems: list[str] = []
        self._changed = asyncio.Event()
        page.on("websocket", self._watch)

    def _watch(self, ws: Any) -> None:
        ws.on("framereceived", self._frame)
        ws.on("framesent", self._sent)
        ws.on("close", lambda _: self._note("the page's websocket closed"))

    def _frame(self, payload: bytes | str) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        if isinstance(payload, str) or len(payload) > 256:  # the end of a run is a short message
            return
        msg = ForwardMsg.FromString(payload)
        if msg.WhichOneof("type") != "script_finished":
            return
        if msg.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY:
            self.runs += 1
            self.finished_at = time.perf_counter()
        elif msg.script_finished == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
            self._note("the page's script failed to compile")
        self._changed.set()

    def _sent(self, payload: bytes | str) -> None:
        if not self.sent_at:  # the first message after the question: the question itself
            self.sent_at = time.perf_counter()

    def _note(self, problem: str) -> None:
        self.problems.append(problem)
        self._changed.set()

    async def _runs_past(self, n: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.runs <= n:
            self._changed.clear()
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no finished script run within {timeout:.0f} s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)

    async def open(self, url: str, timeout: float = 180.0) -> None:
        """Load the page and wait for its first run to finish (the models load on the first visit)."""
        await self.page.goto(url)
        await self._runs_past(0, timeout)
        await self.page.get_by_placeholder(QUESTION_BOX).wait_for(timeout=timeout * 1000)

    async def ask(self, session: int, question: str, history: list[str], timeout: float = ANSWER_TIMEOUT_S) -> Asked:
        asked = Asked(session, question, list(history))
        page = self.page
        count = len(history) + 1  # assistant messages on the page once this answer is there
        runs = self.runs
        box = page.get_by_placeholder(QUESTION_BOX)
        await box.fill(question)
        self.sent_at = 0.0
        started = time.perf_counter()
        await box.press("Enter")
        try:
            await self._runs_past(runs, timeout)
            shown = await page.wait_for_function(_READ_ANSWER, arg=count, timeout=timeout * 1000)
            got = await shown.json_value()
        except Exception as exc:  # a timeout or a closed page: counted as an error of this question
            asked.error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            return asked
        asked.seconds = time.perf_counter() - started
        asked.done_at = time.monotonic()
        if self.sent_at:
            asked.server_seconds = self.finished_at - self.sent_at
        asked.answer, asked.quotes, asked.searched = got["answer"], got["quotes"], got["searched"]
        asked.text, asked.error = got["text"], got["error"]
        return asked

    async def add_file(self, path: Path, timeout: float = INDEX_TIMEOUT_S) -> tuple[float, float, str]:
        """Upload ``path`` in the sidebar and add it; returns when the page reports the outcome:
        (monotonic time of the click, seconds until the outcome, the outcome's text)."""
        page = self.page
        await page.locator("[data-testid='stSidebar'] input[type=file]").set_input_files(path)
        await page.get_by_role("button", name="Add the file").wait_for()
        started = time.monotonic()
        await page.get_by_role("button", name="Add the file").click()
        outcome = page.locator("[data-testid='stSidebar'] [data-testid='stAlertContainer']").first
        await outcome.wait_for(timeout=timeout * 1000)
        return started, time.monotonic() - started, await outcome.inner_text()

    async def indexing(self, timeout: float = 60.0) -> None:
        """Wait until the sidebar shows the indexing progress (or already its outcome)."""
        running = self.page.get_by_text("Indexing ", exact=False)
        outcome = self.page.locator("[data-testid='stSidebar'] [data-testid='stAlertContainer']")
        await running.or_(outcome).first.wait_for(timeout=timeout * 1000)


def same_text(a: str, b: str) -> bool:
    """Equal up to how the browser lays out white space."""
    return a.split() == b.split()
