"""What the patient record refuses, said the same way by the services, the API and the page forms:
each rule lives once, in the model or the service, and its message names the field."""

import datetime
import re
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from rest_framework.test import APIClient

from mtm.audit import Actor
from patients import services
from patients.models import MedicationEntry, Patient, PharmacyFill, Prescriber
from patients.validators import validate_dose_text
from tests import factories

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def by(pharmacist):
    return Actor(user=pharmacist, via="web")


@pytest.fixture
def api(pharmacist):
    client = APIClient()
    client.force_authenticate(pharmacist)
    return client


def api_url(patient, section, *rest):
    return "/".join(["/api/v1/patients", str(patient.pk), section, *rest]) + "/"


def page_url(name, patient, section, *extra):
    return reverse(name, args=[patient.pk, section, *extra])


# --- Doses ----------------------------------------------------------------------------------------

BAD_DOSES = [
    ("-5 mg", "The strength / dose cannot be negative (“-5 mg”): enter the amount, more than zero."),
    (
        "\u22122.5 mL",
        "The strength / dose cannot be negative (“\u22122.5 mL”): enter the amount, more than zero.",
    ),
    ("0 mg", "The strength / dose must be more than zero (“0 mg”)."),
    ("0.0 units", "The strength / dose must be more than zero (“0.0 units”)."),
]


@pytest.mark.parametrize(
    "text", ["10 mg", "1-2 tablets", "5 mg - 10 mg", "0.5 mg", ".5 mL", "500 mg/5 mL", "1,000 units", "0-2 puffs",
             "vitamin B12 1000 mcg", "as directed", ""],
)  # fmt: skip
def test_doses_as_people_write_them_are_accepted(text):
    validate_dose_text(text)


@pytest.mark.parametrize(("dose", "message"), BAD_DOSES)
def test_the_service_refuses_a_negative_or_zero_dose(patient, by, dose, message):
    with pytest.raises(ValidationError) as error:
        services.medication_add(patient=patient, data={"name": "Eliquis", "strength_dose": dose}, by=by)
    assert error.value.message_dict == {"strength_dose": [message]}
    assert not MedicationEntry.objects.exists()


@pytest.mark.parametrize(("dose", "message"), BAD_DOSES)
def test_the_api_refuses_a_negative_or_zero_dose(api, patient, dose, message):
    response = api.post(
        api_url(patient, "medications"), {"name": "Eliquis", "strength_dose": dose}, format="json"
    )
    assert response.status_code == 400 and response.json() == {"strength_dose": [message]}
    assert not MedicationEntry.objects.exists()


@pytest.mark.parametrize(("dose", "message"), BAD_DOSES)
def test_the_page_refuses_a_negative_or_zero_dose(pharmacist_client, patient, dose, message):
    response = pharmacist_client.post(
        page_url("section_add", patient, "medications"),
        {"name": "Eliquis", "strength_dose": dose, "source": "prescription"},
        **HTMX,
    )
    assert response.status_code == 422
    assert response.context["add_form"].errors == {"strength_dose": [message]}
    assert not MedicationEntry.objects.exists()


def test_changing_a_dose_to_zero_is_refused_too(api, pharmacist_client, patient):
    entry = factories.make_medication(patient, strength_dose="10 mg")
    response = api.patch(
        api_url(patient, "medications", str(entry.pk)), {"strength_dose": "0 mg", "version": 1}, format="json"
    )
    assert response.status_code == 400 and "strength_dose" in response.json()
    page = pharmacist_client.post(
        page_url("section_edit", patient, "medications", entry.pk),
        {"name": entry.name, "strength_dose": "-10 mg", "source": "prescription", "version": 1},
        **HTMX,
    )
    assert (
        page.status_code == 422
        and "cannot be negative" in page.context["edit_form"].errors["strength_dose"][0]
    )
    entry.refresh_from_db()
    assert (entry.strength_dose, entry.version) == ("10 mg", 1)


# --- Pharmacy fills -------------------------------------------------------------------------------

