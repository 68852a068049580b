"""screen(request) -> response: the whole medication list and the patient against the knowledge base.

Pure and deterministic: the same request and knowledge base give the same response, findings
ordered by severity. The request and response follow shared/DESIGN.md ("Contracts").
"""

from collections import defaultdict

from interactions.engine.findings import Entry, Taken, finding, from_one_product, inputs_of, listed
from interactions.engine.knowledge import SEVERITY_RANK, KnowledgeBase, Rule, load_knowledge_base
from interactions.engine.names import candidate_keys, normalise_name
from interactions.engine.personal import (
    Kidney,
    dose_findings,
    factor_present,
    personal_findings,
    renal_finding,
)
from interactions.engine.request import AllergyFact, PatientFacts, ScreeningInputError, parse_request
from interactions.engine.resolve import Resolution, resolve_name, resolve_rxcui
from interactions.engine.sig import parse_dose, split_directions

__all__ = ["ScreeningInputError", "screen"]

KIND_ORDER = [
    "interaction",
    "allergy",
    "pharmacogenomic",
    "pregnancy",
    "dose",
    "duplication",
    "disease",
    "renal",
    "elderly",
    "lifestyle",
    "anticholinergic-burden",
]
ANTICHOLINERGIC_THRESHOLD = 3
ANTICHOLINERGIC_MIN_AGE = 65  # the ACB scale was built and validated in older adults (Boustani 2008)


def screen(request: dict, kb: KnowledgeBase | None = None) -> dict:
    kb = kb or load_knowledge_base()
    patient, medications = parse_request(request)
    resolutions = [
        resolve_rxcui(kb, med.rxcui) if med.rxcui else resolve_name(kb, med.name) for med in medications
    ]
    entries = []
    for med, resolution in zip(medications, resolutions, strict=True):
        product, directions = split_directions(med.name) if med.name else ("", "")
        entries.append(
            Entry(resolution.input, resolution.ingredients, parse_dose(product, f"{directions} {med.dose}"))
        )
    taken: dict[str, Taken] = {}
    for position, resolution in enumerate(resolutions):
        for name in resolution.ingredients:
            item = taken.setdefault(name, Taken(name, []))
            item.inputs.append(resolution.input)
            item.entries.add(position)

    kidney = Kidney(patient)
    findings = [
        *_interactions(kb, taken, patient),
        *_duplications(kb, taken),
        *_allergies(kb, taken, patient.allergies),
        *_drug_rules(kb, taken, patient, kidney),
        *dose_findings(kb, taken, [e for e in entries if e.ingredients], patient, kidney),
        *personal_findings(kb, taken, patient),
        *_anticholinergic_burden(kb, taken, patient),
    ]
    findings.sort(
        key=lambda f: (SEVERITY_RANK[f["severity"]], KIND_ORDER.index(f["kind"]), f["title"], f["drugs"])
    )
    return {
        "knowledge_base": {"version": kb.version, "sources": kb.citations(kb.references)},
        "resolved": [
            _resolved_entry(kb, r, e) for r, e in zip(resolutions, entries, strict=True) if r.ingredients
        ],
        "unresolved": [r.input for r in resolutions if not r.ingredients],
        "partly_recognised": [r.input for r in resolutions if r.ingredients and r.partial],
        "patient_context": kidney.context(),
        "findings": findings,
    }


def _resolved_entry(kb: KnowledgeBase, resolution: Resolution, entry: Entry) -> dict:
    result = {
        "input": resolution.input,
        "ingredients": [{"rxcui": kb.ingredients[n].rxcui, "name": n} for n in resolution.ingredients],
        "matched": resolution.matched,
    }
    if resolution.ignored:
        result["ignored_words"] = resolution.ignored
    if resolution.partial:
        result["partly_recognised"] = True
    if resolution.directions:
        result["directions"] = resolution.directions
    if entry.dose.reading or entry.dose.strengths:
        result["dose"] = _dose_json(entry)
    return result


def _dose_json(entry: Entry) -> dict:
    dose = entry.dose
    reading = {"read_as": dose.reading}
    if dose.strengths:
        reading["strength"] = "-".join(f"{s:g}" for s in dose.strengths) + (
            " mcg/h" if dose.per_hour_mcg else " mg"
        )
    if dose.units_per_dose:
        reading["units_per_dose"] = dose.units_per_dose
    if dose.times_per_day:
        reading["times_per_day"] = round(dose.times_per_day, 3)
    if dose.weekly:
        reading["weekly"] = True
    if dose.as_needed:
        reading["as_needed"] = True
    return reading


