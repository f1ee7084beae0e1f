"""Questions that ask two things, answered part by part in one reply, on the real seed index."""

from __future__ import annotations

import re

import pytest
from conftest import SEED, assert_quotes_verbatim

from rag.answering.conversation import split
from rag.types import Answer

SEED_TEXT = SEED.read_text(encoding="utf-8")


def assert_part(answer: Answer, i: int, expected: str, quoted: str) -> None:
    """Part ``i`` answers ``expected``, citing a quote that holds ``quoted`` at offsets that slice
    the article back to the quote; its short answer appears in the reply with its markers."""
    part = answer.parts[i]
    assert not part.abstained and expected in (part.short_answer or ""), part
    cited = [c for c in answer.citations if c.n in part.citations]
    assert any(quoted in c.quote for c in cited), [c.quote for c in cited]
    for c in cited:
        assert SEED_TEXT[c.start : c.end] == c.quote
    # (an English asker's short answer carries English glosses of its German nouns: 'Soldaten (soldiers)')
    assert f"{part.question} {part.short_answer} [" in re.sub(r" \([a-z ]+\)", "", answer.answer)
    assert f"{part.short_answer} [{part.citations[0]}]" in (answer.short_answer or "")


@pytest.mark.parametrize(
    ("question", "first", "second"),
    [
        (
            "How many soldiers is the US sending to Germany, and how many Ukrainian soldiers died in 2021?",
            ("400", "Die USA schicken weitere 400 Soldaten nach Deutschland."),
            ("29", "Im Jahr 2021 waren sie 29 ukrainische Soldaten"),
        ),
        (
            "Wie viele Soldaten schicken die USA nach Deutschland und wie viele ukrainische Soldaten starben 2021?",
            ("400", "Die USA schicken weitere 400 Soldaten nach Deutschland."),
            ("29", "Im Jahr 2021 waren sie 29 ukrainische Soldaten"),
        ),
        (
            "Wer beschuldigt die NATO, 40.000 Soldaten einsetzen zu wollen, "
            "und wer schätzt die Streitmacht auf 100.000 Soldaten?",
            ("Shoigu", "beschuldigt die NATO, 40.000 Soldaten"),
            ("Goltz", "eine Streitmacht von etwa 100.000 Soldaten"),
        ),
    ],
)
def test_each_part_gets_its_own_short_answer_and_citation(seed_bot, question, first, second) -> None:  # type: ignore[no-untyped-def]
    ans = seed_bot.ask(question)
    assert [p.question for p in ans.parts] == split(question) and len(ans.parts) == 2
    assert not ans.abstained
    assert_part(ans, 0, *first)
    assert_part(ans, 1, *second)
    assert [c.n for c in ans.citations] == list(range(1, len(ans.citations) + 1))  # renumbered 1..n
    assert_quotes_verbatim(ans, {aid: a.text for aid, a in seed_bot.retriever.articles.items()})


def test_a_part_that_cannot_stand_alone_is_searched_with_the_whole_question(seed_bot) -> None:  # type: ignore[no-untyped-def]
    question = "Where did Biden propose to meet Putin, and when?"
    ans = seed_bot.ask(question)
    where, when = ans.parts
    assert (where.question, where.searched) == ("Where did Biden propose to meet Putin?",) * 2
    assert (when.question, when.searched) == ("When?", question)
    assert_part(ans, 0, "Drittland", "in einem Drittland")
    assert_part(ans, 1, "in den kommenden Monaten", "Vorschlag eines Treffens in den kommenden Monaten")
    # the sentence both parts cite is one citation, with one number
    shared = [c for c in ans.citations if "in den kommenden Monaten" in c.quote]
    assert len(shared) == 1 and shared[0].n in where.citations and shared[0].n in when.citations


