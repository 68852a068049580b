import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from mtm.audit import Actor
from mtm.errors import EditConflict
from mtm.models import AuditAction, AuditEvent
from patients import services
from patients.models import Allergy, Condition, Measurement, MedicationEntry, Patient
from tests import factories


@pytest.fixture
def by(pharmacist):
    return Actor(user=pharmacist, ip_address="10.0.0.7", via="web")


def patient_data(**overrides):
    data = {
        "first_name": "June",
        "last_name": "Carter",
        "date_of_birth": datetime.date(1944, 2, 3),
        "sex": "female",
    }
    return {**data, **overrides}


def _tomorrow() -> datetime.date:
    """Tomorrow in the active time zone (UTC outside a request), which the model validators use;
    computed when the test runs, so that a run crossing midnight does not move it."""
    return timezone.localdate() + datetime.timedelta(days=1)


def test_patient_create_saves_and_audits_every_field(org, by):
    patient = services.patient_create(organisation=org, data=patient_data(city="Madison"), by=by)
    event = AuditEvent.objects.get(patient_id=patient.pk, action=AuditAction.CREATE)
    assert event.actor == by.user and event.ip_address == "10.0.0.7"
    assert event.changes["last_name"] == [None, "Carter"]
    assert event.changes["city"] == [None, "Madison"]


def test_future_birth_date_is_refused_and_nothing_saved(org, by):
    with pytest.raises(ValidationError) as error:
        services.patient_create(organisation=org, data=patient_data(date_of_birth=_tomorrow()), by=by)
    assert "date_of_birth" in error.value.message_dict
    assert not Patient.objects.exists()
    assert not AuditEvent.objects.exists()


def test_reminder_consent_needs_a_way_to_reach_the_patient(org, by):
    with pytest.raises(ValidationError) as error:
        services.patient_create(organisation=org, data=patient_data(consent_sms_reminders=True), by=by)
    assert "consent_sms_reminders" in error.value.message_dict


def test_update_records_only_what_changed(patient, by):
    services.patient_update(
        patient=patient, data={"city": "Verona", "last_name": "Brennan"}, version=1, by=by
    )
    event = AuditEvent.objects.get(patient_id=patient.pk, action=AuditAction.UPDATE)
    assert event.changes == {"city": ["", "Verona"]}
    patient.refresh_from_db()
    assert patient.version == 2


def test_a_save_based_on_an_old_version_is_refused(patient, by):
    first_copy = Patient.objects.get(pk=patient.pk)
    second_copy = Patient.objects.get(pk=patient.pk)
    services.patient_update(patient=first_copy, data={"phone": "(608) 555-0101"}, version=1, by=by)
    with pytest.raises(EditConflict):
        services.patient_update(patient=second_copy, data={"phone": "(608) 555-0102"}, version=1, by=by)
    patient.refresh_from_db()
    assert patient.phone == "(608) 555-0101"


def test_a_conflicting_save_is_refused_even_if_the_row_changed_underneath(patient, by):
    loaded = Patient.objects.get(pk=patient.pk)
    Patient.objects.filter(pk=patient.pk).update(
        version=2, phone="(608) 555-0199"
    )  # a colleague saved meanwhile
    with pytest.raises(EditConflict):
        services.patient_update(patient=loaded, data={"phone": "(608) 555-0102"}, version=1, by=by)
    assert Patient.objects.get(pk=patient.pk).phone == "(608) 555-0199"


def test_medication_needs_a_name(patient, by):
    with pytest.raises(ValidationError) as error:
        services.medication_add(patient=patient, data={"name": ""}, by=by)
    assert "name" in error.value.message_dict
    assert not MedicationEntry.objects.exists()


def test_stopping_a_medication_records_date_and_reason(patient, by):
    entry = factories.make_medication(patient, start_date=datetime.date(2024, 1, 1))
    services.medication_stop(entry=entry, on=datetime.date(2025, 3, 1), reason="dry cough", version=1, by=by)
    entry.refresh_from_db()
    assert (entry.status, entry.stop_date, entry.stop_reason) == (
        "stopped",
        datetime.date(2025, 3, 1),
        "dry cough",
    )
    assert AuditEvent.objects.filter(action=AuditAction.STOP, object_id=str(entry.pk)).exists()


def test_stop_date_before_start_date_is_refused(patient, by):
    entry = factories.make_medication(patient, start_date=datetime.date(2024, 6, 1))
    with pytest.raises(ValidationError) as error:
        services.medication_stop(entry=entry, on=datetime.date(2024, 5, 1), reason="x", version=1, by=by)
    assert "stop_date" in error.value.message_dict
    entry.refresh_from_db()
    assert entry.status == "active"


def test_stopping_needs_a_reason(patient, by):
    entry = factories.make_medication(patient)
    with pytest.raises(ValidationError) as error:
        services.medication_stop(entry=entry, on=timezone.localdate(), reason="  ", version=1, by=by)
    assert "stop_reason" in error.value.message_dict


def test_prescriber_of_another_organisation_is_refused(patient, other_org, by):
    stranger = factories.make_prescriber(other_org)
    with pytest.raises(ValidationError) as error:
        services.medication_add(patient=patient, data={"name": "metformin", "prescriber": stranger}, by=by)
    assert "prescriber" in error.value.message_dict


def test_condition_gets_its_official_description(patient, by):
    condition = services.condition_add(patient=patient, data={"icd10_code": "i5022"}, by=by)
    assert condition.icd10_code == "I50.22"
    assert condition.description == "Chronic systolic (congestive) heart failure"


def test_unknown_icd10cm_code_is_refused(patient, by):
    with pytest.raises(ValidationError) as error:
        services.condition_add(patient=patient, data={"icd10_code": "X99.999"}, by=by)
    assert "icd10_code" in error.value.message_dict
    assert not Condition.objects.exists()


