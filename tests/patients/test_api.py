import datetime
import zoneinfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from mtm.models import AuditAction, AuditEvent
from patients.models import Condition, Measurement, MedicationEntry, Patient, PharmacyFill, Prescriber
from tests import factories


@pytest.fixture
def api(pharmacist):
    client = APIClient()
    client.force_authenticate(pharmacist)
    return client


def url(patient, section="", item=None, action=None):
    parts = ["/api/v1/patients", str(patient.pk)]
    if section:
        parts.append(section)
    if item is not None:
        parts.append(str(item.pk))
    if action:
        parts.append(action)
    return "/".join(parts) + "/"


def test_list_and_search_patients(api, org, other_patient):
    factories.make_patient(
        org, first_name="Ruth", last_name="Bader", date_of_birth=datetime.date(1933, 3, 15)
    )
    factories.make_patient(org, first_name="Ruby", last_name="Bridges")
    assert api.get("/api/v1/patients/").json()["count"] == 2
    found = api.post("/api/v1/patients/search/", {"query": "03/15/1933"}, format="json").json()["results"]
    assert [p["last_name"] for p in found] == ["Bader"]
    found = api.post("/api/v1/patients/search/", {"query": "ru br"}, format="json").json()["results"]
    assert [p["last_name"] for p in found] == ["Bridges"]
    assert api.post("/api/v1/patients/search/", {"query": 12}, format="json").json()["results"] == []
    assert "query" in api.post("/api/v1/patients/search/", {}, format="json").json()


