"""Turning what a person typed ("Lipitor 20 mg tablet", "Norco 10-325", "HCTZ") into a lookup key.

Resolution is exact on the key, never fuzzy: a name that is not in the dictionary is reported as
unresolved rather than guessed.
"""

import functools
import re
import unicodedata

# Strengths and amounts: 20 mg, 10-325, 0.4mg, 2000 units, 1%, 100 units/mL, 81mg, 1,000 mg. A number
# glued to letters (b12, d3, m20, omega3) is part of a name and stays.
_UNIT = r"(mg|mcg|µg|ug|g|gm|grams?|ml|l|%|iu|units?|meq|mmol|puffs?|sprays?)"
_STRENGTH = re.compile(
    rf"(?<![a-z0-9.])\d[\d,]*(\.\d+)?(\s*[-/]\s*\d[\d,]*(\.\d+)?)*\s*"
    rf"({_UNIT}(\s*/\s*(\d+\s*)?{_UNIT})?)?(?![a-z0-9])"
)
# "#3" and "No. 3" name a product (Tylenol #3 has codeine), unlike a bare strength.
_PRODUCT_NUMBER = re.compile(r"(?:#|\bno\.?|\bnumber)\s*(\d+)\b")
_PREMIX = re.compile(r"(?<![\d.])(70|75|50)\s*/\s*(30|25|50)(?![\d.])")
# Dose forms, routes and packaging words that do not change which drug it is. "gel", "cream",
# "ointment" and "topical" stay: "Voltaren gel" is a topical NSAID, not oral diclofenac (names without
# a topical entry still match by their leading words: "hydrocortisone cream" -> hydrocortisone).
_FORM_WORDS = {
    "tablet", "tablets", "tab", "tabs", "capsule", "capsules", "cap", "caps", "caplet", "caplets", "softgel",
    "softgels", "gelcap", "gelcaps", "pill", "pills", "chewable", "chewables", "oral", "solution", "suspension",
    "liquid", "syrup", "elixir", "drops", "injection", "injectable", "inj", "pen", "vial", "patch", "patches", "inhaler", "inhalation", "nebulizer", "spray", "nasal", "ophthalmic",
    "eye", "by", "mouth", "po", "daily", "film", "coated", "delayed", "release", "extended", "sustained",
    "enteric", "ec", "dr", "odt", "disintegrating", "powder", "packet", "sachet", "lozenge", "gummy", "gummies",
    "each", "per", "dose", "strength", "generic",
}  # fmt: skip


MAX_NAME_WORDS = 12  # no product name is longer; the words after are never part of the match


@functools.lru_cache(maxsize=8192)
def normalise_name(text: str) -> str:
    """Lower case, accents removed, strengths and dose-form words dropped, '+'/'&' read as 'and'."""
    text = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode().lower()
    text = text.replace("+", " and ").replace("&", " and ")
    text = re.sub(r"([a-z])-(\d)", r"\1\2", text)  # b-12 -> b12, omega-3 -> omega3
    text = _PRODUCT_NUMBER.sub(r" no\1 ", text)  # Tylenol #3, Tylenol No. 3 -> tylenol no3
    text = _PREMIX.sub(r" mix\1\2 ", text)  # insulin 70/30 is a premix of two insulins, not a strength
    text = _STRENGTH.sub(" ", text)
    text = re.sub(r"[^a-z0-9' -]", " ", text).replace("'", "")
    words = [w for w in re.split(r"[\s-]+", text) if w and w not in _FORM_WORDS]
    while words and words[-1] == "and":
        words.pop()
    return " ".join(words)


def candidate_keys(text: str) -> list[str]:
    """Keys to try, longest first: 'benadryl at night' -> 'benadryl at night', 'benadryl at', 'benadryl'.
    Dropping trailing words lets "Advil as needed" find Advil; the first word is never dropped."""
    words = normalise_name(text).split()[:MAX_NAME_WORDS]
    return [" ".join(words[:n]) for n in range(len(words), 0, -1)]
