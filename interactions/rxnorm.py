"""Extending the dictionary from a local RxNorm release (RRF files), for installations that download
the full release from NLM. Only names and codes are imported: ingredients, brand names,
multi-ingredient and precise-ingredient names, synonyms, and the drug products (clinical and
branded drugs, packs) with their NDCs, each to its ingredients. Rules stay the reviewed ones.

RXNCONSO.RRF columns: RXCUI|LAT|TS|LUI|STT|SUI|ISPREF|RXAUI|SAUI|SCUI|SDUI|SAB|TTY|CODE|STR|SRL|SUPPRESS|CVF|
RXNREL.RRF columns:   RXCUI1|RXAUI1|STYPE1|REL|RXCUI2|RXAUI2|STYPE2|RELA|RUI|SRUI|SAB|SL|RG|DIR|SUPPRESS|CVF|
RXNSAT.RRF columns:   RXCUI|LUI|SUI|RXAUI|STYPE|CODE|ATUI|SATUI|ATN|SAB|ATV|SUPPRESS|CVF|
"""

import csv
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from interactions.engine import KnowledgeBase

NAME_TTYS = {"BN": "brand", "MIN": "combination", "PIN": "synonym", "SY": "synonym", "TMSY": "synonym"}
LINKS = {"has_tradename", "tradename_of", "has_part", "part_of", "has_form", "form_of"}
PRODUCT_TTYS = {"SCD", "SBD", "GPCK", "BPCK"}
# From a product to its ingredients: SBD -> SCD (tradename), packs -> drugs (contains),
# drug -> component (consists_of), component -> ingredient or precise ingredient -> ingredient.
PRODUCT_LINKS = {
    "tradename_of", "has_tradename", "contains", "contained_in", "consists_of", "constitutes",
    "has_ingredient", "ingredient_of", "has_precise_ingredient", "precise_ingredient_of", "form_of", "has_form",
}  # fmt: skip
PRODUCT_PATH_TTYS = PRODUCT_TTYS | {"SCDC", "SBDC", "PIN"}


class RxNormFilesError(Exception):
    pass


@dataclass
class RxNormImport:
    ingredients: dict[str, str] = field(default_factory=dict)  # rxcui -> name
    names: dict[str, set[str]] = field(default_factory=dict)  # name -> ingredient rxcuis
    name_kinds: dict[str, str] = field(default_factory=dict)
    products: dict[str, set[str]] = field(default_factory=dict)  # "ndc:…" / "rxcui:…" -> ingredient rxcuis
    skipped_rows: int = 0


def _rows(path: Path):
    with path.open(encoding="utf-8", newline="") as handle:
        yield from csv.reader(handle, delimiter="|", quoting=csv.QUOTE_NONE)


