"""Whether a patient meets an MTM program's targeting criteria (CMS Part D, 42 CFR 423.153(d)):
chronic diseases, maintenance drugs and annual drug cost. Plain Python: facts in, a decision with its
reasons out. The year's limits and figures are data (reviews/rules/targeting.yaml).

Annual drug cost: the fills of the 12 months up to the day of the decision, at the cost the fill file
gave; a fill without one, and an active prescription without a fill in those months (projected over
12 months), is estimated at the year's average generic cost: CMS sets the threshold from the cost of
8 generic drugs, so one drug for 30 days is estimated at threshold / 8 / 12.
"""

import datetime
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import yaml

from interactions.engine.knowledge import KnowledgeBase

RULES_FILE = Path(__file__).parent / "rules" / "targeting.yaml"
CENT = Decimal("0.01")


class TargetingRulesError(Exception):
    pass


@dataclass(frozen=True)
class TargetingYear:
    year: int
    max_required_diseases: int
    max_required_drugs: int
    cost_threshold: Decimal
    core_diseases: dict[str, tuple[str, tuple[str, ...]]]  # id -> (label, ICD-10-CM prefixes)
    short_course_classes: frozenset[str]
    sources: tuple[str, ...]
    verify: bool = False  # the figures are not yet checked against CMS's memo for the year

    @property
    def estimated_cost_per_30_days(self) -> Decimal:
        return (self.cost_threshold / 8 / 12).quantize(CENT, ROUND_HALF_UP)


def load_targeting(kb: KnowledgeBase | None = None, path: Path = RULES_FILE) -> dict[int, TargetingYear]:
    """Every contract year of the rules file, checked (against the knowledge base's classes when given)."""
    data = yaml.safe_load(path.read_text())
    diseases = data["core_diseases"]
    short_course = frozenset(data.get("short_course_classes") or ())
    if kb is not None and short_course - set(kb.classes):
        raise TargetingRulesError(
            f"short_course_classes: unknown classes {sorted(short_course - set(kb.classes))}"
        )
    years = {}
    for year, spec in (data.get("years") or {}).items():
        unknown = [d for d in spec["core_diseases"] if d not in diseases]
        if unknown:
            raise TargetingRulesError(f"{year}: unknown core diseases {unknown}")
        missing_sources = [s for s in spec.get("sources", ()) if s not in data.get("sources", {})]
        if missing_sources or not spec.get("sources"):
            raise TargetingRulesError(f"{year}: cite known sources (unknown: {missing_sources})")
        years[int(year)] = TargetingYear(
            year=int(year),
            max_required_diseases=int(spec["max_required_diseases"]),
            max_required_drugs=int(spec["max_required_drugs"]),
            cost_threshold=Decimal(str(spec["cost_threshold"])),
            core_diseases={
                d: (diseases[d]["label"], tuple(c.replace(".", "").upper() for c in diseases[d]["codes"]))
                for d in spec["core_diseases"]
            },
            short_course_classes=short_course,
            sources=tuple(spec["sources"]),
            verify=bool(spec.get("verify")),
        )
    return years


_LOADED: dict[str | None, dict[int, TargetingYear]] = {}  # per knowledge base version


def targeting_year(year: int, kb: KnowledgeBase | None = None) -> TargetingYear:
    key = kb.version if kb is not None else None
    if key not in _LOADED:
        _LOADED[key] = load_targeting(kb)
    if year not in _LOADED[key]:
        raise TargetingRulesError(
            f"No targeting criteria for {year}: add the year to reviews/rules/targeting.yaml."
        )
    return _LOADED[key][year]


@dataclass(frozen=True)
class ProgramCriteria:
    """What one program requires (within the year's limits)."""

    min_diseases: int
    min_drugs: int
    cost_threshold: Decimal
    count_all_drugs: bool = False  # count every Part D drug, not only maintenance drugs

    def errors(self, rules: TargetingYear) -> dict[str, str]:
        errors = {}
        if not 1 <= self.min_diseases <= rules.max_required_diseases:
            errors["min_diseases"] = (
                f"A program may require from 1 to {rules.max_required_diseases} chronic diseases in {rules.year}."
            )
        if not 1 <= self.min_drugs <= rules.max_required_drugs:
            errors["min_drugs"] = (
                f"A program may require from 1 to {rules.max_required_drugs} drugs in {rules.year}."
            )
        if self.cost_threshold > rules.cost_threshold or self.cost_threshold < 0:
            errors["cost_threshold"] = (
                f"The cost threshold may not be above ${rules.cost_threshold:,} in {rules.year}."
            )
        return errors


@dataclass(frozen=True)
class DatedCondition:
    code: str  # ICD-10-CM
    since: datetime.date  # onset, or when it was recorded


@dataclass(frozen=True)
class DrugFill:
    day: datetime.date
    days_supply: int
    ingredients: frozenset[str]
    cost: Decimal | None = None  # as the fill file gave it


