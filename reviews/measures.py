"""Quality measures from fill history (PDC-DR, PDC-RASA, PDC-STA, SUPD, POLY-ACH, POLY-CNS, COB),
for one patient and one measurement year: plain Python, data in and results out.

The rules are data (reviews/rules/measures.yaml, per measurement year); the drug lists are RxNorm
ingredients from the knowledge base, or an organisation's licensed value sets. Days are counted as
in shared/INTEROP.md §3:

- a fill covers `days_supply` days from its fill date; an early refill of the same drug starts when
  the supply on hand runs out ("shift forward"), also when that supply came from a fill of the year
  before;
- a day covered by two different drugs of a measure counts once;
- nothing after 31 December counts, nor anything before the index date (the first fill in the year).
"""

import datetime
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from interactions.engine.knowledge import KnowledgeBase
from interactions.engine.patient import age_on

RULES_FILE = Path(__file__).parent / "rules" / "measures.yaml"
MEASURE_KINDS = ("pdc", "use", "concurrent", "overlap")


class MeasureRulesError(Exception):
    pass


# --- Rules ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Exclusion:
    id: str
    label: str
    hospice: bool = False
    conditions: tuple[str, ...] = ()  # ICD-10-CM prefixes, without dots
    drugs: frozenset[str] = frozenset()  # ingredients


@dataclass(frozen=True)
class Measure:
    code: str
    name: str
    kind: str
    drugs: frozenset[str]  # ingredients
    sources: tuple[str, ...]
    age_min: int
    age_max: int | None = None
    age_on: str = "start"
    numerator_drugs: frozenset[str] = frozenset()
    min_fills: int = 2
    min_treatment_days: int = 91
    threshold: float = 0.8
    min_distinct: int = 2
    min_days: int = 30
    min_days_supply: int = 0
    lower_is_better: bool = False
    exclusions: tuple[Exclusion, ...] = ()


@dataclass(frozen=True)
class MeasureSet:
    years: tuple[int, ...]
    measures: dict[str, Measure]
    sources: dict[str, str]


def _flatten(items) -> list[str]:
    flat = []
    for item in items or ():
        flat.extend(_flatten(item) if isinstance(item, list) else [str(item)])
    return flat


def ingredients_for(kb: KnowledgeBase, references: Iterable[str], where: str) -> frozenset[str]:
    """`class:<id>`, `acb:<score>` (that score or more) or an ingredient name -> ingredient names."""
    found: set[str] = set()
    for reference in references:
        kind, _, key = reference.partition(":")
        if kind == "class" and key:
            if key not in kb.classes:
                raise MeasureRulesError(f"{where}: unknown class {key!r}")
            found |= kb.tag_members.get(f"class:{key}", frozenset())
        elif kind == "acb" and key.isdigit():
            found |= {name for name, (score, _) in kb.anticholinergic.items() if score >= int(key)}
        elif not key and reference in kb.ingredients:
            found.add(reference)
        else:
            raise MeasureRulesError(
                f"{where}: {reference!r} is neither a class, an ACB score nor an ingredient"
            )
    return frozenset(found)


