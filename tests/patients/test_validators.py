import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from patients.models import MedicationEntry
from patients.validators import (
    icd10cm_description,
    normalise_icd10cm,
    npi_check_digit_ok,
    validate_icd10cm,
    validate_npi,
)


@pytest.mark.parametrize(
    ("code", "description"),
    [
        ("I50.22", "Chronic systolic (congestive) heart failure"),
        ("i5022", "Chronic systolic (congestive) heart failure"),
        ("E11", "Type 2 diabetes mellitus"),
        (" e11.9 ", "Type 2 diabetes mellitus without complications"),
    ],
)
def test_it_describes_real_icd10cm_codes(code, description):
    assert icd10cm_description(code) == description


@pytest.mark.parametrize("code", ["Z99.999", "E08-E13", "9", "", "hypertension", "I50.2222"])
def test_it_refuses_what_is_not_a_diagnosis_code(code):
    with pytest.raises(ValidationError):
        validate_icd10cm(code)


def test_it_normalises_codes_to_the_dotted_form():
    assert normalise_icd10cm("i5022") == "I50.22"
    assert normalise_icd10cm("I10") == "I10"


@pytest.mark.parametrize("npi", ["1234567893", "1245319599", "1003000126"])
def test_it_accepts_npis_with_a_correct_check_digit(npi):
    assert npi_check_digit_ok(npi)
    validate_npi(npi)


@pytest.mark.parametrize("npi", ["1234567890", "123456789", "12345678931", "abcdefghij", ""])
def test_it_refuses_bad_npis(npi):
    with pytest.raises(ValidationError):
        validate_npi(npi)


@pytest.mark.parametrize(
    ("name", "strength", "shown"),
    [
        ("glipizide", "5 mg", "glipizide 5 mg"),
        ("Lipitor 20 mg", "20 mg", "Lipitor 20 mg"),
        ("HCTZ 25", "25 mg", "HCTZ 25 mg"),
        ("Norco 10-325", "10-325 mg", "Norco 10-325 mg"),
        ("vitamin D3", "2000 units", "vitamin D3 2000 units"),
        ("aspirin 81", "325 mg", "aspirin 81 325 mg"),
        ("metformin", "", "metformin"),
    ],
)
def test_a_medication_shows_its_strength_once(name, strength, shown):
    assert MedicationEntry(name=name, strength_dose=strength).display_name == shown


def test_the_icd10cm_code_set_is_read_on_first_use_not_when_django_starts():
    # Importing simple_icd_10_cm reads the whole code set (seconds): every manage.py command, the
    # Celery worker and beat would wait for it at start.
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, django; django.setup(); print('simple_icd_10_cm' in sys.modules)"],
        cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert loaded.stdout.strip() == "False", loaded.stderr
    assert icd10cm_description("I10") == "Essential (primary) hypertension"
