"""Licensed measure value sets: an organisation that holds them (PQA's NDC lists, say) loads them
from a CSV, and its measures use them instead of the knowledge base's drug classes.

The CSV has a header and three columns:

    measure,role,code_system,code
    PDC-STA,drugs,NDC,00071015523
    SUPD,numerator_drugs,RXCUI,617312
    COB,drugs,INGREDIENT,oxycodone

- measure: a measure code (PDC-DR, PDC-RASA, PDC-STA, SUPD, POLY-ACH, POLY-CNS, COB);
- role: `drugs` (the measure's drugs) or `numerator_drugs` (what SUPD's and COB's numerators look for);
- code_system: NDC or RXCUI (resolved to ingredients through the local RxNorm release,
  `manage.py import_rxnorm`), or INGREDIENT (an RxNorm ingredient name the knowledge base knows).

A file is loaded whole or not at all: every row that cannot be used is reported with its line and
why. The (measure, role) pairs in the file replace those loaded before; the others stay.
"""

import csv
import dataclasses
from collections import defaultdict

from django.core.exceptions import ValidationError
from django.db import transaction

from interactions.selectors import knowledge_base, product_ingredients
from mtm.audit import Actor, audit_record
from mtm.models import AuditAction
from reviews import measures
from reviews.models import MeasureValueSet, ValueSetRole

COLUMNS = ["measure", "role", "code_system", "code"]
SYSTEMS = ("NDC", "RXCUI", "INGREDIENT")


def _codes() -> set[str]:
    kb = knowledge_base()
    return {code for measure_set in measures.load_measure_sets(kb) for code in measure_set.measures}


@transaction.atomic
def value_sets_load(*, organisation, lines, file_name: str, by: Actor | None) -> dict[tuple[str, str], int]:
    """Load a value-set CSV (an iterable of its text lines). Returns rows per (measure, role).
    `by` None: loaded from the command line without naming a user."""
    rows = csv.reader(lines)
    header = [name.strip().lower() for name in next(rows, [])]
    if header[:4] != COLUMNS:
        raise ValidationError({"file": f"The first line must be the header {','.join(COLUMNS)}."})
    known, kb = _codes(), knowledge_base()
    found: dict[tuple[str, str], set[str]] = defaultdict(set)
    counted: dict[tuple[str, str], int] = defaultdict(int)
    problems = []
    for line, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        measure, role, system, code = ([cell.strip() for cell in row] + ["", "", "", ""])[:4]
        measure, system = measure.upper(), system.upper()
        if measure not in known:
            problems.append(
                f"line {line}, measure: {measure or 'empty'} is not one of {', '.join(sorted(known))}"
            )
        elif role not in ValueSetRole.values:
            problems.append(f"line {line}, role: {role or 'empty'} is not drugs or numerator_drugs")
        elif system not in SYSTEMS:
            problems.append(f"line {line}, code_system: {system or 'empty'} is not NDC, RXCUI or INGREDIENT")
        else:
            ingredients = _resolve(kb, system, code)
            if not ingredients:
                problems.append(
                    f"line {line}, code: {code or 'empty'} is not a known {system}"
                    + (" (import a local RxNorm release first)" if system != "INGREDIENT" else "")
                )
            found[(measure, role)] |= set(ingredients)
            counted[(measure, role)] += 1
    if problems:
        raise ValidationError({"file": problems})
    if not found:
        raise ValidationError({"file": "The file has no rows."})
    for (measure, role), ingredients in found.items():
        MeasureValueSet.objects.update_or_create(
            organisation=organisation, measure_code=measure, role=role,
            defaults={"ingredients": sorted(ingredients), "rows": counted[(measure, role)],
                      "source_file": file_name[:200], "loaded_by": by.user if by else None},
        )  # fmt: skip
    audit_record(
        actor=by, action=AuditAction.UPDATE, organisation_id=organisation.pk, username="manage.py load_value_sets",
        changes={"value_sets": ["", f"{file_name}: " + ", ".join(f"{m} {r}" for m, r in sorted(found))]},
    )  # fmt: skip
    return dict(counted)


def _resolve(kb, system: str, code: str) -> tuple[str, ...]:
    if system == "INGREDIENT":
        return (code.lower(),) if code.lower() in kb.ingredients else ()
    if system == "NDC":
        digits = code.replace("-", "")
        return product_ingredients(ndcs=[digits]) if digits.isdigit() else ()
    return product_ingredients(rxcuis=[code]) if code.isdigit() else ()


def measures_for_organisation(kb, year: int, organisation_id) -> measures.MeasureSet:
    """The year's measures with the organisation's licensed value sets in place of the knowledge
    base's drug lists (the same set when it has loaded none)."""
    measure_set = measures.measures_for_year(kb, year)
    loaded = list(MeasureValueSet.objects.filter(organisation_id=organisation_id))
    if not loaded:
        return measure_set
    replaced = dict(measure_set.measures)
    for value_set in loaded:
        if value_set.measure_code in replaced:
            replaced[value_set.measure_code] = dataclasses.replace(
                replaced[value_set.measure_code], **{value_set.role: frozenset(value_set.ingredients)}
            )
    return dataclasses.replace(measure_set, measures=replaced)


def value_sets_signature(organisation_id) -> str:
    """Changes when the organisation loads a value set (the program's run recomputes then)."""
    return ";".join(
        f"{v.measure_code}:{v.role}:{v.loaded_at.isoformat()}"
        for v in MeasureValueSet.objects.filter(organisation_id=organisation_id).order_by(
            "measure_code", "role"
        )
    )