def read_rxnorm(folder: Path) -> RxNormImport:
    conso, rel = folder / "RXNCONSO.RRF", folder / "RXNREL.RRF"
    if not conso.is_file():
        raise RxNormFilesError(f"{conso} not found: point at the rrf/ folder of an RxNorm release")
    result = RxNormImport()
    concepts: dict[str, tuple[str, str]] = {}  # rxcui -> (tty, string) for names we may keep
    synonyms: dict[str, list[tuple[str, str]]] = defaultdict(list)
    ttys: dict[str, str] = {}  # rxcui -> term type (the first seen), to walk products to ingredients
    for row in _rows(conso):
        if len(row) < 17:
            result.skipped_rows += 1
            continue
        rxcui, lat, sab, tty, text, suppress = row[0], row[1], row[11], row[12], row[14], row[16]
        if sab != "RXNORM" or lat != "ENG" or suppress not in ("N", ""):
            continue
        ttys.setdefault(rxcui, tty)
        if tty == "IN":
            result.ingredients[rxcui] = text.lower()
        elif tty in ("SY", "TMSY"):
            synonyms[rxcui].append((tty, text))
        elif tty in NAME_TTYS:
            concepts[rxcui] = (tty, text)
    parts: dict[str, set[str]] = defaultdict(set)  # BN/MIN/PIN rxcui -> IN rxcuis
    if rel.is_file():
        for row in _rows(rel):
            if len(row) < 11 or row[10] != "RXNORM" or row[7] not in LINKS:
                continue
            first, second = row[0], row[4]
            for name_cui, ingredient_cui in ((first, second), (second, first)):
                if name_cui in concepts and ingredient_cui in result.ingredients:
                    parts[name_cui].add(ingredient_cui)
    links: dict[str, set[str]] = defaultdict(set)  # the product graph, both ways
    if rel.is_file():
        for row in _rows(rel):
            if len(row) >= 11 and row[10] == "RXNORM" and row[7] in PRODUCT_LINKS:
                links[row[0]].add(row[4])
                links[row[4]].add(row[0])
    for rxcui, (tty, text) in concepts.items():
        if parts.get(rxcui):
            result.names[text] = parts[rxcui]
            result.name_kinds[text] = NAME_TTYS[tty]
    for rxcui, entries in synonyms.items():
        if rxcui in result.ingredients:
            for _, text in entries:
                result.names.setdefault(text, {rxcui})
                result.name_kinds.setdefault(text, "synonym")
    ingredients_of = {
        rxcui: found for rxcui, tty in ttys.items() if tty in PRODUCT_TTYS
        for found in [_product_ingredients(rxcui, links, ttys, result.ingredients)] if found
    }  # fmt: skip
    for rxcui, found in ingredients_of.items():
        result.products[f"rxcui:{rxcui}"] = found
    sat = folder / "RXNSAT.RRF"
    if sat.is_file():
        for row in _rows(sat):
            is_ndc = len(row) >= 12 and row[8] == "NDC" and row[9] == "RXNORM" and row[11] in ("N", "")
            if is_ndc and row[0] in ingredients_of and len(row[10]) == 11 and row[10].isdigit():
                result.products[f"ndc:{row[10]}"] = ingredients_of[row[0]]
    return result


def _product_ingredients(start: str, links, ttys, ingredients) -> set[str]:
    """The ingredients a product's relations lead to, at most four steps away, never through
    another ingredient (an ingredient leads to every product that has it)."""
    found, seen, frontier = set(), {start}, [start]
    for _ in range(4):
        following = []
        for rxcui in frontier:
            for neighbour in links.get(rxcui, ()):
                if neighbour in seen:
                    continue
                seen.add(neighbour)
                if neighbour in ingredients:
                    found.add(neighbour)
                elif ttys.get(neighbour) in PRODUCT_PATH_TTYS:
                    following.append(neighbour)
        frontier = following
    return found


def write_extra_dictionary(imported: RxNormImport, kb: KnowledgeBase, target: Path) -> dict[str, int]:
    """Write ingredients/rxnorm.csv and names/rxnorm.csv under `target`, in the knowledge-base format.
    Ingredients the reviewed knowledge base already has keep its names."""
    name_of = {rxcui: kb.by_rxcui.get(rxcui, name) for rxcui, name in imported.ingredients.items()}
    new_ingredients = sorted(
        (name, rxcui)
        for rxcui, name in name_of.items()
        if rxcui not in kb.by_rxcui and (name not in kb.ingredients or not kb.ingredients[name].rxcui)
    )
    (target / "ingredients").mkdir(parents=True, exist_ok=True)
    (target / "names").mkdir(parents=True, exist_ok=True)
    with (target / "ingredients" / "rxnorm.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name", "rxcui", "kind", "classes"])
        writer.writerows([name, rxcui, "rx", ""] for name, rxcui in new_ingredients)
    rows = sorted(
        (text, ";".join(sorted(name_of[c] for c in cuis)), imported.name_kinds[text])
        for text, cuis in imported.names.items()
    )
    with (target / "names" / "rxnorm.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name", "ingredients", "kind"])
        writer.writerows(rows)
    (target / "products").mkdir(parents=True, exist_ok=True)
    with (target / "products" / "rxnorm.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["code", "ingredients"])
        writer.writerows(
            [code, ";".join(sorted(name_of[c] for c in cuis))]
            for code, cuis in sorted(imported.products.items())
        )
    return {"ingredients": len(new_ingredients), "names": len(rows), "products": len(imported.products)}
