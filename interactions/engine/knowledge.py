"""The drug knowledge base: reviewed text files in interactions/knowledge/, loaded, validated and
indexed for screening. Plain Python; nothing here touches Django.

Files (see knowledge/README.md for their columns and keys):
    manifest.yaml          version, references, and sources (more sources in sources/*.yaml)
    ingredients/*.csv      one row per ingredient: generic name, RxCUI, kind, therapeutic classes
    names/*.csv            brand names, synonyms, abbreviations and combination products
    classes.yaml           therapeutic classes (and whether two members together are a duplication)
    groups.yaml            mechanism groups: CYP and P-gp inhibitors/inducers/substrates, serotonergic, ...
    anticholinergic.csv    anticholinergic burden score per ingredient
    interactions/*.yaml    drug-drug interaction rules
    duplication.yaml       the same ingredient from two products
    elderly.yaml           drugs to avoid in older adults
    renal.yaml             kidney-function thresholds
    allergy.yaml           allergen classes and cross-reactions
    disease.yaml           drug-disease rules by ICD-10-CM prefix
    doses.yaml             maximum daily doses, morphine milligram equivalents, label dose adjustments
    pharmacogenomics.yaml  CPIC gene-drug recommendations by phenotype or HLA allele
    pregnancy.yaml         drugs to avoid in pregnancy and breastfeeding
    lifestyle.yaml         food, alcohol and smoking with drugs, and what to tell the patient
    patient_factors.yaml   patient risk factors some rules require (e.g. for torsades de pointes)
    education/*.yaml       patient education per ingredient, for the written summary
"""

import csv
import dataclasses
import hashlib
import os
import pickle
import re
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from interactions.engine.names import normalise_name

KNOWLEDGE_DIR = Path(__file__).resolve().parent.parent / "knowledge"
SEVERITIES = ("contraindicated", "major", "moderate", "minor")
SEVERITY_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}
INGREDIENT_KINDS = {"rx", "otc", "rx-otc", "supplement", "herbal"}
NAME_KINDS = {"brand", "synonym", "abbreviation", "combination"}
EDUCATION_FIELDS = ("purpose", "how_to_take", "side_effects", "get_help")
# Printed only for a woman of child-bearing age (actionplans.services.CHILDBEARING_AGES); optional.
EDUCATION_PREGNANCY_FIELD = "pregnancy"
EDUCATION_MAX_CHARS = 260  # per field: the written summary keeps each medicine to a few lines
# The patient's own pregnancy, breastfeeding or birth control, written to "you": such a sentence in
# the fields every patient gets would reach men and older women, so it belongs in `pregnancy`.
_PREGNANCY_WORDS = re.compile(
    r"\byou\b[^.;]*\b(pregnan|breastfe)|birth control|unborn|harm a baby", re.IGNORECASE
)
_DOSE_LIMIT_KEYS = ("max_daily_mg", "max_daily_mg_per_kg", "schedule", "lower_max", "when", "needed")
_DOSE_CONDITIONS = {
    "age_at_least", "age_below", "weight_at_most_kg", "weight_below_kg", "creatinine_at_least_mg_dl",
    "crcl_below", "crcl_at_least", "egfr_below", "sex",
}  # fmt: skip
ICD10_PREFIX = re.compile(r"^[A-Z][0-9][0-9A-Z]?(\.[0-9A-Z]{0,4})?$")


