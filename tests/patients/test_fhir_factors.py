"""Pregnancy, breastfeeding and habits imported from FHIR (patients/interop/fhir_read.py reads,
fhir_import.py proposes): US Core Pregnancy Status and Smoking Status, breastfeeding status, alcohol
use and MTM's own diet Observations, proposed as lines the pharmacist accepts, never for a male
patient's pregnancy, ended when the source says they no longer apply, and nothing new on a second
import. The examples others wrote (US Core, Synthea, Inferno) are read as they are."""

import copy
import datetime
import json
from pathlib import Path

import pytest

from mtm.audit import Actor
from patients import services
from patients.interop.fhir_import import fhir_import_request, import_lines_apply, import_plan
from patients.interop.fhir_read import LOINC, SNOMED, fhir_read, files_in
from patients.models import FactorStatus, LineAction, LineDecision, Patient
from tests import factories

EXAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "fhir-examples"
SOCIAL_HISTORY = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                              "code": "social-history"}]}  # fmt: skip


def days_ago(days: int) -> str:
    return (factories.today() - datetime.timedelta(days=days)).isoformat()


def status(id_, loinc, system, code, display, *, on=None, **fields):
    """A status Observation as US Core writes them: a LOINC question, a coded answer."""
    return {"resourceType": "Observation", "id": id_, "status": "final", "category": [SOCIAL_HISTORY],
            "code": {"coding": [{"system": LOINC, "code": loinc}]}, "subject": {"reference": "Patient/p1"},
            "effectiveDateTime": on or days_ago(10),
            "valueCodeableConcept": {"coding": [{"system": system, "code": code, "display": display}], "text": display},
            **fields}  # fmt: skip


def diet(id_, words, *, start=None, end=None, note=None):
    """MTM's own diet Observation: no standard code, the factor's words."""
    period = {"start": start or days_ago(30), **({"end": end} if end else {})}
    return {"resourceType": "Observation", "id": id_, "status": "final", "category": [SOCIAL_HISTORY],
            "code": {"text": words}, "subject": {"reference": "Patient/p1"}, "effectivePeriod": period,
            "valueBoolean": True, **({"note": [{"text": note}]} if note else {})}  # fmt: skip


def bundle(*observations, sex="female"):
    patient = {"resourceType": "Patient", "id": "p1", "name": [{"family": "Lindqvist", "given": ["Ingrid"]}],
               "identifier": [{"system": "http://clinic.example.org/mrn", "value": "L-7"}],
               "birthDate": "1990-04-02", "gender": sex}  # fmt: skip
    return {"resourceType": "Bundle", "type": "collection",
            "entry": [{"resource": r} for r in (patient, *observations)]}  # fmt: skip


def run_import(user, files, *, target=None, source="Clinic EHR"):
    if isinstance(files, dict):
        files = [("record.json", json.dumps(files).encode())]
    job = fhir_import_request(user=user, files=files, source_system=source, by=Actor(user),
                              target_patient=target, queue=False)  # fmt: skip
    return import_plan(job)


def factor_lines(job, **filters):
    return list(job.lines.filter(category="factor", **filters).order_by("number"))


def skipped(job) -> dict[str, int]:
    return {item["why"]: item["count"] for item in job.report["skipped"].get("Observation", [])}


def accept_all(job, user):
    result = import_lines_apply(job=job, line_ids=None, by=Actor(user))
    assert result["refused"] == 0, result["reasons"]
    return result


def test_each_shape_is_proposed_and_written_with_its_source(org, pharmacist):
    job = run_import(pharmacist, bundle(
        status("preg", "82810-3", SNOMED, "77386006", "Pregnant", note=[{"text": "due in March"}]),
        status("bf", "63895-7", LOINC, "LA29252-6", "Currently breastfeeding", on=days_ago(3)),
        status("smoke", "72166-2", SNOMED, "449868002", "Smokes tobacco daily", on=days_ago(40)),
        {**status("drinks", "74013-4", SNOMED, "", "", on=days_ago(20)), "valueCodeableConcept": None,
         "valueQuantity": {"value": 2, "unit": "{drinks}/d"}},
        diet("gf", "Eats grapefruit or drinks grapefruit juice", note="juice every morning"),
        diet("lic", "licorice", start=days_ago(60)),
    ))  # fmt: skip
    assert job.report["problems"] == []
    assert sorted(line.summary for line in factor_lines(job)) == sorted([
        f"Add to pregnancy, diet and habits: Pregnant: due in March (noted {factories.today() - datetime.timedelta(days=10):%m/%d/%Y})",
        f"Add to pregnancy, diet and habits: Breastfeeding (noted {factories.today() - datetime.timedelta(days=3):%m/%d/%Y})",
        f"Add to pregnancy, diet and habits: Smokes (noted {factories.today() - datetime.timedelta(days=40):%m/%d/%Y})",
        f"Add to pregnancy, diet and habits: Drinks alcohol: 2 drinks a day (noted {factories.today() - datetime.timedelta(days=20):%m/%d/%Y})",
        f"Add to pregnancy, diet and habits: Eats grapefruit or drinks grapefruit juice: juice every morning (noted {factories.today() - datetime.timedelta(days=30):%m/%d/%Y})",
        f"Add to pregnancy, diet and habits: Eats licorice (noted {factories.today() - datetime.timedelta(days=60):%m/%d/%Y})",
    ])  # fmt: skip
    accept_all(job, pharmacist)
    ingrid = Patient.objects.get(last_name="Lindqvist")
    assert sorted((f.factor, f.detail, f.noted_on.isoformat()) for f in ingrid.factors.all()) == [
        ("alcohol", "2 drinks a day", days_ago(20)), ("breastfeeding", "", days_ago(3)),
        ("grapefruit", "juice every morning", days_ago(30)), ("licorice", "", days_ago(60)),
        ("pregnant", "due in March", days_ago(10)), ("smoking", "", days_ago(40)),
    ]  # fmt: skip
    smoking = ingrid.factors.get(factor="smoking")
    assert (smoking.source_system, smoking.source_record) == ("Clinic EHR", "Observation/smoke")