BAD_FILLS = [
    ({"quantity": "0"}, "quantity", "The quantity dispensed must be more than zero."),
    ({"quantity": "-30"}, "quantity", "The quantity dispensed must be more than zero."),
    ({"days_supply": "0"}, "days_supply", "The days' supply must be from 1 to 365 days (0)."),
    ({"days_supply": "-5"}, "days_supply", "The days' supply must be from 1 to 365 days (-5)."),
    ({"days_supply": "400"}, "days_supply", "The days' supply must be from 1 to 365 days (400)."),
]


def fill_data(**changes):
    return {"drug_name": "lisinopril 10 mg", "fill_date": factories.today().isoformat(), "days_supply": "30", "quantity": "30",
            **changes}  # fmt: skip


@pytest.mark.parametrize(("changes", "field", "message"), BAD_FILLS)
def test_the_service_refuses_a_fill_of_nothing(patient, by, changes, field, message):
    data = fill_data(**changes)
    data = {
        **data,
        "fill_date": factories.today(),
        "days_supply": int(data["days_supply"]),
        "quantity": Decimal(data["quantity"]),
    }
    with pytest.raises(ValidationError) as error:
        services.fill_record(patient=patient, data=data, by=by)
    assert error.value.message_dict == {field: [message]}


@pytest.mark.parametrize(("changes", "field", "message"), BAD_FILLS)
def test_the_api_refuses_a_fill_of_nothing(api, patient, changes, field, message):
    response = api.post(api_url(patient, "fills"), fill_data(**changes), format="json")
    assert response.status_code == 400 and response.json() == {field: [message]}
    assert not PharmacyFill.objects.exists()


@pytest.mark.parametrize(("changes", "field", "message"), BAD_FILLS)
def test_the_page_refuses_a_fill_of_nothing(pharmacist_client, patient, changes, field, message):
    response = pharmacist_client.post(page_url("section_add", patient, "fills"), fill_data(**changes), **HTMX)
    assert response.status_code == 422 and response.context["add_form"].errors == {field: [message]}
    assert not PharmacyFill.objects.exists()


# --- Measurements: values and units ---------------------------------------------------------------


@pytest.mark.parametrize("value", ["0", "-70"])
def test_a_weight_of_zero_or_less_is_refused_everywhere_with_the_same_words(
    api, pharmacist_client, patient, value
):
    body = {"kind": "weight", "value": value, "measured_on": factories.today().isoformat()}
    assert api.post(api_url(patient, "measurements"), body, format="json").json() == {
        "value": ["Weight must be more than 0."]
    }
    page = pharmacist_client.post(page_url("section_add", patient, "measurements"), body, **HTMX)
    assert page.status_code == 422 and page.context["add_form"].errors == {
        "value": ["Weight must be more than 0."]
    }


def test_a_unit_of_another_kind_is_refused_with_the_units_that_fit(api, pharmacist_client, patient):
    body = {"kind": "height", "value": "65", "unit": "lb", "measured_on": factories.today().isoformat()}
    message = "“lb” is not a unit of height: use cm or in."
    assert api.post(api_url(patient, "measurements"), body, format="json").json() == {"unit": [message]}
    page = pharmacist_client.post(page_url("section_add", patient, "measurements"), body, **HTMX)
    assert page.status_code == 422 and page.context["add_form"].errors == {"unit": [message]}
    assert not patient.measurements.exists()


def test_without_a_unit_the_kinds_usual_unit_is_meant(pharmacist_client, patient):
    body = {"kind": "height", "value": "165", "unit": "", "measured_on": factories.today().isoformat()}
    response = pharmacist_client.post(page_url("section_add", patient, "measurements"), body, **HTMX)
    assert response.status_code == 200
    assert patient.measurements.get().display_value == "165 cm"


def test_the_unit_select_says_which_kind_each_unit_measures(pharmacist_client, patient):
    form = pharmacist_client.get(page_url("section_add", patient, "measurements"), **HTMX).content.decode()
    assert 'data-options-follow="kind"' in form
    assert '<optgroup label="Weight">' in form
    assert '<option value="lb" data-kind="weight">lb</option>' in form
    assert '<option value="umol/L" data-kind="serum_creatinine">umol/L</option>' in form
    assert (
        '<option value="" selected>Usual unit (kg, cm, mg/dL, mmHg, %, mL/min/1.73m², mmol/L)</option>'
        in form
    )


