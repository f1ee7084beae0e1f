"""Short-answer extraction: question types, answer-shaped spans, and what the question already says."""

from __future__ import annotations

import pytest

from rag.answering.extract import candidates, conflicting_origin, counted, numbers_in, origins, stated_as
from rag.answering.question import question_type

ANALYSTS = (
    "Zwei Militäranalysten, schreibt Ansa, interviewt von der AFP, Wassili Kachin e Alexander Goltzschätzen, "
    "dass die zwei russischen Armeen und drei russischen Divisionen, von denen Shoigu spricht bilden eine "
    "Streitmacht von etwa 100.000 Soldaten."
)


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("What position does the man who accused NATO of wanting to deploy 40,000 soldiers hold?", "role"),
        ("Welches Amt hat der Mann, der der NATO vorwirft, Soldaten einsetzen zu wollen?", "role"),
        ("Over roughly what period did Russia deploy the forces?", "when"),
        ("In which year were there about 50 deaths?", "when"),
        ("According to Shoigu, how many armies has Russia moved?", "count"),
        ("What was the last name of the player who took the ball away from Newton?", "who"),
        ("Wer nannte die Truppenkonzentration ungerechtfertigt?", "who"),
        ("Why did the Kremlin move troops?", "other"),
    ],
)
def test_question_type_is_read_at_the_question_word(question: str, kind: str) -> None:
    assert question_type(question) == kind


def test_numbers_are_read_in_both_languages() -> None:
    assert numbers_in("zwei Armeen, 40.000 Soldaten, 40,000 soldiers, 2,5 Prozent, three divisions") == [
        2.0,
        40000.0,
        40000.0,
        2.5,
        3.0,
    ]


def test_a_number_the_question_states_is_not_its_answer() -> None:
    question = "How many soldiers make up the force of two armies and three divisions?"
    assert [c.text for c in candidates(ANALYSTS, "count", question)] == ["etwa 100.000 Soldaten"]
    # Asked without those numbers, the sentence offers all of its counts.
    assert len(candidates(ANALYSTS, "count", "How many soldiers?")) == 4


def test_a_name_after_an_office_is_marked_and_common_nouns_start_no_name() -> None:
    sentence = "Der Generalsekretär Jens Stoltenberg kritisierte die militärische Konzentration Russlands."
    found = candidates(sentence, "who", "Wer kritisierte?")
    assert found[0].text == "Generalsekretär Jens Stoltenberg" and found[0].kind == "role-name"
    assert all(not c.text.startswith("Konzentration") for c in found)
    org = candidates("Der Markt steht bei der Organisation English Heritage unter Schutz.", "who", "Bei wem?")
    assert [c.text for c in org] == ["English Heritage"]


def test_role_questions_find_offices() -> None:
    sentence = "Die Reaktion kam von seinem Verteidigungsminister Sergey Schoigu und dem Foreign Minister."
    assert [c.text for c in candidates(sentence, "role", "What position?")] == [
        "Verteidigungsminister",
        "Foreign Minister",
    ]


def test_what_a_number_phrase_counts() -> None:
    assert counted("etwa 100.000 Soldaten") == "Soldaten"
    assert counted("29 ukrainische Soldaten") == "ukrainische Soldaten"
    assert counted("30.000 bis 50.000 Menschen") == "Menschen"
    assert counted("mehr als 1,5 Millionen Einwohner") == "Einwohner"
    assert counted("2,5 Prozent") == "2,5 Prozent"  # nothing counted after the number: the phrase itself


def test_a_date_question_needs_a_calendar_date() -> None:
    from rag.answering.extract import is_calendar_date
    from rag.answering.question import asks_for_date

    assert asks_for_date("An welchem Datum fand das Telefonat statt?")
    assert asks_for_date("On what date was the treaty signed?")
    assert not asks_for_date("When did Biden propose the meeting?")
    assert not is_calendar_date("in den kommenden Monaten")
    assert all(is_calendar_date(t) for t in ("am 13. April", "April 2021", "seit 1835", "am 7.2."))


