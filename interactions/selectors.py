"""The knowledge base and the engine as the rest of the app uses them."""

import difflib
from pathlib import Path

from django.conf import settings

from interactions.engine import KnowledgeBase, load_knowledge_base, screen
from interactions.engine.knowledge import KNOWLEDGE_DIR
from interactions.engine.names import normalise_name
from interactions.engine.resolve import Resolution, resolve_name


def knowledge_base() -> KnowledgeBase:
    """The reviewed knowledge base, extended by names imported from a local RxNorm release
    (`manage.py import_rxnorm`) when there are any."""
    extra = tuple(path for path in (Path(p) for p in settings.KNOWLEDGE_EXTRA_DIRS) if path.is_dir())
    return load_knowledge_base(KNOWLEDGE_DIR, extra)


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
