"""Conversation: which earlier question a follow-up leans on, and questions that ask two things.

A question is searched as asked unless it cannot stand alone: it continues the question before it
("And vehicles?", "Und die Ukraine?", "What about Biden?"), points back at something it does not
name ("What did he demand?", "Wer sind diese Analysten?"), or has no words of its own ("When?").
Such a follow-up is searched together with the latest earlier question that stands alone, never
with an earlier follow-up, so one follow-up does not drag the next question along. A question
with only one word of its own ("Who is Blinken?") is searched both ways and joined only when
the joined search is clearly more confident.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from rag.language.lexical import detect_language, tokens

log = logging.getLogger(__name__)

MAX_PARTS = 3  # a question is answered in at most this many parts

_QUESTION_WORDS = (
    "who|whom|whose|what|which|where|when|why|how|"
    "wer|wen|wem|wessen|was|welche|welcher|welches|welchen|welchem|wo|wann|warum|wieso|weshalb|wie|"
    "woher|wohin|womit|wofür|worüber|wovon|woran|worauf|wodurch"
)
_AUXILIARIES = (
    "is|are|was|were|do|does|did|has|have|had|can|could|will|would|should|"
    "ist|sind|war|waren|hat|haben|hatte|hatten|wird|werden|wurde|wurden|kann|können|soll|sollen|"
    "will|wollen|gibt|gab"
)
_AUX_WORDS = set(_AUXILIARIES.split("|"))
_QUESTION_START = re.compile(rf"^\W*(?:\w+\s+){{0,2}}?(?:{_QUESTION_WORDS})\b|^\W*(?:{_AUXILIARIES})\b", re.I)
_OPENER = re.compile(
    r"^\W*(?:and\s+what\s+about|and\s+how\s+about|what\s+about|how\s+about|what\s+of|"
    r"und\s+was\s+ist\s+mit|was\s+ist\s+mit|und\s+wie\s+steht\s+es\s+mit|wie\s+steht\s+es\s+mit|"
    r"und\s+wie\s+sieht\s+es\s+mit|wie\s+sieht\s+es\s+mit|"
    r"and|und|also|auch|but|aber|then|dann|so|or|oder|plus|sowie)\b",
    re.I,
)
# Pronouns that need a referent; possessives may find theirs earlier in the same question
# ("How many armies did Russia move near its borders?").
_PERSONAL = {"he", "him", "she", "they", "them", "it", "er", "ihm", "ihn", "sie"}
_POSSESSIVE = {"his", "her", "hers", "their", "theirs", "its"} | {
    f"{stem}{end}" for stem in ("sein", "ihr") for end in ("", "e", "en", "em", "er", "es")
}
_DEMONSTRATIVE = {"this", "these", "those", "dies", "diese", "dieser", "dieses", "diesen", "diesem"}
_POINTING = set("there dort dabei dazu darauf davon damit darüber darum dafür dagegen damals daraufhin".split())
# Lowercase German words that are no verb: question words, articles, prepositions, quantifiers.
_GERMAN_FUNCTION = set(_QUESTION_WORDS.split("|")) | set(
    "viele viel der die das den dem des ein eine einen einem einer eines kein keine im in am an auf aus bei "
    "mit nach von vom zu zum zur für über unter vor um genau noch sonst denn eigentlich".split()
)
_SUBORDINATE = {"when", "while", "after", "before", "because", "if", "als", "dass", "wenn", "nachdem", "weil", "ob"}
# Words that add nothing to search for: 'Where exactly?', 'Was noch?'.
_FILLER = set(
    "exactly genau else sonst noch nochmal again more mehr außerdem besides instead stattdessen only nur "
    "then dann also auch please bitte tell me mir us uns gesagt say said".split()
)
_NOT_CONTENT = (
    _FILLER | _PERSONAL | _POSSESSIVE | _DEMONSTRATIVE | _POINTING | set(_QUESTION_WORDS.split("|")) | _AUX_WORDS
)

# 'and'/'und' (after a comma or not) opening a new question: '..., and what did Y answer?'
_SPLIT = re.compile(rf"(?:\s*,\s*|\s+)(?:and|und)\s+(?=(?:{_QUESTION_WORDS})\b)", re.I)


class Kind(Enum):
    FOLLOW_UP = "follow-up"  # cannot stand alone: searched with the question it continues
    SELF_CONTAINED = "self-contained"  # searched as asked


@dataclass(frozen=True)
class Reading:
    kind: Kind
    why: str


@dataclass(frozen=True)
class Plan:
    """The text to search for a question, the earlier question joined in (if any), and for a part
    of a question that asks several things, the whole question."""

    searched: str
    anchor: str | None = None
    whole: str | None = None


def _word_list(question: str) -> list[str]:
    return re.findall(r"\w+(?:-\w+)*", question)


def content_words(question: str) -> list[str]:
    """The words a search can match on: no stop, question, pronoun or filler words."""
    out = []
    for w in _word_list(question):
        low = w.lower()
        if low in _NOT_CONTENT:
            continue
        if tokens(low):  # not a stop word of either language
            out.append(low)
    return out


def is_question_form(text: str) -> bool:
    """Starts like a question: a question word among its first words, or an auxiliary verb."""
    return bool(_QUESTION_START.search(text))


def back_reference(question: str) -> str | None:
    """The word that points at something only an earlier question names, if any."""
    ws = re.findall(r"\w+(?:-\w+)*|,", question)
    names_before = 0  # capitalised words after the first: names (and German nouns)
    clause_break = False  # a comma or 'when'/'als' before: a pronoun may refer to a name before it
    for i, w in enumerate(ws):
        low = w.lower()
        if low in _PERSONAL:
            # 'What did Blinken say when he met ...'; German nouns are capitalised too, so there
            # only a name before a new clause counts ('Was sagte Blinken, als er ...').
            german = low in {"er", "ihm", "ihn", "sie"}
            if not (names_before and (clause_break or not german)):
                return w
        elif low in _POSSESSIVE:
            if not names_before:
                return w
        elif low in _DEMONSTRATIVE or low in _POINTING:
            return w
        elif low == "that" and _pronoun_that(ws, i):
            return w
        elif low in {"das", "dies"} and _pronoun_das(ws, i):
            return w
        if low == "," or low in _SUBORDINATE:
            clause_break = True
        elif i > 0 and w[:1].isupper():
            names_before += 1
    return None


def _pronoun_that(ws: list[str], i: int) -> bool:
    """'that' pointing back ('Who said that?', 'that meeting'), not introducing a clause ('said that Russia ...')."""
    nxt = ws[i + 1] if i + 1 < len(ws) else ""
    return not nxt or (nxt.islower() and nxt not in {"the", "a", "an", "he", "she", "they", "it", "its", "there"})


def _pronoun_das(ws: list[str], i: int) -> bool:
    """'das' as a pronoun ('Wer hat das gesagt?'), not as an article ('das Treffen', 'das neue Treffen')."""
    nxt = ws[i + 1] if i + 1 < len(ws) else ","
    after = ws[i + 2] if i + 2 < len(ws) else ""
    return nxt == "," or (nxt.islower() and not after[:1].isupper())


def read(question: str) -> Reading:
    """Whether a question can be searched on its own."""
    ref = back_reference(question)
    if ref:
        return Reading(Kind.FOLLOW_UP, f"'{ref}' points back")
    content = content_words(question)
    opener = _OPENER.match(question)
    if opener:
        rest = question[opener.end() :]
        named = any(w[:1].isupper() and w.lower() in content for w in _word_list(rest))
        if is_question_form(rest) and len(content) >= 2 and named:
            return Reading(Kind.SELF_CONTAINED, "a full question after the opening word")
        return Reading(Kind.FOLLOW_UP, f"continues with '{opener.group(0).strip()}'")
    if not content:
        return Reading(Kind.FOLLOW_UP, "no words of its own")
    if not is_question_form(question) and len(_word_list(question)) <= 4:
        return Reading(Kind.FOLLOW_UP, "a fragment")
    if len(content) == 1 and not _has_verb(question):
        return Reading(Kind.FOLLOW_UP, "one word of its own and no verb")  # 'How many vehicles?'
    return Reading(Kind.SELF_CONTAINED, "names its own subject")


def _has_verb(question: str) -> bool:
    """An auxiliary verb ('Who is Blinken?'); in German, also any lowercase word that is not a
    function word, as nouns are capitalised ('Was sagte Blinken?' but not 'Wie viele Tote?')."""
    ws = _word_list(question)
    if any(w.lower() in _AUX_WORDS for w in ws):
        return True
    if detect_language(question) != "de":
        return False
    return any(w.islower() and w not in _GERMAN_FUNCTION for w in ws[1:])


def anchor(question: str, history: Sequence[str]) -> str | None:
    """The latest earlier question that stands alone; None when the question repeats it or there is none."""
    for earlier in reversed(history):
        earlier = earlier.strip()
        if earlier and read(earlier).kind is not Kind.FOLLOW_UP:
            return None if earlier.lower() == question.strip().lower() else earlier
    return None


def plan(question: str, history: Sequence[str]) -> Plan:
    """What to search for ``question``: as asked, or joined with the earlier question it leans on."""
    earlier = anchor(question, history)
    if earlier is None:
        return Plan(question)
    reading = read(question)
    if reading.kind is Kind.FOLLOW_UP:
        log.debug("%r is a follow-up (%s): searched with %r", question, reading.why, earlier)
        return Plan(f"{earlier} {question}", earlier)
    return Plan(question)


def plan_part(part: str, whole_question: str, whole: Plan) -> Plan:
    """What to search for one part of a question that asks several things: the part as asked
    when it stands alone, else what the whole question is searched as ('Who phoned Putin, and
    where did he propose to meet?' for its second part)."""
    if read(part).kind is Kind.SELF_CONTAINED:
        return Plan(part, whole=whole_question)
    return Plan(whole.searched, whole.anchor, whole_question)


def split(question: str) -> list[str]:
    """The parts of a question that asks two or three things ('Wer ..., und wer ...?'), or just
    the question. It is cut where 'and'/'und' is followed by a question word and both sides are
    questions, so 'How many soldiers and vehicles ...?' stays whole."""
    q = question.strip()
    if not is_question_form(q):
        return [q]
    parts, start = [], 0
    for m in list(_SPLIT.finditer(q))[: MAX_PARTS - 1]:
        parts.append(q[start : m.start()])
        start = m.end()
    parts.append(q[start:])
    if len(parts) == 1 or not content_words(parts[0]):
        return [q]  # nothing to cut, or nothing to search in the first part ('Who and why ...?')
    return [_as_question(p) for p in parts]


def _as_question(part: str) -> str:
    part = part.strip().rstrip(",;:").strip()
    if not part.endswith(("?", ".", "!")):
        part += "?"
    return part[:1].upper() + part[1:]