def test_the_same_file_again_proposes_nothing_and_a_newer_status_ends_the_factor(org, pharmacist):
    first = bundle(status("smoke", "72166-2", SNOMED, "77176002", "Smoker", on=days_ago(400)),
                   diet("gf", "grapefruit", start=days_ago(300)))  # fmt: skip
    accept_all(run_import(pharmacist, first), pharmacist)
    again = run_import(pharmacist, copy.deepcopy(first))
    assert not again.lines.filter(decision=LineDecision.PENDING).exists()
    assert {line.action for line in factor_lines(again)} == {LineAction.SAME}

    later = bundle(
        status("smoke", "72166-2", SNOMED, "77176002", "Smoker", on=days_ago(400)),
        status("smoke-2", "72166-2", SNOMED, "8517006", "Ex-smoker", on=days_ago(30)),
        diet("gf", "grapefruit", start=days_ago(300), end=days_ago(10)),
    )  # fmt: skip
    job = run_import(pharmacist, later)
    stops = factor_lines(job, decision=LineDecision.PENDING)
    assert [(line.action, line.summary.split(":")[0]) for line in stops] == [
        (LineAction.STOP, "Smokes"), (LineAction.STOP, "Eats grapefruit or drinks grapefruit juice")]  # fmt: skip
    accept_all(job, pharmacist)
    ingrid = Patient.objects.get(last_name="Lindqvist")
    assert sorted((f.factor, f.status, f.ended_on.isoformat()) for f in ingrid.factors.all()) == [
        ("grapefruit", FactorStatus.ENDED, days_ago(10)), ("smoking", FactorStatus.ENDED, days_ago(30))]  # fmt: skip
    assert not run_import(pharmacist, later).lines.filter(decision=LineDecision.PENDING).exists()
    # The older export, imported again after the factor ended here, does not bring it back.
    assert not run_import(pharmacist, first).lines.filter(decision=LineDecision.PENDING).exists()


def test_never_smoked_not_pregnant_and_unknown_answers_propose_nothing(org, pharmacist):
    job = run_import(pharmacist, bundle(
        status("never", "72166-2", SNOMED, "266919005", "Never smoked tobacco"),
        status("not-preg", "82810-3", SNOMED, "60001007", "Not pregnant"),
        status("non-drinker", "11331-6", SNOMED, "105542008", "Non-drinker of alcohol"),
        status("unknown", "72166-2", SNOMED, "266927001", "Tobacco smoking consumption unknown"),
    ))  # fmt: skip
    assert factor_lines(job) == [] and job.report["problems"] == []
    assert skipped(job) == {
        "a smoking status that says neither yes nor no (Tobacco smoking consumption unknown)": 1
    }


def test_a_male_patients_pregnancy_is_skipped_with_the_reason(org, pharmacist, patient):
    """The Inferno US Quality Core bundle: a male patient with a "Pregnant" status and an occasional
    smoker's status, as the example has them."""
    job = run_import(
        pharmacist, list(files_in([EXAMPLES / "other-inferno" / "us_quality_core_bundle_patient.json"]))
    )
    assert skipped(job)["a pregnancy status for a male patient"] == 1
    [line] = factor_lines(job)
    assert line.summary == "Add to pregnancy, diet and habits: Smokes (noted 03/18/2016)"
    # Imported from a patient's page, the file's patient is ours: the record here says male.
    patient.sex = "male"
    patient.save(update_fields=["sex"])
    unnamed = bundle(status("preg", "82810-3", SNOMED, "77386006", "Pregnant"))
    del unnamed["entry"][0]
    del unnamed["entry"][0]["resource"]["subject"]
    job = run_import(pharmacist, unnamed, target=patient)
    assert factor_lines(job) == []
    assert job.report["problems"] == [
        {"where": "Observation/preg", "reason": "Pregnant for a patient recorded as male: not imported"}
    ]