def test_create_and_read_a_patient(api, org):
    response = api.post(
        "/api/v1/patients/",
        {"first_name": "Ida", "last_name": "Wells", "date_of_birth": "1942-07-16", "sex": "female"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = api.get(f"/api/v1/patients/{response.json()['id']}/").json()
    assert (body["last_name"], body["version"], body["preferred_language"]) == ("Wells", 1, "en")
    assert AuditEvent.objects.filter(action=AuditAction.VIEW, patient_id=response.json()["id"]).exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {
                "first_name": "A",
                "last_name": "B",
                "date_of_birth": factories.tomorrow().isoformat(),
                "sex": "female",
            },
            "date_of_birth",
        ),
        ({"first_name": "A", "last_name": "B", "date_of_birth": 19420716, "sex": "female"}, "date_of_birth"),
        ({"first_name": "A", "last_name": "B", "date_of_birth": "1942-07-16", "sex": "robot"}, "sex"),
        ({"first_name": ["A"], "last_name": "B", "date_of_birth": "1942-07-16", "sex": "male"}, "first_name"),
        ({"last_name": "B", "date_of_birth": "1942-07-16", "sex": "male"}, "first_name"),
    ],
)
def test_bad_patient_input_names_the_field_and_saves_nothing(api, org, body, field):
    response = api.post("/api/v1/patients/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Patient.objects.exists()


def test_malformed_json_is_a_400(api, org):
    response = api.post("/api/v1/patients/", "{not json", content_type="application/json")
    assert response.status_code == 400


def test_update_needs_the_version_and_refuses_an_old_one(api, patient):
    assert api.patch(url(patient), {"city": "Verona"}, format="json").json() == {
        "version": ["Send the version you last read to change this record."]
    }
    assert api.patch(url(patient), {"city": "Verona", "version": 1}, format="json").status_code == 200
    response = api.patch(url(patient), {"city": "Oregon", "version": 1}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "edit_conflict"
    patient.refresh_from_db()
    assert (patient.city, patient.version) == ("Verona", 2)


def test_medication_list_create_update_and_stop(api, patient, org):
    prescriber = factories.make_prescriber(org)
    created = api.post(
        url(patient, "medications"),
        {
            "name": "Norco 10-325",
            "strength_dose": "1 tablet",
            "source": "prescription",
            "prescriber": str(prescriber.pk),
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    entry = MedicationEntry.objects.get()
    changed = api.patch(
        url(patient, "medications", entry),
        {"directions": "every 6 hours as needed", "version": 1},
        format="json",
    )
    assert changed.json()["directions"] == "every 6 hours as needed"
    stopped = api.post(
        url(patient, "medications", entry, "stop"),
        {"stop_date": factories.today().isoformat(), "stop_reason": "pain resolved", "version": 2},
        format="json",
    )
    assert stopped.status_code == 200, stopped.json()
    assert (stopped.json()["status"], stopped.json()["stop_reason"]) == ("stopped", "pain resolved")
    listed = api.get(url(patient, "medications")).json()
    assert [m["name"] for m in listed["results"]] == ["Norco 10-325"]


def test_stop_before_start_is_a_400_naming_stop_date(api, patient):
    entry = factories.make_medication(patient, start_date=datetime.date(2024, 5, 1))
    response = api.post(
        url(patient, "medications", entry, "stop"),
        {"stop_date": "2024-04-01", "stop_reason": "x", "version": 1},
        format="json",
    )
    assert response.status_code == 400 and "stop_date" in response.json()
    entry.refresh_from_db()
    assert entry.status == "active"


def test_missing_medication_name_is_a_400(api, patient):
    response = api.post(url(patient, "medications"), {"strength_dose": "10 mg"}, format="json")
    assert response.status_code == 400 and "name" in response.json()
    assert not MedicationEntry.objects.exists()


def test_prescriber_of_another_organisation_cannot_be_named(api, patient, other_org):
    stranger = factories.make_prescriber(other_org)
    response = api.post(
        url(patient, "medications"), {"name": "x", "prescriber": str(stranger.pk)}, format="json"
    )
    assert response.status_code == 400 and "prescriber" in response.json()


def test_conditions_by_icd10cm(api, patient):
    ok = api.post(url(patient, "conditions"), {"icd10_code": "e11.22"}, format="json")
    assert ok.status_code == 201
    assert ok.json()["description"].startswith(
        "Type 2 diabetes mellitus with diabetic chronic kidney disease"
    )
    bad = api.post(url(patient, "conditions"), {"icd10_code": "E11.99999"}, format="json")
    assert bad.status_code == 400 and "icd10_code" in bad.json()
    condition = Condition.objects.get()
    resolved = api.post(
        url(patient, "conditions", condition, "resolve"),
        {"resolved_date": factories.today().isoformat(), "version": 1},
        format="json",
    )
    assert resolved.json()["status"] == "resolved"


def test_allergies_add_and_inactivate(api, patient):
    created = api.post(
        url(patient, "allergies"),
        {"substance": "penicillin", "reaction": "hives", "severity": "moderate"},
        format="json",
    )
    assert created.status_code == 201
    allergy_id = created.json()["id"]
    gone = api.post(
        f"{url(patient, 'allergies')}{allergy_id}/inactivate/",
        {"reason": "entered in error", "version": 1},
        format="json",
    )
    assert gone.json()["status"] == "inactive"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "weight", "value": 0, "measured_on": factories.today().isoformat()}, "value"),
        ({"kind": "weight", "value": -70, "measured_on": factories.today().isoformat()}, "value"),
        ({"kind": "weight", "value": "heavy", "measured_on": factories.today().isoformat()}, "value"),
        ({"kind": "weight", "value": 70, "measured_on": factories.tomorrow().isoformat()}, "measured_on"),
        ({"kind": "glucose", "value": 70, "measured_on": factories.today().isoformat()}, "kind"),
        ({"kind": "height", "value": 70, "unit": "kg", "measured_on": factories.today().isoformat()}, "unit"),
    ],
)
def test_bad_measurements_are_400s(api, patient, body, field):
    response = api.post(url(patient, "measurements"), body, format="json")
    assert response.status_code == 400 and field in response.json(), response.json()
    assert not Measurement.objects.exists()


@pytest.mark.parametrize("time_zone", ["Pacific/Kiritimati", "Etc/GMT+12"])  # UTC+14 and UTC-12
def test_today_is_the_organisations_today_through_a_token_too(patient, pharmacist, time_zone):
    from rest_framework.authtoken.models import Token

    patient.organisation.time_zone = time_zone
    patient.organisation.save()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=pharmacist).key}")
    today = timezone.localdate(timezone=zoneinfo.ZoneInfo(time_zone))
    for day, status_code in [(today, 201), (today + datetime.timedelta(days=1), 400)]:
        body = {"kind": "weight", "value": 70, "measured_on": day.isoformat()}
        assert client.post(url(patient, "measurements"), body, format="json").status_code == status_code


def test_measurement_units_are_converted(api, patient):
    response = api.post(
        url(patient, "measurements"),
        {"kind": "weight", "value": 200, "unit": "lb", "measured_on": factories.today().isoformat()},
        format="json",
    )
    assert (response.json()["value"], response.json()["unit"]) == ("90.72", "kg")