class KnowledgeBaseError(Exception):
    """The knowledge files are inconsistent. `problems` lists every one found, with file and place."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s) in the drug knowledge base:\n" + "\n".join(problems))


@dataclass(frozen=True)
class Source:
    id: str
    citation: str
    url: str = ""


@dataclass(frozen=True)
class Ingredient:
    name: str
    rxcui: str
    kind: str
    classes: tuple[str, ...]
    tags: frozenset[str] = frozenset()  # ingredient:<name>, class:<id>, group:<id>


@dataclass(frozen=True)
class Label:
    """A therapeutic class or a mechanism group: what a drug 'is' when a rule fires."""

    id: str
    label: str
    sources: tuple[str, ...]
    duplication: str = ""  # classes only: severity when two members are taken together
    duplication_note: str = ""


@dataclass(frozen=True)
class Rule:
    """One piece of clinical knowledge that can become a finding."""

    id: str
    kind: str  # interaction, elderly, renal, allergy, disease, duplication
    severity: str
    title: str
    effect: str
    mechanism: str
    management: str
    sources: tuple[str, ...]
    endpoints: tuple[frozenset[str], ...] = ()  # interaction: each endpoint is a set of tags
    drugs: frozenset[str] = frozenset()  # elderly/disease/renal: tags of the drugs concerned
    excluded: frozenset[str] = frozenset()  # ingredient tags the rule never applies to
    replaces: tuple[str, ...] = ()
    conditions: tuple[str, ...] = ()  # disease: ICD-10-CM prefixes
    condition_label: str = ""
    min_age: int | None = None
    thresholds: tuple[dict, ...] = ()  # renal: [{below, severity, action, text}], most severe first
    measure: str = ""  # renal: "crcl" (Cockcroft-Gault, the default) or "egfr", as the label's thresholds
    cg_weight: str = ""  # renal: the weight the label's Cockcroft-Gault uses ("actual"); "" = by height
    requires: str = ""  # interaction: fires only when the patient has this factor (patient_factors.yaml)
    gene: str = ""  # pharmacogenomic
    phenotypes: tuple[str, ...] = ()  # pharmacogenomic: CPIC phenotype words, lower case
    alleles: tuple[str, ...] = ()  # pharmacogenomic: HLA alleles ("*57:01"), on a positive result
    level: str = ""  # pharmacogenomic: CPIC level (A, B)
    status: tuple[str, ...] = ()  # pregnancy: "pregnant", "lactating"
    weeks: tuple[int | None, int | None] = (None, None)  # pregnancy: applies from week, and before week
    factor: str = ""  # lifestyle: what the patient reports ("grapefruit")
    advice: str = ""  # lifestyle: what to tell the patient, in plain words
    limits: dict = field(default_factory=dict, compare=False)  # dose: max_daily_mg, schedule, when ...
    file: str = ""


@dataclass(frozen=True)
class Allergen:
    id: str
    label: str
    terms: frozenset[str]
    members: frozenset[str]  # tags
    severity: str
    cross_reactions: tuple[dict, ...]  # {allergen, severity, text}
    sources: tuple[str, ...]
    intolerances: tuple[dict, ...] = ()  # {reaction: [words], severity, text}: side effects the class shares


@dataclass(frozen=True)
class Education:
    """What a patient should know about one ingredient, in plain words (see knowledge/README.md)."""

    ingredient: str
    purpose: str  # what it is for
    how_to_take: str
    side_effects: str  # side effects to watch for
    get_help: str  # when to seek medical attention
    sources: tuple[str, ...]
    pregnancy: str = ""  # pregnancy, breastfeeding, birth control: for women who could become pregnant


@dataclass
class KnowledgeBase:
    version: str
    references: tuple[str, ...]
    sources: dict[str, Source]
    ingredients: dict[str, Ingredient]
    by_rxcui: dict[str, str]
    names: dict[str, tuple[str, ...]]  # normalised name -> ingredient names
    classes: dict[str, Label]
    groups: dict[str, Label]
    anticholinergic: dict[str, tuple[int, str]]  # ingredient -> (score, source id)
    interaction_rules: list[Rule]
    same_ingredient: dict  # {"severity", "management", "sources", "overrides": {ingredient: {...}}}
    elderly_rules: list[Rule]
    renal_rules: list[Rule]
    disease_rules: list[Rule]
    allergens: dict[str, Allergen]
    education: dict[str, Education] = field(default_factory=dict)
    dose_rules: list[Rule] = field(default_factory=list)  # maximums and label adjustments
    mme: dict = field(default_factory=dict)  # {factors, thresholds, rule}
    unit_strengths: dict[str, tuple[float, float]] = field(default_factory=dict)  # mg per tablet, low-high
    gene_rules: list[Rule] = field(default_factory=list)
    pregnancy_rules: list[Rule] = field(default_factory=list)
    lifestyle_rules: list[Rule] = field(default_factory=list)
    patient_factors: dict[str, dict] = field(default_factory=dict)  # id -> {label, conditions, ...}
    # Drug products by code, from a local RxNorm release (`manage.py import_rxnorm`): "ndc:<11 digits>"
    # and "rxcui:<clinical or branded drug>" -> ingredient names. Empty without a release.
    products: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Indexes built once, so that screening costs a lookup per pair of drugs taken, whatever the size
    # of the knowledge base.
    tag_members: dict[str, frozenset[str]] = field(default_factory=dict)  # tag -> ingredient names
    pair_rules: dict[frozenset[str], list[Rule]] = field(default_factory=dict)  # {a, b} -> rules
    multi_rules: dict[str, list[Rule]] = field(default_factory=dict)  # ingredient -> rules of 3+ drugs
    drug_rules: dict[str, list[Rule]] = field(default_factory=dict)  # ingredient -> elderly/renal/disease
    personal_rules: dict[str, list[Rule]] = field(
        default_factory=dict
    )  # ingredient -> dose/gene/pregnancy/...
    allergen_members: dict[str, frozenset[str]] = field(default_factory=dict)  # allergen -> ingredients
    members_of: dict[frozenset[str], frozenset[str]] = field(default_factory=dict)  # tags -> ingredients

    def citations(self, source_ids) -> list[str]:
        return [self.sources[s].citation for s in source_ids]

    def members(self, tags: frozenset[str]) -> frozenset[str]:
        """Ingredients carrying any of the tags (remembered: rules ask for the same sets again)."""
        found = self.members_of.get(tags)
        if found is None:
            found = frozenset().union(*(self.tag_members.get(tag, frozenset()) for tag in tags))
            self.members_of[tags] = found
        return found

    def label_of(self, tag: str) -> str:
        kind, _, key = tag.partition(":")
        if kind == "class":
            return self.classes[key].label
        if kind == "group":
            return self.groups[key].label
        return key


# --- Loading ------------------------------------------------------------------------------------


class _Problems(list):
    def add(self, where: str, message: str) -> None:
        self.append(f"{where}: {message}")


# libyaml's parser when PyYAML was built with it (the wheels are): the same documents as
# yaml.safe_load, read about seven times faster; every process that screens or checks reads them all.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _yaml(path: Path):
    with path.open(encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_SafeLoader)  # noqa: S506 - CSafeLoader or SafeLoader


def _csv(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [row for row in csv.DictReader(handle) if any((v or "").strip() for v in row.values())]


def _split(value: str) -> list[str]:
    return [part.strip() for part in (value or "").split(";") if part.strip()]


def _as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def load_knowledge_base(
    directory: Path = KNOWLEDGE_DIR, extra: tuple[Path, ...] = (), cache_dir: Path | None = None
) -> KnowledgeBase:
    """Load and validate the knowledge base; raise KnowledgeBaseError listing every problem.

    `extra`: folders with more `ingredients/*.csv` and `names/*.csv` (e.g. names imported from a
    local RxNorm release by `manage.py import_rxnorm`). They extend the dictionary, never the rules;
    where an extra name would change what a reviewed name means, the reviewed one stays.
    Cached: the files are read once per process; with `cache_dir`, the loaded and indexed knowledge
    base is also kept there, compiled, for the next process (a command-line screening starts in a
    fraction of the time), under a key made of every file's size and time and the loader's own code."""
    # Once per process, keyed on the normalised arguments: load_knowledge_base() and
    # load_knowledge_base(KNOWLEDGE_DIR, (), cache_dir=...) are the same knowledge base, read once.
    key = (Path(directory), tuple(Path(p) for p in extra))
    if key not in _LOADED:
        _LOADED[key] = _load_cached(*key, Path(cache_dir) if cache_dir else None)
    return _LOADED[key]


_LOADED: dict[tuple[Path, tuple[Path, ...]], KnowledgeBase] = {}


def _load_cached(directory: Path, extra: tuple[Path, ...], cache_dir: Path | None) -> KnowledgeBase:
    if cache_dir is None:
        return _load(directory, extra=extra)
    compiled = cache_dir / f"knowledge-{_fingerprint(directory, extra)}.pickle"
    try:
        with compiled.open("rb") as handle:
            return pickle.load(handle)  # noqa: S301 - written by this code, in the app's own folder
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError):
        pass
    kb = _load(directory, extra=extra)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        for old in cache_dir.glob("knowledge-*.pickle"):
            old.unlink(missing_ok=True)
        with tempfile.NamedTemporaryFile(dir=cache_dir, suffix=".tmp", delete=False) as handle:
            pickle.dump(kb, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(handle.name, compiled)
    except OSError:
        pass  # a read-only folder: load from the files every time
    return kb


def _fingerprint(directory: Path, extra: tuple[Path, ...]) -> str:
    """Changes when any knowledge file, or the code that reads them, changes."""
    digest = hashlib.sha256()
    engine = Path(__file__).resolve().parent
    files = [engine / "knowledge.py", engine / "names.py"]
    for folder in (directory, *extra):
        files += sorted(path for path in folder.rglob("*") if path.is_file())
    for path in files:
        stat = path.stat()
        digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:32]


def validate_knowledge_base(
    directory: Path = KNOWLEDGE_DIR, *, lenient: bool = False
) -> tuple[list[str], set[str]]:
    """(problems, unknown ingredient names). `lenient` lets references to ingredients not yet in the
    dictionary pass (they are returned instead), for editing one file while another is unfinished."""
    unknown: set[str] = set()
    try:
        _load(Path(directory), unknown_ingredients=unknown if lenient else None, extra=())
    except KnowledgeBaseError as error:
        return error.problems, unknown
    return [], unknown


def _rows(directory: Path, name: str) -> list[tuple[str, int, dict]]:
    """(file label, line, row) of every <name>/*.csv file."""
    rows = []
    for path in sorted((directory / name).glob("*.csv")):
        rows += [(f"{name}/{path.name}", line, row) for line, row in enumerate(_csv(path), start=2)]
    return rows


def _extra_rows(extra: tuple[Path, ...], name: str) -> list[tuple[str, int, dict]]:
    rows = []
    for folder in extra:
        rows += [(f"{folder}/{file}", line, row) for file, line, row in _rows(folder, name)]
    return rows


def _load(
    directory: Path, unknown_ingredients: set[str] | None = None, extra: tuple[Path, ...] = ()
) -> KnowledgeBase:
    problems = _Problems()
    lenient = unknown_ingredients is not None
    manifest = _yaml(directory / "manifest.yaml") or {}
    version = str(manifest.get("version") or "")
    if not version:
        problems.add("manifest.yaml", "no version")
    sources: dict[str, Source] = {}
    source_files = [("manifest.yaml", manifest.get("sources") or {})]
    source_files += [
        (f"sources/{p.name}", _yaml(p) or {}) for p in sorted((directory / "sources").glob("*.yaml"))
    ]
    for file, entries in source_files:
        for source_id, entry in entries.items():
            entry = entry if isinstance(entry, dict) else {"citation": entry}
            source = Source(source_id, str(entry.get("citation") or "").strip(), str(entry.get("url") or ""))
            if not source.citation:
                problems.add(file, f"source {source_id} has no citation")
            if source_id in sources and sources[source_id].citation != source.citation:
                problems.add(file, f"source {source_id} is already defined differently")
            sources[source_id] = source

    def check_sources(where: str, ids) -> tuple[str, ...]:
        ids = tuple(_as_list(ids))
        if not ids:
            problems.add(where, "cites no source")
        for source_id in ids:
            if source_id not in sources:
                problems.add(where, f"unknown source {source_id!r}")
        return ids

    references = tuple(check_sources("manifest.yaml references", manifest.get("references")))

    classes = {}
    for class_id, entry in (_yaml(directory / "classes.yaml") or {}).items():
        where = f"classes.yaml {class_id}"
        duplication = str(entry.get("duplication") or "")
        if duplication and duplication not in SEVERITIES:
            problems.add(where, f"duplication severity {duplication!r} is not one of {SEVERITIES}")
        classes[class_id] = Label(
            class_id,
            str(entry.get("label") or ""),
            check_sources(where, entry.get("sources")),
            duplication,
            str(entry.get("duplication_note") or ""),
        )
        if not entry.get("label"):
            problems.add(where, "no label")

    ingredients: dict[str, Ingredient] = {}
    by_rxcui: dict[str, str] = {}
    for file, line, row in _rows(directory, "ingredients"):
        where = f"{file} line {line}"
        name = (row.get("name") or "").strip()
        if not name or name != name.lower():
            problems.add(where, f"name {row.get('name')!r} must be the lower-case generic name")
            continue
        rxcui = (row.get("rxcui") or "").strip()
        kind = (row.get("kind") or "").strip()
        ingredient_classes = tuple(_split(row.get("classes", "")))
        if name in ingredients:
            # The same ingredient may be listed by more than one file: their classes add up.
            earlier = ingredients[name]
            if rxcui and earlier.rxcui and rxcui != earlier.rxcui:
                problems.add(where, f"{name} has RxCUI {rxcui} here and {earlier.rxcui} elsewhere")
            if rxcui and not earlier.rxcui:
                by_rxcui[rxcui] = name
            merged = tuple(dict.fromkeys(earlier.classes + ingredient_classes))
            ingredients[name] = Ingredient(name, earlier.rxcui or rxcui, earlier.kind, merged)
            continue
        if kind not in INGREDIENT_KINDS:
            problems.add(where, f"kind {kind!r} is not one of {sorted(INGREDIENT_KINDS)}")
        if rxcui:
            if not rxcui.isdigit():
                problems.add(where, f"RxCUI {rxcui!r} is not a number")
            elif rxcui in by_rxcui:
                problems.add(where, f"RxCUI {rxcui} is also {by_rxcui[rxcui]}")
            by_rxcui[rxcui] = name
        if not ingredient_classes:
            problems.add(where, f"{name} has no therapeutic class")
        for class_id in ingredient_classes:
            if class_id not in classes:
                problems.add(where, f"unknown class {class_id!r}")
        ingredients[name] = Ingredient(name, rxcui, kind, ingredient_classes)

    # Extra (locally imported) ingredients: only what the reviewed files do not already define, and
    # the RxCUI of a reviewed ingredient that has none yet.
    for _file, _line, row in _extra_rows(extra, "ingredients"):
        name, rxcui = (row.get("name") or "").strip().lower(), (row.get("rxcui") or "").strip()
        if rxcui in by_rxcui:
            continue
        if name in ingredients and not ingredients[name].rxcui and rxcui:
            ingredients[name] = dataclasses.replace(ingredients[name], rxcui=rxcui)
            by_rxcui[rxcui] = name
        elif name and name not in ingredients:
            ingredients[name] = Ingredient(
                name, rxcui, (row.get("kind") or "rx").strip(), tuple(_split(row.get("classes", "")))
            )
            if rxcui:
                by_rxcui[rxcui] = name

    def check_tag(where: str, text: str) -> str | None:
        """'warfarin' / 'ingredient:warfarin' / 'class:statin' / 'group:serotonergic' -> a valid tag."""
        text = str(text).strip()
        kind, _, key = text.partition(":") if ":" in text else ("ingredient", "", text)
        table = {"ingredient": ingredients, "class": classes, "group": groups}.get(kind)
        if table is None or key not in table:
            if lenient and kind == "ingredient":
                unknown_ingredients.add(key)
            else:
                problems.add(where, f"unknown {kind} {key!r}")
            return None
        return f"{kind}:{key}"

    groups: dict[str, Label] = {}
    group_members: dict[str, list[str]] = {}
    raw_groups = _yaml(directory / "groups.yaml") or {}
    for group_id, entry in raw_groups.items():
        where = f"groups.yaml {group_id}"
        if not entry.get("label"):
            problems.add(where, "no label")
        groups[group_id] = Label(
            group_id, str(entry.get("label") or ""), check_sources(where, entry.get("sources"))
        )
        group_members[group_id] = _as_list(entry.get("members"))
        if not group_members[group_id]:
            problems.add(where, "no members")

    # Tags of each ingredient: itself, its classes, and every group it belongs to (directly or by class).
    tags: dict[str, set[str]] = {
        name: {f"ingredient:{name}"} | {f"class:{c}" for c in i.classes} for name, i in ingredients.items()
    }
    by_tag: dict[str, set[str]] = defaultdict(set)
    for name, ingredient_tags in tags.items():
        for tag in ingredient_tags:
            by_tag[tag].add(name)
    for group_id, members in group_members.items():
        for member in members:
            tag = check_tag(f"groups.yaml {group_id}", member)
            if tag is None:
                continue
            kind, _, key = tag.partition(":")
            if kind == "group":
                problems.add(f"groups.yaml {group_id}", f"groups cannot contain groups ({key})")
            for name in by_tag.get(tag, ()):
                tags[name].add(f"group:{group_id}")
    ingredients = {
        name: Ingredient(i.name, i.rxcui, i.kind, i.classes, frozenset(tags[name]))
        for name, i in ingredients.items()
    }

    names: dict[str, tuple[str, ...]] = {}
    for name in ingredients:
        key = normalise_name(name)
        if key in names:
            problems.add("ingredients", f"{name!r} and {names[key][0]!r} read as the same name")
        names[key] = (name,)
    for file, line, row in _rows(directory, "names"):
        where = f"{file} line {line}"
        key = normalise_name(row.get("name", ""))
        members = tuple(_split(row.get("ingredients", "")))
        if not key or not members:
            problems.add(where, "needs a name and its ingredients")
            continue
        if (row.get("kind") or "").strip() not in NAME_KINDS:
            problems.add(where, f"kind {row.get('kind')!r} is not one of {sorted(NAME_KINDS)}")
        missing = [member for member in members if member not in ingredients]
        if missing and lenient:
            unknown_ingredients.update(missing)
            continue
        for member in missing:
            problems.add(where, f"unknown ingredient {member!r}")
        if key in names and set(names[key]) != set(members):
            problems.add(where, f"{row['name']!r} already means {' + '.join(names[key])}")
        names[key] = tuple(sorted(members))

    for _file, _line, row in _extra_rows(extra, "names"):
        key = normalise_name(row.get("name", ""))
        members = tuple(_split(row.get("ingredients", "")))
        if key and members and key not in names and all(member in ingredients for member in members):
            names[key] = tuple(sorted(members))

    products = {}
    for _file, _line, row in _extra_rows(extra, "products"):
        members = tuple(sorted(_split(row.get("ingredients", ""))))
        if row.get("code") and members and all(member in ingredients for member in members):
            products[row["code"].strip()] = members

    anticholinergic = {}
    for line, row in enumerate(_csv(directory / "anticholinergic.csv"), start=2):
        where = f"anticholinergic.csv line {line}"
        name = row.get("ingredient", "").strip()
        if name not in ingredients:
            if lenient:
                unknown_ingredients.add(name)
                continue
            problems.add(where, f"unknown ingredient {name!r}")
        if name in anticholinergic:
            problems.add(where, f"{name} is listed twice")
        try:
            score = int(row.get("score", ""))
        except ValueError:
            score = 0
        if score not in (1, 2, 3):
            problems.add(where, "score must be 1, 2 or 3")
        source_ids = check_sources(where, _split(row.get("source", "")))
        anticholinergic[name] = (score, source_ids[0] if source_ids else "")

    def text_fields(where: str, entry: dict, required=("title", "effect", "management")) -> dict:
        for name in required:
            if not str(entry.get(name) or "").strip():
                problems.add(where, f"no {name}")
        severity = entry.get("severity")
        if severity not in SEVERITIES:
            problems.add(where, f"severity {severity!r} is not one of {SEVERITIES}")
        return {
            "severity": severity,
            "title": str(entry.get("title") or "").strip(),
            "effect": str(entry.get("effect") or "").strip(),
            "mechanism": str(entry.get("mechanism") or "").strip(),
            "management": str(entry.get("management") or "").strip(),
            "sources": check_sources(where, entry.get("sources")),
        }

    def tag_set(where: str, value) -> frozenset[str]:
        items = _as_list(value)
        result = {check_tag(where, item) for item in items}
        result.discard(None)
        if not items or (not result and not lenient):
            problems.add(where, "names no drugs")
        return frozenset(result)

    rule_ids: set[str] = set()

    def rule_id(where: str, entry: dict) -> str:
        identifier = str(entry.get("id") or "")
        if not identifier:
            problems.add(where, "no id")
        elif identifier in rule_ids:
            problems.add(where, f"rule id {identifier} is used twice")
        rule_ids.add(identifier)
        return identifier

    interaction_rules = []
    seen_endpoints: dict[frozenset, str] = {}
    for path in sorted((directory / "interactions").glob("*.yaml")):
        for number, entry in enumerate(_yaml(path) or [], start=1):
            where = f"interactions/{path.name} rule {number} ({entry.get('id', '?')})"
            endpoints = tuple(tag_set(where, endpoint) for endpoint in _as_list(entry.get("between")))
            if len(endpoints) < 2:
                problems.add(where, "`between` needs at least two drugs or drug sets")
            signature = frozenset(endpoints)
            if signature in seen_endpoints:
                problems.add(where, f"same drugs as rule {seen_endpoints[signature]} (conflicting duplicate)")
            seen_endpoints[signature] = entry.get("id", "?")
            interaction_rules.append(
                Rule(
                    id=rule_id(where, entry),
                    kind="interaction",
                    endpoints=endpoints,
                    excluded=frozenset(f"ingredient:{n}" for n in _as_list(entry.get("except"))),
                    replaces=tuple(_as_list(entry.get("replaces"))),
                    requires=str(entry.get("requires") or ""),
                    min_age=_min_age(problems, where, entry.get("min_age")),
                    file=f"interactions/{path.name}",
                    **text_fields(where, entry),
                )
            )
            for name in _as_list(entry.get("except")):
                if name not in ingredients and not lenient:
                    problems.add(where, f"unknown ingredient {name!r} in except")

    duplication = _yaml(directory / "duplication.yaml") or {}
    same_ingredient = duplication.get("same_ingredient") or {}
    text_fields("duplication.yaml same_ingredient", same_ingredient, required=("management",))
    for name, override in (same_ingredient.get("overrides") or {}).items():
        if name not in ingredients and not lenient:
            problems.add("duplication.yaml", f"unknown ingredient {name!r}")
        text_fields(f"duplication.yaml override {name}", override, required=("management",))

    def optional_yaml(filename: str):
        """The files of personalised screening are optional: a knowledge base may have none."""
        path = directory / filename
        return (_yaml(path) if path.exists() else None) or {}

    def drug_rules(filename: str, kind: str, entries=None) -> list[Rule]:
        rules = []
        entries = _yaml(directory / filename) if entries is None else entries
        for number, entry in enumerate(entries or [], start=1):
            where = f"{filename} rule {number} ({entry.get('id', '?')})"
            extra = {}
            if kind == "disease":
                prefixes = tuple(str(p).upper() for p in _as_list(entry.get("conditions")))
                if not prefixes:
                    problems.add(where, "names no ICD-10-CM condition codes")
                for prefix in prefixes:
                    if not ICD10_PREFIX.match(prefix):
                        problems.add(where, f"{prefix!r} is not an ICD-10-CM code or prefix")
                if not entry.get("condition_label"):
                    problems.add(where, "no condition_label")
                extra = {
                    "conditions": tuple(prefix.replace(".", "") for prefix in prefixes),  # as patients' codes
                    "condition_label": str(entry.get("condition_label") or ""),
                }
            if kind == "renal":
                thresholds = []
                for threshold in _as_list(entry.get("thresholds")):
                    if not isinstance(threshold.get("below"), int | float) or threshold["below"] <= 0:
                        problems.add(where, "each threshold needs `below`: a CrCl in mL/min")
                    if threshold.get("severity") not in SEVERITIES:
                        problems.add(where, f"threshold severity {threshold.get('severity')!r} is not valid")
                    if not str(threshold.get("text") or "").strip():
                        problems.add(where, "each threshold needs its text (what to do)")
                    thresholds.append(dict(threshold))
                if not thresholds:
                    problems.add(where, "no thresholds")
                thresholds.sort(key=lambda t: t.get("below", 0))  # the lowest (most severe) first
                measure, weight = entry.get("measure", "crcl"), entry.get("cg_weight", "")
                if measure not in ("crcl", "egfr"):
                    problems.add(where, f"measure {measure!r} is not crcl or egfr")
                if weight not in ("", "actual", "adjusted", "ideal"):
                    problems.add(where, f"cg_weight {weight!r} is not actual, adjusted or ideal")
                extra = {"thresholds": tuple(thresholds), "measure": measure, "cg_weight": weight}
                entry = {"severity": thresholds[0]["severity"] if thresholds else None, **entry}
                entry.setdefault("management", "See the threshold that applies.")
            if kind == "pharmacogenomic":
                gene = str(entry.get("gene") or "")
                phenotypes = tuple(
                    " ".join(str(p).lower().split()) for p in _as_list(entry.get("phenotypes"))
                )
                alleles = tuple(str(a) for a in _as_list(entry.get("alleles")))
                if not gene or bool(phenotypes) == bool(alleles):
                    problems.add(where, "needs a gene and either phenotypes or alleles")
                if str(entry.get("cpic_level") or "") not in ("A", "A/B", "B"):
                    problems.add(where, "cpic_level must be A or B")
                extra = {"gene": gene.upper(), "phenotypes": phenotypes, "alleles": alleles,
                         "level": str(entry.get("cpic_level"))}  # fmt: skip
            if kind == "pregnancy":
                status = tuple(_as_list(entry.get("status")))
                if not status or set(status) - {"pregnant", "lactating"}:
                    problems.add(where, "status must list pregnant and/or lactating")
                weeks = (entry.get("from_week"), entry.get("until_week"))
                if any(w is not None and (not isinstance(w, int) or not 0 < w < 45) for w in weeks):
                    problems.add(where, "from_week and until_week are weeks of pregnancy (1 to 44)")
                extra = {"status": status, "weeks": weeks}
            if kind == "lifestyle":
                advice = " ".join(str(entry.get("advice") or "").split())
                if not entry.get("factor"):
                    problems.add(where, "no factor")
                if not advice or len(advice) > EDUCATION_MAX_CHARS:
                    problems.add(
                        where, f"advice (for the patient) must be 1 to {EDUCATION_MAX_CHARS} characters"
                    )
                extra = {"factor": str(entry.get("factor") or ""), "advice": advice}
            if kind == "dose":
                limits = {key: entry[key] for key in _DOSE_LIMIT_KEYS if key in entry}
                for condition in _as_list(entry.get("when")) + _as_list(
                    (entry.get("lower_max") or {}).get("when")
                ):
                    if not isinstance(condition, dict) or set(condition) - _DOSE_CONDITIONS:
                        problems.add(where, f"condition {condition!r}: use one of {sorted(_DOSE_CONDITIONS)}")
                if not (
                    {"max_daily_mg", "max_daily_mg_per_kg"} & set(limits)
                    or limits.get("schedule") == "weekly"
                ):
                    problems.add(where, "needs max_daily_mg, max_daily_mg_per_kg or schedule: weekly")
                extra = {"limits": limits}
            min_age = _min_age(problems, where, entry.get("min_age", 65 if kind == "elderly" else None))
            rules.append(
                Rule(
                    id=rule_id(where, entry),
                    kind=kind,
                    drugs=tag_set(where, entry.get("drugs")),
                    excluded=frozenset(f"ingredient:{n}" for n in _as_list(entry.get("except"))),
                    min_age=min_age,
                    file=filename,
                    **extra,
                    **text_fields(where, entry),
                )
            )
        return rules

    elderly_rules = drug_rules("elderly.yaml", "elderly")
    renal_rules = drug_rules("renal.yaml", "renal")
    disease_rules = drug_rules("disease.yaml", "disease")
    gene_rules = drug_rules(
        "pharmacogenomics.yaml", "pharmacogenomic", optional_yaml("pharmacogenomics.yaml")
    )
    pregnancy_rules = drug_rules("pregnancy.yaml", "pregnancy", optional_yaml("pregnancy.yaml"))
    lifestyle_rules = drug_rules("lifestyle.yaml", "lifestyle", optional_yaml("lifestyle.yaml"))
    doses = optional_yaml("doses.yaml")
    dose_rules = drug_rules(
        "doses.yaml", "dose", _as_list(doses.get("maximums")) + _as_list(doses.get("adjustments"))
    )
    mme = dict(doses.get("mme") or {})
    if mme:
        for name in mme.get("factors") or {}:
            if name not in ingredients and not lenient:
                problems.add("doses.yaml mme", f"unknown ingredient {name!r}")
        mme["rule"] = Rule(
            id="dose-opioid-mme", kind="dose", **text_fields("doses.yaml mme", {**mme, "severity": "major"})
        )
        mme["thresholds"] = sorted(_as_list(mme.get("thresholds")), key=lambda t: -t.get("at_least", 0))
    unit_strengths = {}
    for name, span in (doses.get("unit_strengths_mg") or {}).items():
        if not (isinstance(span, list) and len(span) == 2 and 0 < span[0] <= span[1]):
            problems.add("doses.yaml unit_strengths_mg", f"{name}: give [lowest, highest] mg")
        else:
            unit_strengths[name] = (float(span[0]), float(span[1]))
    patient_factors = {}
    for factor_id, entry in optional_yaml("patient_factors.yaml").items():
        where = f"patient_factors.yaml {factor_id}"
        check_sources(where, entry.get("sources"))
        patient_factors[factor_id] = {
            **entry,
            "conditions": tuple(str(c).upper().replace(".", "") for c in _as_list(entry.get("conditions"))),
        }
    for rule in interaction_rules:
        if rule.requires and rule.requires not in patient_factors:
            problems.add(rule.file, f"rule {rule.id} requires unknown patient factor {rule.requires!r}")

    allergens: dict[str, Allergen] = {}
    raw_allergens = _yaml(directory / "allergy.yaml") or {}
    for allergen_id, entry in raw_allergens.items():
        where = f"allergy.yaml {allergen_id}"
        if entry.get("severity") not in SEVERITIES:
            problems.add(where, f"severity {entry.get('severity')!r} is not valid")
        cross = []
        for cross_reaction in _as_list(entry.get("cross_reactions")):
            if cross_reaction.get("allergen") not in raw_allergens:
                problems.add(
                    where, f"cross-reaction with unknown allergen {cross_reaction.get('allergen')!r}"
                )
            if cross_reaction.get("severity") not in SEVERITIES or not cross_reaction.get("text"):
                problems.add(where, "each cross-reaction needs a severity and a text")
            cross.append(dict(cross_reaction))
        allergens[allergen_id] = Allergen(
            id=allergen_id,
            label=str(entry.get("label") or allergen_id),
            terms=frozenset(normalise_name(t) for t in _as_list(entry.get("terms"))),
            members=tag_set(where, entry.get("members")),
            severity=str(entry.get("severity")),
            cross_reactions=tuple(cross),
            sources=check_sources(where, entry.get("sources")),
            intolerances=tuple(
                {**known, "reaction": [str(w).lower() for w in _as_list(known.get("reaction"))]}
                for known in _as_list(entry.get("intolerances"))
            ),
        )
        for known in allergens[allergen_id].intolerances:
            if not known["reaction"] or known.get("severity") not in SEVERITIES or not known.get("text"):
                problems.add(where, "each intolerance needs reaction words, a severity and a text")

    education: dict[str, Education] = {}
    for path in sorted((directory / "education").glob("*.yaml")):
        for name, entry in (_yaml(path) or {}).items():
            where = f"education/{path.name} {name}"
            if name not in ingredients:
                if lenient:
                    unknown_ingredients.add(name)
                else:
                    problems.add(where, "unknown ingredient")
            if name in education:
                problems.add(where, "education for this ingredient is already given in another place")
            entry = entry if isinstance(entry, dict) else {}
            texts = {key: " ".join(str(entry.get(key) or "").split()) for key in EDUCATION_FIELDS}
            pregnancy = " ".join(str(entry.get(EDUCATION_PREGNANCY_FIELD) or "").split())
            for key, text in texts.items():
                if not text:
                    problems.add(where, f"no {key}")
                elif _PREGNANCY_WORDS.search(text):
                    problems.add(where, f"{key} speaks of pregnancy or birth control: move it to pregnancy")
            for key, text in [*texts.items(), (EDUCATION_PREGNANCY_FIELD, pregnancy)]:
                if len(text) > EDUCATION_MAX_CHARS:
                    problems.add(where, f"{key} is {len(text)} characters (at most {EDUCATION_MAX_CHARS})")
            education[name] = Education(
                name, **texts, pregnancy=pregnancy, sources=check_sources(where, entry.get("sources"))
            )

    for rule in interaction_rules:
        for replaced in rule.replaces:
            if replaced not in rule_ids:
                problems.add(rule.file, f"rule {rule.id} replaces unknown rule {replaced!r}")

    if problems:
        raise KnowledgeBaseError(list(problems))

    kb = KnowledgeBase(
        version=version,
        references=references,
        sources=sources,
        ingredients=ingredients,
        by_rxcui=by_rxcui,
        names=names,
        classes=classes,
        groups=groups,
        anticholinergic=anticholinergic,
        interaction_rules=interaction_rules,
        same_ingredient=same_ingredient,
        elderly_rules=elderly_rules,
        renal_rules=renal_rules,
        disease_rules=disease_rules,
        allergens=allergens,
        education=education,
        products=products,
        dose_rules=dose_rules,
        mme=mme,
        unit_strengths=unit_strengths,
        gene_rules=gene_rules,
        pregnancy_rules=pregnancy_rules,
        lifestyle_rules=lifestyle_rules,
        patient_factors=patient_factors,
    )
    _build_indexes(kb)
    return kb


def _min_age(problems: _Problems, where: str, value) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 130):
        problems.add(where, f"min_age {value!r} is not an age in years")
        return None
    return value


def _build_indexes(kb: KnowledgeBase) -> None:
    tag_members: dict[str, set[str]] = defaultdict(set)
    for name, ingredient in kb.ingredients.items():
        for tag in ingredient.tags:
            tag_members[tag].add(name)
    kb.tag_members = {tag: frozenset(names) for tag, names in tag_members.items()}

    excluded = lambda rule: {tag.partition(":")[2] for tag in rule.excluded}  # noqa: E731
    pair_rules: dict[frozenset[str], list[Rule]] = defaultdict(list)
    multi_rules: dict[str, list[Rule]] = defaultdict(list)
    for rule in kb.interaction_rules:
        sides = [kb.members(endpoint) - excluded(rule) for endpoint in rule.endpoints]
        if len(sides) == 2:
            for a in sides[0]:
                for b in sides[1]:
                    if a != b:
                        pair_rules[frozenset((a, b))].append(rule)
        else:
            for name in set().union(*sides):
                multi_rules[name].append(rule)
    kb.pair_rules = dict(pair_rules)
    kb.multi_rules = dict(multi_rules)

    drug_rules: dict[str, list[Rule]] = defaultdict(list)
    for rule in kb.elderly_rules + kb.renal_rules + kb.disease_rules:
        for name in kb.members(rule.drugs) - excluded(rule):
            drug_rules[name].append(rule)
    kb.drug_rules = dict(drug_rules)
    personal_rules: dict[str, list[Rule]] = defaultdict(list)
    for rule in kb.dose_rules + kb.gene_rules + kb.pregnancy_rules + kb.lifestyle_rules:
        for name in kb.members(rule.drugs) - excluded(rule):
            personal_rules[name].append(rule)
    kb.personal_rules = dict(personal_rules)
    kb.allergen_members = {allergen.id: kb.members(allergen.members) for allergen in kb.allergens.values()}
