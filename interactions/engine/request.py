"""The screening request (shared/DESIGN.md, "Contracts"): checked field by field, every problem named."""

import re
from dataclasses import dataclass, field

MAX_NAME_CHARS = 200  # as the record's medication field: a longer "name" is not a medication
MAX_DOSE_CHARS = 300
_ICD10 = re.compile(r"^[A-Z][0-9][0-9A-Z](\.?[0-9A-Z]{1,4})?$")
PATIENT_FIELDS = {
    "age", "sex", "weight_kg", "height_cm", "serum_creatinine_mg_dl", "egfr_ml_min_1_73m2",
    "potassium_mmol_l", "qtc_ms", "allergies", "conditions", "pregnant", "gestational_weeks", "lactating",
    "pharmacogenomics", "lifestyle",
}  # fmt: skip
ALLERGY_TYPES = ("allergy", "intolerance")
# What a patient may report about how they live (lifestyle.yaml rules name these).
LIFESTYLE_FACTORS = (
    "grapefruit", "alcohol", "smoking", "vitamin k rich diet", "tyramine rich food", "dairy",
    "caffeine", "high potassium diet", "licorice",
)  # fmt: skip
GENES = (
    "CYP2B6", "CYP2C19", "CYP2C9", "CYP2D6", "CYP3A5", "CYP4F2", "VKORC1", "SLCO1B1", "TPMT", "NUDT15",
    "DPYD", "UGT1A1", "HLA-A", "HLA-B", "G6PD", "IFNL3", "RYR1", "CACNA1S", "ABCG2", "MT-RNR1",
)  # fmt: skip
_HLA_ALLELE = re.compile(r"^\*\d{2}:\d{2}$")


