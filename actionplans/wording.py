"""The patient's words in the action plan, read the way the pharmacist checks them: is a text still
the clinical problem title, how hard is it to read (US school grade), and which medications does it
tell the patient to stop. Plain Python: text in, answers out."""

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache

from interactions.engine.names import normalise_name

GRADE_AIM = (6, 8)  # the US school grades patient materials aim at


def normalised(text: str) -> str:
    """Lower case, accents and punctuation removed, spaces collapsed: 'Ibuprofen with CKD.' and
    'ibuprofen  with ckd' are the same text."""
    text = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode().lower()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def is_clinical_title(text: str, title: str) -> bool:
    return bool(normalised(title)) and normalised(text) == normalised(title)


@dataclass(frozen=True)
class Readability:
    grade: int  # US school grade, rounded, never below 1
    formula: str

    @property
    def verdict(self) -> str:
        low, high = GRADE_AIM
        if self.grade > high:
            return "harder than grade 8: shorter sentences and everyday words help"
        if self.grade < low:
            return "easy to read"
        return "within the aim"

    @property
    def on_target(self) -> bool:
        return self.grade <= GRADE_AIM[1]


@cache
def _textstat(language: str):
    from textstat.textstat import textstatistics  # loads its pronouncing dictionary on first use

    reader = textstatistics()
    reader.set_lang("es" if language == "es" else "en_US")
    return reader


def readability(text: str, *, language: str = "en") -> Readability | None:
    """The text's US grade level: Flesch-Kincaid for English, Crawford's formula for Spanish (the
    Flesch-Kincaid weights fit English words only). None for a text without words."""
    if not re.search(r"\w", text or ""):
        return None
    reader = _textstat(language)
    if language == "es":
        grade, formula = reader.crawford(text), "Crawford"
    else:
        grade, formula = reader.flesch_kincaid_grade(text), "Flesch-Kincaid"
    return Readability(grade=max(1, round(grade)), formula=formula)


# --- "Stop taking Advil": which medications a text tells the patient to stop -----------------------

_CLAUSES = re.compile(r"[.;:!?\n]+")
_STOP_VERB = re.compile(
    r"\b(stop|stopping|quit|discontinue|deje de|dejar de|suspenda|suspender)\b", re.IGNORECASE
)
# "Do not stop lisinopril", "never stop it on your own", "no deje de tomarlo": not a stop.
_NEGATION = re.compile(r"(\bnot|n't|\bnever|\bno)\s+(\w+\s+){0,2}$", re.IGNORECASE)
_FILLERS = {"taking", "using", "the", "your", "all", "any", "of", "tomar", "usar", "el", "la", "los", "las", "su", "sus"}  # fmt: skip
_SEPARATORS = {"and", "or", "y", "o", "e", "u"}


def medication_keys(*, name: str, recognised_as: str = "", ingredients: Iterable[str] = ()) -> set[str]:
    """The ways a text may name a medication of the list: its name as written ("benadryl at
    night"), what the knowledge base recognised in it ("benadryl"), its ingredients
    ("diphenhydramine"). Normalised like the dictionary's names."""
    keys = {normalise_name(name), normalise_name(recognised_as), *(normalise_name(i) for i in ingredients)}
    return {key for key in keys if key}


def stopped_in(text: str, keys_by_medication: Mapping[object, set[str]]) -> set:
    """The medications (keys of `keys_by_medication`) that `text` tells the patient to stop:
    "Stop taking Advil.", "Stop Benadryl and Tylenol PM", "Deje de tomar Advil"; not "Do not stop
    lisinopril"."""
    found = set()
    for clause in _CLAUSES.split(text or ""):
        for verb in _STOP_VERB.finditer(clause):
            if _NEGATION.search(clause[: verb.start()]):
                continue
            words = normalise_name(clause[verb.end() :]).split()
            position = 0
            while position < len(words):
                while position < len(words) and words[position] in _FILLERS:
                    position += 1
                medication, length = _named_at(words, position, keys_by_medication)
                if medication is None:
                    break
                found.add(medication)
                position += length
                if position < len(words) and words[position] in _SEPARATORS:
                    position += 1
    return found


def named_in(text: str, keys_by_medication: Mapping[object, set[str]]) -> set:
    """The medications (keys of `keys_by_medication`) that `text` names anywhere."""
    words = normalise_name(text).split()
    found = set()
    for position in range(len(words)):
        medication, _ = _named_at(words, position, keys_by_medication)
        if medication is not None:
            found.add(medication)
    return found


def _named_at(words: list[str], position: int, keys_by_medication: Mapping[object, set[str]]):
    """The medication named by the words at `position` (the longest name wins) and how many words
    it takes; (None, 0) when none is."""
    best, best_length = None, 0
    for medication, keys in keys_by_medication.items():
        for key in keys:
            key_words = key.split()
            if len(key_words) > best_length and words[position : position + len(key_words)] == key_words:
                best, best_length = medication, len(key_words)
    return best, best_length