def test_an_old_pregnancy_status_is_no_longer_current(org, pharmacist):
    job = run_import(
        pharmacist, bundle(status("preg", "82810-3", SNOMED, "77386006", "Pregnant", on=days_ago(300)))
    )
    assert factor_lines(job) == []
    assert skipped(job) == {"a pregnancy status of more than 42 weeks ago: no longer current": 1}


def test_the_us_core_examples_propose_smoking_and_alcohol_for_amy(org, pharmacist):
    """US Core 9's own examples: a some-day smoker (a period from 2016), an occasional drinker and
    0 drinks a day on the same day (she drinks: the answer that applies wins a tie), and a pregnancy
    status from 2022 (too old to be current)."""
    job = run_import(pharmacist, list(files_in([EXAMPLES / "us-core"])))
    assert sorted(line.summary for line in factor_lines(job)) == [
        "Add to pregnancy, diet and habits: Drinks alcohol (noted 08/03/2023)",
        "Add to pregnancy, diet and habits: Smokes (noted 03/18/2016)",
    ]
    assert skipped(job)["a pregnancy status of more than 42 weeks ago: no longer current"] == 1


def test_synthea_smoking_statuses_are_read_and_only_a_smoker_is_proposed(org, pharmacist):
    """Synthea writes a tobacco smoking status (72166-2) at each wellness visit; in these four
    patients every one says "Never smoker", which proposes nothing. The same Observation saying
    "Smokes tobacco daily" proposes the factor."""
    files = list(files_in([EXAMPLES / "synthea"]))
    data = fhir_read(files, today=factories.today())
    smoking = [f for p in {id(p): p for p in data.patients.values()}.values() for f in p.factors]
    assert len(smoking) >= 40 and {(f.factor, f.applies) for f in smoking} == {("smoking", False)}
    job = run_import(pharmacist, files)
    assert factor_lines(job) == []

    name, content = next((n, c) for n, c in files if n.startswith("Louie_Jast"))
    record = json.loads(content)
    statuses = [e["resource"] for e in record["entry"] if e["resource"]["resourceType"] == "Observation"
                and e["resource"]["code"]["coding"][0]["code"] == "72166-2"]  # fmt: skip
    latest = max(statuses, key=lambda r: r["effectiveDateTime"])
    latest["valueCodeableConcept"] = {"coding": [{"system": SNOMED, "code": "449868002",
                                                  "display": "Smokes tobacco daily (finding)"}]}  # fmt: skip
    [line] = factor_lines(run_import(pharmacist, [(name, json.dumps(record).encode())], source="Synthea"))
    assert line.summary == "Add to pregnancy, diet and habits: Smokes (noted 06/25/2020)"


@pytest.mark.parametrize(
    "observation, why",
    [
        (status("bf", "63895-7", LOINC, "LA4489-6", "Unknown"), "a breastfeeding status that says neither yes nor no (Unknown)"),
        ({**status("dar", "82810-3", SNOMED, "77386006", "Pregnant"), "valueCodeableConcept": None,
          "dataAbsentReason": {"coding": [{"code": "asked-unknown"}]}}, "a value is absent (dataAbsentReason)"),
        ({**diet("lab", "Caffeine"), "category": [{"coding": [{"code": "laboratory"}]}]}, "a measurement MTM does not keep"),
    ],
)  # fmt: skip
def test_what_is_not_a_yes_or_no_is_skipped_with_why(org, pharmacist, observation, why):
    job = run_import(pharmacist, bundle(observation))
    assert factor_lines(job) == [] and skipped(job) == {why: 1}


def test_a_detail_changed_at_the_same_source_is_proposed_as_a_change(org, pharmacist):
    accept_all(run_import(pharmacist, bundle(diet("gf", "grapefruit", note="half a grapefruit"))), pharmacist)
    job = run_import(pharmacist, bundle(diet("gf", "grapefruit", note="a glass of juice daily")))
    [line] = factor_lines(job, decision=LineDecision.PENDING)
    assert (line.action, line.summary) == (
        LineAction.CHANGE,
        "Change Eats grapefruit or drinks grapefruit juice: half a grapefruit → a glass of juice daily",
    )
    accept_all(job, pharmacist)
    factor = Patient.objects.get(last_name="Lindqvist").factors.get()
    assert (factor.detail, factor.version) == ("a glass of juice daily", 2)


def test_a_factor_typed_here_is_matched_not_added_twice(org, pharmacist, patient):
    services.factor_add(patient=patient, data={"factor": "alcohol", "detail": "wine with dinner",
                        "noted_on": factories.today()}, by=Actor(pharmacist))  # fmt: skip
    unnamed = bundle(
        status("alc", "11331-6", SNOMED, "219006", "Current drinker of alcohol", on=days_ago(90))
    )
    del unnamed["entry"][0]
    del unnamed["entry"][0]["resource"]["subject"]
    [line] = factor_lines(run_import(pharmacist, unnamed, target=patient))
    assert (line.action, line.summary) == (LineAction.SAME, "Drinks alcohol: as recorded")