def test_a_date_question_prefers_a_day_to_a_bare_year(encoders) -> None:  # type: ignore[no-untyped-def]
    from rag.answering.answer import Answerer
    from rag.answering.extract import names_day_or_month, typed_spans
    from rag.answering.question import read
    from rag.config import Settings

    assert names_day_or_month("am 10. September") and names_day_or_month("am 7.2.")
    assert not names_day_or_month("2016") and not names_day_or_month("im Jahr 1835")
    sentence = "Eröffnet wird die Spielzeit 2016 am 10. September in der Schiffbau-Halle."
    asked = read("An welchem Datum beginnt die neue Spielzeit?")
    typed = typed_spans(sentence, asked)
    assert {"2016", "am 10. September"} <= {c.text for c in typed}
    answerer = Answerer(Settings().answer, encoders[-1], encoders[0])
    short = answerer.typed_short(asked, sentence, typed)
    assert short is not None and short.text == "am 10. September"


def test_nationalities_are_matched_across_languages() -> None:
    assert origins("29 ukrainische Soldaten") == {"ukrain"}
    assert origins("Russian soldiers") == origins("zwei russischen Armeen") == {"russ"}
    assert origins("die US-Soldaten") == set()  # 'US-' starts a compound, not a word
    assert conflicting_origin("Russian soldiers", "29 ukrainische Soldaten")
    assert not conflicting_origin("Russian soldiers", "etwa 100.000 russische Soldaten")
    assert not conflicting_origin("soldiers", "29 ukrainische Soldaten")  # the question names none
    assert not conflicting_origin("Russian soldiers", "400 Soldaten")  # the phrase names none


@pytest.mark.parametrize(
    ("sentence", "qtype", "expected"),
    [
        ("Als Carolina den Ball hatte, verblieben noch 4:51 Minuten im Spiel.", "count", "4:51 Minuten"),
        ("Der Dienst bot Platz für Hunderten von Kanälen, 28,5 Prozent mehr.", "count", "Hunderten von Kanälen"),
        ("Die Kommission wurde im Juli 1961 eingerichtet.", "when", "im Juli 1961"),  # not 'im Juli 19'
        ("Das Sommertheater war von 1870 bis 1939 in Betrieb.", "when", "von 1870 bis 1939"),
        ("Das System wurde in den 1950er Jahren geschaffen.", "when", "in den 1950er Jahren"),
        ("Das Schauspielhaus setzt in der Saison 2016/17 auf Klassiker.", "when", "2016"),  # not 'on 2016'
        ("Die Umsätze der Region 2015 stiegen kräftig.", "when", "2015"),  # not 'on 2015'
        ("Thomas de Maizière ist Bundesminister des Innern.", "role", "Bundesminister des Innern"),
        ("Der Generalsekretär der geboren Jens Stoltemberg sagte.", "role", "Generalsekretär"),
    ],
)
def test_times_dates_ranges_and_offices_are_read_whole(sentence: str, qtype: str, expected: str) -> None:
    found = candidates(sentence, qtype, "?")
    assert found and found[0].text == expected
    assert sentence[found[0].start : found[0].end] == expected  # a verbatim span


def test_the_size_stated_for_a_thing_the_question_names_is_the_answer() -> None:
    question = "Wie groß ist laut den Analysten die Streitmacht, die Russland eingesetzt hat?"
    spans = candidates(ANALYSTS, question_type(question), question)
    assert {"zwei russischen Armeen", "etwa 100.000 Soldaten"} <= {s.text for s in spans}
    found = stated_as(ANALYSTS, question, spans)
    assert found is not None and ANALYSTS[found.start : found.end] == "etwa 100.000 Soldaten"
    # A question naming none of the sentence's words in front of a number finds nothing here.
    assert stated_as(ANALYSTS, "How many armies has Russia moved?", spans) is None