def test_fills(api, patient):
    entry = factories.make_medication(patient)
    response = api.post(
        url(patient, "fills"),
        {
            "drug_name": "lisinopril 10 mg",
            "medication": str(entry.pk),
            "fill_date": factories.today().isoformat(),
            "days_supply": 90,
            "quantity": 90,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    bad = api.post(
        url(patient, "fills"),
        {"drug_name": "x", "fill_date": factories.today().isoformat(), "days_supply": 0, "quantity": 30},
        format="json",
    )
    assert bad.status_code == 400 and "days_supply" in bad.json()
    assert PharmacyFill.objects.count() == 1


def test_prescribers_and_bad_npi(api, org):
    bad = api.post(
        "/api/v1/prescribers/", {"first_name": "A", "last_name": "B", "npi": "1234567890"}, format="json"
    )
    assert bad.status_code == 400 and "npi" in bad.json()
    good = api.post(
        "/api/v1/prescribers/", {"first_name": "A", "last_name": "B", "npi": "1234567893"}, format="json"
    )
    assert good.status_code == 201
    again = api.post(
        "/api/v1/prescribers/", {"first_name": "C", "last_name": "D", "npi": "1234567893"}, format="json"
    )
    assert again.status_code == 400 and "npi" in again.json()
    assert Prescriber.objects.count() == 1


def test_care_team(api, patient, org):
    prescriber = factories.make_prescriber(org)
    created = api.post(
        url(patient, "care-team"), {"prescriber": str(prescriber.pk), "is_primary_care": True}, format="json"
    )
    assert created.status_code == 201, created.json()
    member_id = created.json()["id"]
    assert api.delete(f"{url(patient, 'care-team')}{member_id}/?version=1").status_code == 204
    assert not patient.care_team.exists()


def test_another_organisations_patient_is_a_404_everywhere(api, other_patient):
    entry = factories.make_medication(other_patient)
    assert api.get(url(other_patient)).status_code == 404
    assert api.patch(url(other_patient), {"city": "x", "version": 1}, format="json").status_code == 404
    for section in ["medications", "allergies", "conditions", "measurements", "fills", "care-team"]:
        assert api.get(url(other_patient, section)).status_code == 404
        assert api.post(url(other_patient, section), {}, format="json").status_code == 404
    assert api.post(url(other_patient, "medications", entry, "stop"), {}, format="json").status_code == 404


def test_token_authentication(client, pharmacist):
    token = client.post(
        "/api/v1/auth/token/", {"username": "pharmacist", "password": factories.PASSWORD}
    ).json()["token"]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/v1/patients/").status_code == 200


def test_patient_api_query_count_does_not_grow_with_the_list(api, org):
    def queries_for(n):
        patient = factories.make_patient(org)
        for i in range(n):
            factories.make_medication(patient, name=f"drug {i}")
        with CaptureQueriesContext(connection) as queries:
            assert api.get(url(patient, "medications")).status_code == 200
            assert api.get(url(patient)).status_code == 200
        return len(queries)

    assert queries_for(5) == queries_for(40)


def test_openapi_schema_is_served_with_an_offline_ui(api):
    schema = api.get("/api/schema/", {"format": "json"})
    assert schema.status_code == 200
    assert "/api/v1/patients/{patient_pk}/medications/{id}/stop/" in schema.json()["paths"]
    ui = api.get("/api/schema/ui/")
    assert ui.status_code == 200
    assert b"drf_spectacular_sidecar/swagger-ui-dist" in ui.content
    assert b"cdn." not in ui.content


def test_patient_screening_and_recognised_ingredients(api, patient):
    api.post(url(patient, "medications"), {"name": "Coumadin 5 mg"}, format="json")
    api.post(url(patient, "medications"), {"name": "Diflucan"}, format="json")
    listed = api.get(url(patient, "medications")).json()["results"]
    assert {m["name"]: m["ingredients"] for m in listed}["Coumadin 5 mg"] == [
        {"rxcui": "11289", "name": "warfarin"}
    ]
    screening = api.get(url(patient, action="screening")).json()
    assert [f["drugs"] for f in screening["findings"] if f["kind"] == "interaction"] == [
        ["fluconazole", "warfarin"]
    ]
