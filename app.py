"""The chat page: ask about the indexed articles and check each answer against its quoted sources.

Start it with ``make run``. Widgets and session state live here; the work is done in ``rag/``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import streamlit as st
from pydantic import ValidationError

from rag.articles.ingest import SUFFIXES
from rag.config import Settings
from rag.errors import InputError, RagError
from rag.index.manifest import Manifest, read_manifest
from rag.page import ui, uploads
from rag.pipeline import Bot, check_question, make_encoders
from rag.types import Answer, Article, Scope

log = logging.getLogger("rag.app")

EXAMPLES = (
    "How many troops did Shoigu claim?",
    "Wie viele ukrainische Soldaten starben 2021?",
    "Where did Biden propose to meet Putin?",
)
ALL_ARTICLES = "All articles"
READ_ONLY_EMPTY = "No articles are indexed yet; this chat is read-only, so they are added on the server."


@dataclass
class Turn:
    """One question and what came back: an answer with its citations, or an error message."""

    question: str
    answer: Answer | None = None
    error: str | None = None


@st.cache_resource(show_spinner="Loading the language models…")
def load_encoders(key: str) -> list[Any]:
    encoders = make_encoders(Settings(**json.loads(key)))
    for enc in encoders:
        enc.embed_query("warm-up")  # the first call is slow; pay it before the first question
    return encoders


@st.cache_resource(show_spinner=False)
def load_bot(settings_json: str) -> Bot:
    """One bot per index for the whole process, shared by every browser session."""
    settings = Settings(**json.loads(settings_json))
    key = settings.model_dump_json(include={"embedding_model", "hf_offline", "retrieve"})
    return Bot(settings, encoders=load_encoders(key))


def ensure_index(bot: Bot) -> Manifest | None:
    """The index manifest; on first start the index is built from the seeds folder (not by a
    read-only page, which writes nothing)."""
    settings = bot.settings
    manifest = read_manifest(settings.index_dir)
    seeds = settings.seeds_dir
    if settings.read_only:
        return manifest
    if manifest is None and seeds.is_dir() and any(p.suffix.lower() in SUFFIXES for p in seeds.rglob("*")):
        bar = st.progress(0.0, text="Building the index from the seed articles…")
        bot.index([seeds], progress=lambda done, total, _: bar.progress(done / max(total, 1)), wait=300)
        bar.empty()
        manifest = read_manifest(settings.index_dir)
    return manifest


def ask(bot: Bot, question: str, turns: list[Turn]) -> None:
    with st.chat_message("user"):
        st.markdown(ui.escape(question))
    turn = Turn(question)
    streamed = False
    with st.chat_message("assistant"):
        try:
            with st.spinner("Searching the articles…"):
                history = [t.question for t in turns if t.answer]
                reply = bot.ask_stream(question, history=history, scope=chosen_scope(), context=last_article(turns))
            if reply.live:  # a language model writes: its tokens as they come, then the checked answer
                draft = st.empty()
                with draft.container():
                    st.write_stream(ui.escape(chunk) for chunk in reply)
                draft.empty()
                streamed = True
            turn.answer = reply.answer
            keep_articles(bot, turn.answer)
        except RagError as exc:
            turn.error = str(exc)
        except Exception as exc:  # shown as one line; the traceback goes to the server log
            log.exception("answering %r failed", question)
            turn.error = f"Something went wrong while answering ({type(exc).__name__}); see the server log."
        turns.append(turn)
        show_reply(len(turns) - 1, turn, stream=not streamed)


def last_article(turns: list[Turn]) -> str | None:
    """The article the last answer quoted first: what "this article" means in the next question."""
    for turn in reversed(turns):
        if turn.answer is not None and turn.answer.citations:
            return turn.answer.citations[0].article_id
    return None


def chosen_scope() -> Scope:
    """The articles the sidebar limits answers to."""
    article = st.session_state.get("scope_article") or None
    since, until = st.session_state.get("scope_since"), st.session_state.get("scope_until")
    return Scope(
        article if article != ALL_ARTICLES else None,
        since.isoformat() if since else None,
        until.isoformat() if until else None,
    )


def scope_controls(manifest: Manifest) -> None:
    """Restrict answers to one article or a date range."""
    st.header("Answer from")
    titles = {aid: m["title"] for aid, m in ui.newest_first(manifest)}
    st.selectbox(
        "Articles",
        [ALL_ARTICLES, *titles],
        key="scope_article",
        format_func=lambda aid: aid if aid == ALL_ARTICLES else titles.get(aid, aid),
    )
    left, right = st.columns(2)
    left.date_input("From", value=None, key="scope_since", format="YYYY-MM-DD")
    right.date_input("To", value=None, key="scope_until", format="YYYY-MM-DD")


def keep_articles(bot: Bot, answer: Answer) -> None:
    """Keep the cited articles' texts, so old answers still open them after the index changes."""
    texts: dict[str, Article] = st.session_state.setdefault("articles", {})
    known = bot.retriever.articles
    for c in answer.citations:
        if c.article_id not in texts and c.article_id in known:
            texts[c.article_id] = known[c.article_id]


