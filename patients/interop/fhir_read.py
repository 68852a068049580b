"""Reading FHIR R4 data into what MTM keeps: plain data, no database.

The input is one or more files: a Bundle (collection, transaction, searchset, document), a single
resource, or NDJSON as a Bulk Data export writes it (one resource per line, one file per type).
Every resource is validated on its own with the fhir.resources R4B models, so that one bad resource
is reported (with its type/id, and its line for NDJSON) and the rest still reads. References are
resolved across all the files read together: `Patient/123`, a bundle's `urn:uuid:` fullUrls, an
absolute URL ending in Type/id, `#contained` ids, and conditional references by NPI
(`Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|123`).

What comes out is grouped per patient (`PatientData`), each item with where it came from (the
resource's Type/id and its lastUpdated), so that the import (patients/interop/fhir_import.py) can
recognise on a second import what it wrote on the first. Codes are kept: RxNorm and NDC for drugs,
ICD-10-CM and SNOMED CT for conditions, LOINC for observations, whose UCUM units are converted to
MTM's. Pharmacogenomic Observations (HL7 Genomics Reporting IG, and FHIR R4's own phenotype
example) become gene results: a phenotype in CPIC's words, or an HLA allele found or not. Pregnancy
status, breastfeeding status, smoking status (US Core), alcohol use and MTM's own diet Observations
become personal factors: the factor applies, or no longer does, on a date. What MTM does not keep is
skipped and counted by resource type.
"""

import datetime
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError as ModelError

from interactions.engine.request import GENES
from patients.models import HLA_GENES, PHENOTYPES_OF_GENE, REPRODUCTIVE_FACTORS, normalise_hla_allele
from patients.models import Factor as FactorKind

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
NDC = "http://hl7.org/fhir/sid/ndc"
NPI = "http://hl7.org/fhir/sid/us-npi"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"

READ = {
    "Patient", "MedicationRequest", "MedicationStatement", "MedicationDispense", "Medication",
    "AllergyIntolerance", "Condition", "Observation", "Practitioner", "PractitionerRole", "Organization",
}  # fmt: skip
NO_KNOWN_ALLERGY = {"716186003", "409137002", "428607008"}  # SNOMED: no known allergy / drug allergy


# --- What comes out ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Origin:
    """Where an item came from: the resource (Type/id) and when it was last changed there."""

    resource: str
    updated: datetime.datetime | None = None


@dataclass
class Medication:
    origin: Origin
    name: str  # as the source writes it (text, else the first coding's display)
    rxcuis: list[str]
    ndcs: list[str]
    directions: str
    reported: bool  # what the patient says they take (OTC, supplements), not a prescription
    active: bool
    start_date: datetime.date | None
    stop_date: datetime.date | None
    prescriber_npi: str = ""
    prescriber_name: str = ""
    stop_reason: str = ""
    indication: str = ""


@dataclass
class Fill:
    origin: Origin
    name: str
    rxcuis: list[str]
    ndcs: list[str]
    fill_date: datetime.date
    days_supply: int
    quantity: Decimal


@dataclass
class Allergy:
    origin: Origin
    substance: str
    reaction: str
    severity: str  # AllergySeverity value
    kind: str  # AllergyKind value
    active: bool
    noted_on: datetime.date | None


@dataclass
class Condition:
    origin: Origin
    system: str  # ICD10CM or SNOMED
    code: str
    display: str
    icd10_code: str  # when the source gives one ("" otherwise)
    active: bool
    onset_date: datetime.date | None
    resolved_date: datetime.date | None


@dataclass
class Observation:
    origin: Origin
    kind: str  # a patients.models.MeasurementKind value
    value: Decimal  # in MTM's unit for the kind (MEASUREMENT_UNITS)
    diastolic: Decimal | None
    measured_on: datetime.date
    loinc: str


@dataclass
class GeneResult:
    origin: Origin
    gene: str  # HGNC symbol, one of the screening's GENES
    phenotype: str  # CPIC's words, lower case ("poor metabolizer"); "" for HLA
    allele: str  # HLA: "*57:01"
    result: str  # HLA: "positive" or "negative"
    tested_on: datetime.date | None
    lab: str


@dataclass
class PatientFactor:
    """Pregnancy, breastfeeding or a habit as the source says it on a date: it applies (a current
    smoker, pregnant) or it does not (an ex-smoker, not pregnant, a habit whose period ended)."""

    origin: Origin
    factor: str  # a patients.models.Factor value
    applies: bool
    on: datetime.date
    detail: str = ""  # the Observation's note ("a beer or two most evenings")


@dataclass
class PatientData:
    key: str  # Type/id in the files read
    origin: Origin | None = None  # None when the files hold no Patient resource for these items
    identifiers: list[tuple[str, str]] = field(default_factory=list)  # (system, value)
    first_name: str = ""
    last_name: str = ""
    birth_date: datetime.date | None = None
    sex: str = ""
    phone: str = ""
    email: str = ""
    address_line1: str = ""
    address_line2: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""
    language: str = ""
    no_known_allergies: bool = False
    medications: list[Medication] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)
    allergies: list[Allergy] = field(default_factory=list)
    conditions: list[Condition] = field(default_factory=list)
    observations: list[Observation] = field(default_factory=list)
    gene_results: list[GeneResult] = field(default_factory=list)
    factors: list[PatientFactor] = field(default_factory=list)


@dataclass(frozen=True)
class Problem:
    where: str  # "MedicationRequest/abc (line 12 of MedicationRequest.000.ndjson)"
    reason: str


@dataclass
class FhirData:
    patients: dict[str, PatientData] = field(default_factory=dict)
    read: Counter = field(default_factory=Counter)  # resources read, by type
    skipped: Counter = field(default_factory=Counter)  # (type, why) -> how many
    problems: list[Problem] = field(default_factory=list)

    @property
    def items(self) -> int:
        return sum(
            len(p.medications)
            + len(p.fills)
            + len(p.allergies)
            + len(p.conditions)
            + len(p.observations)
            + len(p.gene_results)
            + len(p.factors)
            for p in self.patients.values()
        )


class Refused(Exception):
    """One resource that cannot be read, and why (reported; the others go on)."""