# --- Dates typed that are not dates ---------------------------------------------------------------


@pytest.mark.parametrize("typed", ["2026-02-31", "02/31/2026", "2026-13-01", "yesterday"])
def test_a_date_that_does_not_exist_is_an_error_naming_the_field_on_the_page(
    pharmacist_client, patient, typed
):
    response = pharmacist_client.post(
        page_url("section_add", patient, "medications"),
        {"name": "Eliquis", "start_date": typed, "source": "prescription"},
        **HTMX,
    )
    assert response.status_code == 422
    assert response.context["add_form"].errors == {"start_date": ["Enter a real date for “date started”."]}
    assert not MedicationEntry.objects.exists()


def test_registering_a_patient_born_on_31_february_is_refused(staff_client, org):
    response = staff_client.post(
        reverse("patient_create"),
        {"first_name": "Nell", "last_name": "Gwynn", "date_of_birth": "1950-02-31", "sex": "female",
         "preferred_language": "en"},
    )  # fmt: skip
    assert response.status_code == 422
    assert response.context["form"].errors == {"date_of_birth": ["Enter a real date for “date of birth”."]}
    assert not Patient.objects.exists()


def test_the_api_refuses_a_date_that_does_not_exist_naming_the_field(api, patient):
    created = api.post(
        api_url(patient, "medications"), {"name": "Eliquis", "start_date": "2026-02-31"}, format="json"
    )
    assert created.status_code == 400
    assert created.json() == {"start_date": ["Enter a real date for “date started”, as YYYY-MM-DD."]}
    entry = factories.make_medication(patient)
    stopped = api.post(
        api_url(patient, "medications", str(entry.pk), "stop"),
        {"stop_date": "2026-02-30", "stop_reason": "x", "version": 1},
        format="json",
    )
    assert stopped.json() == {"stop_date": ["Enter a real date for “date stopped”, as YYYY-MM-DD."]}
    measured = api.post(
        api_url(patient, "measurements"),
        {"kind": "weight", "value": 70, "measured_on": "31/02/2026"},
        format="json",
    )
    assert measured.json() == {"measured_on": ["Enter a real date for “date”, as YYYY-MM-DD."]}
    born = api.patch(
        f"/api/v1/patients/{patient.pk}/", {"date_of_birth": "1950-02-29", "version": 1}, format="json"
    )
    assert born.json() == {"date_of_birth": ["Enter a real date for “date of birth”, as YYYY-MM-DD."]}


# --- Phone numbers --------------------------------------------------------------------------------


def details(patient, **changes):
    return {"first_name": patient.first_name, "last_name": patient.last_name, "date_of_birth": "1950-05-17",
            "sex": "female", "preferred_language": "en", "version": patient.version, **changes}  # fmt: skip


def test_the_patient_details_form_refuses_numbers_that_are_not_numbers(staff_client, patient):
    url = reverse("patient_details", args=[patient.pk])
    response = staff_client.post(
        url, details(patient, phone="555-CALL-NOW", mobile_phone="12", representative_phone="abc"), **HTMX
    )
    assert response.status_code == 422
    assert response.context["form"].errors == {
        "phone": [
            "“555-CALL-NOW” is not a valid phone number: check the number of digits and the area code."
        ],
        "mobile_phone": ["“12” is not a valid phone number: check the number of digits and the area code."],
        "representative_phone": ["“abc” is not a phone number."],
    }
    patient.refresh_from_db()
    assert (patient.phone, patient.version) == ("", 1)

    saved = staff_client.post(
        url, details(patient, phone="608.555.0101", mobile_phone="+1 608 555 0102"), **HTMX
    )
    assert saved.status_code == 200
    patient.refresh_from_db()
    assert (patient.phone, patient.mobile_phone) == ("(608) 555-0101", "(608) 555-0102")


