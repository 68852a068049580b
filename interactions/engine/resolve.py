"""What a medication entry is: its ingredients, found by exact name or RxCUI, never guessed."""

import re
from dataclasses import dataclass

from interactions.engine.knowledge import KnowledgeBase
from interactions.engine.names import candidate_keys, normalise_name
from interactions.engine.sig import split_directions

# Words that turn a product into a different one with more ingredients ("Aleve PM", "Claritin D",
# "Robitussin DM", "Tylenol with Codeine"). If matching would have to drop one of them, the entry is
# left unresolved instead of being matched to the plain product.
_INGREDIENT_CHANGING_WORDS = {
    "pm", "d", "dm", "plus", "sinus", "cold", "flu", "cough", "congestion", "allergy", "migraine", "severe",
    "hbp", "codeine", "hct", "hctz", "duo", "complete", "nighttime", "daytime", "multi", "symptom", "with", "and",
    "compound", "max", "night", "day", "sleep", "sleepgels", "pain", "relief", "headache", "fast", "ultra",
    "nightshift", "mix", "mix7030", "mix7525", "mix5050",
}  # fmt: skip
_PRODUCT_NUMBER = re.compile(r"^no\d+$")  # "tylenol no3", from "Tylenol #3"
# "Tylenol 3": a bare digit after a name, as people write Tylenol #3. Read as the product number
# only where that product exists; otherwise the digit is a strength or a count as before.
_BARE_PRODUCT_NUMBER = re.compile(
    r"^(?P<name>.*?[a-z])\s+(?P<number>[1-9])(?![\d.,/-])(?P<rest>.*)$", re.IGNORECASE
)
_COMBINATION_SEPARATORS = re.compile(r"\s*(?:/|\+|&|,|\band\b|\bwith\b|\bplus\b)\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Resolution:
    input: str
    ingredients: tuple[str, ...]  # generic names; empty when unresolved
    matched: str = ""  # the dictionary name it matched
    ignored: str = ""  # words of the input that were not needed to identify it
    # The words left over may name more ingredients ("Tylenol Cold Multi-Symptom" is acetaminophen
    # and more): the ingredients found are screened, and the entry is reported as partly recognised.
    partial: bool = False
    directions: str = ""  # the sig in the entry ("2 tabs q6h prn"), never part of the product


def resolve_name(kb: KnowledgeBase, text: str) -> Resolution:
    """The product an entry names, read without its directions ("metformin 500 mg with meals" is
    metformin whatever the words after it)."""
    whole = _resolve_product(kb, text)
    if whole.ingredients and not whole.partial and not whole.ignored:
        return whole  # every word is the product's: "Tylenol 3 tablets" is Tylenol #3
    product, directions = split_directions(text)
    if directions and product:
        found = _resolve_product(kb, product)
        if found.ingredients:
            return Resolution(
                text, found.ingredients, found.matched, found.ignored, found.partial, directions
            )
    return _resolve_product(kb, text)


_PARENTHESES = re.compile(r"^(?P<outer>[^()]*)\((?P<inner>[^()]*)\)(?P<rest>[^()]*)$")


def _resolve_product(kb: KnowledgeBase, text: str) -> Resolution:
    bare = _BARE_PRODUCT_NUMBER.match(text.strip())
    if bare and not normalise_name(bare["rest"]):
        numbered = normalise_name(f"{bare['name']} #{bare['number']}")
        if numbered in kb.names:
            return Resolution(text, kb.names[numbered], numbered)
    key = normalise_name(text)
    if key in kb.names:
        return Resolution(text, kb.names[key], key)
    bracketed = _PARENTHESES.match(text)
    if bracketed:
        # "hierba de San Juan (St John's wort)", "Coumadin (warfarin)": either part may name the drug;
        # if both do, they must agree.
        outer = _resolve_product(kb, bracketed["outer"] + bracketed["rest"])
        inner = _resolve_product(kb, bracketed["inner"])
        found = {r.ingredients for r in (outer, inner) if r.ingredients}
        if len(found) == 1:
            best = outer if outer.ingredients else inner
            return Resolution(text, best.ingredients, best.matched, best.ignored, best.partial)
        return Resolution(text, ())
    parts = [part for part in _COMBINATION_SEPARATORS.split(text) if normalise_name(part)]
    if len(parts) > 1:
        resolved = [_by_leading_words(kb, part) for part in parts]
        if all(resolved):
            ingredients = tuple(sorted({i for r in resolved for i in r.ingredients}))
            partial = any(r.partial for r in resolved)
            return Resolution(text, ingredients, " + ".join(r.matched for r in resolved), partial=partial)
    return _by_leading_words(kb, text) or Resolution(text, ())


def _by_leading_words(kb: KnowledgeBase, text: str) -> Resolution | None:
    keys = candidate_keys(text)
    for key in keys:
        if key in kb.names:
            dropped = keys[0][len(key) :].split()
            if len(kb.names[key]) == 1 and any(_PRODUCT_NUMBER.match(word) for word in dropped):
                return None  # "Tylenol #3" is not plain Tylenol; "Tylenol with Codeine #3" is fine
            partial = bool(_INGREDIENT_CHANGING_WORDS & set(dropped))
            return Resolution(text, kb.names[key], key, " ".join(dropped), partial)
    return None


def resolve_rxcui(kb: KnowledgeBase, rxcui: str) -> Resolution:
    name = kb.by_rxcui.get(rxcui)
    return Resolution(f"rxcui {rxcui}", (name,) if name else (), name or "")
