"""screen(request) -> response: the whole medication list and the patient against the knowledge base.

Pure and deterministic: the same request and knowledge base give the same response, findings
ordered by severity. The request and response follow shared/DESIGN.md ("Contracts").
"""

import re
from collections import defaultdict
from dataclasses import dataclass, field

from interactions.engine.knowledge import SEVERITY_RANK, KnowledgeBase, Rule, load_knowledge_base
from interactions.engine.names import candidate_keys, normalise_name
from interactions.engine.patient import crcl_cockcroft_gault
from interactions.engine.resolve import Resolution, resolve_name, resolve_rxcui

KIND_ORDER = [
    "interaction",
    "allergy",
    "duplication",
    "disease",
    "renal",
    "elderly",
    "anticholinergic-burden",
]
ANTICHOLINERGIC_THRESHOLD = 3
_ICD10 = re.compile(r"^[A-Z][0-9][0-9A-Z](\.?[0-9A-Z]{1,4})?$")


class ScreeningInputError(ValueError):
    """The request is malformed. `errors` maps each bad field ("patient.weight_kg") to a message."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors.items()))


@dataclass
class PatientFacts:
    age: float | None = None
    sex: str | None = None
    weight_kg: float | None = None
    serum_creatinine_mg_dl: float | None = None
    allergies: list[str] = field(default_factory=list)
    conditions: list[str] = field(default_factory=list)


@dataclass
class Taken:
    """An ingredient on the list and the entries (as typed) it comes from."""

    name: str
    inputs: list[str]
    entries: set[int] = field(default_factory=set)  # positions on the list


def _from_one_product(*items: Taken) -> bool:
    """All from the same single entry ("Norco", "Bactrim"): a combination product's ingredients are
    not screened against each other — the product is what was prescribed."""
    first = items[0].entries
    return len(first) == 1 and all(item.entries == first for item in items)


def screen(request: dict, kb: KnowledgeBase | None = None) -> dict:
    kb = kb or load_knowledge_base()
    patient, medications = _parse(request)
    resolutions = [
        resolve_rxcui(kb, med["rxcui"]) if "rxcui" in med else resolve_name(kb, med["name"])
        for med in medications
    ]
    taken: dict[str, Taken] = {}
    for position, resolution in enumerate(resolutions):
        for name in resolution.ingredients:
            item = taken.setdefault(name, Taken(name, []))
            item.inputs.append(resolution.input)
            item.entries.add(position)

    context = _patient_context(patient)
    findings = [
        *_interactions(kb, taken, patient),
        *_duplications(kb, taken),
        *_allergies(kb, taken, patient.allergies),
        *_drug_rules(kb, taken, patient, context.get("crcl_ml_min")),
        *_anticholinergic_burden(kb, taken),
    ]
    findings.sort(
        key=lambda f: (SEVERITY_RANK[f["severity"]], KIND_ORDER.index(f["kind"]), f["title"], f["drugs"])
    )
    return {
        "knowledge_base": {"version": kb.version, "sources": kb.citations(kb.references)},
        "resolved": [_resolved_entry(kb, r) for r in resolutions if r.ingredients],
        "unresolved": [r.input for r in resolutions if not r.ingredients],
        "patient_context": context,
        "findings": findings,
    }


# --- Request ------------------------------------------------------------------------------------


def _number(errors, name, value, low, high, unit=""):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        errors[name] = "must be a number"
        return None
    if not low < value <= high:
        errors[name] = f"must be more than {low} and at most {high}{unit}"
        return None
    return float(value)


def _strings(errors, name, value) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        errors[name] = "must be a list of strings"
        return []
    return [item.strip() for item in value if item.strip()]


def _parse(request) -> tuple[PatientFacts, list[dict]]:
    errors: dict[str, str] = {}
    if not isinstance(request, dict):
        raise ScreeningInputError(
            {"request": "must be a JSON object with `medications` (and optionally `patient`)"}
        )
    unknown = set(request) - {"patient", "medications"}
    if unknown:
        errors[sorted(unknown)[0]] = "is not a field of a screening request"
    raw_patient = request.get("patient")
    raw_patient = {} if raw_patient is None else raw_patient
    if not isinstance(raw_patient, dict):
        errors["patient"] = "must be an object"
        raw_patient = {}
    unknown = set(raw_patient) - {
        "age",
        "sex",
        "weight_kg",
        "serum_creatinine_mg_dl",
        "allergies",
        "conditions",
    }
    if unknown:
        errors[f"patient.{sorted(unknown)[0]}"] = "is not a patient field"
    patient = PatientFacts(
        age=_number(errors, "patient.age", raw_patient.get("age"), -1, 130, " years"),
        weight_kg=_number(errors, "patient.weight_kg", raw_patient.get("weight_kg"), 0, 400, " kg"),
        serum_creatinine_mg_dl=_number(
            errors,
            "patient.serum_creatinine_mg_dl",
            raw_patient.get("serum_creatinine_mg_dl"),
            0,
            25,
            " mg/dL",
        ),
        allergies=_strings(errors, "patient.allergies", raw_patient.get("allergies")),
        conditions=_strings(errors, "patient.conditions", raw_patient.get("conditions")),
    )
    sex = raw_patient.get("sex")
    if sex is not None and sex not in ("female", "male"):
        errors["patient.sex"] = "must be 'female' or 'male' (leave it out when unknown)"
    patient.sex = sex if sex in ("female", "male") else None
    for position, code in enumerate(patient.conditions):
        if not _ICD10.match(code.upper()):
            errors[f"patient.conditions[{position}]"] = f"{code!r} is not an ICD-10-CM code"
    patient.conditions = [code.upper().replace(".", "") for code in patient.conditions]

    medications = request.get("medications")
    if not isinstance(medications, list):
        errors["medications"] = 'must be a list of {"name": ...} or {"rxcui": ...} objects'
        medications = []
    parsed = []
    for position, med in enumerate(medications):
        where = f"medications[{position}]"
        if not isinstance(med, dict) or not ({"name", "rxcui"} & set(med)):
            errors[where] = "must be an object with a `name` or an `rxcui`"
            continue
        if "rxcui" in med:
            rxcui = med["rxcui"]
            if (
                isinstance(rxcui, bool)
                or not isinstance(rxcui, str | int)
                or not str(rxcui).strip().isdigit()
            ):
                errors[f"{where}.rxcui"] = 'must be an RxCUI: digits, e.g. "6809"'
                continue
            parsed.append({"rxcui": str(rxcui).strip()})
        else:
            name = med["name"]
            if not isinstance(name, str) or not name.strip():
                errors[f"{where}.name"] = "must be a non-empty string"
                continue
            parsed.append({"name": name.strip()})
    if errors:
        raise ScreeningInputError(errors)
    return patient, parsed


def _resolved_entry(kb: KnowledgeBase, resolution: Resolution) -> dict:
    entry = {
        "input": resolution.input,
        "ingredients": [{"rxcui": kb.ingredients[n].rxcui, "name": n} for n in resolution.ingredients],
        "matched": resolution.matched,
    }
    if resolution.ignored:
        entry["ignored_words"] = resolution.ignored
    return entry


def _patient_context(patient: PatientFacts) -> dict:
    needed = {
        "age": patient.age,
        "sex": patient.sex,
        "weight_kg": patient.weight_kg,
        "serum_creatinine_mg_dl": patient.serum_creatinine_mg_dl,
    }
    missing = [name for name, value in needed.items() if value is None]
    if missing:
        return {"crcl_ml_min": None, "crcl_method": None, "crcl_missing": missing}
    return {
        "crcl_ml_min": crcl_cockcroft_gault(
            age=patient.age,
            sex=patient.sex,
            weight_kg=patient.weight_kg,
            serum_creatinine_mg_dl=patient.serum_creatinine_mg_dl,
        ),
        "crcl_method": "cockcroft-gault",
        "crcl_weight": f"actual body weight, {patient.weight_kg:g} kg",
    }


# --- Findings -----------------------------------------------------------------------------------


def _finding(
    kb: KnowledgeBase, rule: Rule, *, drugs, inputs, why: str, severity=None, management=None, kind=None
):
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
    }


def _interactions(kb: KnowledgeBase, taken: dict[str, Taken], patient: PatientFacts) -> list[dict]:
    """Every pair of drugs on the list is one dictionary lookup; rules of three or more drugs are
    looked at only for the drugs they name. Pairs of one rule that share a drug are one finding
    ("lisinopril with diclofenac or ibuprofen"), and a more specific rule hides the generic rules it
    replaces for the same drugs or some of them."""
    names = sorted(taken)
    fired: dict[tuple[str, frozenset[str]], tuple[Rule, list[str]]] = {}  # (rule, drugs) -> drugs in order
    for index, a in enumerate(names):
        for b in names[index + 1 :]:
            rules = kb.pair_rules.get(frozenset((a, b)))
            if not rules or _from_one_product(taken[a], taken[b]):
                continue
            for rule in rules:
                in_order = (
                    [a, b]
                    if a in kb.members(rule.endpoints[0]) and b in kb.members(rule.endpoints[1])
                    else [b, a]
                )
                fired[(rule.id, frozenset((a, b)))] = (rule, in_order)
    for name in names:
        for rule in kb.multi_rules.get(name, ()):
            drugs = _multi_match(kb, rule, taken)
            if drugs:
                fired[(rule.id, frozenset(drugs))] = (rule, drugs)
    fired = {
        key: value
        for key, value in fired.items()
        if value[0].min_age is None or (patient.age is not None and patient.age >= value[0].min_age)
    }
    hiding = [(set(rule.replaces), drugs) for (_, drugs), (rule, _) in fired.items() if rule.replaces]
    kept = sorted(
        (key for key in fired if not any(key[0] in old and key[1] <= drugs for old, drugs in hiding)),
        key=lambda key: (key[0], sorted(key[1])),
    )
    findings = []
    for group in _sharing_a_drug(kept):
        rule = fired[group[0]][0]
        in_order = list(dict.fromkeys(name for key in group for name in fired[key][1]))
        # A rule naming the drugs themselves borrows the class reasons of the rules it replaces:
        # "fluconazole is a moderate CYP2C9 inhibitor; warfarin is a sensitive CYP2C9 substrate".
        explained = [fired[key] for key in group] + [
            fired[(old, key[1])] for key in group for old in rule.replaces if (old, key[1]) in fired
        ]
        labels: dict[str, list[str]] = defaultdict(list)  # label -> drugs, in order
        for explained_rule, drugs in explained:
            for name in drugs:
                label = _member_label(kb, name, explained_rule, drugs)
                if label and name not in labels[label]:
                    labels[label].append(name)
        reasons = [  # "amiodarone is a P-gp inhibitor", "citalopram and ondansetron: each a QT-..."
            f"{members[0]} is {_article(label)} {label}"
            if len(members) == 1
            else f"{_listed(members)}: each {_article(label)} {label}"
            for label, members in labels.items()
        ]
        why = "; ".join(reasons) or f"{_listed(sorted(in_order))} are known to interact"
        inputs = [i for name in in_order for i in taken[name].inputs]
        findings.append(_finding(kb, rule, drugs=in_order, inputs=inputs, why=why))
    return findings


def _sharing_a_drug(keys: list[tuple[str, frozenset[str]]]) -> list[list[tuple[str, frozenset[str]]]]:
    """Group the fired (rule, drugs) keys of each rule into sets connected by a shared drug."""
    groups: list[list[tuple[str, frozenset[str]]]] = []
    for key in keys:
        joined = [g for g in groups if g[0][0] == key[0] and any(key[1] & other[1] for other in g)]
        merged = [key] + [k for g in joined for k in g]
        groups = [g for g in groups if g not in joined] + [sorted(merged, key=lambda k: sorted(k[1]))]
    return sorted(groups, key=lambda g: (g[0][0], sorted(g[0][1])))


def _member_label(kb: KnowledgeBase, name: str, rule: Rule, drugs: list[str]) -> str:
    """Why the drug counts for the rule: 'moderate CYP2C9 inhibitor' ('' when the rule names it).
    `drugs` are in endpoint order: one per endpoint for a pair, all that fit for a longer rule."""
    endpoint = rule.endpoints[drugs.index(name)] if len(drugs) == len(rule.endpoints) else frozenset()
    if name not in kb.members(endpoint):
        endpoint = next(e for e in rule.endpoints if name in kb.members(e))
    tags = kb.ingredients[name].tags & endpoint
    if f"ingredient:{name}" in tags:
        return ""
    return kb.label_of(sorted(tags, key=lambda t: (not t.startswith("group:"), t))[0])


def _article(label: str) -> str:
    return "an" if label[:1].lower() in "aeiou" else "a"


def _listed(names: list[str]) -> str:
    return f"{', '.join(names[:-1])} and {names[-1]}" if len(names) > 1 else names[0]


def _multi_match(kb: KnowledgeBase, rule: Rule, taken: dict[str, Taken]) -> list[str] | None:
    """For a rule of three or more drugs: if the list has a different drug for each endpoint (not all
    from one combination product), every drug on the list that fits an endpoint, in endpoint order."""
    excluded = {tag.partition(":")[2] for tag in rule.excluded}
    options = [sorted((kb.members(endpoint) & taken.keys()) - excluded) for endpoint in rule.endpoints]

    def choose(chosen: list[str]) -> list[str] | None:
        if len(chosen) == len(options):
            return None if _from_one_product(*(taken[n] for n in chosen)) else chosen
        for name in options[len(chosen)]:
            if name not in chosen and (found := choose([*chosen, name])):
                return found
        return None

    if choose([]) is None:
        return None
    return list(dict.fromkeys(name for names in options for name in names))


def _duplications(kb: KnowledgeBase, taken: dict[str, Taken]) -> list[dict]:
    findings = []
    settings = kb.same_ingredient
    for name, item in sorted(taken.items()):
        if len(item.inputs) < 2:
            continue
        override = (settings.get("overrides") or {}).get(name, {})
        rule = Rule(
            id="same-ingredient",
            kind="duplication",
            severity=override.get("severity") or settings["severity"],
            title=f"{name[:1].upper()}{name[1:]} from more than one product",
            effect=override.get("effect") or settings.get("effect", ""),
            mechanism="",
            management=override.get("management") or settings["management"],
            sources=tuple(override.get("sources") or settings.get("sources") or ()),
        )
        why = f"{name} is in " + " and ".join(f"“{i}”" for i in item.inputs)
        findings.append(_finding(kb, rule, drugs=[name], inputs=item.inputs, why=why))
    by_class: dict[str, list[str]] = defaultdict(list)
    for name in sorted(taken):
        for class_id in kb.ingredients[name].classes:
            if kb.classes[class_id].duplication:
                by_class[class_id].append(name)
    for class_id, members in sorted(by_class.items()):
        if len(members) < 2 or _from_one_product(*(taken[name] for name in members)):
            continue
        label = kb.classes[class_id]
        rule = Rule(
            id=f"class-{class_id}",
            kind="duplication",
            severity=label.duplication,
            title=f"Two or more {label.label}s",
            effect=label.duplication_note
            or f"Taking more than one {label.label} adds side effects without adding benefit.",
            mechanism="",
            management="Check whether both are intended; usually one should be stopped or the regimen simplified.",
            sources=label.sources,
        )
        why = _listed(members) + (" are all " if len(members) > 2 else " are both ") + f"{label.label}s"
        inputs = [i for name in members for i in taken[name].inputs]
        findings.append(_finding(kb, rule, drugs=members, inputs=inputs, why=why))
    return findings


def _allergen_ids_for(kb: KnowledgeBase, allergy: str) -> tuple[set[str], set[str]]:
    """The allergen classes an allergy names, and the ingredients it names outright."""
    keys = set(candidate_keys(allergy)) | {normalise_name(allergy)}
    allergens = {a.id for a in kb.allergens.values() if a.terms & keys}
    named = set(resolve_name(kb, allergy).ingredients)
    for name in named:
        allergens |= {allergen_id for allergen_id, members in kb.allergen_members.items() if name in members}
    return allergens, named


def _allergies(kb: KnowledgeBase, taken: dict[str, Taken], allergies: list[str]) -> list[dict]:
    findings: dict[tuple[str, str], dict] = {}
    for allergy in allergies:
        allergen_ids, named = _allergen_ids_for(kb, allergy)
        for name, item in sorted(taken.items()):
            candidates = []
            if name in named and len(named) == 1:
                candidates.append(
                    ("contraindicated", f"the patient is allergic to {allergy}; this is {name} itself", None)
                )
            elif name in named:
                why = (
                    f"the patient is allergic to {allergy}, which contains {name}; "
                    "which of its ingredients caused the reaction is not recorded"
                )
                candidates.append(("major", why, None))
            for allergen_id in sorted(allergen_ids):
                allergen = kb.allergens[allergen_id]
                if name in kb.allergen_members[allergen_id]:
                    candidates.append(
                        (
                            allergen.severity,
                            f"the patient is allergic to {allergy}; {name} is one of the {allergen.label}",
                            allergen,
                        )
                    )
                for cross in allergen.cross_reactions:
                    if name in kb.allergen_members[cross["allergen"]]:
                        other = kb.allergens[cross["allergen"]]
                        candidates.append(
                            (
                                cross["severity"],
                                f"the patient is allergic to {allergy} ({allergen.label}); {name} is one of the {other.label}: {cross['text']}",
                                allergen,
                            )
                        )
            if not candidates:
                continue
            severity, why, allergen = min(candidates, key=lambda c: SEVERITY_RANK[c[0]])
            sources = allergen.sources if allergen else next(iter(kb.allergens.values())).sources
            rule = Rule(
                id=f"allergy-{allergen.id if allergen else 'same-drug'}",
                kind="allergy",
                severity=severity,
                title=f"{name}: recorded allergy to {allergy}",
                effect="The patient may react to this drug as they did before; a severe reaction can be life-threatening.",
                mechanism="",
                management="Confirm the history and the reaction with the patient. If it was a true allergy, choose a drug from another class; if it was an intolerance, record it as such.",
                sources=sources,
            )
            key = (name, allergy)
            findings[key] = _finding(kb, rule, drugs=[name], inputs=item.inputs, why=why)
    return list(findings.values())


def _drug_rules(
    kb: KnowledgeBase, taken: dict[str, Taken], patient: PatientFacts, crcl: float | None
) -> list[dict]:
    matched: dict[str, tuple[Rule, list[str]]] = {}
    for name in sorted(taken):
        for rule in kb.drug_rules.get(name, ()):
            matched.setdefault(rule.id, (rule, []))[1].append(name)
    findings = []
    for rule, drugs in (matched[rule_id] for rule_id in sorted(matched)):
        inputs = [i for name in drugs for i in taken[name].inputs]
        if rule.min_age is not None and (patient.age is None or patient.age < rule.min_age):
            continue
        if rule.kind == "elderly":
            why = (
                f"the patient is {patient.age:g}; {_listed(drugs)} "
                + ("is" if len(drugs) == 1 else "are")
                + f" potentially inappropriate from age {rule.min_age or 65:g}"
            )
            findings.append(_finding(kb, rule, drugs=drugs, inputs=inputs, why=why))
        elif rule.kind == "disease":
            conditions = [c for c in patient.conditions if c.startswith(rule.conditions)]
            if conditions:
                why = f"the patient has {rule.condition_label} ({', '.join(_dotted(c) for c in conditions)}) and takes {', '.join(drugs)}"
                findings.append(_finding(kb, rule, drugs=drugs, inputs=inputs, why=why))
        elif rule.kind == "renal" and crcl is not None:
            threshold = next((t for t in rule.thresholds if crcl < t["below"]), None)
            if threshold:
                why = f"creatinine clearance is {crcl:g} mL/min (Cockcroft-Gault), below {threshold['below']:g} mL/min for {', '.join(drugs)}"
                findings.append(
                    _finding(
                        kb,
                        rule,
                        drugs=drugs,
                        inputs=inputs,
                        why=why,
                        severity=threshold["severity"],
                        management=threshold["text"],
                    )
                )
    return findings


def _dotted(code: str) -> str:
    return f"{code[:3]}.{code[3:]}" if len(code) > 3 else code


def _anticholinergic_burden(kb: KnowledgeBase, taken: dict[str, Taken]) -> list[dict]:
    scored = [(name, kb.anticholinergic[name][0]) for name in sorted(taken) if name in kb.anticholinergic]
    total = sum(score for _, score in scored)
    if total < ANTICHOLINERGIC_THRESHOLD:
        return []
    sources = tuple(dict.fromkeys(kb.anticholinergic[name][1] for name, _ in scored))
    rule = Rule(
        id="anticholinergic-burden",
        kind="anticholinergic-burden",
        severity="major" if total >= 5 else "moderate",
        title=f"Anticholinergic burden score {total}",
        effect="A total score of 3 or more is linked to confusion, falls, constipation, urinary retention and, over time, cognitive decline, above all in older adults.",
        mechanism="The drugs' anticholinergic effects add up.",
        management="Look for drugs that can be stopped or replaced with one without anticholinergic effects; start with those scoring 3.",
        sources=sources,
    )
    why = (
        "Anticholinergic Cognitive Burden scores: "
        + ", ".join(f"{name} {score}" for name, score in scored)
        + f" (total {total})"
    )
    inputs = [i for name, _ in scored for i in taken[name].inputs]
    return [_finding(kb, rule, drugs=[n for n, _ in scored], inputs=inputs, why=why)]
