"""What a finding is made of: the drugs taken, and the finding's JSON (shared/DESIGN.md)."""

from dataclasses import dataclass, field

from interactions.engine.knowledge import KnowledgeBase, Rule
from interactions.engine.sig import Dose


@dataclass
class Taken:
    """An ingredient on the list and the entries (as typed) it comes from."""

    name: str
    inputs: list[str]
    entries: set[int] = field(default_factory=set)  # positions on the list


@dataclass(frozen=True)
class Entry:
    """One medication on the list: what was typed, what it is, and the dose its words give."""

    input: str
    ingredients: tuple[str, ...]
    dose: Dose


def from_one_product(*items: Taken) -> bool:
    """All from the same single entry ("Norco", "Bactrim"): a combination product's ingredients are
    not screened against each other — the product is what was prescribed."""
    first = items[0].entries
    return len(first) == 1 and all(item.entries == first for item in items)


def finding(
    kb: KnowledgeBase,
    rule: Rule,
    *,
    drugs,
    inputs,
    why: str,
    severity=None,
    management=None,
    kind=None,
    **extra,
) -> dict:
    drugs = sorted(set(drugs))
    return {
        "id": f"{kind or rule.kind}:{rule.id}:{'+'.join(drugs)}",
        "kind": kind or rule.kind,
        "severity": severity or rule.severity,
        "drugs": drugs,
        "inputs": sorted(set(inputs)),
        "title": rule.title,
        "effect": rule.effect,
        "mechanism": rule.mechanism,
        "management": management or rule.management,
        "why": why,
        "sources": kb.citations(rule.sources),
        "rule": rule.id,
        **extra,
    }


def listed(names: list[str]) -> str:
    return f"{', '.join(names[:-1])} and {names[-1]}" if len(names) > 1 else names[0]


def inputs_of(taken: dict[str, Taken], drugs) -> list[str]:
    return [i for name in drugs for i in taken[name].inputs]
