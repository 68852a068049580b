"""Test data, made directly with the ORM (the services have their own tests)."""

import datetime
import itertools
import zoneinfo

from django.utils import timezone

from mtm.models import Organisation, User
from mtm.permissions import Role
from patients.models import (
    Allergy,
    Condition,
    Measurement,
    MedicationEntry,
    Patient,
    PharmacyFill,
    Prescriber,
)

_counter = itertools.count(1)
PASSWORD = "correct-horse-battery"


def today() -> datetime.date:
    """Today where the test organisations are (the default time zone, America/New_York): what the
    app calls today when it refuses a date in the future. The machine's date is a day ahead in the
    evening."""
    return timezone.localdate(timezone=zoneinfo.ZoneInfo("America/New_York"))


def tomorrow() -> datetime.date:
    return today() + datetime.timedelta(days=1)


def make_organisation(name: str = "Test Pharmacy", **fields) -> Organisation:
    n = next(_counter)
    return Organisation.objects.create(name=name, slug=f"org-{n}", **fields)


def make_user(organisation: Organisation | None, role: Role = Role.PHARMACIST, **fields) -> User:
    n = next(_counter)
    fields.setdefault("username", f"{role}-{n}")
    fields.setdefault("email", f"{fields['username']}@example.org")
    user = User(organisation=organisation, role=role, **fields)
    user.set_password(PASSWORD)
    user.save()
    return user


def make_patient(organisation: Organisation, **fields) -> Patient:
    fields.setdefault("first_name", "Ada")
    fields.setdefault("last_name", f"Patient{next(_counter)}")
    fields.setdefault("date_of_birth", datetime.date(1950, 5, 17))
    fields.setdefault("sex", "female")
    return Patient.objects.create(organisation=organisation, **fields)


def make_prescriber(organisation: Organisation, npi: str = "1234567893", **fields) -> Prescriber:
    fields.setdefault("first_name", "Rita")
    fields.setdefault("last_name", "Moreno")
    fields.setdefault("credentials", "MD")
    return Prescriber.objects.create(organisation=organisation, npi=npi, **fields)


def make_medication(patient: Patient, name: str = "lisinopril", **fields) -> MedicationEntry:
    fields.setdefault("strength_dose", "10 mg")
    fields.setdefault("directions", "1 tablet by mouth daily")
    return MedicationEntry.objects.create(patient=patient, name=name, **fields)


def make_allergy(patient: Patient, substance: str = "penicillin", **fields) -> Allergy:
    return Allergy.objects.create(patient=patient, substance=substance, **fields)


def make_condition(
    patient: Patient, code: str = "I10", description: str = "Essential (primary) hypertension", **fields
) -> Condition:
    return Condition.objects.create(patient=patient, icd10_code=code, description=description, **fields)


def make_measurement(patient: Patient, kind: str = "weight", value="70", **fields) -> Measurement:
    fields.setdefault("measured_on", today())
    return Measurement.objects.create(patient=patient, kind=kind, value=value, **fields)


def make_fill(patient: Patient, drug_name: str = "lisinopril 10 mg", **fields) -> PharmacyFill:
    fields.setdefault("fill_date", today())
    fields.setdefault("days_supply", 30)
    fields.setdefault("quantity", 30)
    return PharmacyFill.objects.create(patient=patient, drug_name=drug_name, **fields)


def valid_npi(first_nine: str) -> str:
    """Complete a 9-digit NPI stem with its check digit."""
    from patients.validators import npi_check_digit_ok

    return next(first_nine + str(d) for d in range(10) if npi_check_digit_ok(first_nine + str(d)))