def test_the_same_active_condition_cannot_be_listed_twice(patient, by):
    services.condition_add(patient=patient, data={"icd10_code": "I10"}, by=by)
    with pytest.raises(ValidationError) as error:
        services.condition_add(patient=patient, data={"icd10_code": "i10"}, by=by)
    assert "already" in error.value.message_dict["icd10_code"][0]


def test_resolving_a_condition(patient, by):
    condition = services.condition_add(patient=patient, data={"icd10_code": "J20.9"}, by=by)
    services.condition_resolve(condition=condition, on=timezone.localdate(), version=condition.version, by=by)
    condition.refresh_from_db()
    assert condition.status == "resolved"


def test_bad_npi_is_refused(org, by):
    with pytest.raises(ValidationError) as error:
        services.prescriber_create(
            organisation=org, data={"first_name": "A", "last_name": "B", "npi": "1234567890"}, by=by
        )
    assert "npi" in error.value.message_dict


def test_duplicate_npi_in_one_directory_is_refused(org, by):
    factories.make_prescriber(org, npi="1234567893")
    with pytest.raises(ValidationError) as error:
        services.prescriber_create(
            organisation=org, data={"first_name": "A", "last_name": "B", "npi": "1234567893"}, by=by
        )
    assert "already has NPI" in error.value.message_dict["npi"][0]


def test_care_team_can_add_a_new_prescriber_and_keeps_one_primary_care(patient, org, by):
    first = services.care_team_add(
        patient=patient,
        new_prescriber={"first_name": "Ann", "last_name": "Lee", "npi": "1245319599"},
        is_primary_care=True,
        by=by,
    )
    other = factories.make_prescriber(org, npi="1003000126")
    services.care_team_add(patient=patient, prescriber=other, is_primary_care=True, by=by)
    first.refresh_from_db()
    assert not first.is_primary_care
    assert patient.care_team.filter(is_primary_care=True).get().prescriber == other


@pytest.mark.parametrize(
    ("kind", "value", "unit", "stored"),
    [
        ("weight", "154", "lb", Decimal("69.85")),
        ("weight", "70", None, Decimal("70.00")),
        ("height", "65", "in", Decimal("165.10")),
        ("serum_creatinine", "106", "umol/L", Decimal("1.20")),
    ],
)
def test_measurements_are_stored_in_canonical_units(patient, by, kind, value, unit, stored):
    data = {"kind": kind, "value": Decimal(value), "measured_on": timezone.localdate()}
    measurement = services.measurement_record(patient=patient, data=data, unit=unit, by=by)
    assert measurement.value == stored


@pytest.mark.parametrize("value", ["0", "-3"])
def test_weight_of_zero_or_less_is_refused(patient, by, value):
    with pytest.raises(ValidationError) as error:
        services.measurement_record(
            patient=patient,
            data={"kind": "weight", "value": Decimal(value), "measured_on": timezone.localdate()},
            by=by,
        )
    assert "value" in error.value.message_dict
    assert not Measurement.objects.exists()


def test_blood_pressure_needs_a_lower_diastolic(patient, by):
    with pytest.raises(ValidationError) as error:
        services.measurement_record(
            patient=patient,
            data={
                "kind": "blood_pressure",
                "value": Decimal(80),
                "diastolic": Decimal(120),
                "measured_on": timezone.localdate(),
            },
            by=by,
        )
    assert "diastolic" in error.value.message_dict


def test_a_unit_that_does_not_fit_the_measurement_is_refused(patient, by):
    with pytest.raises(ValidationError) as error:
        services.measurement_record(
            patient=patient,
            data={"kind": "a1c", "value": Decimal(7), "measured_on": timezone.localdate()},
            unit="lb",
            by=by,
        )
    assert "unit" in error.value.message_dict


def test_adding_an_allergy_withdraws_no_known_allergies(patient, by):
    Patient.objects.filter(pk=patient.pk).update(no_known_allergies=True)
    patient.refresh_from_db()
    services.allergy_add(patient=patient, data={"substance": "sulfamethoxazole", "reaction": "rash"}, by=by)
    patient.refresh_from_db()
    assert not patient.no_known_allergies


def test_no_known_allergies_cannot_be_confirmed_over_active_allergies(patient, by):
    factories.make_allergy(patient)
    with pytest.raises(ValidationError) as error:
        services.patient_update(patient=patient, data={"no_known_allergies": True}, version=1, by=by)
    assert "no_known_allergies" in error.value.message_dict


def test_inactivating_an_allergy_needs_a_reason(patient, by):
    allergy = factories.make_allergy(patient)
    with pytest.raises(ValidationError):
        services.allergy_inactivate(allergy=allergy, reason="", version=1, by=by)
    services.allergy_inactivate(allergy=allergy, reason="tolerated amoxicillin in 2024", version=1, by=by)
    assert Allergy.objects.get().status == "inactive"


def test_fill_cannot_point_at_another_patients_medication(patient, org, by):
    someone_else = factories.make_patient(org)
    their_entry = factories.make_medication(someone_else)
    with pytest.raises(ValidationError) as error:
        services.fill_record(
            patient=patient,
            data={
                "drug_name": "x",
                "medication": their_entry,
                "fill_date": timezone.localdate(),
                "days_supply": 30,
                "quantity": 30,
            },
            by=by,
        )
    assert "medication" in error.value.message_dict


def test_fill_in_the_future_is_refused(patient, by):
    with pytest.raises(ValidationError) as error:
        services.fill_record(
            patient=patient,
            data={"drug_name": "x", "fill_date": _tomorrow(), "days_supply": 30, "quantity": 30},
            by=by,
        )
    assert "fill_date" in error.value.message_dict