def load_measure_sets(kb: KnowledgeBase, path: Path = RULES_FILE) -> list[MeasureSet]:
    data = yaml.safe_load(path.read_text())
    sources = {key: str(value) for key, value in (data.get("sources") or {}).items()}
    exclusions = {}
    for exclusion_id, spec in (data.get("exclusions") or {}).items():
        exclusions[exclusion_id] = Exclusion(
            id=exclusion_id,
            label=spec["label"],
            hospice=bool(spec.get("hospice")),
            conditions=tuple(code.replace(".", "").upper() for code in spec.get("conditions", ())),
            drugs=ingredients_for(kb, _flatten(spec.get("drugs")), f"exclusion {exclusion_id}"),
        )
    sets = []
    for number, spec in enumerate(data.get("measure_sets") or (), start=1):
        measures = {}
        for code, m in spec["measures"].items():
            where = f"measure set {number}, {code}"
            if m.get("kind") not in MEASURE_KINDS:
                raise MeasureRulesError(f"{where}: kind must be one of {', '.join(MEASURE_KINDS)}")
            unknown = [s for s in m.get("sources", ()) if s not in sources]
            if unknown or not m.get("sources"):
                raise MeasureRulesError(f"{where}: cite known sources (unknown: {unknown})")
            missing = [e for e in m.get("exclusions", ()) if e not in exclusions]
            if missing:
                raise MeasureRulesError(f"{where}: unknown exclusions {missing}")
            age = m.get("age") or {}
            measures[code] = Measure(
                code=code,
                name=m["name"],
                kind=m["kind"],
                drugs=ingredients_for(kb, _flatten(m["drugs"]), where),
                numerator_drugs=ingredients_for(kb, _flatten(m.get("numerator_drugs")), where),
                sources=tuple(m["sources"]),
                age_min=int(age.get("min", 18)),
                age_max=age.get("max"),
                age_on=age.get("at", "start"),
                min_fills=int(m.get("min_fills", 2)),
                min_treatment_days=int(m.get("min_treatment_days", 91)),
                threshold=float(m.get("threshold", 0.8)),
                min_distinct=int(m.get("min_distinct", 2)),
                min_days=int(m.get("min_days", 30)),
                min_days_supply=int(m.get("min_days_supply", 0)),
                lower_is_better=bool(m.get("lower_is_better")),
                exclusions=tuple(exclusions[e] for e in m.get("exclusions", ())),
            )
            if not measures[code].drugs:
                raise MeasureRulesError(f"{where}: its drug list matches no ingredient")
        sets.append(MeasureSet(tuple(int(y) for y in spec["years"]), measures, sources))
    return sets


_LOADED: dict[tuple[int, str], list[MeasureSet]] = {}  # (id of the knowledge base, its version) -> sets


def measures_for_year(kb: KnowledgeBase, year: int) -> MeasureSet:
    key = (id(kb), kb.version)
    if key not in _LOADED:
        _LOADED[key] = load_measure_sets(kb)
    for measure_set in _LOADED[key]:
        if year in measure_set.years:
            return measure_set
    raise MeasureRulesError(f"No measure rules for {year}: add the year to reviews/rules/measures.yaml.")


# --- Patient data ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MeasureFill:
    day: datetime.date
    days_supply: int
    ingredients: frozenset[str]

    @property
    def drug(self) -> str:
        """The "same drug" of the shift-forward rule: the same ingredients."""
        return " + ".join(sorted(self.ingredients))


@dataclass(frozen=True)
class MeasurePatient:
    date_of_birth: datetime.date
    fills: tuple[MeasureFill, ...]
    conditions: tuple[str, ...] = ()  # ICD-10-CM codes present in the year
    hospice: bool = False


@dataclass(frozen=True)
class MeasureResult:
    code: str
    name: str
    in_denominator: bool
    met: bool | None = None  # the numerator; None outside the denominator
    exclusion: str = ""  # the exclusion that applied (id)
    exclusion_label: str = ""
    reason: str = ""  # why the patient is outside the denominator, in plain words
    drugs: tuple[str, ...] = ()  # the drugs of the measure the patient was dispensed
    lower_is_better: bool = False
    # PDC
    index_date: datetime.date | None = None
    period_end: datetime.date | None = None
    days_covered: int | None = None
    days_in_period: int | None = None
    # Concurrent use (POLY-ACH, POLY-CNS, COB)
    concurrent_days: int | None = None
    # As of a day in the year: the days that may still go uncovered before the measure is lost
    # (negative: lost already). PDC only; None once the year is over.
    days_can_miss: int | None = None
    details: dict = field(default_factory=dict)

    @property
    def pdc(self) -> float | None:
        return self.days_covered / self.days_in_period if self.days_in_period else None

    @property
    def at_risk(self) -> bool:
        return self.days_can_miss is not None and self.met is False


