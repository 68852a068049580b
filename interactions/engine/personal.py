"""Screening that depends on the patient rather than the drug pair: kidney function as the record
gives it, the doses taken, genotype, pregnancy and breastfeeding, and how the patient lives."""

from collections import defaultdict
from dataclasses import dataclass
from itertools import permutations

from interactions.engine.findings import Entry, Taken, finding, inputs_of, listed
from interactions.engine.knowledge import KnowledgeBase, Rule
from interactions.engine.patient import (
    ckd_stage,
    cockcroft_gault_weight,
    crcl_cockcroft_gault,
    egfr_ckd_epi_2021,
)
from interactions.engine.request import PatientFacts

# --- Kidney function -----------------------------------------------------------------------------


@dataclass(frozen=True)
class KidneyValue:
    value: float  # mL/min (CrCl) or mL/min/1.73 m2 (eGFR); a CKD stage gives its band's upper bound
    words: str  # "creatinine clearance 42 mL/min (Cockcroft-Gault, ideal body weight 61.2 kg)"
    stage: bool = False
    weight_words: str = ""  # Cockcroft-Gault: "ideal body weight 61.2 kg"


class Kidney:
    """Every estimate of kidney function the patient's facts allow. Cockcroft-Gault and CKD-EPI are for
    adults (18 and over); a measured eGFR or a CKD stage code stands in when they cannot be computed."""

    def __init__(self, patient: PatientFacts):
        self.patient = patient
        p = patient
        self.adult = p.age is not None and p.age >= 18
        self.cg_possible = self.adult and None not in (p.sex, p.weight_kg, p.serum_creatinine_mg_dl)
        self.egfr_computed = (
            egfr_ckd_epi_2021(age=p.age, sex=p.sex, serum_creatinine_mg_dl=p.serum_creatinine_mg_dl)
            if self.adult and p.sex and p.serum_creatinine_mg_dl
            else None
        )
        self.stage = ckd_stage(p.conditions)

    def crcl(self, rule_weight: str = "") -> KidneyValue | None:
        if not self.cg_possible:
            return None
        p = self.patient
        weight, weight_words = cockcroft_gault_weight(
            sex=p.sex, weight_kg=p.weight_kg, height_cm=p.height_cm, rule_weight=rule_weight
        )
        value = crcl_cockcroft_gault(
            age=p.age, sex=p.sex, weight_kg=weight, serum_creatinine_mg_dl=p.serum_creatinine_mg_dl
        )
        words = f"creatinine clearance {value:g} mL/min (Cockcroft-Gault, {weight_words})"
        return KidneyValue(value, words, weight_words=weight_words)

    def egfr(self) -> KidneyValue | None:
        if self.patient.egfr_ml_min_1_73m2 is not None:
            value = self.patient.egfr_ml_min_1_73m2
            return KidneyValue(value, f"eGFR {value:g} mL/min/1.73 m² (measured)")
        if self.egfr_computed is not None:
            return KidneyValue(
                self.egfr_computed, f"eGFR {self.egfr_computed:g} mL/min/1.73 m² (CKD-EPI 2021)"
            )
        return None

    def staged(self) -> KidneyValue | None:
        if not self.stage or self.stage[1][1] is None:
            return None
        code, (_low, high, words) = self.stage
        return KidneyValue(high, f"chronic kidney disease {words}, coded {code[:3]}.{code[3:]}", stage=True)

    def for_rule(self, rule: Rule) -> KidneyValue | None:
        """What the label's thresholds are compared with: its own measure first, then the others."""
        order = (
            (self.egfr, lambda: self.crcl(rule.cg_weight))
            if rule.measure == "egfr"
            else (lambda: self.crcl(rule.cg_weight), self.egfr)
        )
        for estimate in (*order, self.staged):
            if value := estimate():
                return value
        return None

    def context(self) -> dict:
        p = self.patient
        needed = {
            "age": p.age,
            "sex": p.sex,
            "weight_kg": p.weight_kg,
            "serum_creatinine_mg_dl": p.serum_creatinine_mg_dl,
        }
        crcl = self.crcl()
        context: dict = {"crcl_ml_min": crcl.value if crcl else None}
        if crcl:
            context["crcl_method"] = "cockcroft-gault"
            context["crcl_weight"] = crcl.weight_words
        else:
            context["crcl_missing"] = [name for name, value in needed.items() if value is None]
            if p.age is not None and not self.adult:
                context["crcl_missing"].append("adult_age")
            context["crcl_method"] = None  # the renal rules use what there is instead:
            if self.egfr():
                context["crcl_method"] = (
                    "measured egfr" if p.egfr_ml_min_1_73m2 is not None else "ckd-epi 2021"
                )
            elif self.staged():
                context["crcl_method"] = "ckd code"
        if egfr := self.egfr():
            context["egfr_ml_min_1_73m2"] = egfr.value
            context["egfr_method"] = "measured" if p.egfr_ml_min_1_73m2 is not None else "ckd-epi 2021"
        if staged := self.staged():
            context["ckd_stage"] = staged.words
        return context


