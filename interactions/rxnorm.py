"""Extending the dictionary from a local RxNorm release (RRF files), for installations that download
the full release from NLM. Only names are imported: ingredients, brand names, multi-ingredient and
precise-ingredient names, synonyms. Rules stay the reviewed ones.

RXNCONSO.RRF columns: RXCUI|LAT|TS|LUI|STT|SUI|ISPREF|RXAUI|SAUI|SCUI|SDUI|SAB|TTY|CODE|STR|SRL|SUPPRESS|CVF|
RXNREL.RRF columns:   RXCUI1|RXAUI1|STYPE1|REL|RXCUI2|RXAUI2|STYPE2|RELA|RUI|SRUI|SAB|SL|RG|DIR|SUPPRESS|CVF|
"""

import csv
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from interactions.engine import KnowledgeBase

NAME_TTYS = {"BN": "brand", "MIN": "combination", "PIN": "synonym", "SY": "synonym", "TMSY": "synonym"}
LINKS = {"has_tradename", "tradename_of", "has_part", "part_of", "has_form", "form_of"}


class RxNormFilesError(Exception):
    pass


@dataclass
class RxNormImport:
    ingredients: dict[str, str] = field(default_factory=dict)  # rxcui -> name
    names: dict[str, set[str]] = field(default_factory=dict)  # name -> ingredient rxcuis
    name_kinds: dict[str, str] = field(default_factory=dict)
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
    for row in _rows(conso):
        if len(row) < 17:
            result.skipped_rows += 1
            continue
        rxcui, lat, sab, tty, text, suppress = row[0], row[1], row[11], row[12], row[14], row[16]
        if sab != "RXNORM" or lat != "ENG" or suppress not in ("N", ""):
            continue
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
    for rxcui, (tty, text) in concepts.items():
        if parts.get(rxcui):
            result.names[text] = parts[rxcui]
            result.name_kinds[text] = NAME_TTYS[tty]
    for rxcui, entries in synonyms.items():
        if rxcui in result.ingredients:
            for _, text in entries:
                result.names.setdefault(text, {rxcui})
                result.name_kinds.setdefault(text, "synonym")
    return result


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
    return {"ingredients": len(new_ingredients), "names": len(rows)}