def test_a_part_the_articles_do_not_answer_says_so_for_that_part_only(seed_bot) -> None:  # type: ignore[no-untyped-def]
    ans = seed_bot.ask("Who phoned Putin and who won the 2014 FIFA World Cup?")
    phoned, cup = ans.parts
    assert not ans.abstained and not phoned.abstained and "Biden" in (phoned.short_answer or "")
    assert cup.abstained and cup.short_answer is None and cup.citations == []
    assert 'The indexed articles don\'t say: no passage answers "Who won the 2014 FIFA World Cup?".' in ans.answer
    assert ans.answer.startswith("Who phoned Putin? Biden [1]")
    assert ans.short_answer == "Biden [1]"
    assert ans.to_json()["parts"][1] == {
        "question": "Who won the 2014 FIFA World Cup?",
        "searched": "Who won the 2014 FIFA World Cup?",
        "short_answer": None,
        "abstained": True,
        "citations": [],
    }


def test_coordinated_nouns_stay_one_question(seed_bot) -> None:  # type: ignore[no-untyped-def]
    for question in (
        "How many soldiers and vehicles did Shoigu claim?",
        "Wie viele Soldaten und Kriegsfahrzeuge will die NATO einsetzen?",
        "Who met Stoltenberg and Blinken?",
    ):
        assert split(question) == [question]
    ans = seed_bot.ask("How many soldiers and vehicles did Shoigu claim?")
    assert ans.parts == [] and "parts" not in ans.to_json()
    assert "40.000 Soldaten und 15.000 Kriegsfahrzeuge" in (ans.short_answer or "")


@pytest.mark.parametrize(
    ("question", "parts"),
    [
        ("Who said X, and what did Y answer?", ["Who said X?", "What did Y answer?"]),
        (
            "Wer rief Putin an und wo soll das Treffen stattfinden?",
            ["Wer rief Putin an?", "Wo soll das Treffen stattfinden?"],
        ),
        ("Wer hat angerufen, und wer hat geantwortet?", ["Wer hat angerufen?", "Wer hat geantwortet?"]),
        (
            "Russland und die Ukraine: wer sagte was?",
            ["Russland und die Ukraine: wer sagte was?"],
        ),  # not a question before 'und'
        ("Who and why?", ["Who and why?"]),  # nothing to search in the first part
    ],
)
def test_where_a_question_is_cut(question: str, parts: list[str]) -> None:
    assert split(question) == parts


def test_with_a_language_model_each_part_is_written_and_checked_on_its_own(seed_index, encoders) -> None:  # type: ignore[no-untyped-def]
    from test_generate import CitingModel

    from rag.config import Settings
    from rag.pipeline import Bot

    model = CitingModel(
        responses=[
            "The US is sending 400 more soldiers to Germany [{400 Soldaten}].",
            "In 2021, 29 Ukrainian soldiers died [{29 ukrainische}]. Nobody else died.",
        ]
    )
    bot = Bot(Settings(index_dir=seed_index), encoders=encoders, llm=model)
    reply = bot.ask_stream(
        "How many soldiers is the US sending to Germany, and how many Ukrainian soldiers died in 2021?"
    )
    streamed = "".join(reply)
    assert streamed.startswith("How many soldiers is the US sending to Germany? The US is sending 400")
    assert "\n\nHow many Ukrainian soldiers died in 2021? In 2021, 29" in streamed
    ans = reply.answer
    assert model.calls == 2 and "The question is one part of: How many soldiers is the US" in model.prompts[0]
    assert ans.backend == "llm" and not ans.abstained
    assert ans.answer == (
        "How many soldiers is the US sending to Germany? The US is sending 400 more soldiers to Germany [1].\n\n"
        "How many Ukrainian soldiers died in 2021? In 2021, 29 Ukrainian soldiers died [2]."
    )
    assert [p.citations for p in ans.parts] == [[1], [2]]
    assert "400 Soldaten" in ans.citations[0].quote and "29 ukrainische Soldaten" in ans.citations[1].quote
    assert (
        ans.notice
        == "How many Ukrainian soldiers died in 2021? Left out 1 sentence of the written answer: 1 cited no passage."
    )
    assert_quotes_verbatim(ans, {aid: a.text for aid, a in bot.retriever.articles.items()})