def renal_finding(kb: KnowledgeBase, rule: Rule, kidney: Kidney, drugs: list[str], taken: dict[str, Taken]):
    estimate = kidney.for_rule(rule)
    if estimate is None:
        return None
    threshold = next((t for t in rule.thresholds if estimate.value < t["below"]), None)
    if not threshold:
        return None
    unit = "mL/min/1.73 m²" if rule.measure == "egfr" else "mL/min"
    why = f"{estimate.words} is below {threshold['below']:g} {unit} for {', '.join(drugs)}"
    return finding(
        kb, rule, drugs=drugs, inputs=inputs_of(taken, drugs), why=why,
        severity=threshold["severity"], management=threshold["text"],
    )  # fmt: skip


# --- Doses ---------------------------------------------------------------------------------------


def figure(value: float) -> str:
    """1,300 / 2.5 / 0.088"""
    return f"{value:,.3f}".rstrip("0").rstrip(".")


def ingredient_amounts(kb: KnowledgeBase, entry: Entry) -> dict[str, float]:
    """mg per administration of each ingredient, where the strength says which is which: one
    ingredient and one strength, or strengths matched to ingredients by the range each is made in
    ("Norco 10-325": hydrocodone 10, acetaminophen 325)."""
    dose, names = entry.dose, entry.ingredients
    units = dose.units_per_dose or 1
    if not dose.strengths or dose.per_hour_mcg:
        return {}
    if len(names) == 1 and len(dose.strengths) == 1:
        return {names[0]: dose.strengths[0] * units}

    def fits(name: str, mg: float) -> bool:
        low, high = kb.unit_strengths.get(name, (0, -1))
        return low <= mg <= high

    matches = [
        pairing
        for pairing in permutations(names, len(dose.strengths))
        if all(fits(name, mg) for name, mg in zip(pairing, dose.strengths, strict=True))
    ]
    if len(matches) != 1:
        return {}
    return {name: mg * units for name, mg in zip(matches[0], dose.strengths, strict=True)}


@dataclass(frozen=True)
class Daily:
    """One entry's part of an ingredient's daily total."""

    input: str
    mg: float
    how: str  # "2 x 500 mg up to 4 times a day"


def daily_amounts(
    kb: KnowledgeBase, entries: list[Entry]
) -> tuple[dict[str, list[Daily]], dict[str, list[str]]]:
    """Per ingredient: the daily mg of each entry that says it, and the entries whose dose is unread."""
    counted: dict[str, list[Daily]] = defaultdict(list)
    unread: dict[str, list[str]] = defaultdict(list)
    for entry in entries:
        amounts = ingredient_amounts(kb, entry)
        dose = entry.dose
        for name in entry.ingredients:
            if name in amounts and dose.times_per_day:
                units = f"{figure(dose.units_per_dose)} x " if (dose.units_per_dose or 1) != 1 else ""
                per_unit = amounts[name] / (dose.units_per_dose or 1)
                how = f"{units}{figure(per_unit)} mg, {dose.reading.split(', ')[-1]}"
                counted[name].append(Daily(entry.input, amounts[name] * dose.times_per_day, how))
            else:
                unread[name].append(entry.input)
    return counted, unread


