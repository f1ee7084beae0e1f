"""One reply to a question that asks several things: each part's answer, in order, with the
citations of all parts numbered once ("Who phoned Putin? Biden [1] ... Where? in einem Drittland [2]").

Each part keeps its own short answer and citations; a part the articles do not answer says so
without taking the other parts' answers with it.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Sequence
from dataclasses import replace

from rag.types import Answer, Citation, Part, Passage, Reply

_MARKER = re.compile(r"\[(\d+)\]")


def combine(question: str, parts: Sequence[str], replies: Sequence[Reply]) -> Reply:
    """The parts' replies as one: streamed part after part when a language model writes them."""
    if not any(r.live for r in replies):
        return Reply.done(merge(question, parts, [r.answer for r in replies]))
    return Reply(_stream(question, parts, replies))


def _stream(question: str, parts: Sequence[str], replies: Sequence[Reply]) -> Generator[str, None, Answer]:
    for i, (part, reply) in enumerate(zip(parts, replies, strict=True)):
        if reply.live:
            yield ("\n\n" if i else "") + f"{part} "
            yield from reply
    return merge(question, parts, [r.answer for r in replies])


def merge(question: str, parts: Sequence[str], answers: Sequence[Answer]) -> Answer:
    """One answer from the parts' answers: citations renumbered (a quote both parts cite keeps one
    number), each part's text led by its question, passages without repeats."""
    citations: list[Citation] = []
    number: dict[tuple[str, int, int], int] = {}
    blocks, shorts, notices, summary = [], [], [], []
    for part, ans in zip(parts, answers, strict=True):
        renumber: dict[int, int] = {}
        for c in ans.citations:
            key = (c.article_id, c.start, c.end)
            if key not in number:
                number[key] = len(citations) + 1
                citations.append(replace(c, n=number[key]))
            renumber[c.n] = number[key]
        text = _MARKER.sub(lambda m, r=renumber: f"[{r.get(int(m.group(1)), m.group(1))}]", ans.answer)
        blocks.append(text if ans.abstained else f"{part} {text}")
        if not ans.abstained and ans.short_answer:
            first = text.split("\n", 1)[0]
            cited = [int(n) for n in dict.fromkeys(_MARKER.findall(first))] or sorted(set(renumber.values()))
            shorts.append(ans.short_answer + " " + "".join(f"[{n}]" for n in cited))
        if ans.notice:
            notices.append(f"{part} {ans.notice}")
        own = sorted(set(renumber.values()))
        summary.append(Part(part, ans.searched, ans.short_answer, ans.abstained, own))
    return Answer(
        question,
        "\n\n".join(blocks),
        "; ".join(shorts) or None,
        all(a.abstained for a in answers),
        citations,
        _passages(answers),
        " | ".join(dict.fromkeys(a.searched for a in answers)),
        "llm" if any(a.backend == "llm" for a in answers) else "extractive",
        " ".join(notices) or None,
        summary,
        short_found=all(a.short_found for a in answers if not a.abstained),
    )


def _passages(answers: Sequence[Answer]) -> list[Passage]:
    seen: set[tuple[str, int, int]] = set()
    out = []
    for ans in answers:
        for p in ans.passages:
            if (p.article_id, p.start, p.end) not in seen:
                seen.add((p.article_id, p.start, p.end))
                out.append(p)
    return out
