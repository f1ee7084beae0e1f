"""Chunk offsets: every chunk is its article's text at its offsets, sentence-aligned, never too long."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, SEED

from rag.articles.chunking import article_sentences, chunk_article, dateline_start, paragraphs, sentences, widen
from rag.articles.ingest import make_article

XQUAD = ROOT / "bench" / "data" / "xquad-dev" / "articles"

MARKDOWN = """\ufeff# Panzer an der Grenze

Am 3. Oktober kam der Minister, z. B. mit Dr. Müller und Prof. Schmidt, nach Kiew. Er blieb
bis zum 5. November. Der 2. Weltkrieg wird oft erwähnt, u. a. im 19. Jahrhundert gab es Kriege.

- Erster Punkt. Mit zwei Sätzen.
- Zweiter Punkt ohne Punkt
## Zweite Überschrift
John F. Kennedy said: "We choose to go." Mr. Smith agreed! Did he? Yes… Then 40.000 Soldaten kamen.
1. Eins ist eins.
2. Zwei ist zwei.
"""

CRLF = "Erster Absatz. Zweiter Satz.\r\n\r\nDritter Satz, am 24. Dezember 2021. Ende.\r\n"

RUN_ON = "wort " * 400 + "und das ohne Punkt, " * 30


def _random_text(seed: int) -> str:
    rng = random.Random(seed)
    words = [
        "Der",
        "Minister",
        "sagte",
        "am",
        "3.",
        "Oktober",
        "z. B.",
        "Dr.",
        "40.000",
        "Soldaten",
        "„Zitat“",
        "(Klammer)",
        "u. a.",
        "die",
        "NATO",
        "usw.",
        "im",
        "19.",
        "Jahrhundert",
        "Mr.",
        "Smith",
    ]
    paras = []
    for _ in range(rng.randint(1, 6)):
        sents = []
        for _ in range(rng.randint(1, 8)):
            n = rng.randint(1, 60)
            sents.append(" ".join(rng.choice(words) for _ in range(n)) + rng.choice([".", "!", "?", "…", ""]))
        paras.append(" ".join(sents))
    return rng.choice(["\n\n", "\n \n", "\n\n\n"]).join(paras)


def _texts() -> list[tuple[str, str]]:
    out = [("seed", SEED.read_text(encoding="utf-8")), ("markdown", MARKDOWN), ("crlf", CRLF), ("run-on", RUN_ON)]
    out += [(f"random{i}", _random_text(i)) for i in range(12)]
    if XQUAD.is_dir():
        out += [(p.name, p.read_text(encoding="utf-8")) for p in sorted(XQUAD.glob("*.txt"))[:6]]
    return out


@pytest.mark.parametrize("max_chars", [120, 360, 800])
@pytest.mark.parametrize(("name", "text"), _texts(), ids=[n for n, _ in _texts()])
def test_chunks_are_exact_sentence_aligned_and_bounded(name: str, text: str, max_chars: int) -> None:
    article = make_article(text, f"{name}.txt", name)
    chunks = chunk_article(article, max_chars)
    sents = sentences(text, limit=max_chars)
    starts, ends = {s.start for s in sents}, {s.end for s in sents}
    assert chunks, name
    for c in chunks:
        assert article.text[c.start : c.end] == c.text
        assert 0 < len(c.text) <= max_chars
        assert c.text == c.text.strip(" \t\n\r\ufeff"), "a chunk starts or ends with space"
        assert c.start in starts and c.end in ends, f"chunk {c.start}-{c.end} is not sentence-aligned"
        assert c.id == f"{article.id}:{c.start}-{c.end}"
    assert [c.start for c in chunks] == sorted(c.start for c in chunks)
    covered = {i for c in chunks for i in range(c.start, c.end)}
    for s in sents:
        assert s.start in covered and s.end - 1 in covered, "a sentence is in no chunk"


def _sentence_texts(text: str) -> list[str]:
    return [text[s.start : s.end] for s in sentences(text)]


def test_german_abbreviations_and_ordinal_dates_do_not_end_sentences() -> None:
    got = _sentence_texts(MARKDOWN)
    assert "Am 3. Oktober kam der Minister, z. B. mit Dr. Müller und Prof. Schmidt, nach Kiew." in got
    assert "Er blieb\nbis zum 5. November." in got
    assert "Der 2. Weltkrieg wird oft erwähnt, u. a. im 19. Jahrhundert gab es Kriege." in got
    assert 'John F. Kennedy said: "We choose to go."' in got
    assert "Mr. Smith agreed!" in got
    assert "1. Eins ist eins." in got and "2. Zwei ist zwei." in got


def test_sentence_ends_are_still_found() -> None:
    text = "Im Jahr 2021 starben 29. Dann kam 2022. Die Zahl stieg auf 40.000 Soldaten. Ende."
    assert _sentence_texts(text) == [
        "Im Jahr 2021 starben 29.",
        "Dann kam 2022.",
        "Die Zahl stieg auf 40.000 Soldaten.",
        "Ende.",
    ]


def test_headings_and_list_items_are_their_own_paragraphs() -> None:
    spans = [MARKDOWN[s:e] for s, e in paragraphs(MARKDOWN)]
    assert spans[0] == "# Panzer an der Grenze"
    assert "- Erster Punkt. Mit zwei Sätzen." in spans
    assert "## Zweite Überschrift" in spans


def test_no_chunk_crosses_a_paragraph() -> None:
    text = "Kurz. Auch kurz.\n\nNeuer Absatz hier. Noch ein Satz."
    chunks = chunk_article(make_article(text, "a.txt", "a"), 360)
    assert [c.text for c in chunks] == ["Kurz. Auch kurz.", "Neuer Absatz hier. Noch ein Satz."]


def test_a_sentence_stated_across_a_chunk_boundary_is_inside_one_chunk() -> None:
    sents = [f"Satz Nummer {i} steht hier und ist ungefähr sechzig Zeichen lang." for i in range(12)]
    text = " ".join(sents)
    chunks = chunk_article(make_article(text, "a.txt", "a"), 200)
    for a, b in itertools.pairwise(chunks):
        assert b.start < a.end, "consecutive chunks share a sentence"
    for s in sents:
        assert any(s in c.text for c in chunks)


def test_offsets_match_the_file_as_python_reads_it(tmp_path: Path) -> None:
    """CRLF files: the stored text is what ``open(path).read()`` gives, so offsets match it."""
    from rag.articles.ingest import read_article

    path = tmp_path / "crlf.txt"
    path.write_bytes(CRLF.encode("utf-8"))
    article = read_article(path, str(path), 10_000).article
    with open(path, encoding="utf-8") as fh:
        on_disk = fh.read()
    assert article.text == on_disk
    for c in chunk_article(article, 360):
        assert on_disk[c.start : c.end] == c.text


def test_a_passage_grows_first_toward_the_sentences_most_like_the_question(encoders) -> None:  # type: ignore[no-untyped-def]
    text = (XQUAD / "11_Steam_engine.txt").read_text(encoding="utf-8")
    sents = article_sentences(text)
    (hit,) = [
        c
        for c in chunk_article(make_article(text, "s.txt", "Dampfmaschine"), 360)
        if c.text.startswith("Die Rotoren weisen")
    ]
    before = max((s for s in sents if s.end <= hit.start), key=lambda s: s.end)
    assert "Statoren (feststehende Scheiben)" in text[before.start : before.end]
    e5 = encoders[0]
    vectors = np.asarray(e5.embed_documents([text[s.start : s.end] for s in sents]))
    relevance = vectors @ np.asarray(e5.embed_query("Wie werden Statoren auch bezeichnet?"))
    budget = hit.end - before.start + 5  # room for one more sentence: the one before, or the shorter next one

    plain = widen(text, hit.start, hit.end, budget)
    asked = widen(text, hit.start, hit.end, budget, relevance)
    assert plain[0] == hit.start and plain[1] > hit.end  # in turn, the next sentence comes first
    assert asked == (before.start, hit.end)  # the sentence that answers comes first
    assert widen(text, hit.start, hit.end, budget, relevance[:-1]) == plain  # scores of another text: ignored


@pytest.mark.parametrize(
    ("text", "body"),
    [
        (
            "Teamspieler nach seinem Tor verletzt ausgewechselt. Stoke-on-Trent – Das Heimspiel war hart.",
            "Stoke-on-Trent",
        ),
        ("Forscher bewerten Freundschaften. Tel Aviv –  Forscher der Universität haben Daten gesammelt.", "Tel Aviv"),
        ("Der Glücksspielkonzern baut aus. Wien/Gumpoldskirchen – Der Konzern will mehr.", "Wien/Gumpoldskirchen"),
        ('"Ich will etwas Festes", sagt der Regisseur. Hollywood – Inmitten steigender Beliebtheit.', "Hollywood"),
    ],
)
def test_a_news_body_is_found_after_its_teaser(text: str, body: str) -> None:
    """The teaser sentences come before the dateline; the body starts at it."""
    at = dateline_start(text)
    assert at is not None and text[at:].startswith(body)
    assert any(s.start == at for s in sentences(text))


@pytest.mark.parametrize(
    "text",
    [
        "Agenturgründern gelingt Marketing-Stunt – Kontroverse App versprach einfache Organisation.",
        "Die Verteidigung der Panthers gab nur 308 Punkte ab. Kawann Short führte das Team an.",
        "Knowm bietet Chip für 220 Dollar an – Berechnungen nach Hebb'schem Prinzip.",
    ],
)
def test_a_title_dash_or_plain_text_is_no_dateline(text: str) -> None:
    assert dateline_start(text) is None