def _condition_holds(condition: dict, patient: PatientFacts, kidney: Kidney) -> bool | None:
    """True or False, or None when the record does not say."""
    ((key, limit),) = condition.items()
    crcl = kidney.crcl("actual") if key.startswith("crcl") else None  # the labels' tables: actual weight
    egfr = kidney.egfr() if key.startswith("egfr") else None
    value = {
        "age_at_least": patient.age, "age_below": patient.age, "weight_at_most_kg": patient.weight_kg,
        "weight_below_kg": patient.weight_kg, "creatinine_at_least_mg_dl": patient.serum_creatinine_mg_dl,
        "crcl_below": crcl.value if crcl else None, "crcl_at_least": crcl.value if crcl else None,
        "egfr_below": egfr.value if egfr else None, "sex": patient.sex,
    }[key]  # fmt: skip
    if value is None:
        return None
    if key == "sex":
        return value == limit
    if key.endswith(("at_least", "at_least_mg_dl")):
        return value >= limit
    if key.endswith("at_most_kg"):
        return value <= limit
    return value < limit


_CONDITION_WORDS = {
    "age_at_least": "age {limit} or over", "age_below": "age under {limit}", "weight_at_most_kg": "weight {limit} kg or less",
    "weight_below_kg": "weight under {limit} kg", "creatinine_at_least_mg_dl": "serum creatinine {limit} mg/dL or more",
    "crcl_below": "creatinine clearance under {limit} mL/min", "crcl_at_least": "creatinine clearance {limit} mL/min or more",
    "egfr_below": "eGFR under {limit}", "sex": "{limit}",
}  # fmt: skip


def _conditions_met(conditions: list[dict], needed: int | None, patient, kidney) -> list[str] | None:
    """The words of the conditions that hold, when enough of them do; None otherwise."""
    held = [c for c in conditions if _condition_holds(c, patient, kidney)]
    if len(held) < (needed or len(conditions)):
        return None
    return [_CONDITION_WORDS[key].format(limit=limit) for c in held for key, limit in c.items()]


def dose_findings(
    kb: KnowledgeBase, taken: dict[str, Taken], entries: list[Entry], patient: PatientFacts, kidney: Kidney
) -> list[dict]:
    counted, unread = daily_amounts(kb, entries)
    findings = []
    rules: dict[str, tuple[Rule, list[str]]] = {}
    for name in sorted(taken):
        for rule in kb.personal_rules.get(name, ()):
            if rule.kind == "dose":
                rules.setdefault(rule.id, (rule, []))[1].append(name)
    for rule, drugs in rules.values():
        limits = rule.limits
        if limits.get("schedule") == "weekly":
            daily = [
                e.input
                for e in entries
                if set(e.ingredients) & set(drugs) and (e.dose.times_per_day or 0) >= 1
            ]
            if daily:
                why = f"{listed(drugs)} is taken once a week, but “{daily[0]}” reads as a daily dose"
                findings.append(finding(kb, rule, drugs=drugs, inputs=daily, why=why))
            continue
        parts = [part for name in drugs for part in counted.get(name, ())]
        if not parts:
            continue
        total = sum(part.mg for part in parts)
        maximum, management, reasons = limits.get("max_daily_mg"), rule.management, []
        if "max_daily_mg_per_kg" in limits:
            if patient.weight_kg is None:
                continue
            maximum = limits["max_daily_mg_per_kg"] * patient.weight_kg
            reasons.append(f"{limits['max_daily_mg_per_kg']:g} mg/kg for {patient.weight_kg:g} kg")
        if "when" in limits:
            met = _conditions_met(limits["when"], limits.get("needed"), patient, kidney)
            if met is None:
                continue
            reasons.append("the patient has " + listed(met))
        lower = limits.get("lower_max")
        if lower and (met := _conditions_met(lower.get("when") or [], lower.get("needed"), patient, kidney)):
            maximum, management = lower["max_daily_mg"], f"{lower.get('text', '')} {management}".strip()
            reasons.append("the patient has " + listed(met))
        if maximum is None or total <= maximum:
            continue
        spelled = "; ".join(f"“{part.input}”: {part.how} = {figure(part.mg)} mg" for part in parts)
        why = f"{listed(drugs)} adds up to {figure(total)} mg a day ({spelled}), above {figure(maximum)} mg a day"
        if reasons:
            why += " (" + "; ".join(reasons) + ")"
        not_counted = sorted({i for name in drugs for i in unread.get(name, ())})
        if not_counted:
            why += f"; not counted, dose unread: {', '.join(not_counted)}"
        findings.append(
            finding(
                kb,
                rule,
                drugs=drugs,
                inputs=inputs_of(taken, drugs),
                why=why,
                management=management,
                daily_mg=round(total, 1),
            )
        )
    findings += _mme_findings(kb, taken, entries, counted)
    return findings


