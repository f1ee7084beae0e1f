"""A chat-page session that speaks the page's own websocket protocol instead of running a browser:
it sends what the browser sends when Enter is pressed in the question box (a rerun with the question
as the chat input's value) and reads the elements the script run sends back, drawing nothing. With
it the load benchmark measures the server on the machine's cores without the browsers' share."""

from __future__ import annotations

import asyncio
import html
import re
import time
from typing import Any

from bench.loadkit import ANSWER_TIMEOUT_S, Asked

_MARK = re.compile(r"<mark[^>]*>(.*?)</mark>", re.DOTALL)
Path_ = tuple[int, ...]


def _text(body: str) -> str:
    """Markdown/HTML the page shows, as the text a reader sees (line breaks for ``<br>``, tags dropped)."""
    return html.unescape(re.sub(r"<[^>]+>", "", body.replace("<br>", "\n")))


class SocketPage:
    """One session on ``/_stcore/stream``; ``open`` and ``ask`` as ``ChatPage``."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self._ws: Any = None
        self._url = ""
        self._page_hash = ""
        self._question_id: str | None = None

    async def open(self, url: str, timeout: float = 180.0) -> None:
        from websockets.asyncio.client import connect

        self._url = url
        stream = url.replace("http://", "ws://", 1) + "/_stcore/stream"
        self._ws = await connect(stream, subprotocols=["streamlit"], max_size=None)  # type: ignore[list-item]
        await self._send([])
        await self._run(timeout)
        if self._question_id is None:
            raise RuntimeError("the page has no question box")

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()

    async def _send(self, widgets: list[Any]) -> None:
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ClientState_pb2 import ClientState, ContextInfo
        from streamlit.proto.WidgetStates_pb2 import WidgetStates

        info = ContextInfo(timezone="UTC", locale="en-US", url=self._url + "/", color_scheme="light")
        state = ClientState(widget_states=WidgetStates(widgets=widgets), page_script_hash=self._page_hash)
        state.context_info.CopyFrom(info)
        await self._ws.send(BackMsg(rerun_script=state).SerializeToString())

    async def _run(self, timeout: float) -> tuple[dict[Path_, Any], dict[Path_, Any]]:
        """The elements and blocks one whole script run sends, by their place on the page."""
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        elements: dict[Path_, Any] = {}
        blocks: dict[Path_, Any] = {}
        deadline = time.monotonic() + timeout
        while True:
            msg = ForwardMsg.FromString(await asyncio.wait_for(self._ws.recv(), deadline - time.monotonic()))
            kind = msg.WhichOneof("type")
            if kind == "new_session":
                self._page_hash = msg.new_session.page_script_hash
            elif kind == "ref_hash":  # sent only for messages a client says it holds; this one says none
                self.problems.append("the server sent a cached message by reference")
            elif kind == "delta":
                path, delta = tuple(msg.metadata.delta_path), msg.delta
                if delta.WhichOneof("type") == "new_element":
                    elements[path] = delta.new_element
                    if delta.new_element.WhichOneof("type") == "chat_input":
                        self._question_id = delta.new_element.chat_input.id
                elif delta.WhichOneof("type") == "add_block":
                    blocks[path] = delta.add_block
            elif kind == "script_finished":
                if msg.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY:
                    return elements, blocks
                if msg.script_finished == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                    raise RuntimeError("the page's script failed to compile")

    async def ask(self, session: int, question: str, history: list[str], timeout: float = ANSWER_TIMEOUT_S) -> Asked:
        from streamlit.proto.Common_pb2 import ChatInputValue
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        asked = Asked(session, question, list(history))
        started = time.perf_counter()
        try:
            await self._send([WidgetState(id=self._question_id, chat_input_value=ChatInputValue(data=question))])
            elements, blocks = await self._run(timeout)
        except Exception as exc:  # a timeout or a closed connection: an error of this question
            asked.error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
            return asked
        asked.seconds = asked.server_seconds = time.perf_counter() - started
        asked.done_at = time.monotonic()
        self._read(asked, elements, blocks)
        return asked

    @staticmethod
    def _read(asked: Asked, elements: dict[Path_, Any], blocks: dict[Path_, Any]) -> None:
        """What the newest assistant message holds, as ``ChatPage`` reads it from the browser."""
        replies = [p for p, b in blocks.items() if b.WhichOneof("type") == "chat_message"]
        replies = [p for p in replies if blocks[p].chat_message.name == "assistant"]
        if len(replies) <= len(asked.history):
            asked.error = "no new answer on the page"
            return
        last = max(replies)
        inside = [(p, elements[p]) for p in sorted(elements) if p[: len(last)] == last]
        markdown = [e.markdown for _, e in inside if e.WhichOneof("type") == "markdown"]
        alerts = [e.alert for _, e in inside if e.WhichOneof("type") == "alert"]
        errors = [a.body for a in alerts if a.format == a.ERROR]
        captions = [_text(m.body) for m in markdown if m.element_type == m.CAPTION]
        asked.answer = _text(markdown[0].body) if markdown else ""
        asked.quotes = [_text(q) for m in markdown if "rag-cite" in m.body for q in _MARK.findall(m.body)]
        asked.searched = next((c[len("Searched: ") :] for c in captions if c.startswith("Searched: ")), None)
        asked.error = _text(errors[0]) if errors else None
        asked.text = "\n".join(_text(m.body) for m in markdown)