def _shifted_days(fills: list[MeasureFill]) -> dict[str, set[int]]:
    """Day ordinals covered per drug, early refills of the same drug shifted forward."""
    covered: dict[str, set[int]] = defaultdict(set)
    supply_until: dict[str, int] = {}  # drug -> the ordinal of the day after its last covered day
    for fill in sorted(fills, key=lambda f: f.day):
        start = max(fill.day.toordinal(), supply_until.get(fill.drug, 0))
        supply_until[fill.drug] = start + fill.days_supply
        covered[fill.drug].update(range(start, start + fill.days_supply))
    return covered


def _distinct_dates(fills: Iterable[MeasureFill]) -> int:
    return len({f.day for f in fills})


def measure_patient(
    measure: Measure, patient: MeasurePatient, *, year: int, today: datetime.date | None = None
) -> MeasureResult:
    """One measure for one patient. `today`: a day inside the year to say what can still be saved."""
    first, last = datetime.date(year, 1, 1), datetime.date(year, 12, 31)
    in_year = [f for f in patient.fills if first <= f.day <= last]
    ours = [f for f in in_year if f.ingredients & measure.drugs]
    base = {"code": measure.code, "name": measure.name, "lower_is_better": measure.lower_is_better}
    base["drugs"] = tuple(sorted({f.drug for f in ours}))

    def outside(reason: str, **more) -> MeasureResult:
        return MeasureResult(**base, in_denominator=False, reason=reason, **more)

    age = age_on(patient.date_of_birth, first if measure.age_on == "start" else last)
    day_word = "1 January" if measure.age_on == "start" else "31 December"
    if age < measure.age_min or (measure.age_max is not None and age > measure.age_max):
        band = f"{measure.age_min} to {measure.age_max}" if measure.age_max else f"{measure.age_min} or older"
        return outside(f"Aged {age} on {day_word} {year}: the measure counts people aged {band}.")

    if measure.kind == "pdc":
        qualifies, reason = _pdc_qualifies(measure, ours, last)
    elif measure.kind == "use":
        qualifies = _distinct_dates(ours) >= measure.min_fills
        reason = f"Fewer than {measure.min_fills} fills on different dates in {year}."
    elif measure.kind == "concurrent":
        qualifies = any(_distinct_dates(fs) >= 2 for fs in _by_drug(ours).values())
        reason = f"No drug of the measure filled on 2 different dates in {year}."
    else:  # overlap
        supplied = sum(f.days_supply for f in ours)
        qualifies = _distinct_dates(ours) >= measure.min_fills and supplied >= measure.min_days_supply
        reason = (
            f"Fewer than {measure.min_fills} fills on different dates adding up to "
            f"{measure.min_days_supply} days' supply in {year}."
        )
    if not qualifies:
        return outside(reason)

    exclusion = _exclusion(measure, patient, in_year)
    if exclusion:
        return outside(
            f"Excluded: {exclusion.label}.", exclusion=exclusion.id, exclusion_label=exclusion.label
        )

    if measure.kind == "pdc":
        return _pdc(measure, ours, patient.fills, year=year, today=today, base=base)
    if measure.kind == "use":
        numerator = [f for f in in_year if f.ingredients & measure.numerator_drugs]
        return MeasureResult(
            **base, in_denominator=True, met=bool(numerator), details={"numerator_fills": len(numerator)}
        )
    if measure.kind == "concurrent":
        return _concurrent(measure, ours, patient.fills, year=year, base=base)
    return _overlap(measure, ours, patient.fills, in_year, year=year, base=base)


def _by_drug(fills: Iterable[MeasureFill]) -> dict[str, list[MeasureFill]]:
    grouped: dict[str, list[MeasureFill]] = defaultdict(list)
    for fill in fills:
        grouped[fill.drug].append(fill)
    return grouped


def _pdc_qualifies(measure: Measure, ours: list[MeasureFill], last: datetime.date) -> tuple[bool, str]:
    if _distinct_dates(ours) < measure.min_fills:
        return False, f"Fewer than {measure.min_fills} fills on different dates in {last.year}."
    index = min(f.day for f in ours)
    days = (last - index).days + 1
    if days < measure.min_treatment_days:
        return False, (
            f"Treatment period of {days} days from the first fill on {index:%d %B}: the measure needs "
            f"{measure.min_treatment_days}."
        )
    return True, ""