def test_the_api_refuses_a_phone_number_that_is_not_one(api, org, patient):
    created = api.post(
        "/api/v1/patients/",
        {
            "first_name": "Nell",
            "last_name": "Gwynn",
            "date_of_birth": "1950-02-02",
            "sex": "female",
            "phone": "12",
        },
        format="json",
    )
    assert created.status_code == 400 and list(created.json()) == ["phone"]
    prescriber = api.post(
        "/api/v1/prescribers/",
        {"first_name": "A", "last_name": "B", "npi": "1234567893", "fax": "fax me"},
        format="json",
    )
    assert prescriber.status_code == 400 and prescriber.json() == {"fax": ["“fax me” is not a phone number."]}
    assert not Prescriber.objects.exists()
    changed = api.patch(
        f"/api/v1/patients/{patient.pk}/", {"mobile_phone": "6085550102", "version": 1}, format="json"
    )
    assert changed.status_code == 200 and changed.json()["mobile_phone"] == "(608) 555-0102"


def test_a_new_prescribers_phone_and_fax_on_the_care_team_form_are_checked(pharmacist_client, patient, by):
    response = pharmacist_client.post(
        page_url("section_add", patient, "care-team"),
        {"new_first_name": "Ann", "new_last_name": "Lee", "new_npi": "1234567893", "new_phone": "555-CALL-NOW",
         "new_fax": "(608) 555-0199"},
        **HTMX,
    )  # fmt: skip
    assert response.status_code == 422
    assert list(response.context["add_form"].errors) == ["new_phone"]
    assert not Prescriber.objects.exists() and not patient.care_team.exists()
    with pytest.raises(ValidationError) as error:
        services.care_team_add(
            patient=patient,
            new_prescriber={"first_name": "Ann", "last_name": "Lee", "npi": "1234567893", "fax": "12"},
            by=by,
        )
    assert list(error.value.message_dict) == ["fax"]


def test_the_prescriber_directory_refuses_a_fax_that_is_not_a_number(staff_client, org):
    prescriber = factories.make_prescriber(org)
    response = staff_client.post(
        reverse("prescriber_edit", args=[prescriber.pk]),
        {"first_name": "Rita", "last_name": "Moreno", "npi": "1234567893", "fax": "608-555-01", "version": 1},
    )
    assert response.status_code == 422 and "fax" in response.context["form"].errors


# --- Conditions without JavaScript ----------------------------------------------------------------


def test_words_instead_of_a_code_get_the_matching_codes_back(pharmacist_client, patient):
    response = pharmacist_client.post(
        page_url("section_add", patient, "conditions"), {"icd10_code": "chronic systolic heart failure"}
    )
    assert response.status_code == 422
    [message] = response.context["add_form"].errors["icd10_code"]
    assert message.startswith("“chronic systolic heart failure” is not an ICD-10-CM code. Matching codes: ")
    assert "I50.22 Chronic systolic (congestive) heart failure" in message
    assert not patient.conditions.exists()


def test_a_date_in_the_future_is_still_refused_as_before(pharmacist_client, patient):
    tomorrow = (factories.today() + datetime.timedelta(days=1)).isoformat()
    response = pharmacist_client.post(
        page_url("section_add", patient, "medications"),
        {"name": "Eliquis", "start_date": tomorrow, "source": "prescription"},
        **HTMX,
    )
    assert response.context["add_form"].errors == {"start_date": ["This date is in the future."]}


def test_a_form_sent_back_puts_focus_on_the_first_field_to_correct(staff_client, patient):
    response = staff_client.post(
        reverse("patient_details", args=[patient.pk]),
        details(patient, phone="12", postal_code="x" * 30),
        **HTMX,
    )
    form = response.context["form"]
    assert set(form.errors) == {"phone", "postal_code"}
    assert [name for name, field in form.fields.items() if field.widget.attrs.get("autofocus")] == ["phone"]
    page = response.content.decode()
    assert page.count("autofocus") == 1 and re.search(r'<input[^>]*name="phone"[^>]*autofocus', page)
