"""The engine as the app uses it: CLI, API, RxNorm import, linking medication entries."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from interactions.engine import load_knowledge_base, screen
from interactions.engine.knowledge import KNOWLEDGE_DIR
from mtm.audit import Actor
from patients import services
from patients.models import MedicationEntry
from tests import factories

ROOT = Path(__file__).resolve().parents[2]
REQUEST = {
    "patient": {
        "age": 82,
        "sex": "female",
        "weight_kg": 58,
        "serum_creatinine_mg_dl": 1.6,
        "allergies": ["penicillin"],
    },
    "medications": [
        {"name": "Coumadin 5 mg"},
        {"name": "fluconazole"},
        {"rxcui": "6809"},
        {"name": "zzzfakemab"},
    ],
}


def test_cli_prints_the_same_response_as_the_function():
    result = subprocess.run(
        [sys.executable, "manage.py", "screen"],
        input=json.dumps(REQUEST),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == screen(REQUEST)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "request: not valid JSON"),
        ('{"medications": [{"name": 3}]}', "medications[0].name: must be a non-empty string"),
        ('{"medications": [{"name": "%s"}]}' % ("a" * 40_000), "a medication name has at most 200"),
    ],
)
def test_cli_refuses_bad_input_with_a_message_naming_the_field(text, message):
    result = subprocess.run(
        [sys.executable, "manage.py", "screen"],
        input=text,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode != 0
    assert message in result.stderr


def test_api_screens_for_signed_in_staff(pharmacist):
    api = APIClient()
    api.force_authenticate(pharmacist)
    response = api.post("/api/v1/screenings/", REQUEST, format="json")
    assert response.status_code == 200
    assert response.json() == screen(REQUEST)
    assert response.json()["unresolved"] == ["zzzfakemab"]
    assert response.json()["patient_context"]["crcl_ml_min"] == 24.8


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"medications": [{"name": "x"}], "patient": {"weight_kg": -70}}, "patient.weight_kg"),
        ({"medications": [{"name": "x"}], "patient": {"sex": "unknown"}}, "patient.sex"),
        ({"medications": "warfarin"}, "medications"),
        ({"medications": [{"name": "a" * 40_000}]}, "medications[0].name"),  # refused at once, not resolved
        (
            {"medications": [{"name": "x"}], "patient": {"pharmacogenomics": [{"gene": "CYP9Z9"}]}},
            "patient.pharmacogenomics[0].gene",
        ),
        ({"medications": [{"name": "x"}], "patient": {"sex": "male", "pregnant": True}}, "patient.pregnant"),
    ],
)
def test_api_bad_input_is_a_400_naming_the_field(pharmacist, body, field):
    api = APIClient()
    api.force_authenticate(pharmacist)
    response = api.post("/api/v1/screenings/", body, format="json")
    assert response.status_code == 400 and field in response.json()


def test_api_screening_is_for_staff_only(patient_user):
    api = APIClient()
    assert api.post("/api/v1/screenings/", REQUEST, format="json").status_code == 401
    api.force_authenticate(patient_user)
    assert api.post("/api/v1/screenings/", REQUEST, format="json").status_code == 403


def test_import_rxnorm_extends_the_dictionary_without_overriding_reviewed_names(tmp_path, settings):
    settings.KNOWLEDGE_EXTRA_DIRS = [str(tmp_path / "knowledge")]
    call_command("import_rxnorm", str(ROOT / "tests" / "interactions" / "rxnorm_sample"))
    names = (tmp_path / "knowledge" / "names" / "rxnorm.csv").read_text()
    assert "Zurzuvae,zuranolone,brand" in names
    assert "Oldbrandium" not in names and "Somebrand" not in names  # suppressed, other source
    kb = load_knowledge_base(KNOWLEDGE_DIR, (tmp_path / "knowledge",))
    response = screen(
        {
            "medications": [
                {"name": "Zurzuvae 30 mg"},
                {"name": "Tylenol"},
                {"name": "Acetaminophen / Hydrocodone"},
            ]
        },
        kb,
    )
    resolved = {r["input"]: [i["name"] for i in r["ingredients"]] for r in response["resolved"]}
    assert resolved["Zurzuvae 30 mg"] == ["zuranolone"]
    assert resolved["Tylenol"] == ["acetaminophen"]  # the reviewed meaning stays
    assert resolved["Acetaminophen / Hydrocodone"] == ["acetaminophen", "hydrocodone"]
    # meclizine is reviewed but has no RxCUI yet (interactions/knowledge/ingredients/core.csv): the
    # release supplies it (1000003 in the sample)
    assert kb.ingredients["meclizine"].rxcui == "1000003"
    assert kb.ingredients["meclizine"].classes == ("first-generation-antihistamine", "antiemetic")


def test_import_rxnorm_maps_products_and_ndcs_to_their_ingredients(tmp_path, settings, org, pharmacist):
    """A fill file or a FHIR resource that names a drug only by its NDC or its clinical-drug RxCUI
    is linked to the medication list once a release is imported."""
    settings.KNOWLEDGE_EXTRA_DIRS = [str(tmp_path / "knowledge")]
    call_command("import_rxnorm", str(ROOT / "tests" / "interactions" / "rxnorm_sample"))
    products = (tmp_path / "knowledge" / "products" / "rxnorm.csv").read_text().splitlines()
    assert (
        "ndc:00093104801,lisinopril" in products and "ndc:00310013010,lisinopril" in products
    )  # SBD via its SCD
    assert "rxcui:314076,lisinopril" in products and not any(
        "0093-1048" in row for row in products
    )  # RxNorm's NDCs only
    from interactions.selectors import product_ingredients

    assert product_ingredients(ndcs=["00310013010"]) == ("lisinopril",)
    assert product_ingredients(rxcuis=["314076"]) == ("lisinopril",) and product_ingredients(ndcs=["1"]) == ()


def test_import_rxnorm_needs_the_files(tmp_path):
    with pytest.raises(CommandError, match=r"RXNCONSO\.RRF not found"):
        call_command("import_rxnorm", str(tmp_path))


def test_saving_a_medication_links_it_to_its_ingredients(patient, pharmacist):
    by = Actor(user=pharmacist)
    entry = services.medication_add(patient=patient, data={"name": "Coumadin 5 mg"}, by=by)
    assert entry.ingredients == [{"rxcui": "11289", "name": "warfarin"}]
    assert entry.recognised_as == "coumadin"
    unknown = services.medication_add(patient=patient, data={"name": "grandma's tonic"}, by=by)
    assert unknown.ingredients == [] and not unknown.is_recognised
    services.medication_update(entry=unknown, data={"name": "Tylenol"}, version=1, by=by)
    assert MedicationEntry.objects.get(pk=unknown.pk).ingredients == [
        {"rxcui": "161", "name": "acetaminophen"}
    ]


def test_relink_updates_entries_saved_with_an_older_knowledge_base(patient):
    stale = factories.make_medication(patient, name="Coumadin 5 mg")
    call_command("relink_medications")
    stale.refresh_from_db()
    assert stale.ingredients == [{"rxcui": "11289", "name": "warfarin"}]