def show_reply(i: int, turn: Turn, stream: bool = False) -> None:
    if turn.answer is None:
        st.error(ui.escape(turn.error or "No answer."))
        return
    answer = turn.answer
    text = ui.answer_markdown(answer)
    if stream:
        st.write_stream(ui.stream_words(text))
    else:
        st.markdown(text)
    if answer.notice:
        (st.warning if answer.backend == "extractive" else st.info)(ui.escape(answer.notice))
    if answer.searched and answer.searched != answer.question:
        st.caption(f"Searched: {ui.escape(answer.searched)}")
    if answer.abstained:
        if answer.passages:
            with st.expander("Nearest passages (not an answer)"):
                st.caption("These passages came closest, but none of them answers the question.")
                for p in answer.passages:
                    st.markdown(ui.passage_html(p), unsafe_allow_html=True)
        return
    articles: dict[str, Article] = st.session_state.get("articles", {})
    texts = {aid: a.text for aid, a in articles.items()}
    for shown in ui.group_citations(answer.citations, answer.passages, texts):
        st.markdown(ui.shown_html(shown, answer.short_answer if answer.short_found else None), unsafe_allow_html=True)
        if shown.context is None:
            continue
        first, *rest = shown.citations
        article = articles.get(first.article_id)
        label = " and ".join(f"[{c.n}]" for c in shown.citations)
        with st.expander(f"Open the article at quote {label}"):
            if article is None:
                st.info("This article is no longer in the index.")
            else:
                more = [(c.start, c.end) for c in rest]
                anchor = f"quote-{i}-{first.n}"
                st.markdown(ui.article_html(article.text, first.start, first.end, anchor, more), unsafe_allow_html=True)


def welcome(manifest: Manifest | None, read_only: bool) -> None:
    st.markdown(
        "Ask a question about the news articles below. Every answer quotes them word for word, "
        "so you can check it against the source."
    )
    if manifest is not None and manifest.articles:
        st.markdown(ui.titles_html(manifest), unsafe_allow_html=True)
    else:
        st.info(READ_ONLY_EMPTY if read_only else "No articles are indexed yet: add one in the sidebar.")
    st.markdown("Try one of these:")
    for n, example in enumerate(EXAMPLES):
        st.button(example, key=f"example_{n}", on_click=pick, args=(example,))


def pick(question: str) -> None:
    st.session_state.pending = question