def _exclusion(measure: Measure, patient: MeasurePatient, in_year: list[MeasureFill]) -> Exclusion | None:
    codes = [code.replace(".", "").upper() for code in patient.conditions]
    for exclusion in measure.exclusions:
        if exclusion.hospice and patient.hospice:
            return exclusion
        if any(code.startswith(prefix) for code in codes for prefix in exclusion.conditions):
            return exclusion
        if exclusion.drugs and any(f.ingredients & exclusion.drugs for f in in_year):
            return exclusion
    return None


def _with_carry_over(measure_drugs: frozenset[str], all_fills, year: int) -> list[MeasureFill]:
    """The fills of the measure's drugs up to 31 December, those of earlier years included so that
    the supply they leave on hand shifts the year's refills forward."""
    last = datetime.date(year, 12, 31)
    return [f for f in all_fills if f.day <= last and f.ingredients & measure_drugs]


def _pdc(measure, ours, all_fills, *, year, today, base) -> MeasureResult:
    index = min(f.day for f in ours)
    last = datetime.date(year, 12, 31)
    period = set(range(index.toordinal(), last.toordinal() + 1))
    covered: set[int] = set()
    for days in _shifted_days(_with_carry_over(measure.drugs, all_fills, year)).values():
        covered |= days & period
    days_in_period = len(period)
    met = len(covered) / days_in_period >= measure.threshold
    days_can_miss = None
    if today is not None and index <= today <= last:
        allowed = days_in_period - math.ceil(measure.threshold * days_in_period)
        missed = sum(1 for day in range(index.toordinal(), today.toordinal() + 1) if day not in covered)
        days_can_miss = allowed - missed
    return MeasureResult(
        **base,
        in_denominator=True,
        met=met,
        index_date=index,
        period_end=last,
        days_covered=len(covered),
        days_in_period=days_in_period,
        days_can_miss=days_can_miss,
    )


def _year_days(year: int) -> set[int]:
    return set(range(datetime.date(year, 1, 1).toordinal(), datetime.date(year, 12, 31).toordinal() + 1))


def _concurrent(measure, ours, all_fills, *, year, base) -> MeasureResult:
    """Days on which `min_distinct` different drugs, each filled on 2 dates in the year, overlap."""
    counted = {drug for drug, fills in _by_drug(ours).items() if _distinct_dates(fills) >= 2}
    year_days = _year_days(year)
    drugs_on_day: dict[int, int] = defaultdict(int)
    for drug, days in _shifted_days(_with_carry_over(measure.drugs, all_fills, year)).items():
        if drug in counted:
            for day in days & year_days:
                drugs_on_day[day] += 1
    concurrent = sum(1 for n in drugs_on_day.values() if n >= measure.min_distinct)
    return MeasureResult(
        **base,
        in_denominator=True,
        met=len(counted) >= measure.min_distinct and concurrent >= measure.min_days,
        concurrent_days=concurrent,
    )


def _overlap(measure, ours, all_fills, in_year, *, year, base) -> MeasureResult:
    """Days covered by the measure's drugs (opioids) and its numerator drugs (benzodiazepines)."""
    numerator = [f for f in in_year if f.ingredients & measure.numerator_drugs]
    year_days = _year_days(year)

    def covered(drugs: frozenset[str]) -> set[int]:
        days: set[int] = set()
        for drug_days in _shifted_days(_with_carry_over(drugs, all_fills, year)).values():
            days |= drug_days & year_days
        return days

    overlap = len(covered(measure.drugs) & covered(measure.numerator_drugs)) if numerator else 0
    return MeasureResult(
        **base,
        in_denominator=True,
        met=_distinct_dates(numerator) >= measure.min_fills and overlap >= measure.min_days,
        concurrent_days=overlap,
        details={"numerator_drugs": sorted({f.drug for f in numerator})},
    )


def measures_patient(
    measure_set: MeasureSet, patient: MeasurePatient, *, year: int, today: datetime.date | None = None
) -> list[MeasureResult]:
    return [measure_patient(m, patient, year=year, today=today) for m in measure_set.measures.values()]