class Skipped(Exception):
    """A resource that is valid but holds nothing MTM can keep, and why (counted)."""


# --- Reading files ----------------------------------------------------------------------------------


@dataclass
class _Resource:
    data: dict
    model: object
    where: str
    keys: list[str]  # how others may refer to it


UNNAMED = "the import's patient"  # the key of what belongs to the patient an import was started from


PROGRESS_EVERY = 5_000  # NDJSON lines between two progress reports


def fhir_read(
    files: Iterable[tuple[str, bytes | str]],
    *,
    today: datetime.date,
    for_one_patient: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> FhirData:
    """Read files given as (name, content). Names ending in .ndjson are read a line at a time;
    anything else is one JSON document (a Bundle or a single resource). `for_one_patient` (an
    import started from a patient's page): what refers to a patient the files do not hold is that
    patient's, under the key UNNAMED. `progress(files done, resources read)` is told as it goes."""
    out = FhirData()
    resources: dict[str, _Resource] = {}  # by Type/id: a resource read twice is kept once
    for done, (name, content) in enumerate(files):
        text = content.decode("utf-8-sig") if isinstance(content, bytes) else content
        if name.lower().endswith(".ndjson"):
            for number, line in enumerate(text.splitlines(), start=1):
                if line.strip():
                    _parse(line, f"line {number} of {name}", out, resources)
                if progress and number % PROGRESS_EVERY == 0:
                    progress(done, sum(out.read.values()))
        else:
            _parse(text, name, out, resources)
        if progress:
            progress(done + 1, sum(out.read.values()))
    return _Reader(list(resources.values()), out, today, for_one_patient).run()


def _parse(text: str, where: str, out: FhirData, resources: dict[str, _Resource]) -> None:
    try:
        data = json.loads(text)
    except ValueError as error:
        out.problems.append(
            Problem(where, f"not valid JSON ({error.msg} at line {error.lineno}, column {error.colno})")
        )
        return
    if isinstance(data, dict) and "resourceType" not in data and "exportId" in data:
        out.skipped[("export log", "a line of the Bulk Data client's log, not data")] += 1
        return
    if not isinstance(data, dict) or not isinstance(data.get("resourceType"), str):
        out.problems.append(Problem(where, "not a FHIR resource (no resourceType)"))
        return
    if data["resourceType"] == "Bundle":
        for index, entry in enumerate(data.get("entry") or [], start=1):
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if not isinstance(resource, dict):
                out.problems.append(Problem(f"entry {index} of {where}", "the entry holds no resource"))
                continue
            _add(resource, f"entry {index} of {where}", out, resources, full_url=entry.get("fullUrl"))
        return
    _add(data, where, out, resources)


def _add(
    data: dict, where: str, out: FhirData, resources: dict[str, _Resource], full_url: str | None = None
) -> None:
    kind = data.get("resourceType")
    label = f"{kind}/{data.get('id')}" if data.get("id") else str(kind)
    where = f"{label} ({where})"
    if kind not in READ:
        out.skipped[(str(kind), "MTM does not keep this type of resource")] += 1
        return
    try:
        model = get_fhir_model_class(kind).model_validate(data)
    except ModelError as error:
        first = error.errors()[0]
        path = ".".join(str(part) for part in first["loc"]) or kind
        more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
        out.problems.append(Problem(where, f"fails the FHIR R4 model at {path}: {first['msg']}{more}"))
        return
    keys = [f"{kind}/{data['id']}"] if data.get("id") else []
    if isinstance(full_url, str) and full_url:
        keys.append(full_url)
    out.read[kind] += 1
    resource = _Resource(data, model, where, keys)
    earlier = resources.get(keys[0]) if keys else None
    if earlier is not None:  # the same resource in two files (a bundle and its Provenance's, say)
        out.skipped[(kind, "the same resource read twice (the later version kept)")] += 1
        if _updated(model) < _updated(earlier.model):
            return
    resources[keys[0] if keys else f"#{len(resources)}"] = resource


def _updated(model) -> datetime.datetime:
    meta = model.meta
    updated = meta.lastUpdated if meta is not None else None
    return updated or datetime.datetime.min.replace(tzinfo=datetime.UTC)


# --- From resources to what MTM keeps -----------------------------------------------------------------


class _Reader:
    def __init__(
        self, resources: list[_Resource], out: FhirData, today: datetime.date, for_one_patient: bool
    ):
        self.resources, self.out, self.today, self.for_one_patient = resources, out, today, for_one_patient
        self.by_key: dict[str, _Resource] = {}
        self.by_npi: dict[str, _Resource] = {}
        for resource in resources:
            for key in resource.keys:
                self.by_key[key] = resource
            if resource.data["resourceType"] == "Practitioner":
                npi = _identifier(resource.model, NPI)
                if npi:
                    self.by_npi[npi] = resource

    def run(self) -> FhirData:
        for resource in self.resources:
            if resource.data["resourceType"] == "Patient":
                self._patient(resource)
        readers = {
            "MedicationRequest": self._medication, "MedicationStatement": self._medication,
            "MedicationDispense": self._fill, "AllergyIntolerance": self._allergy, "Condition": self._condition,
            "Observation": self._observation,
        }  # fmt: skip
        for resource in self.resources:
            reader = readers.get(resource.data["resourceType"])
            if reader is None:
                continue
            try:
                reader(resource)
            except Refused as refusal:
                self.out.problems.append(Problem(resource.where, str(refusal)))
            except Skipped as skip:
                self.out.skipped[(resource.data["resourceType"], str(skip))] += 1
        return self.out

    # References

    def resolve(self, reference, *, within: _Resource | None = None) -> _Resource | None:
        target = getattr(reference, "reference", None)
        if not target:
            return None
        if target.startswith("#") and within is not None:
            for contained in within.data.get("contained") or []:
                if contained.get("id") == target[1:]:
                    kind = contained.get("resourceType")
                    model = get_fhir_model_class(kind).model_validate(contained)
                    return _Resource(contained, model, within.where, [])
            return None
        if target in self.by_key:
            return self.by_key[target]
        match = re.search(r"([A-Za-z]+/[A-Za-z0-9\-.]{1,64})(/_history/[^/]+)?$", target)
        if match and match.group(1) in self.by_key:
            return self.by_key[match.group(1)]
        npi = re.fullmatch(r"Practitioner\?identifier=" + re.escape(NPI) + r"\|(\d{10})", target)
        if npi:
            return self.by_npi.get(npi.group(1))
        return None

    def patient_of(self, resource: _Resource, reference) -> PatientData:
        target = getattr(reference, "reference", None)
        found = self.resolve(reference) if target else None
        if found is not None and found.data["resourceType"] == "Patient":
            return self.out.patients[found.keys[0]]
        if self.for_one_patient:
            return self.out.patients.setdefault(UNNAMED, PatientData(key=UNNAMED))
        if not target:
            raise Refused("it names no patient (subject or patient)")
        raise Refused(f"it refers to {target}, which is not among the resources read")

    def origin(self, resource: _Resource) -> Origin:
        meta = resource.model.meta
        updated = meta.lastUpdated if meta is not None else None
        return Origin(resource.keys[0] if resource.keys else resource.where, updated)

    def date(self, value, what: str) -> datetime.date | None:
        """A FHIR date or dateTime as a date, refused when it is after today."""
        if value is None:
            return None
        day = value.date() if isinstance(value, datetime.datetime) else value
        if not isinstance(day, datetime.date):  # a partial date (year or year-month)
            day = _partial_date(str(value))
        if day is not None and day > self.today:
            raise Refused(f"its {what} ({day.isoformat()}) is in the future")
        return day

    # Resources

    def _patient(self, resource: _Resource) -> None:
        model = resource.model
        patient = PatientData(
            key=resource.keys[0] if resource.keys else resource.where, origin=self.origin(resource)
        )
        patient.identifiers = [
            (identifier.system or "", identifier.value)
            for identifier in model.identifier or []
            if identifier.value
        ]
        names = model.name or []
        name = next((n for n in names if n.use == "official"), names[0] if names else None)
        if name is not None:
            patient.last_name = name.family or ""
            patient.first_name = " ".join(name.given or []) if name.given else ""
            if not (patient.last_name or patient.first_name) and name.text:
                *given, family = name.text.split()
                patient.first_name, patient.last_name = " ".join(given), family
        patient.sex = _sex(model)
        try:
            patient.birth_date = self.date(model.birthDate, "birth date")
        except Refused as refusal:
            self.out.problems.append(Problem(resource.where, str(refusal)))
        for telecom in model.telecom or []:
            if telecom.system == "phone" and telecom.value and not patient.phone:
                patient.phone = telecom.value
            elif telecom.system == "email" and telecom.value and not patient.email:
                patient.email = telecom.value
        address = next(iter(model.address or []), None)
        if address is not None:
            lines = list(address.line or [])
            patient.address_line1 = lines[0] if lines else ""
            patient.address_line2 = ", ".join(lines[1:])
            patient.city, patient.state = address.city or "", address.state or ""
            patient.postal_code = address.postalCode or ""
        for communication in model.communication or []:
            codes = [c.code for c in communication.language.coding or [] if c.code]
            if codes:
                patient.language = codes[0].split("-")[0].lower()
                if communication.preferred:
                    break
        self.out.patients[patient.key] = patient
        for key in resource.keys:
            self.out.patients.setdefault(key, patient)

    def _drug(self, resource: _Resource) -> tuple[str, list[str], list[str]]:
        """The drug of a MedicationRequest/Statement/Dispense: its name and codes."""
        model = resource.model
        concept = model.medicationCodeableConcept
        if concept is None and model.medicationReference is not None:
            medication = self.resolve(model.medicationReference, within=resource)
            if medication is not None and medication.data["resourceType"] == "Medication":
                concept = medication.model.code
            elif model.medicationReference.display:
                return model.medicationReference.display, [], []
            else:
                raise Refused(
                    f"its medication refers to {model.medicationReference.reference}, "
                    "which is not among the resources read"
                )
        if concept is None:
            raise Refused("it names no medication")
        codings = list(concept.coding or [])
        rxcuis = [c.code for c in codings if c.system == RXNORM and c.code]
        ndcs = [re.sub(r"\D", "", c.code) for c in codings if c.system == NDC and c.code]
        name = concept.text or next((c.display for c in codings if c.display), "")
        if not name:
            unknown = ", ".join(sorted({c.system or "no system" for c in codings})) or "none"
            if rxcuis or ndcs:
                name = f"RxNorm {rxcuis[0]}" if rxcuis else f"NDC {ndcs[0]}"
            else:
                raise Refused(
                    f"its medication has no name and no RxNorm or NDC code (code systems: {unknown})"
                )
        return name.strip()[:200], rxcuis, ndcs

    def _medication(self, resource: _Resource) -> None:
        model = resource.model
        kind = resource.data["resourceType"]
        if model.status in ("entered-in-error", "draft", "unknown", "not-taken"):
            self.out.skipped[(kind, f"status {model.status}")] += 1
            return
        patient = self.patient_of(resource, model.subject)
        name, rxcuis, ndcs = self._drug(resource)
        if kind == "MedicationRequest":
            active = model.status in ("active", "on-hold")
            reported = bool(model.reportedBoolean or model.reportedReference)
            start = self.date(model.authoredOn, "date written")
            dosage, requester = model.dosageInstruction, model.requester
            bounds = _bounds(dosage)
            start = start or self.date(bounds.start if bounds else None, "start date")
            stop = self.date(bounds.end if bounds else None, "end date")
        else:
            active = model.status in ("active", "intended")
            reported = False
            period = model.effectivePeriod
            start = self.date(model.effectiveDateTime or (period.start if period else None), "start date")
            stop = self.date(period.end if period else None, "end date")
            dosage, requester = model.dosage, model.informationSource
        prescriber_npi, prescriber_name = self._prescriber(requester)
        reason = (
            model.statusReason if kind == "MedicationRequest" else next(iter(model.statusReason or []), None)
        )
        reasons = model.reasonCode or []
        patient.medications.append(
            Medication(
                origin=self.origin(resource), name=name, rxcuis=rxcuis, ndcs=ndcs, directions=_directions(dosage),
                reported=reported, active=active, start_date=start, stop_date=None if active else stop,
                prescriber_npi=prescriber_npi, prescriber_name=prescriber_name,
                stop_reason=(_text(reason) if reason is not None else "")[:300],
                indication=(_text(reasons[0]) if reasons else "")[:200],
            )
        )  # fmt: skip

    def _prescriber(self, reference) -> tuple[str, str]:
        if reference is None:
            return "", ""
        found = self.resolve(reference)
        if found is not None and found.data["resourceType"] == "PractitionerRole":
            found = self.resolve(found.model.practitioner) if found.model.practitioner else None
        if found is not None and found.data["resourceType"] == "Practitioner":
            name = next(iter(found.model.name or []), None)
            full = " ".join([*(name.given or []), name.family or ""]).strip() if name is not None else ""
            return _identifier(found.model, NPI), full or (reference.display or "")
        npi = re.search(r"us-npi\|(\d{10})$", reference.reference or "")
        return (npi.group(1) if npi else ""), (reference.display or "")

    def _fill(self, resource: _Resource) -> None:
        model = resource.model
        if model.status != "completed":
            self.out.skipped[("MedicationDispense", f"status {model.status} (not handed over)")] += 1
            return
        patient = self.patient_of(resource, model.subject)
        name, rxcuis, ndcs = self._drug(resource)
        day = self.date(model.whenHandedOver or model.whenPrepared, "date handed over")
        if day is None:
            raise Refused("it has no date handed over (whenHandedOver)")
        days = model.daysSupply.value if model.daysSupply is not None else None
        if days is None:
            raise Skipped("no days supply (adherence cannot be computed without it)")
        if not 1 <= days <= 365:
            raise Refused(f"its days supply ({days if days is not None else 'none'}) is not 1 to 365")
        quantity = model.quantity.value if model.quantity is not None else None
        if quantity is None or quantity <= 0:
            raise Refused("it has no quantity above zero")
        patient.fills.append(
            Fill(self.origin(resource), name, rxcuis, ndcs, day, int(days), Decimal(str(quantity)))
        )

    def _allergy(self, resource: _Resource) -> None:
        model = resource.model
        verification = _code(model.verificationStatus)
        if verification in ("entered-in-error", "refuted"):
            self.out.skipped[("AllergyIntolerance", f"verification {verification}")] += 1
            return
        patient = self.patient_of(resource, model.patient)
        codes = {c.code for c in (model.code.coding or [])} if model.code is not None else set()
        if codes & NO_KNOWN_ALLERGY:
            patient.no_known_allergies = True
            return
        substance = (
            (model.code.text or next((c.display for c in model.code.coding or [] if c.display), ""))
            if model.code
            else ""
        )
        if not substance:
            raise Refused("it names no substance")
        reactions = []
        severity = {"high": "severe", "low": "mild"}.get(model.criticality or "", "unknown")
        for reaction in model.reaction or []:
            for manifestation in reaction.manifestation or []:
                text = manifestation.text or next(
                    (c.display for c in manifestation.coding or [] if c.display), ""
                )
                if text:
                    reactions.append(text)
            if reaction.severity:
                severity = reaction.severity
        status = _code(model.clinicalStatus) or "active"
        noted = self.date(model.recordedDate or model.onsetDateTime, "date recorded")
        patient.allergies.append(
            Allergy(
                origin=self.origin(resource), substance=substance[:200], reaction=", ".join(reactions)[:200],
                severity=severity, kind="intolerance" if model.type == "intolerance" else "allergy",
                active=status == "active", noted_on=noted,
            )
        )  # fmt: skip

    def _condition(self, resource: _Resource) -> None:
        model = resource.model
        verification = _code(model.verificationStatus)
        if verification in ("entered-in-error", "refuted"):
            self.out.skipped[("Condition", f"verification {verification}")] += 1
            return
        patient = self.patient_of(resource, model.subject)
        codings = list(model.code.coding or []) if model.code is not None else []
        icd = next((c for c in codings if c.system == ICD10CM and c.code), None)
        snomed = next((c for c in codings if c.system == SNOMED and c.code), None)
        chosen = icd or snomed
        if chosen is None:
            systems = ", ".join(sorted({c.system or "no system" for c in codings})) or "none"
            raise Refused(
                f"its code is in no system MTM reads (ICD-10-CM, SNOMED CT); systems given: {systems}"
            )
        display = (model.code.text or chosen.display or "").strip()
        status = _code(model.clinicalStatus) or "active"
        onset = self.date(
            model.onsetDateTime or (model.onsetPeriod.start if model.onsetPeriod else None), "onset"
        )
        abated = self.date(model.abatementDateTime, "date resolved")
        patient.conditions.append(
            Condition(
                origin=self.origin(resource), system=chosen.system, code=chosen.code.strip(), display=display[:300],
                icd10_code=icd.code.strip() if icd else "", active=status in ("active", "recurrence", "relapse"),
                onset_date=onset, resolved_date=abated,
            )
        )  # fmt: skip

    def _observation(self, resource: _Resource) -> None:
        model = resource.model
        if model.status in ("entered-in-error", "cancelled", "registered"):
            self.out.skipped[("Observation", f"status {model.status}")] += 1
            return
        loinc = next(
            (c.code for c in (model.code.coding or []) if c.system == LOINC and c.code in OBSERVED), None
        )
        factor = _factor_of(model) if loinc is None else None
        if factor is not None:
            self._factor(resource, factor)
            return
        if loinc is None and _is_genomic(model):
            self._gene_result(resource)
            return
        if loinc is None:
            self.out.skipped[("Observation", "a measurement MTM does not keep")] += 1
            return
        patient = self.patient_of(resource, model.subject)
        period = model.effectivePeriod
        day = self.date(model.effectiveDateTime or (period.start if period else None) or model.issued, "date")
        if day is None:
            raise Refused("it has no date (effective)")
        kind = OBSERVED[loinc]
        if kind == "blood_pressure":
            values = {}
            for component in model.component or []:
                code = next((c.code for c in component.code.coding or [] if c.system == LOINC), None)
                if code in ("8480-6", "8462-4"):
                    if component.dataAbsentReason is not None:
                        raise Skipped("a value is absent (dataAbsentReason)")
                    values[code] = _converted(component.valueQuantity, kind)
            if "8480-6" not in values or "8462-4" not in values:
                raise Refused(
                    "its blood pressure lacks the systolic (8480-6) or diastolic (8462-4) component"
                )
            value, diastolic = values["8480-6"], values["8462-4"].quantize(Decimal("0.1"))
        else:
            if model.dataAbsentReason is not None:
                raise Skipped("a value is absent (dataAbsentReason)")
            value, diastolic = _converted(model.valueQuantity, kind), None
        patient.observations.append(Observation(self.origin(resource), kind, value, diastolic, day, loinc))

    # Pregnancy, breastfeeding and habits

    def _factor(self, resource: _Resource, factor: str) -> None:
        """What the Observation says of the factor, on the date it says it. A period that ended says
        the factor no longer applies since its end."""
        model = resource.model
        patient = self.patient_of(resource, model.subject)
        if factor in REPRODUCTIVE_FACTORS and patient.sex == "male":
            raise Skipped(f"{FACTOR_STATUS[factor]} for a male patient")
        if model.dataAbsentReason is not None:
            raise Skipped("a value is absent (dataAbsentReason)")
        applies, detail = _factor_answer(model, factor)
        if applies is None:
            said = " ".join(_words(model.valueCodeableConcept)[:1]) or _code(model.valueCodeableConcept)
            raise Skipped(
                f"{FACTOR_STATUS[factor]} that says neither yes nor no" + (f" ({said})" if said else "")
            )
        period = model.effectivePeriod
        start = self.date(
            model.effectiveDateTime or (period.start if period else None) or model.issued, "date"
        )
        end = self.date(period.end if period else None, "end date")
        if start is None and end is None:
            raise Refused("it has no date (effective)")
        if applies and end is not None:  # it applied until the period's end
            applies, start = False, None
        on = start or end
        if factor == FactorKind.PREGNANT and applies and on < self.today - PREGNANCY_CURRENT_FOR:
            raise Skipped(
                f"a pregnancy status of more than {PREGNANCY_CURRENT_FOR.days // 7} weeks ago: no longer current"
            )
        notes = "; ".join(note.text.strip() for note in model.note or [] if note.text and note.text.strip())
        detail = (notes or detail)[:200]
        patient.factors.append(
            PatientFactor(self.origin(resource), factor, applies, on, detail if applies else "")
        )

    # Pharmacogenomic results

    def _gene_result(self, resource: _Resource) -> None:
        """A phenotype ("CYP2C19 poor metabolizer") or HLA alleles found or not ("HLA-B*57:01 positive")."""
        model = resource.model
        patient = self.patient_of(resource, model.subject)
        written = HLA_ALLELE_TEXT.findall(_texts(model))  # [("B", "57:01"), ...]
        alleles = list(dict.fromkeys(normalise_hla_allele(fields) for _, fields in written))
        hla_genes = {f"HLA-{letter.upper()}" for letter, _ in written}
        gene = self._gene_of(resource)
        if len(hla_genes) > 1 or (hla_genes and gene and gene not in hla_genes):
            raise Refused(f"its gene ({gene or ', '.join(sorted(hla_genes))}) and its alleles do not agree")
        gene = next(iter(hla_genes), gene)
        if gene is None:
            raise Skipped("a genomic result that names no gene (component 48018-6 “gene studied”)")
        if gene not in GENES:
            raise Skipped(f"a result for {gene}, a gene the screening does not use")
        period = model.effectivePeriod
        tested = self.date(
            model.effectiveDateTime or (period.start if period else None) or model.issued, "date"
        )
        found = []
        if gene in HLA_GENES:
            if not alleles:
                raise Skipped(f"an {gene} result that names no allele (such as {gene}*57:01)")
            result = _hla_result(model)
            if (
                result is None
                and _code_of(model.code, LOINC) not in FOUND_CODES
                and not _value_is_allele(model)
            ):
                raise Skipped(f"an {gene} result that says neither positive nor negative")
            if result == "negative" and len(alleles) > 1:
                raise Refused(f"it says negative for several {gene} alleles at once ({', '.join(alleles)})")
            # A genotype (or haplotype) lists the alleles found: each is carried.
            found = [(allele, "", result or "positive") for allele in alleles]
        else:
            words = "" if _code_of(model.code, LOINC) in FOUND_CODES else _phenotype_words(model, gene)
            if not words:
                raise Skipped(
                    "a genotype, haplotype or variant without the phenotype: MTM records the phenotype "
                    "a laboratory reports (poor metabolizer...)"
                )
            if words not in PHENOTYPES_OF_GENE.get(gene, ()):
                raise Skipped(f"{gene} phenotype “{words}” is not one of CPIC's terms for {gene}")
            found = [("", words, "")]
        lab = self._lab(model)
        for allele, phenotype, result in found:
            patient.gene_results.append(
                GeneResult(self.origin(resource), gene, phenotype, allele, result, tested, lab)
            )

    def _gene_of(self, resource: _Resource, *, depth: int = 0) -> str | None:
        """The gene studied: a component 48018-6, the R4 observation-geneticsGene extension, a
        gene-specific LOINC code or a gene named in the code's words; else the gene of the genotype
        the result is derived from."""
        model = resource.model
        for component in model.component or []:
            if _code_of(component.code, LOINC) == GENE_STUDIED and component.valueCodeableConcept is not None:
                return _gene_symbol(component.valueCodeableConcept)
        for extension in model.extension or []:
            if extension.url == GENE_EXTENSION and extension.valueCodeableConcept is not None:
                return _gene_symbol(extension.valueCodeableConcept)
        code = _code_of(model.code, LOINC)
        if code == GENE_STUDIED and model.valueCodeableConcept is not None:
            gene = _gene_symbol(model.valueCodeableConcept)
            if gene and not HLA_ALLELE_TEXT.search(gene):
                return gene
        if code in GENE_OF_CODE:
            return GENE_OF_CODE[code]
        words = " ".join([model.code.text or "", *(c.display or "" for c in model.code.coding or [])]).upper()
        named = [gene for gene in GENES if re.search(rf"(?<![\w-]){re.escape(gene)}(?![\w-])", words)]
        if len(named) == 1:
            return named[0]
        if depth == 0:
            for reference in model.derivedFrom or []:
                found = self.resolve(reference)
                if found is not None and found.data["resourceType"] == "Observation":
                    gene = self._gene_of(found, depth=1)
                    if gene:
                        return gene
        return None

    def _lab(self, model) -> str:
        for reference in model.performer or []:
            found = self.resolve(reference)
            if found is not None and found.data["resourceType"] == "Organization" and found.model.name:
                return found.model.name[:200]
            if reference.display:
                return reference.display[:200]
        return ""


def _is_genomic(model) -> bool:
    profiles = (model.meta.profile or []) if model.meta is not None else []
    codes = {c.code for c in model.code.coding or [] if c.system == LOINC}
    components = {_code_of(c.code, LOINC) for c in model.component or []}
    return (
        any(str(p).startswith(GENOMICS_PROFILE) for p in profiles)
        or bool(codes & GENOMIC_CODES)
        or any(c.code == "therapeutic-implication" for c in model.code.coding or [])
        or bool(components & {GENE_STUDIED, DRUG_METABOLISM})
        or any(e.url == GENE_EXTENSION for e in model.extension or [])
        or bool(HLA_ALLELE_TEXT.search(" ".join(_words(model.code))))  # "HLA-B*57:01 [Presence] ..."
    )


def _factor_of(model) -> str | None:
    """The factor an Observation is about: by its LOINC code, or (MTM's diet Observations, which
    no standard code names) by the factor's words as the code's only content, in social history."""
    for coding in model.code.coding or []:
        if coding.system == LOINC and coding.code in FACTOR_OF_CODE:
            return FACTOR_OF_CODE[coding.code]
    if model.code.coding or not model.code.text:
        return None
    categories = {c.code for concept in model.category or [] for c in concept.coding or []}
    if "social-history" not in categories:
        return None
    return DIET_WORDS.get(" ".join(model.code.text.lower().split()))


def _factor_answer(model, factor: str) -> tuple[bool | None, str]:
    """Whether the factor applies (None: the Observation does not say), and what the value adds."""
    if factor in DIET_FACTORS:  # MTM's own: true, or false when no longer
        return (model.valueBoolean is not False), model.valueString or ""
    if _code_of(model.code, LOINC) == ALCOHOL_PER_DAY:
        quantity = model.valueQuantity
        if quantity is None or quantity.value is None:
            return None, ""
        drinks = _number(quantity.value)
        return quantity.value > 0, f"{drinks} drink{'' if drinks == '1' else 's'} a day"
    if model.valueBoolean is not None:
        return model.valueBoolean, ""
    answers = FACTOR_ANSWERS[factor]
    concept = model.valueCodeableConcept
    for coding in (concept.coding or []) if concept is not None else []:
        if (coding.system, coding.code) in answers:
            return answers[(coding.system, coding.code)], ""
    return None, ""


def _code_of(concept, system: str) -> str | None:
    if concept is None:
        return None
    return next((c.code for c in concept.coding or [] if c.system == system and c.code), None)


def _words(concept) -> list[str]:
    if concept is None:
        return []
    return [text for text in [concept.text, *(c.display for c in concept.coding or [])] if text]


def _texts(model) -> str:
    """Every word of the result where an HLA allele may be written: its code, value and components."""
    parts = [*_words(model.code), *_words(model.valueCodeableConcept), model.valueString or ""]
    for component in model.component or []:
        parts += [
            *_words(component.code),
            *_words(component.valueCodeableConcept),
            component.valueString or "",
        ]
    return " ".join(parts)


def _gene_symbol(concept) -> str | None:
    """The HGNC symbol ("CYP2C19") of a gene given as a coding's display or a text; a bare HGNC id
    ("HGNC:2621") is not translated (a wrong gene would be worse than none)."""
    texts = [t.strip().upper() for t in _words(concept) + [c.code for c in concept.coding or [] if c.code]]
    texts = [t for t in texts if t and not re.fullmatch(r"(HGNC:)?\d+", t)]
    for text in texts:
        named = [gene for gene in GENES if re.search(rf"(?<![\w-]){re.escape(gene)}(?![\w-])", text)]
        if len(named) == 1:
            return named[0]
    return texts[0] if texts else None


def _phenotype_words(model, gene: str) -> str:
    """The phenotype in CPIC's words: "Poor Metabolizer", "CYP2C19 poor metaboliser" and the
    pre-2017 "extensive metabolizer" are "poor metabolizer" and "normal metabolizer"."""
    concept = next(
        (c.valueCodeableConcept for c in model.component or [] if _code_of(c.code, LOINC) == DRUG_METABOLISM),
        None,
    )
    if concept is None and _code_of(model.code, LOINC) != GENE_STUDIED:  # whose value is the gene
        concept = model.valueCodeableConcept
    texts = _words(concept) + ([model.valueString] if model.valueString and concept is None else [])
    written = []
    for text in texts:
        words = " ".join(text.lower().replace("metaboliser", "metabolizer").split())
        words = re.sub(rf"^{re.escape(gene.lower())}\s+", "", words)
        written.append(OLD_PHENOTYPE_WORDS.get(words, words))
    answer = PHENOTYPE_ANSWERS.get(_code_of(concept, LOINC) or "")
    candidates = written + ([answer] if answer else [])
    known = PHENOTYPES_OF_GENE.get(gene, set())
    return next((words for words in candidates if words in known), candidates[0] if candidates else "")


def _value_is_allele(model) -> bool:
    return bool(HLA_ALLELE_TEXT.search(" ".join(_words(model.valueCodeableConcept))))


def _hla_result(model) -> str | None:
    """positive or negative, from the interpretation or the value (POS/NEG, detected, present...)."""
    concepts = [*(model.interpretation or []), model.valueCodeableConcept]
    concepts += [
        c.valueCodeableConcept for c in model.component or [] if _code_of(c.code, LOINC) != GENE_STUDIED
    ]
    texts = [text for concept in concepts for text in _words(concept)]
    texts += [c.code for concept in concepts if concept is not None for c in concept.coding or [] if c.code]
    texts += [model.valueString or ""]
    for text in texts:
        word = " ".join(text.lower().split())
        if word in NEGATIVE_WORDS:
            return "negative"
        if word in POSITIVE_WORDS:
            return "positive"
    return None


# --- Codes, units, dosage -------------------------------------------------------------------------------

# LOINC codes MTM keeps, by measurement kind (US Core vital signs and the labs the screening uses;
# older codes too, as Synthea writes them).
OBSERVED = {
    "29463-7": "weight", "3141-9": "weight",
    "8302-2": "height", "8306-3": "height",
    "2160-0": "serum_creatinine", "38483-4": "serum_creatinine", "14682-9": "serum_creatinine",
    "33914-3": "egfr", "48642-3": "egfr", "48643-1": "egfr", "62238-1": "egfr", "98979-8": "egfr",
    "50044-7": "egfr", "88293-6": "egfr", "88294-4": "egfr", "69405-9": "egfr",
    "2823-3": "potassium", "6298-4": "potassium",
    "6301-6": "inr", "34714-6": "inr",
    "4548-4": "a1c", "17856-6": "a1c",
    "8636-3": "qtc",
    "85354-9": "blood_pressure", "55284-4": "blood_pressure",
}  # fmt: skip

# Pharmacogenomics (HL7 Genomics Reporting IG; LOINC).
GENOMICS_PROFILE = "http://hl7.org/fhir/uv/genomics-reporting/StructureDefinition/"
GENE_EXTENSION = "http://hl7.org/fhir/StructureDefinition/observation-geneticsGene"  # FHIR R4's own
GENE_STUDIED = "48018-6"  # Gene studied [ID]
DRUG_METABOLISM = "53040-2"  # Genetic variation's effect on drug metabolism
GENOTYPE = "84413-4"  # Genotype display name
# What was found (a genotype, a haplotype, a variant): an HLA allele in one is carried; another gene's
# needs its phenotype, which MTM records, not the alleles it comes from.
FOUND_CODES = {GENOTYPE, "84414-2", "69548-6"}
# "<gene> gene product metabolic activity interpretation in Blood or Tissue Qualitative by CPIC"
GENE_OF_CODE = {"79714-2": "CYP2C19", "79715-9": "CYP2D6", "79716-7": "CYP2C9"}
GENOMIC_CODES = {GENE_STUDIED, DRUG_METABOLISM, *FOUND_CODES, *GENE_OF_CODE}
PHENOTYPE_ANSWERS = {  # LOINC answers (LL3856-3), read only when the value has no words
    "LA10315-2": "ultrarapid metabolizer", "LA25390-8": "rapid metabolizer", "LA25391-6": "normal metabolizer",
    "LA10317-8": "intermediate metabolizer", "LA9657-3": "poor metabolizer",
}  # fmt: skip
OLD_PHENOTYPE_WORDS = {"extensive metabolizer": "normal metabolizer"}  # CPIC's terms before 2017
HLA_ALLELE_TEXT = re.compile(r"HLA-([AB])\s*\*\s*(\d{2}:\d{2}(?::\d{2,3})*)(?![\d:A-Z])", re.IGNORECASE)
POSITIVE_WORDS = {"positive", "pos", "detected", "det", "present", "carrier", "high risk"}
NEGATIVE_WORDS = {"negative", "neg", "not detected", "nd", "absent", "non-carrier", "low risk"}

# Pregnancy, breastfeeding and habits (patients.models.Factor) as social-history Observations.
PREGNANCY_STATUS = "82810-3"  # Pregnancy status: US Core Pregnancy Status
BREASTFEEDING_STATUS = "63895-7"  # Breastfeeding status
SMOKING_STATUS = "72166-2"  # Tobacco smoking status: US Core Smoking Status
TOBACCO_USE = "11367-0"  # History of tobacco use: US Core Smoking Status allows it too
ALCOHOL_USE = "11331-6"  # History of alcohol use (as US Core's alcohol use example)
ALCOHOL_PER_DAY = "74013-4"  # Alcoholic drinks per day (a number)
FACTOR_OF_CODE = {
    PREGNANCY_STATUS: FactorKind.PREGNANT, BREASTFEEDING_STATUS: FactorKind.BREASTFEEDING,
    SMOKING_STATUS: FactorKind.SMOKING, TOBACCO_USE: FactorKind.SMOKING,
    ALCOHOL_USE: FactorKind.ALCOHOL, ALCOHOL_PER_DAY: FactorKind.ALCOHOL,
}  # fmt: skip
FACTOR_STATUS = {
    FactorKind.PREGNANT: "a pregnancy status", FactorKind.BREASTFEEDING: "a breastfeeding status",
    FactorKind.SMOKING: "a smoking status", FactorKind.ALCOHOL: "an alcohol use status",
}  # fmt: skip
# What each answer says: the factor applies (True) or does not (False). Other answers (unknown,
# possible pregnancy, unknown if ever smoked...) say neither and are skipped.
FACTOR_ANSWERS = {
    FactorKind.PREGNANT: {
        (SNOMED, "77386006"): True, (LOINC, "LA15173-0"): True,  # Pregnant
        (SNOMED, "60001007"): False, (LOINC, "LA26683-5"): False,  # Not pregnant
    },
    FactorKind.BREASTFEEDING: {
        (LOINC, "LA29252-6"): True,  # Currently breastfeeding
        (LOINC, "LA29253-4"): False,  # Not currently breastfeeding
    },
    FactorKind.SMOKING: {  # US Core's smoking status values (SNOMED CT)
        (SNOMED, "449868002"): True,  # Smokes tobacco daily (current every day smoker)
        (SNOMED, "428041000124106"): True,  # Occasional tobacco smoker (current some day smoker)
        (SNOMED, "77176002"): True,  # Smoker (current status unknown)
        (SNOMED, "428071000124103"): True,  # Heavy tobacco smoker
        (SNOMED, "428061000124105"): True,  # Light tobacco smoker
        (SNOMED, "8517006"): False,  # Ex-smoker (former smoker)
        (SNOMED, "266919005"): False,  # Never smoked tobacco
    },
    FactorKind.ALCOHOL: {
        (SNOMED, "219006"): True,  # Current drinker of alcohol
        (SNOMED, "228276006"): True,  # Occasional drinker
        (SNOMED, "228277002"): True,  # Light drinker
        (SNOMED, "43783005"): True,  # Moderate drinker
        (SNOMED, "228279004"): True,  # Heavy drinker
        (SNOMED, "228281002"): True,  # Problem drinker
        (SNOMED, "105542008"): False,  # Non-drinker of alcohol
        (SNOMED, "82581004"): False,  # Former drinker
    },
}  # fmt: skip
# No standard code says "eats grapefruit" or "a vitamin K-rich diet": MTM writes these as
# Observations whose code is the factor's words alone (category social-history), and reads them back
# by those words (the value as stored, or the label shown).
DIET_FACTORS = (
    FactorKind.GRAPEFRUIT, FactorKind.VITAMIN_K, FactorKind.TYRAMINE, FactorKind.DAIRY,
    FactorKind.CAFFEINE, FactorKind.HIGH_POTASSIUM, FactorKind.LICORICE,
)  # fmt: skip
DIET_WORDS = {
    words.lower(): factor.value for factor in DIET_FACTORS for words in (factor.value, factor.label)
}
# A pregnancy seen longer ago than the longest term is over, whatever the source last said.
PREGNANCY_CURRENT_FOR = datetime.timedelta(weeks=42)

# UCUM unit -> factor to MTM's unit, per kind (creatinine in µmol/L: 1 mg/dL = 88.42 µmol/L).
UNITS = {
    "weight": {"kg": Decimal(1), "g": Decimal("0.001"), "[lb_av]": Decimal("0.45359237")},
    "height": {"cm": Decimal(1), "m": Decimal(100), "[in_i]": Decimal("2.54")},
    "serum_creatinine": {"mg/dL": Decimal(1), "umol/L": 1 / Decimal("88.42")},
    "egfr": {"mL/min/{1.73_m2}": Decimal(1), "mL/min/1.73m2": Decimal(1), "mL/min": Decimal(1)},
    "potassium": {"mmol/L": Decimal(1), "meq/L": Decimal(1), "mEq/L": Decimal(1)},
    "inr": {"{INR}": Decimal(1), "{ratio}": Decimal(1), "1": Decimal(1), "{Ratio}": Decimal(1)},
    "a1c": {"%": Decimal(1)},
    "blood_pressure": {"mm[Hg]": Decimal(1), "mmHg": Decimal(1)},
    "qtc": {"ms": Decimal(1), "s": Decimal(1000)},
}


def _converted(quantity, kind: str) -> Decimal:
    if quantity is None or quantity.value is None:
        raise Refused("it has no value (valueQuantity)")
    unit = quantity.code or quantity.unit or ""
    factor = UNITS[kind].get(unit)
    if factor is None and kind == "inr" and not unit:
        factor = Decimal(1)  # an INR is a ratio: no unit is its unit
    if factor is None:
        known = ", ".join(UNITS[kind])
        raise Refused(f"its unit “{unit or 'none'}” is not one MTM converts for this measurement ({known})")
    try:
        return (Decimal(str(quantity.value)) * factor).quantize(Decimal("0.01"))
    except InvalidOperation as error:
        raise Refused(f"its value {quantity.value} is not a number MTM keeps") from error


PERIOD_WORDS = {"h": "hour", "d": "day", "wk": "week", "mo": "month"}


def _directions(dosages) -> str:
    """The sig: the dosage's text when it has one; otherwise written from its structure
    ("1 tablet twice a day", "every 8 hours as needed")."""
    if not dosages:
        return ""
    dosage = dosages[0]
    if dosage.text:
        return dosage.text.strip()[:300]
    parts = []
    for dose_rate in dosage.doseAndRate or []:
        quantity = dose_rate.doseQuantity
        if quantity is not None and quantity.value is not None:
            parts.append(f"{_number(quantity.value)} {quantity.unit or ''}".strip())
            break
    repeat = dosage.timing.repeat if dosage.timing is not None else None
    if repeat is not None and repeat.period and repeat.periodUnit in PERIOD_WORDS:
        unit, frequency, period = (
            PERIOD_WORDS[repeat.periodUnit],
            repeat.frequency or 1,
            _number(repeat.period),
        )
        if period == "1":
            words = {1: "once", 2: "twice"}.get(frequency, f"{frequency} times")
            parts.append(f"{words} a {unit}")
        elif frequency == 1:
            parts.append(f"every {period} {unit}s")
        else:
            parts.append(f"{frequency} times every {period} {unit}s")
    if dosage.asNeededBoolean or dosage.asNeededCodeableConcept is not None:
        parts.append("as needed")
    return " ".join(parts)[:300]


def _bounds(dosages):
    timing = dosages[0].timing if dosages else None
    repeat = timing.repeat if timing is not None else None
    return repeat.boundsPeriod if repeat is not None else None


def _text(concept) -> str:
    return concept.text or next((c.display for c in concept.coding or [] if c.display), "")


def _number(value) -> str:
    text = f"{Decimal(str(value)).normalize():f}"
    return text


SEX_EXTENSIONS = {
    # US Core 6+: individual sex (SNOMED), and the older birth sex (F/M).
    "http://hl7.org/fhir/us/core/StructureDefinition/us-core-individual-sex": {
        "248152002": "female",
        "248153007": "male",
    },
    "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex": {"F": "female", "M": "male"},
}


def _sex(model) -> str:
    if model.gender in ("female", "male"):
        return model.gender
    for extension in model.extension or []:
        codes = SEX_EXTENSIONS.get(extension.url)
        if codes:
            value = extension.valueCode or (extension.valueCoding.code if extension.valueCoding else None)
            if value in codes:
                return codes[value]
    return "other"


def _code(concept) -> str:
    if concept is None:
        return ""
    return next((c.code for c in concept.coding or [] if c.code), "")


def _identifier(model, system: str) -> str:
    return next((i.value for i in model.identifier or [] if i.system == system and i.value), "")


def _partial_date(text: str) -> datetime.date | None:
    match = re.match(r"(\d{4})(?:-(\d{2}))?", text)
    if not match:
        return None
    return datetime.date(int(match.group(1)), int(match.group(2) or 1), 1)


def files_in(paths: Iterable) -> Iterator[tuple[str, bytes]]:
    """(name, content) of each .json and .ndjson file in the paths given (files or folders)."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.iterdir()):
                if child.suffix.lower() in (".json", ".ndjson") and child.is_file():
                    yield child.name, child.read_bytes()
        else:
            yield path.name, path.read_bytes()