def _mme_findings(
    kb: KnowledgeBase, taken, entries: list[Entry], counted: dict[str, list[Daily]]
) -> list[dict]:
    mme = kb.mme
    if not mme:
        return []
    factors = mme.get("factors") or {}
    parts = []
    for name, factor in factors.items():
        if name == "fentanyl":
            for entry in entries:
                if name in entry.ingredients and entry.dose.per_hour_mcg and entry.dose.strengths:
                    mcg_h = entry.dose.strengths[0]
                    parts.append((name, entry.input, mcg_h * factor, f"{mcg_h:g} mcg/h x {factor:g}"))
            continue
        for part in counted.get(name, ()):
            parts.append((name, part.input, part.mg * factor, f"{figure(part.mg)} mg x {factor:g}"))
    total = sum(value for _, _, value, _ in parts)
    threshold = next((t for t in mme["thresholds"] if total >= t["at_least"]), None)
    if not threshold:
        return []
    drugs = sorted({name for name, *_ in parts})
    spelled = "; ".join(f"“{entry}”: {how} = {figure(value)} MME" for _, entry, value, how in parts)
    why = f"{figure(total)} morphine milligram equivalents a day ({spelled}), {threshold['at_least']} or more"
    return [
        finding(
            kb,
            mme["rule"],
            drugs=drugs,
            inputs=inputs_of(taken, drugs),
            why=why,
            severity=threshold["severity"],
            management=f"{threshold['text']} {mme['rule'].management}".strip(),
            daily_mme=round(total, 1),
        )
    ]


# --- Genes, pregnancy, lifestyle ----------------------------------------------------------------

# ICD-10-CM codes that say the patient is pregnant (Z33.1 pregnant state, Z34 supervision of pregnancy,
# Z3A weeks of gestation, O00-O48 pregnancy and its complications, O09 high-risk pregnancy) or is
# breastfeeding (Z39.1 care of the lactating mother, O91-O92 disorders of the breast and lactation).
PREGNANCY_CODES = ("Z331", "Z34", "Z3A", "O0", "O1", "O2", "O3", "O4")
LACTATION_CODES = ("Z391", "O91", "O92")


def _statuses(patient: PatientFacts) -> dict[str, str]:
    """'pregnant' / 'lactating' -> why we think so."""
    found = {}
    if patient.sex == "male":
        return found
    coded = lambda prefixes: [c for c in patient.conditions if c.startswith(prefixes)]  # noqa: E731
    for status, flag, prefixes, word in (
        ("pregnant", patient.pregnant, PREGNANCY_CODES, "pregnant"),
        ("lactating", patient.lactating, LACTATION_CODES, "breastfeeding"),
    ):
        codes = coded(prefixes)
        if flag:
            found[status] = f"the patient is {word} (recorded)"
        elif codes:
            found[status] = (
                f"the patient is {word} (coded {', '.join(c[:3] + '.' + c[3:] if len(c) > 3 else c for c in codes)})"
            )
    return found


def _normal(phenotype: str) -> str:
    return phenotype.replace("metaboliser", "metabolizer").replace("function", "function").strip()