@dataclass(frozen=True)
class ListedDrug:
    """An active prescription on the medication list."""

    ingredients: frozenset[str]
    since: datetime.date


@dataclass(frozen=True)
class Eligibility:
    met: bool
    date_met: datetime.date | None
    diseases: tuple[str, ...]  # labels of the core diseases found
    drugs: tuple[str, ...]  # the drugs counted
    annual_cost: Decimal
    cost_estimated: bool  # some of the cost is an estimate
    missing: tuple[str, ...]  # what is missing, in plain words; empty when met
    reasons: tuple[str, ...]  # why it is met (or how far it is), in plain words

    @property
    def criteria_missing(self) -> int:
        return len(self.missing)


def _drug_name(ingredients: frozenset[str]) -> str:
    return " + ".join(sorted(ingredients))


def _kth_date(dates: list[datetime.date], k: int) -> datetime.date | None:
    dates = sorted(dates)
    return dates[k - 1] if len(dates) >= k else None


def patient_eligibility(
    *,
    criteria: ProgramCriteria,
    rules: TargetingYear,
    kb: KnowledgeBase,
    conditions: list[DatedCondition],
    fills: list[DrugFill],
    listed: list[ListedDrug],
    on: datetime.date,
) -> Eligibility:
    # Chronic diseases: the first date each core disease is known.
    disease_since: dict[str, datetime.date] = {}
    for condition in conditions:
        code = condition.code.replace(".", "").upper()
        for disease, (_, prefixes) in rules.core_diseases.items():
            if code.startswith(prefixes) and (
                disease not in disease_since or condition.since < disease_since[disease]
            ):
                disease_since[disease] = condition.since

    def counted(ingredients: frozenset[str]) -> bool:
        if criteria.count_all_drugs:
            return True
        classes = {
            c
            for name in ingredients
            for c in (kb.ingredients[name].classes if name in kb.ingredients else ())
        }
        return not classes or not classes <= rules.short_course_classes

    window_start = on - datetime.timedelta(days=364)
    recent = sorted(
        (f for f in fills if window_start <= f.day <= on and counted(f.ingredients)), key=lambda f: f.day
    )
    drug_since: dict[str, datetime.date] = {}
    for fill in recent:
        drug_since.setdefault(_drug_name(fill.ingredients), fill.day)
    for drug in listed:
        if counted(drug.ingredients):
            name = _drug_name(drug.ingredients)
            drug_since[name] = min(drug_since.get(name, drug.since), drug.since)

    # Annual cost, and the day the running total reached the threshold.
    per_30 = rules.estimated_cost_per_30_days
    estimated = False
    running, cost_date = Decimal(0), None
    for fill in recent:
        if fill.cost is None:
            estimated = True
        running += fill.cost if fill.cost is not None else per_30 * fill.days_supply / 30
        if cost_date is None and running >= criteria.cost_threshold:
            cost_date = fill.day
    filled = {_drug_name(f.ingredients) for f in recent}
    for drug in listed:
        name = _drug_name(drug.ingredients)
        if counted(drug.ingredients) and name not in filled:
            estimated = True
            running += per_30 * 12
            filled.add(name)
            if cost_date is None and running >= criteria.cost_threshold:
                cost_date = max(drug.since, window_start)
    annual_cost = running.quantize(CENT, ROUND_HALF_UP)

    missing, reasons = [], []
    labels = tuple(rules.core_diseases[d][0] for d in sorted(disease_since))
    if len(disease_since) < criteria.min_diseases:
        need = criteria.min_diseases - len(disease_since)
        missing.append(f"{need} more chronic disease{'s' if need > 1 else ''} of the core list")
    reasons.append(f"{len(disease_since)} of {criteria.min_diseases} chronic diseases")
    if len(drug_since) < criteria.min_drugs:
        need = criteria.min_drugs - len(drug_since)
        kind = "Part D" if criteria.count_all_drugs else "maintenance"
        missing.append(f"{need} more {kind} drug{'s' if need > 1 else ''}")
    reasons.append(f"{len(drug_since)} of {criteria.min_drugs} drugs")
    if annual_cost < criteria.cost_threshold:
        missing.append(f"${criteria.cost_threshold - annual_cost:,.2f} more annual drug cost")
    reasons.append(
        f"${annual_cost:,.2f} of ${criteria.cost_threshold:,.2f} a year"
        + (" (partly estimated)" if estimated else "")
    )

    date_met = None
    if not missing:
        dates = [
            _kth_date(list(disease_since.values()), criteria.min_diseases),
            _kth_date(list(drug_since.values()), criteria.min_drugs),
            cost_date,
        ]
        date_met = max(d for d in dates if d is not None) if all(dates) else on
    return Eligibility(
        met=not missing,
        date_met=date_met,
        diseases=labels,
        drugs=tuple(sorted(drug_since)),
        annual_cost=annual_cost,
        cost_estimated=estimated,
        missing=tuple(missing),
        reasons=tuple(reasons),
    )
