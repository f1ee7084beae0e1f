"""End-to-end behaviour of indexing and asking on the seed article, with the real models."""

from __future__ import annotations

from conftest import SEED, assert_quotes_verbatim

SEED_TEXT = SEED.read_text(encoding="utf-8")


def _texts(bot) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {aid: a.text for aid, a in bot.retriever.articles.items()}


def test_shoigu_question_answers_with_troops_and_vehicles(seed_bot) -> None:  # type: ignore[no-untyped-def]
    ans = seed_bot.ask("How many troops did Shoigu claim?")
    assert not ans.abstained
    assert "40.000" in ans.short_answer and "15.000" in ans.short_answer
    assert any("40.000 Soldaten und 15.000 Kriegsfahrzeuge" in c.quote for c in ans.citations)
    assert "[1]" in ans.answer
    assert_quotes_verbatim(ans, _texts(seed_bot))


def test_german_question_answers_29(seed_bot) -> None:  # type: ignore[no-untyped-def]
    ans = seed_bot.ask("Wie viele ukrainische Soldaten starben 2021?")
    assert not ans.abstained
    assert "29" in ans.short_answer
    assert any("29 ukrainische Soldaten" in c.quote for c in ans.citations)
    assert_quotes_verbatim(ans, _texts(seed_bot))


def test_citation_offsets_index_the_source_file(seed_bot) -> None:  # type: ignore[no-untyped-def]
    ans = seed_bot.ask("Where did Biden propose to meet Putin?")
    for c in ans.citations:
        assert SEED_TEXT[c.start : c.end] == c.quote
        assert c.source.endswith(SEED.name)
    for p in ans.passages:
        assert SEED_TEXT[p.start : p.end] == p.text


def test_a_quote_outside_the_article_is_refused() -> None:
    import pytest

    from rag.answering.wording import quote
    from rag.types import Article

    art = Article("a1", "x.txt", "X", "Ein Satz. Noch einer.")
    assert quote(art, 0, 9) == "Ein Satz."
    for start, end in ((5, 5), (-1, 4), (10, 99)):
        with pytest.raises(ValueError, match="bad quote offsets"):
            quote(art, start, end)


def test_who_answers_with_the_name_after_the_office(seed_bot) -> None:  # type: ignore[no-untyped-def]
    ans = seed_bot.ask('Who described Moscow\'s troop concentration in western Russia as "provocative"?')
    assert not ans.abstained
    assert "blinken" in ans.short_answer.lower()
    assert "provokativ" in ans.citations[0].quote


def test_numbers_named_in_the_question_are_not_the_answer(seed_bot) -> None:  # type: ignore[no-untyped-def]
    ans = seed_bot.ask("How many soldiers make up the force of the two armies and three divisions?")
    assert ans.short_answer is not None and "100.000" in ans.short_answer
    assert "100.000 Soldaten" in ans.citations[0].quote


def test_sentence_vectors_are_remembered_and_bounded(encoders) -> None:  # type: ignore[no-untyped-def]
    """The answer step embeds a sentence once: the same vectors come back without another model
    call, and the memory drops the least recently used sentence beyond its size."""
    import numpy as np

    from rag.answering.evidence import VectorMemo

    use = encoders[-1]
    calls: list[list[str]] = []

    class Counting:
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            calls.append(list(texts))
            return use.embed_documents(texts)

        def embed_query(self, text: str) -> list[float]:
            return use.embed_query(text)

    memo = VectorMemo(Counting(), size=3)
    first = memo.embed_documents(["Ein Satz.", "Noch einer.", "Ein Satz."])
    assert calls == [["Ein Satz.", "Noch einer."]]
    np.testing.assert_allclose(first[0], use.embed_documents(["Ein Satz."])[0], atol=1e-5)
    assert first[0] == first[2]
    assert memo.embed_documents(["Noch einer."]) == [first[1]] and len(calls) == 1
    memo.embed_documents(["Drei.", "Vier."])  # 'Ein Satz.' is now the least recently used: dropped
    memo.embed_documents(["Ein Satz."])
    assert calls[-1] == ["Ein Satz."]


def test_a_date_the_article_does_not_give_is_not_said(seed_bot) -> None:  # type: ignore[no-untyped-def]
    ans = seed_bot.ask("An welchem Datum fand das Telefonat zwischen Biden und Putin statt?")
    assert ans.abstained and ans.citations == [] and "nichts" in ans.answer
    assert not seed_bot.ask("Wann soll das von Biden vorgeschlagene Treffen mit Putin stattfinden?").abstained


def test_a_count_of_another_nationality_is_not_the_answer(seed_bot) -> None:  # type: ignore[no-untyped-def]
    # The article gives the Ukrainian soldiers killed in 2021, not the Russian ones.
    russian = seed_bot.ask("How many Russian soldiers died in the Donbass in 2021?")
    assert russian.abstained and russian.citations == [] and "don't say" in russian.answer
    assert seed_bot.ask("Wie viele russische Soldaten starben 2021 im Donbass?").abstained
    ukrainian = seed_bot.ask("How many Ukrainian soldiers died in the Donbass in 2021?")
    assert ukrainian.short_answer == "29 ukrainische Soldaten"


def test_a_count_of_something_no_article_mentions_is_not_said(seed_bot) -> None:  # type: ignore[no-untyped-def]
    # 'Verteidigungsbudget' occurs nowhere; the counted soldiers and vehicles are no budget.
    budget = seed_bot.ask("Wie hoch ist das Verteidigungsbudget der NATO?")
    assert budget.abstained and "nichts" in budget.answer
    troops = seed_bot.ask("Wie viele Soldaten will die NATO laut Schoigu in der Nähe der Grenzen Russlands einsetzen?")
    assert not troops.abstained and "40.000" in (troops.short_answer or "")


def test_a_question_asked_again_is_searched_as_asked(seed_bot) -> None:  # type: ignore[no-untyped-def]
    question = "How many troops did Shoigu claim?"
    again = seed_bot.ask(question, history=[question])
    assert again.searched == question
    assert again.answer == seed_bot.ask(question).answer
    follow_up = seed_bot.ask("And vehicles?", history=[question])
    assert follow_up.searched == f"{question} And vehicles?"