# --- Findings -----------------------------------------------------------------------------------


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
            if not rules or from_one_product(taken[a], taken[b]):
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
    risk = {
        rule.requires: factor_present(kb, rule.requires, patient)
        for rule, _ in fired.values()
        if rule.requires
    }
    fired = {key: value for key, value in fired.items() if not value[0].requires or risk[value[0].requires]}
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
            else f"{listed(members)}: each {_article(label)} {label}"
            for label, members in labels.items()
        ]
        why = "; ".join(reasons) or f"{listed(sorted(in_order))} are known to interact"
        if rule.requires:
            why += f"; {risk[rule.requires]}"
        inputs = [i for name in in_order for i in taken[name].inputs]
        findings.append(finding(kb, rule, drugs=in_order, inputs=inputs, why=why))
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


def _multi_match(kb: KnowledgeBase, rule: Rule, taken: dict[str, Taken]) -> list[str] | None:
    """For a rule of three or more drugs: if the list has a different drug for each endpoint (not all
    from one combination product), every drug on the list that fits an endpoint, in endpoint order."""
    excluded = {tag.partition(":")[2] for tag in rule.excluded}
    options = [sorted((kb.members(endpoint) & taken.keys()) - excluded) for endpoint in rule.endpoints]

    def choose(chosen: list[str]) -> list[str] | None:
        if len(chosen) == len(options):
            return None if from_one_product(*(taken[n] for n in chosen)) else chosen
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
        findings.append(finding(kb, rule, drugs=[name], inputs=item.inputs, why=why))
    by_class: dict[str, list[str]] = defaultdict(list)
    for name in sorted(taken):
        for class_id in kb.ingredients[name].classes:
            if kb.classes[class_id].duplication:
                by_class[class_id].append(name)
    for class_id, members in sorted(by_class.items()):
        if len(members) < 2 or from_one_product(*(taken[name] for name in members)):
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
        why = listed(members) + (" are all " if len(members) > 2 else " are both ") + f"{label.label}s"
        inputs = [i for name in members for i in taken[name].inputs]
        findings.append(finding(kb, rule, drugs=members, inputs=inputs, why=why))
    return findings


def _allergen_ids_for(kb: KnowledgeBase, allergy: str) -> tuple[set[str], set[str]]:
    """The allergen classes an allergy names, and the ingredients it names outright."""
    keys = set(candidate_keys(allergy)) | {normalise_name(allergy)}
    allergens = {a.id for a in kb.allergens.values() if a.terms & keys}
    named = set(resolve_name(kb, allergy).ingredients)
    for name in named:
        allergens |= {allergen_id for allergen_id, members in kb.allergen_members.items() if name in members}
    return allergens, named


# Reactions that are side effects rather than allergies (Khan DA et al., Drug allergy: a 2022 practice
# parameter update, J Allergy Clin Immunol 2022;150:1333-93): recorded as an "allergy", they are read
# as an intolerance unless the reaction also names an immune sign.
_INTOLERANCE_WORDS = (
    "nausea", "vomit", "upset stomach", "stomach upset", "gi upset", "indigestion", "heartburn", "diarrh",
    "constipat", "drows", "sleepy", "dizz", "headache", "cough", "dry mouth", "insomnia", "jitter",
    "fatigue", "tired", "myalgia", "muscle ache", "muscle pain", "flushing", "bad taste",
)  # fmt: skip
_IMMUNE_WORDS = (
    "hive", "urticaria", "rash", "anaphyla", "swelling", "angioedema", "wheez", "short of breath",
    "blister", "stevens", "sjs", "ten", "dress", "throat", "itch", "peeling",
)  # fmt: skip


def _is_intolerance(allergy: AllergyFact) -> bool:
    reaction = allergy.reaction.lower()
    if allergy.type == "intolerance":
        return True
    return any(w in reaction for w in _INTOLERANCE_WORDS) and not any(w in reaction for w in _IMMUNE_WORDS)