class ScreeningInputError(ValueError):
    """The request is malformed. `errors` maps each bad field ("patient.weight_kg") to a message."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors.items()))


@dataclass(frozen=True)
class AllergyFact:
    substance: str
    reaction: str = ""
    type: str = "allergy"  # allergy | intolerance


@dataclass(frozen=True)
class GeneResult:
    gene: str
    phenotype: str = ""  # CPIC's words, lower case: "poor metabolizer"
    allele: str = ""  # HLA: "*57:01"
    positive: bool = True

    @property
    def text(self) -> str:
        if self.allele:
            return f"{self.gene}{self.allele} {'positive' if self.positive else 'negative'}"
        return f"{self.gene} {self.phenotype}"


@dataclass
class PatientFacts:
    age: float | None = None
    sex: str | None = None
    weight_kg: float | None = None
    height_cm: float | None = None
    serum_creatinine_mg_dl: float | None = None
    egfr_ml_min_1_73m2: float | None = None
    potassium_mmol_l: float | None = None
    qtc_ms: float | None = None
    allergies: list[AllergyFact] = field(default_factory=list)
    conditions: list[str] = field(default_factory=list)  # ICD-10-CM without the dot
    pregnant: bool = False
    gestational_weeks: float | None = None
    lactating: bool = False
    pharmacogenomics: list[GeneResult] = field(default_factory=list)
    lifestyle: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class MedicationInput:
    name: str = ""
    rxcui: str = ""
    dose: str = ""  # strength and directions as written ("2 tablets every 6 hours as needed")


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


def _flag(errors, name, value) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        errors[name] = "must be true or false"
        return False
    return value


def _strings(errors, name, value) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        errors[name] = "must be a list of strings"
        return []
    return [item.strip() for item in value if item.strip()]


def _allergies(errors, value) -> list[AllergyFact]:
    if value is None:
        return []
    if not isinstance(value, list):
        errors["patient.allergies"] = 'must be a list of text or {"substance", "reaction", "type"} objects'
        return []
    facts = []
    for position, item in enumerate(value):
        where = f"patient.allergies[{position}]"
        if isinstance(item, str):
            if item.strip():
                facts.append(AllergyFact(item.strip()))
            continue
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("substance"), str)
            or not item["substance"].strip()
        ):
            errors[where] = 'must be text or an object with a "substance"'
            continue
        unknown = set(item) - {"substance", "reaction", "type"}
        kind = item.get("type", "allergy")
        if unknown:
            errors[f"{where}.{sorted(unknown)[0]}"] = "is not a field of an allergy"
        elif kind not in ALLERGY_TYPES:
            errors[f"{where}.type"] = "must be 'allergy' or 'intolerance'"
        elif not isinstance(item.get("reaction", ""), str):
            errors[f"{where}.reaction"] = "must be text"
        else:
            facts.append(
                AllergyFact(item["substance"].strip(), item.get("reaction", "").strip().lower(), kind)
            )
    return facts


def _genes(errors, value) -> list[GeneResult]:
    if value is None:
        return []
    if not isinstance(value, list):
        errors["patient.pharmacogenomics"] = (
            'must be a list of {"gene", "phenotype"} or {"gene", "allele", "result"} objects'
        )
        return []
    results = []
    for position, item in enumerate(value):
        where = f"patient.pharmacogenomics[{position}]"
        if not isinstance(item, dict):
            errors[where] = 'must be an object with a "gene"'
            continue
        gene = str(item.get("gene") or "").strip().upper()
        if gene not in GENES:
            errors[f"{where}.gene"] = f"must be one of {', '.join(GENES)}"
            continue
        unknown = set(item) - {"gene", "phenotype", "allele", "result"}
        if unknown:
            errors[f"{where}.{sorted(unknown)[0]}"] = "is not a field of a gene result"
            continue
        if "allele" in item:
            allele = str(item.get("allele") or "").strip()
            if not _HLA_ALLELE.match(allele):
                errors[f"{where}.allele"] = 'must be an HLA allele such as "*57:01"'
            elif item.get("result") not in ("positive", "negative"):
                errors[f"{where}.result"] = "must be 'positive' or 'negative'"
            else:
                results.append(GeneResult(gene, allele=allele, positive=item["result"] == "positive"))
            continue
        phenotype = item.get("phenotype")
        if not isinstance(phenotype, str) or not phenotype.strip():
            errors[f"{where}.phenotype"] = 'must be the phenotype as CPIC writes it, e.g. "poor metabolizer"'
            continue
        results.append(GeneResult(gene, phenotype=" ".join(phenotype.lower().split())))
    return results


def parse_request(request) -> tuple[PatientFacts, list[MedicationInput]]:
    errors: dict[str, str] = {}
    if not isinstance(request, dict):
        raise ScreeningInputError(
            {"request": "must be a JSON object with `medications` (and optionally `patient`)"}
        )
    unknown = set(request) - {"patient", "medications"}
    if unknown:
        errors[sorted(unknown)[0]] = "is not a field of a screening request"
    raw = request.get("patient")
    raw = {} if raw is None else raw
    if not isinstance(raw, dict):
        errors["patient"] = "must be an object"
        raw = {}
    unknown = set(raw) - PATIENT_FIELDS
    if unknown:
        errors[f"patient.{sorted(unknown)[0]}"] = "is not a patient field"
    patient = PatientFacts(
        age=_number(errors, "patient.age", raw.get("age"), -1, 130, " years"),
        weight_kg=_number(errors, "patient.weight_kg", raw.get("weight_kg"), 0, 400, " kg"),
        height_cm=_number(errors, "patient.height_cm", raw.get("height_cm"), 20, 250, " cm"),
        serum_creatinine_mg_dl=_number(
            errors, "patient.serum_creatinine_mg_dl", raw.get("serum_creatinine_mg_dl"), 0, 25, " mg/dL"
        ),
        egfr_ml_min_1_73m2=_number(
            errors, "patient.egfr_ml_min_1_73m2", raw.get("egfr_ml_min_1_73m2"), 0, 200, " mL/min/1.73 m²"
        ),
        potassium_mmol_l=_number(
            errors, "patient.potassium_mmol_l", raw.get("potassium_mmol_l"), 0, 10, " mmol/L"
        ),
        qtc_ms=_number(errors, "patient.qtc_ms", raw.get("qtc_ms"), 200, 800, " ms"),
        allergies=_allergies(errors, raw.get("allergies")),
        conditions=_strings(errors, "patient.conditions", raw.get("conditions")),
        pregnant=_flag(errors, "patient.pregnant", raw.get("pregnant")),
        gestational_weeks=_number(
            errors, "patient.gestational_weeks", raw.get("gestational_weeks"), 0, 44, " weeks"
        ),
        lactating=_flag(errors, "patient.lactating", raw.get("lactating")),
        pharmacogenomics=_genes(errors, raw.get("pharmacogenomics")),
        lifestyle=[item.lower() for item in _strings(errors, "patient.lifestyle", raw.get("lifestyle"))],
    )
    sex = raw.get("sex")
    if sex is not None and sex not in ("female", "male"):
        errors["patient.sex"] = "must be 'female' or 'male' (leave it out when unknown)"
    patient.sex = sex if sex in ("female", "male") else None
    for position, code in enumerate(patient.conditions):
        if not _ICD10.match(code.upper()):
            errors[f"patient.conditions[{position}]"] = f"{code!r} is not an ICD-10-CM code"
    patient.conditions = [code.upper().replace(".", "") for code in patient.conditions]
    for position, factor in enumerate(patient.lifestyle):
        if factor not in LIFESTYLE_FACTORS:
            errors[f"patient.lifestyle[{position}]"] = f"must be one of: {', '.join(LIFESTYLE_FACTORS)}"
    if patient.sex == "male" and (patient.pregnant or patient.lactating):
        errors["patient.pregnant" if patient.pregnant else "patient.lactating"] = (
            "cannot be true for a male patient"
        )

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
        unknown = set(med) - {"name", "rxcui", "dose"}
        if unknown:
            errors[f"{where}.{sorted(unknown)[0]}"] = "is not a field of a medication"
            continue
        dose = med.get("dose", "")
        if not isinstance(dose, str) or len(dose) > MAX_DOSE_CHARS:
            errors[f"{where}.dose"] = f"must be text of at most {MAX_DOSE_CHARS} characters"
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
            parsed.append(MedicationInput(rxcui=str(rxcui).strip(), dose=dose.strip()))
            continue
        name = med["name"]
        if not isinstance(name, str) or not name.strip():
            errors[f"{where}.name"] = "must be a non-empty string"
        elif len(name.strip()) > MAX_NAME_CHARS:
            errors[f"{where}.name"] = (
                f"is {len(name.strip()):,} characters; a medication name has at most {MAX_NAME_CHARS}"
            )
        else:
            parsed.append(MedicationInput(name=name.strip(), dose=dose.strip()))
    if errors:
        raise ScreeningInputError(errors)
    return patient, parsed