def sidebar(bot: Bot | None, manifest: Manifest | None, read_only: bool, notices: list[str]) -> None:
    st.header("Index")
    for notice in notices:  # wrong with the index, though answers are not affected
        st.warning(ui.escape(notice))
    if manifest is not None:
        if manifest.articles:
            scope_controls(manifest)
        st.markdown(ui.status_html(manifest), unsafe_allow_html=True)
    elif bot is not None:
        st.info(READ_ONLY_EMPTY if read_only else "The index is empty: add an article below.")
    if read_only:  # no add controls at all: nothing on this page can write
        st.caption("This chat is read-only: articles are added by whoever runs the server.")
        return
    st.header("Add an article")
    if st.session_state.pop("clear_paste", False):
        st.session_state.paste_title = st.session_state.paste_text = ""
    busy = bot is None or "job" in st.session_state
    upload_tab, paste_tab, web_tab = st.tabs(["Upload a file", "Paste text", "Web address"])
    # Each tab is a form: what was chosen or typed reaches the script together with the click (a
    # click while a file is still uploading is not possible, and none is lost to a rerun).
    with upload_tab, st.form("upload_form", border=False):
        upload = st.file_uploader("A .txt, .md or .html article", type=["txt", "md", "html", "htm"], key="upload")
        if st.form_submit_button("Add the file", key="upload_add", disabled=busy):
            if upload is None:
                st.session_state.notice = uploads.Outcome("error", "Choose a file first.")
            else:
                data = upload.getvalue()
                add(bot, lambda: (uploads.check_file(upload.name, data, bot.settings), data))
    with paste_tab, st.form("paste_form", border=False):
        st.text_input("Title", key="paste_title")
        st.text_area("Article text", key="paste_text", height=160)
        if st.form_submit_button("Add the pasted article", key="paste_add", disabled=busy):
            st.session_state.paste_job = True
            add(bot, lambda: uploads.pasted(st.session_state.paste_title, st.session_state.paste_text, bot.settings))
    with web_tab, st.form("web_form", border=False):
        st.text_input("Address of an article", key="web_address", placeholder="https://…")
        if st.form_submit_button("Fetch and add", key="web_add", disabled=busy):
            with st.spinner("Fetching…"):
                add(bot, lambda: uploads.from_address(st.session_state.web_address, bot.settings))
    if "job" in st.session_state:
        job_panel()
    notice: uploads.Outcome | None = st.session_state.get("notice")
    if notice is not None:
        getattr(st, notice.level)(ui.escape(notice.message))


def add(bot: Bot, make_file: Callable[[], tuple[str, bytes]]) -> None:
    """Check the article now (errors show at once, the inputs stay), then index it in the background."""
    if bot.settings.read_only:  # the controls are not shown; a stale form must not write either
        st.session_state.notice = uploads.Outcome("error", uploads.READ_ONLY)
        return
    try:
        name, data = make_file()
        st.session_state.job = uploads.start_job(bot, name, data)
        st.session_state.notice = None
    except (InputError, OSError) as exc:
        st.session_state.notice = uploads.Outcome("error", str(exc))


@st.fragment(run_every=0.5)
def job_panel() -> None:
    job: uploads.IndexJob | None = st.session_state.get("job")
    if job is None:
        return
    if job.running:
        st.progress(job.done / job.total if job.total else 0.0, text=f"Indexing {job.path.name}…")
        return
    del st.session_state["job"]
    st.session_state.notice = job.outcome
    pasted = st.session_state.pop("paste_job", False)
    st.session_state.clear_paste = pasted and job.outcome is not None and job.outcome.level != "error"
    st.rerun()


def main() -> None:
    st.set_page_config(page_title="Ask the news", layout="centered")
    st.title("Ask the news")
    question = st.chat_input("Ask about the articles…", key="question", max_chars=1000)
    bot, manifest, read_only, notices = None, None, False, []
    try:
        settings = Settings()
        read_only = settings.read_only
        bot = load_bot(settings.model_dump_json())
        manifest = ensure_index(bot)
        if manifest is not None:
            notices = bot.retriever.notices  # opens the index now: damage is told before the first question
    except ValidationError as exc:
        err = exc.errors()[0]
        name = "RAG_" + "__".join(str(part) for part in err["loc"]).upper()
        st.error(ui.escape(f"The setting {name} is invalid ({err['msg']}); fix or unset it and restart."))
    except RagError as exc:  # models or index unusable: say so, keep the page up
        st.error(ui.escape(str(exc)))
    except Exception as exc:
        log.exception("starting the bot failed")
        st.error(ui.escape(f"The bot could not start ({type(exc).__name__}: {exc}); see the server log."))
    with st.sidebar:
        sidebar(bot, manifest, read_only, notices)
    turns: list[Turn] = st.session_state.setdefault("turns", [])
    pending = st.session_state.pop("pending", None)
    question = question if question is not None else pending
    if not turns and not (question and question.strip()):
        welcome(manifest, read_only)
    for i, turn in enumerate(turns):
        with st.chat_message("user"):
            st.markdown(ui.escape(turn.question))
        with st.chat_message("assistant"):
            show_reply(i, turn)
    if question is None:
        return
    try:
        question = check_question(question)
    except InputError as exc:
        st.warning(ui.escape(str(exc)))
        return
    if bot is None:
        st.error("The bot is not available; see the message above.")
        return
    ask(bot, question, turns)


logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
main()