def personal_findings(kb: KnowledgeBase, taken: dict[str, Taken], patient: PatientFacts) -> list[dict]:
    statuses = _statuses(patient)
    matched: dict[str, tuple[Rule, list[str], str]] = {}
    for name in sorted(taken):
        for rule in kb.personal_rules.get(name, ()):
            why = None
            if rule.kind == "pharmacogenomic":
                why = _gene_reason(rule, patient)
            elif rule.kind == "pregnancy":
                why = next((statuses[s] for s in rule.status if s in statuses), None)
                if why and "pregnant" in statuses and rule.weeks != (None, None):
                    why = _in_weeks(rule, patient, why)
            elif rule.kind == "lifestyle" and rule.factor in patient.lifestyle and _old_enough(rule, patient):
                why = f"the patient reports {rule.factor}" + (
                    f" and is {patient.age:g}" if rule.min_age else ""
                )
            if why:
                matched.setdefault(rule.id, (rule, [], why))[1].append(name)
    findings = []
    for rule, drugs, why in matched.values():
        extra = {"advice": rule.advice} if rule.advice else {}
        if rule.level:
            extra["cpic_level"] = rule.level
        findings.append(
            finding(
                kb,
                rule,
                drugs=drugs,
                inputs=inputs_of(taken, drugs),
                why=f"{why}; takes {listed(drugs)}",
                **extra,
            )
        )
    return findings


def gestational_weeks(patient: PatientFacts) -> float | None:
    """Weeks of pregnancy: as given, or from an ICD-10-CM Z3A code (Z3A.20 = 20 weeks; Z3A.01 = under
    8 weeks; Z3A.49 = over 42 weeks; Z3A.00 = not specified)."""
    if patient.gestational_weeks is not None:
        return patient.gestational_weeks
    coded = [int(c[3:5]) for c in patient.conditions if c.startswith("Z3A") and c[3:5].isdigit()]
    weeks = [{0: None, 1: 4, 49: 43}.get(code, code) for code in coded]
    return max((w for w in weeks if w is not None), default=None)


def _in_weeks(rule: Rule, patient: PatientFacts, why: str) -> str | None:
    """A rule for part of pregnancy ("from 20 weeks"): quiet outside it when the week is known, and
    said to depend on the week when it is not."""
    start, end = rule.weeks
    week = gestational_weeks(patient)
    if week is None:
        part = f"from {start} weeks" if start else f"before {end} weeks"
        return f"{why}; it applies {part} and the week of pregnancy is not recorded"
    if (start and week < start) or (end and week >= end):
        return None
    return f"{why}, at {week:g} weeks"


def _old_enough(rule: Rule, patient: PatientFacts) -> bool:
    return rule.min_age is None or (patient.age is not None and patient.age >= rule.min_age)


def _gene_reason(rule: Rule, patient: PatientFacts) -> str | None:
    for result in patient.pharmacogenomics:
        if result.gene != rule.gene:
            continue
        if rule.phenotypes and _normal(result.phenotype) in rule.phenotypes:
            return f"the patient is a {result.gene} {result.phenotype}"
        if rule.alleles and result.allele in rule.alleles and result.positive:
            return f"the patient carries {result.gene}{result.allele}"
    return None


def factor_present(kb: KnowledgeBase, factor_id: str, patient: PatientFacts) -> str | None:
    """Words naming the patient's risk factor (patient_factors.yaml), or None."""
    factor = kb.patient_factors.get(factor_id) or {}
    codes = [c for c in patient.conditions if c.startswith(factor.get("conditions") or ("-",))]
    if codes:
        return f"{factor.get('label', factor_id)} is on record ({', '.join(c[:3] + '.' + c[3:] if len(c) > 3 else c for c in codes)})"
    low_k = factor.get("potassium_below_mmol_l")
    if low_k and patient.potassium_mmol_l is not None and patient.potassium_mmol_l < low_k:
        return f"potassium is {patient.potassium_mmol_l:g} mmol/L"
    long_qt = factor.get("qtc_at_least_ms")
    if long_qt and patient.qtc_ms is not None and patient.qtc_ms >= long_qt:
        return f"the QTc is {patient.qtc_ms:g} ms"
    return None
