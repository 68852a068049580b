"""The knowledge base and the engine as the rest of the app uses them."""

import difflib
from pathlib import Path

from django.conf import settings

from interactions.engine import KnowledgeBase, load_knowledge_base, screen
from interactions.engine.findings import Entry
from interactions.engine.knowledge import KNOWLEDGE_DIR
from interactions.engine.names import normalise_name
from interactions.engine.personal import figure, ingredient_amounts
from interactions.engine.resolve import Resolution, resolve_name
from interactions.engine.sig import parse_dose, split_directions


def knowledge_base() -> KnowledgeBase:
    """The reviewed knowledge base, extended by names imported from a local RxNorm release
    (`manage.py import_rxnorm`) when there are any."""
    extra = tuple(path for path in (Path(p) for p in settings.KNOWLEDGE_EXTRA_DIRS) if path.is_dir())
    return load_knowledge_base(KNOWLEDGE_DIR, extra, cache_dir=settings.VAR_DIR / "compiled")


def screening_run(request: dict) -> dict:
    """The screening contract of shared/DESIGN.md; raises ScreeningInputError on bad input."""
    return screen(request, knowledge_base())


def medication_resolve(name: str) -> Resolution:
    return resolve_name(knowledge_base(), name)


def medication_name_suggestions(text: str, limit: int = 8) -> list[str]:
    """Dictionary names close to what was typed, for the pharmacist to choose from (never applied
    on their own)."""
    kb = knowledge_base()
    key = normalise_name(text)
    if len(key) < 3:
        return []
    starting = sorted(name for name in kb.names if name.startswith(key))[:limit]
    close = difflib.get_close_matches(key, kb.names.keys(), n=limit, cutoff=0.75)
    return list(dict.fromkeys(starting + close))[:limit]


def product_ingredients(*, ndcs=(), rxcuis=()) -> tuple[str, ...]:
    """The ingredients of a drug product known by its NDC or its RxNorm clinical/branded drug code,
    when a local RxNorm release has been imported (`manage.py import_rxnorm`); () otherwise."""
    products = knowledge_base().products
    for code in [*(f"ndc:{n}" for n in ndcs), *(f"rxcui:{r}" for r in rxcuis)]:
        if code in products:
            return products[code]
    return ()


def medication_dose_reading(name: str, dose: str) -> str:
    """How screening reads a medication's dose, for the pharmacist to see and correct:
    'read as 2 x 500 mg up to 4 times a day: acetaminophen 4,000 mg a day'; '' when the words give none."""
    kb = knowledge_base()
    product, directions = split_directions(name)
    entry = Entry(name, resolve_name(kb, name).ingredients, parse_dose(product, f"{directions} {dose}"))
    parsed = entry.dose
    if not parsed.strengths and not parsed.times_per_day and not parsed.weekly:
        return ""
    amounts = ingredient_amounts(kb, entry)
    per_dose = ""
    if parsed.strengths:
        units = f"{figure(parsed.units_per_dose)} x " if (parsed.units_per_dose or 1) != 1 else ""
        unit = " mcg/h" if parsed.per_hour_mcg else " mg"
        per_dose = units + "-".join(figure(s) for s in parsed.strengths) + unit
    how_often = (
        parsed.reading.split(", ")[-1] if (parsed.times_per_day or parsed.weekly) else "how often not stated"
    )
    text = f"read as {per_dose}, {how_often}" if per_dose else f"read as {how_often}"
    if amounts and parsed.times_per_day:
        up_to = "up to " if parsed.as_needed else ""
        daily = ", ".join(f"{name} {figure(mg * parsed.times_per_day)} mg" for name, mg in amounts.items())
        text += f" = {up_to}{daily} a day"
    return text