def _allergies(kb: KnowledgeBase, taken: dict[str, Taken], allergies: list[AllergyFact]) -> list[dict]:
    findings: dict[tuple[str, str], dict] = {}
    for allergy in allergies:
        substance = allergy.substance
        allergen_ids, named = _allergen_ids_for(kb, substance)
        intolerance = _is_intolerance(allergy)
        reaction = f" ({allergy.reaction})" if allergy.reaction else ""
        for name, item in sorted(taken.items()):
            candidates = []  # (severity, why, management, allergen)
            if intolerance:
                if name in named:
                    why = f"the patient did not tolerate {substance}{reaction}; this is {name}" + (
                        " itself" if len(named) == 1 else ""
                    )
                    management = (
                        "An intolerance is a side effect, not an allergy: it may come back with this drug, but it is "
                        "no reason to avoid related drugs. Ask how bad it was, and whether a lower dose, taking it with "
                        "food, or another drug of the same class would suit better."
                    )
                    candidates.append(("minor", why, management, None))
            else:
                if name in named and len(named) == 1:
                    why = f"the patient is allergic to {substance}{reaction}; this is {name} itself"
                    management = "Do not give it. Confirm the history and the reaction with the patient, and choose a drug from another class."
                    candidates.append(("contraindicated", why, management, None))
                elif name in named:
                    why = (
                        f"the patient is allergic to {substance}{reaction}, which contains {name}; "
                        "which of its ingredients caused the reaction is not recorded"
                    )
                    management = "Find out which ingredient caused the reaction before giving any product that contains one of them."
                    candidates.append(("major", why, management, None))
                for allergen_id in sorted(allergen_ids):
                    allergen = kb.allergens[allergen_id]
                    if name in kb.allergen_members[allergen_id]:
                        why = f"the patient is allergic to {substance}{reaction}; {name} is one of the {allergen.label}"
                        management = (
                            f"Avoid the {allergen.label} unless the allergy has been ruled out (history, skin testing or a "
                            "supervised challenge); choose a drug from another class. If the reaction was an intolerance, "
                            "record it as such."
                        )
                        candidates.append((allergen.severity, why, management, allergen))
                    for cross in allergen.cross_reactions:
                        if name in kb.allergen_members[cross["allergen"]]:
                            other = kb.allergens[cross["allergen"]]
                            why = f"the patient is allergic to {substance}{reaction} ({allergen.label}); {name} is one of the {other.label}"
                            text = " ".join(cross["text"].split())
                            candidates.append(
                                (cross["severity"], why, f"{text[:1].upper()}{text[1:]}.", allergen)
                            )
            # Side effects a whole class shares (ACE-inhibitor cough, statin muscle injury), whatever
            # the reaction was recorded as: for the drug itself and for the rest of its class.
            for allergen_id in sorted(allergen_ids):
                allergen = kb.allergens[allergen_id]
                if name not in kb.allergen_members[allergen_id]:
                    continue
                for known in allergen.intolerances:
                    if any(word in allergy.reaction for word in known["reaction"]):
                        why = f"the patient had {allergy.reaction} with {substance}; {name} is one of the {allergen.label}, which share this side effect"
                        candidates.append((known["severity"], why, known["text"], allergen))
            if not candidates:
                continue
            severity, why, management, allergen = min(candidates, key=lambda c: SEVERITY_RANK[c[0]])
            sources = allergen.sources if allergen else next(iter(kb.allergens.values())).sources
            word = "intolerance" if intolerance else "allergy"
            rule = Rule(
                id=f"{word}-{allergen.id if allergen else 'same-drug'}",
                kind="allergy",
                severity=severity,
                title=f"{name}: recorded {word} to {substance}",
                effect=(
                    "The side effect the patient had may come back."
                    if intolerance
                    else "The patient may react to this drug as they did before; a severe reaction can be life-threatening."
                ),
                mechanism="",
                management=management,
                sources=sources,
            )
            findings[(name, substance)] = finding(kb, rule, drugs=[name], inputs=item.inputs, why=why)
    return list(findings.values())


def _drug_rules(
    kb: KnowledgeBase, taken: dict[str, Taken], patient: PatientFacts, kidney: Kidney
) -> list[dict]:
    matched: dict[str, tuple[Rule, list[str]]] = {}
    for name in sorted(taken):
        for rule in kb.drug_rules.get(name, ()):
            matched.setdefault(rule.id, (rule, []))[1].append(name)
    findings = []
    for rule, drugs in (matched[rule_id] for rule_id in sorted(matched)):
        inputs = inputs_of(taken, drugs)
        if rule.min_age is not None and (patient.age is None or patient.age < rule.min_age):
            continue
        if rule.kind == "elderly":
            why = (
                f"the patient is {patient.age:g}; {listed(drugs)} "
                + ("is" if len(drugs) == 1 else "are")
                + f" potentially inappropriate from age {rule.min_age or 65:g}"
            )
            findings.append(finding(kb, rule, drugs=drugs, inputs=inputs, why=why))
        elif rule.kind == "disease":
            conditions = [c for c in patient.conditions if c.startswith(rule.conditions)]
            if conditions:
                why = f"the patient has {rule.condition_label} ({', '.join(_dotted(c) for c in conditions)}) and takes {', '.join(drugs)}"
                findings.append(finding(kb, rule, drugs=drugs, inputs=inputs, why=why))
        elif rule.kind == "renal" and (found := renal_finding(kb, rule, kidney, drugs, taken)):
            findings.append(found)
    return findings


def _dotted(code: str) -> str:
    return f"{code[:3]}.{code[3:]}" if len(code) > 3 else code


def _anticholinergic_burden(kb: KnowledgeBase, taken: dict[str, Taken], patient: PatientFacts) -> list[dict]:
    """A total across drugs, in older adults: one drug alone is the Beers finding about it, not a burden."""
    if patient.age is not None and patient.age < ANTICHOLINERGIC_MIN_AGE:
        return []
    scored = [(name, kb.anticholinergic[name][0]) for name in sorted(taken) if name in kb.anticholinergic]
    total = sum(score for _, score in scored)
    if total < ANTICHOLINERGIC_THRESHOLD or len(scored) < 2:
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
    return [
        finding(
            kb, rule, drugs=[n for n, _ in scored], inputs=inputs_of(taken, [n for n, _ in scored]), why=why
        )
    ]
